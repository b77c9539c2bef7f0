# ferry_serving_store: deployments (endpoint -> model reference) in the metadata store,
# holding what they serve in the registry.
add_library(ferry_serving_store STATIC ${CMAKE_CURRENT_LIST_DIR}/deployment_store.cc)
target_link_libraries(ferry_serving_store PUBLIC ferry_registry ferry_store ferry_monitoring
                      nlohmann_json::nlohmann_json)
