# ferry: the two commands a user needs are `make demo` and `make test`.
# Each installs what is missing (scripts/bootstrap), builds, then runs.

BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all bootstrap build test test-asan test-valgrind demo bench clean

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@ninja -C $(BUILD) -j $(JOBS)

test: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# Unit and end-to-end tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: bootstrap
	@cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=ON \
	  -DFERRY_BUILD_BENCH=OFF >/dev/null
	@ninja -C $(BUILD_ASAN) -j $(JOBS)
	@ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS)

# End-to-end tests of the CLI and of serving with every ferry process under valgrind memcheck
# (scripts/test-valgrind): fails on a memory error or a definite or indirect leak. Slow.
test-valgrind: build
	@scripts/test-valgrind $(BUILD)

demo: build
	@$(BUILD)/src/app/ferry demo

bench: build
	@bench/run all

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
