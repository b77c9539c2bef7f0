#include "serving/xgboost_error.h"

#include <xgboost/c_api.h>

#include <cctype>
#include <string_view>

namespace ferry::serving {

std::string XGBoostLastError() {
  // libxgboost's messages open with a time and source location
  // ("[09:30:00] ../src/learner.cc:123: ") and may end in a stack trace.
  const char* raw = XGBGetLastError();
  std::string_view text = raw != nullptr ? raw : "unknown error";
  if (text.starts_with('[')) {
    const size_t location_end = text.find(": ");
    if (location_end != std::string_view::npos) text.remove_prefix(location_end + 2);
  }
  text = text.substr(0, text.find("\nStack trace"));
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

}  // namespace ferry::serving
