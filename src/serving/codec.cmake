# ferry_serving_codec: the inference wire formats (v2 / Triton binary, v1), decoded with
# simdjson and encoded by hand.
find_package(simdjson REQUIRED)
add_library(ferry_serving_codec STATIC
  ${CMAKE_CURRENT_LIST_DIR}/inference_codec.cc
  ${CMAKE_CURRENT_LIST_DIR}/inference_codec_v1.cc
  ${CMAKE_CURRENT_LIST_DIR}/inference_codec_v2.cc
  ${CMAKE_CURRENT_LIST_DIR}/inference_codec_encode.cc
)
target_link_libraries(ferry_serving_codec
  PUBLIC absl::status absl::statusor
  PRIVATE ferry_core simdjson::simdjson nlohmann_json::nlohmann_json fmt::fmt)
