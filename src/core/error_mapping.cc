#include "core/error_mapping.h"

namespace ferry::core {

ErrorMapping MapStatusCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return {200, "ok", 0};
    case absl::StatusCode::kInvalidArgument:
      return {400, "invalid_argument", 2};
    case absl::StatusCode::kOutOfRange:
      return {400, "out_of_range", 2};
    case absl::StatusCode::kNotFound:
      return {404, "not_found", 3};
    case absl::StatusCode::kAlreadyExists:
      return {409, "already_exists", 4};
    case absl::StatusCode::kFailedPrecondition:
      return {409, "failed_precondition", 4};
    case absl::StatusCode::kAborted:
      return {409, "aborted", 4};
    case absl::StatusCode::kDataLoss:
      return {500, "data_loss", 5};
    case absl::StatusCode::kUnavailable:
      return {503, "unavailable", 6};
    case absl::StatusCode::kDeadlineExceeded:
      return {504, "deadline_exceeded", 6};
    case absl::StatusCode::kResourceExhausted:
      return {429, "resource_exhausted", 6};
    case absl::StatusCode::kCancelled:
      return {499, "cancelled", 6};
    case absl::StatusCode::kUnauthenticated:
      return {401, "unauthenticated", 7};
    case absl::StatusCode::kPermissionDenied:
      return {403, "permission_denied", 7};
    case absl::StatusCode::kUnimplemented:
      return {501, "unimplemented", 1};
    default:
      return {500, "internal", 1};
  }
}

}  // namespace ferry::core
