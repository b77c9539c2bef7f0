# ferry_serving: endpoints kept in step with deployments, the inference path
# (assembly, enrichment, prediction) and the prediction log.
add_library(ferry_serving STATIC
  ${CMAKE_CURRENT_LIST_DIR}/batcher.cc
  ${CMAKE_CURRENT_LIST_DIR}/endpoint_manager.cc
  ${CMAKE_CURRENT_LIST_DIR}/inference.cc
  ${CMAKE_CURRENT_LIST_DIR}/live_figures.cc
  ${CMAKE_CURRENT_LIST_DIR}/model_monitoring.cc
  ${CMAKE_CURRENT_LIST_DIR}/monitoring_service.cc
  ${CMAKE_CURRENT_LIST_DIR}/prediction_log.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_runtime.cc
  ${CMAKE_CURRENT_LIST_DIR}/served_model.cc
  ${CMAKE_CURRENT_LIST_DIR}/shared_figures.cc
  ${CMAKE_CURRENT_LIST_DIR}/serving_metrics.cc
)
target_link_libraries(ferry_serving PUBLIC ferry_serving_rollout ferry_serving_runtime ferry_serving_store
                      ferry_serving_codec ferry_monitoring ferry_stats ferry_registry ferry_features ferry_tracking
                      ferry_dataset ferry_table ferry_store ferry_server absl::flat_hash_map nlohmann_json::nlohmann_json)
