# Included by the top-level project (FERRY_BUILD_FUZZ): builds fuzz/ as a project of its
# own with clang into BUILD/fuzz during the ordinary build, and adds one CTest entry per
# harness (label "fuzz") that runs it for 30 s against a scratch copy of its corpus, in
# parallel with the other tests under `ctest -j`.
find_program(FERRY_FUZZ_CXX NAMES clang++-14 clang++)
if(NOT FERRY_FUZZ_CXX)
  message(FATAL_ERROR "FERRY_BUILD_FUZZ needs clang++ (scripts/bootstrap installs clang-14), "
                      "or configure with -DFERRY_BUILD_FUZZ=OFF")
endif()

include(ExternalProject)
include(${CMAKE_CURRENT_LIST_DIR}/fuzzers.cmake)
set(FERRY_FUZZ_BUILD_DIR ${CMAKE_BINARY_DIR}/fuzz)
set(byproducts)
foreach(name ${FERRY_FUZZERS})
  list(APPEND byproducts ${FERRY_FUZZ_BUILD_DIR}/${name})
endforeach()
# One compile at a time inside: the outer build counts the whole step as one job, so the
# harnesses build beside the project without oversubscribing the machine.
ExternalProject_Add(ferry_fuzz
  SOURCE_DIR ${CMAKE_CURRENT_LIST_DIR}
  BINARY_DIR ${FERRY_FUZZ_BUILD_DIR}
  CMAKE_ARGS -DCMAKE_CXX_COMPILER=${FERRY_FUZZ_CXX}
             -DCMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER}
  BUILD_COMMAND ${CMAKE_COMMAND} --build ${FERRY_FUZZ_BUILD_DIR} -- -j1
  BUILD_ALWAYS ON
  BUILD_BYPRODUCTS ${byproducts}
  INSTALL_COMMAND "")

# COST: scheduled among the longest tests (ctest -j starts the costliest first) rather
# than after all others. nice: a fuzzer takes what CPU the test beside it leaves.
foreach(name ${FERRY_FUZZERS})
  add_test(NAME fuzz.${name}
           COMMAND nice -n 10 ${CMAKE_CURRENT_LIST_DIR}/run --build-dir ${FERRY_FUZZ_BUILD_DIR}
                   --seconds 30 ${name})
  set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 300 COST 30)
endforeach()
