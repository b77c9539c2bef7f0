# The harnesses: fuzz/NAME.cc each, with its seed corpus in fuzz/corpus/NAME/. Read by
# fuzz/CMakeLists.txt (which builds them) and fuzz/fuzz_tests.cmake (which tests them).
set(FERRY_FUZZERS csv_reader inference_request yaml_specs http_request)
