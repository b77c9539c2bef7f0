# Included by the top-level project (FERRY_BUILD_FUZZ): builds fuzz/ as a project of its
# own with clang into BUILD/fuzz during the ordinary build, and a CTest entry (label
# "fuzz") that runs every harness for 30 s against a scratch copy of its corpus, beside
# the other tests under `ctest -j`.
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
             -DFERRY_UNITY_BUILD=${FERRY_UNITY_BUILD}
  BUILD_COMMAND ${CMAKE_COMMAND} --build ${FERRY_FUZZ_BUILD_DIR} -- -j1
  BUILD_ALWAYS ON
  BUILD_BYPRODUCTS ${byproducts}
  INSTALL_COMMAND "")

# One entry runs every harness for 30 s at once, niced: it holds one of ctest's slots for
# 30 s instead of four, and the fuzzers take what CPU the test beside them leaves.
add_test(NAME fuzz
         COMMAND nice -n 10 ${CMAKE_CURRENT_LIST_DIR}/run --build-dir ${FERRY_FUZZ_BUILD_DIR}
                 --seconds 30 --parallel ${FERRY_FUZZERS})
# COST: ctest -j starts it among the longest tests rather than after all the others.
set_tests_properties(fuzz PROPERTIES LABELS fuzz TIMEOUT 300 COST 30)
