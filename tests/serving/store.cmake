find_library(XGBOOST_LIBRARY xgboost REQUIRED)  # the registry fixture trains small models
ferry_test(serving_store_test ${CMAKE_CURRENT_LIST_DIR}/deployment_store_test.cc)
target_link_libraries(serving_store_test PRIVATE ferry_serving_store ${XGBOOST_LIBRARY})
