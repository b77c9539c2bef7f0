#pragma once

// The http:// URLs ferry calls out to (rollout and alert webhooks). Apart from
// http_client.h so that what only checks a URL (the spec parsers, the fuzz harnesses)
// does not compile or link the Beast client.
//
// Thread-safety: free functions without state.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ferry::server {

struct HttpUrl {
  std::string host;
  uint16_t port = 80;
  std::string target = "/";  // path and query
};

// Parses http://HOST[:PORT][/PATH] (HOST an IP address, [IPv6] or a name; port 80 when
// none). InvalidArgument naming what is wrong: another scheme (https is not supported
// yet), no host, a bad port, credentials in the URL, a space, control character or byte
// beyond ASCII anywhere (which a request line cannot carry).
absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

}  // namespace ferry::server
