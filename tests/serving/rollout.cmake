ferry_test(serving_rollout_test
  ${CMAKE_CURRENT_LIST_DIR}/rollout_analysis_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_controller_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_policy_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_store_test.cc)
target_link_libraries(serving_rollout_test PRIVATE ferry_serving_rollout ${XGBOOST_LIBRARY})
