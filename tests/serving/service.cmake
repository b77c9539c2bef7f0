ferry_test(serving_test ${CMAKE_CURRENT_LIST_DIR}/batcher_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/live_figures_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/prediction_log_test.cc)
target_link_libraries(serving_test PRIVATE ferry_serving)
find_library(XGBOOST_LIBRARY xgboost REQUIRED)
ferry_test(serving_live_rollout_test ${CMAKE_CURRENT_LIST_DIR}/rollout_serving_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/shared_figures_test.cc)
target_link_libraries(serving_live_rollout_test PRIVATE ferry_api ferry_serving ${XGBOOST_LIBRARY})
