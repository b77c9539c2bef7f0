#pragma once

// RequestParser: Beast's HTTP/1.1 request parser (basic_parser) feeding a reused
// Request directly, instead of building Beast's own message and fields container,
// whose per-field allocations would dominate the cost of a small request. Beast
// enforces the protocol and the header and body limits; this class only copies what
// it reports, since Beast's views point into the connection's read buffer, which is
// compacted between reads.
//
// A parser handles one request: the connection constructs a fresh one in place
// (std::optional::emplace, no heap allocation) for each request.
//
// Thread-safety: none; owned by one connection.

#include <cstdint>
#include <string>

#include "server/asio.h"  // first: see asio.h
#include "server/http_message.h"

namespace ferry::server {

class RequestParser final : public beast::http::basic_parser<true> {
 public:
  // max_body_bytes applies to Content-Length and to the sum of chunk sizes alike.
  RequestParser(Request& request, uint64_t max_body_bytes, uint32_t max_header_bytes);

  // True when the request carried "Expect: 100-continue".
  bool expects_continue() const { return expects_continue_; }

  // Body bytes are appended to `destination` from now on instead of to the request's
  // body (a streaming route's staging buffer, which the connection drains). Call before
  // the body's first byte is parsed; `destination` must outlive the parser.
  void SetBodyDestination(std::string& destination) { body_ = &destination; }

 private:
  using StringView = beast::string_view;

  void on_request_impl(beast::http::verb method, StringView method_name, StringView target,
                       int version, ErrorCode& ec) override;
  void on_response_impl(int status, StringView reason, int version, ErrorCode& ec) override;
  void on_field_impl(beast::http::field name, StringView name_text, StringView value,
                     ErrorCode& ec) override;
  void on_header_impl(ErrorCode& ec) override;
  void on_body_init_impl(const boost::optional<uint64_t>& content_length, ErrorCode& ec) override;
  size_t on_body_impl(StringView body, ErrorCode& ec) override;
  void on_chunk_header_impl(uint64_t size, StringView extensions, ErrorCode& ec) override;
  size_t on_chunk_body_impl(uint64_t remain, StringView body, ErrorCode& ec) override;
  void on_finish_impl(ErrorCode& ec) override;

  Request& request_;
  std::string* body_;  // the request's body unless SetBodyDestination said otherwise
  bool expects_continue_ = false;
};

}  // namespace ferry::server
