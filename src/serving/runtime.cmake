# ferry_serving_runtime: the model runtime (model_runtime.h) and its XGBoost backend:
# libxgboost's C API for loading and in-place prediction, and ferry's own tree walker.
find_library(XGBOOST_LIBRARY xgboost REQUIRED)

add_library(ferry_serving_runtime STATIC
  ${CMAKE_CURRENT_LIST_DIR}/model_runtime.cc
  ${CMAKE_CURRENT_LIST_DIR}/tree_ensemble.cc
  ${CMAKE_CURRENT_LIST_DIR}/xgboost_backend.cc
  ${CMAKE_CURRENT_LIST_DIR}/xgboost_booster.cc
  ${CMAKE_CURRENT_LIST_DIR}/xgboost_error.cc
  ${CMAKE_CURRENT_LIST_DIR}/xgboost_trees.cc
)
target_link_libraries(ferry_serving_runtime PUBLIC ferry_core ${XGBOOST_LIBRARY}
                      nlohmann_json::nlohmann_json)
