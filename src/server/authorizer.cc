#include "server/authorizer.h"

namespace ferry::server {

absl::Status AllowAllAuthorizer::Authorize(Request& /*request*/, const RouteInfo& /*route*/) {
  return absl::OkStatus();
}

}  // namespace ferry::server
