ferry_test(serving_test ${CMAKE_CURRENT_LIST_DIR}/batcher_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/webhooks_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/prediction_log_test.cc)
target_link_libraries(serving_test PRIVATE ferry_serving)
