#pragma once

// A blocking HTTP/1.1 client: commands that talk to a ferry server, the demo that
// replays traffic, and the server's own outgoing calls (rollout webhooks). HttpCall:
// one request per call, over a fresh connection; HttpConnection: many requests over one
// keep-alive connection (the demo's traffic). A timeout bounds every call.
//
// Thread-safety: HttpCall is stateless; an HttpConnection is used by one thread.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/http_url.h"

namespace ferry::server {

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Sends METHOD TARGET to HOST:PORT (an IP address, or a name resolved first) with
// `body` (JSON when not empty). Errors:
// Unavailable when the server cannot be reached, DeadlineExceeded after `timeout`.
// `authorization`, when not empty, is sent as the Authorization header's value.
absl::StatusOr<HttpReply> HttpCall(std::string_view host, uint16_t port, std::string_view method,
                                   std::string_view target, std::string_view body = {},
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                   std::string_view authorization = {});

// One keep-alive connection to HOST:PORT (an IP address), opened at the first call and
// again after the server closed it. Errors as HttpCall's.
class HttpConnection {
 public:
  HttpConnection(std::string host, uint16_t port,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // `body` (when not empty) goes with `content_type`.
  absl::StatusOr<HttpReply> Call(std::string_view method, std::string_view target,
                                 std::string_view body = {},
                                 std::string_view content_type = "application/json");

 private:
  struct Stream;
  const std::string host_;
  const uint16_t port_;
  const std::chrono::milliseconds timeout_;
  std::unique_ptr<Stream> stream_;  // null until connected, and after an error
};

}  // namespace ferry::server
