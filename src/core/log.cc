#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/strings.h"


namespace ferry::core {

absl::Status SetLogLevel(std::string_view level) {
  static const bool kInitialized = [] {
    auto logger = spdlog::stderr_color_mt("ferry");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);
    spdlog::set_default_logger(logger);
    return true;
  }();
  (void)kInitialized;
  spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(Cat("unknown log level \"", level, "\""));
  }
  spdlog::set_level(parsed);
  return absl::OkStatus();
}

}  // namespace ferry::core
