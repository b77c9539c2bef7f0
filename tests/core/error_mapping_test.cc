#include "core/error_mapping.h"

#include <gtest/gtest.h>

namespace ferry::core {
namespace {

TEST(ErrorMappingTest, MapsEachKindToHttpStatusCodeAndExitCode) {
  struct Case {
    absl::StatusCode code;
    int http;
    std::string_view name;
    int exit;
  };
  const Case cases[] = {
      {absl::StatusCode::kInvalidArgument, 400, "invalid_argument", 2},
      {absl::StatusCode::kNotFound, 404, "not_found", 3},
      {absl::StatusCode::kAlreadyExists, 409, "already_exists", 4},
      {absl::StatusCode::kFailedPrecondition, 409, "failed_precondition", 4},
      {absl::StatusCode::kDataLoss, 500, "data_loss", 5},
      {absl::StatusCode::kUnavailable, 503, "unavailable", 6},
      {absl::StatusCode::kResourceExhausted, 429, "resource_exhausted", 6},
      {absl::StatusCode::kPermissionDenied, 403, "permission_denied", 7},
      {absl::StatusCode::kUnauthenticated, 401, "unauthenticated", 7},
      {absl::StatusCode::kInternal, 500, "internal", 1},
      {absl::StatusCode::kUnknown, 500, "internal", 1},
  };
  for (const Case& c : cases) {
    ErrorMapping m = MapStatusCode(c.code);
    EXPECT_EQ(m.http_status, c.http) << c.name;
    EXPECT_EQ(m.code, c.name);
    EXPECT_EQ(m.exit_code, c.exit) << c.name;
  }
}

}  // namespace
}  // namespace ferry::core
