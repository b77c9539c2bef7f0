#pragma once

// A blocking HTTP/1.1 client: commands that talk to a ferry server, the demo that
// replays traffic, and the server's own outgoing calls (rollout webhooks). One
// request per call, over a fresh connection; a timeout bounds every call.
//
// Thread-safety: stateless; call from any thread.

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ferry::server {

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Sends METHOD TARGET to HOST:PORT (an IP address, or a name resolved first) with
// `body` (JSON when not empty). Errors:
// Unavailable when the server cannot be reached, DeadlineExceeded after `timeout`.
struct HttpUrl {
  std::string host;
  uint16_t port = 80;
  std::string target = "/";  // path and query
};

// Parses http://HOST[:PORT][/PATH] (HOST an IP address, [IPv6] or a name; port 80 when
// none). InvalidArgument naming what is wrong: another scheme (https is not supported
// yet), no host, a bad port, credentials in the URL.
absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

absl::StatusOr<HttpReply> HttpCall(std::string_view host, uint16_t port, std::string_view method,
                                   std::string_view target, std::string_view body = {},
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace ferry::server
