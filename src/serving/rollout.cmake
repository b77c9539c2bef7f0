# ferry_serving_rollout: canary and shadow rollouts -- the policy, the analysis, the
# state machine in the metadata store and the controller that drives it.
add_library(ferry_serving_rollout STATIC
  ${CMAKE_CURRENT_LIST_DIR}/rollout_analysis.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_controller.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_policy.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_store.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_transitions.cc
)
target_link_libraries(ferry_serving_rollout PUBLIC ferry_serving_store ferry_registry ferry_store ferry_server
                      yaml-cpp nlohmann_json::nlohmann_json)
