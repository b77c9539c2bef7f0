# ferry: the two commands a user needs are `make demo` and `make test`.
# Each installs what is missing (scripts/bootstrap), builds, then runs.

BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
# Seconds each fuzz harness runs for in `make fuzz` (`make test` runs each for 30).
FUZZ_SECONDS ?= 60

.PHONY: all bootstrap build test test-asan test-valgrind fuzz demo bench clean

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
	  -DFERRY_BUILD_BENCH=OFF -DFERRY_BUILD_FUZZ=OFF >/dev/null
	@ninja -C $(BUILD_ASAN) -j $(JOBS)
	@ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS)

# The libFuzzer harnesses (fuzz/), built with clang into $(BUILD)/fuzz, each run for
# FUZZ_SECONDS; a crashing input is kept in $(BUILD)/fuzz/crashes/NAME/.
fuzz: bootstrap
	@cmake -S fuzz -B $(BUILD)/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
	@ninja -C $(BUILD)/fuzz -j $(JOBS)
	@fuzz/run --build-dir $(BUILD)/fuzz --seconds $(FUZZ_SECONDS)

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
