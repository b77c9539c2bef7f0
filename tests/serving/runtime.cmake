# serving_runtime_test: the model runtime (src/serving/runtime.cmake). The parity tests
# train their models with Debian's python3-xgboost at test time (make_models.py).
find_library(XGBOOST_LIBRARY xgboost REQUIRED)
ferry_test(serving_runtime_test
  ${CMAKE_CURRENT_LIST_DIR}/tree_ensemble_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/xgboost_runtime_test.cc
)
target_link_libraries(serving_runtime_test PRIVATE ferry_serving_runtime ${XGBOOST_LIBRARY})
target_compile_definitions(serving_runtime_test PRIVATE
  FERRY_MAKE_MODELS="${PROJECT_SOURCE_DIR}/tests/data/serving/make_models.py")
