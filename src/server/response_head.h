#pragma once

// The bytes before a response body on the wire: status line and header fields,
// serialized by hand into a buffer the connection reuses, because a general-purpose
// serializer costs more per request than the fixed, small responses that dominate.
//
// Thread-safety: AppendResponseHead is safe from any thread (the Date cache is
// per-thread).

#include <string>

#include "server/http_message.h"

namespace ferry::server {

struct HeadOptions {
  bool keep_alive = true;    // false: "Connection: close"
  int request_version = 11;  // an HTTP/1.0 client that keeps alive is told so explicitly
};

// Appends the head of response to out and returns how many body bytes follow it: the
// body's size (body_file's when set), or 0 for 1xx, 204 and 304 (which have no body). A status
// outside 100..599 is written as 500. Extra header fields whose name or value contains CR or LF are
// dropped and logged.
size_t AppendResponseHead(const Response& response, const HeadOptions& options, std::string& out);

}  // namespace ferry::server
