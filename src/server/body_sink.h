#pragma once

// BodySink: where a streaming route's request body goes, piece by piece, as it
// arrives, instead of being received whole into Request::body() first. A route
// registered with Router::AddStreaming (e.g. a dataset upload of many GiB) gets a
// StreamingHandler, called once the request's header has arrived; it returns the sink
// for that one request, and the server then hands the sink the body's bytes in order
// (chunked transfer encoding already removed) and asks it for the response once the
// body is complete. The server reads no further ahead than the sink consumes: while
// an Append runs, at most one read buffer and one staged piece (~256 KiB each) wait,
// so a connection's memory is bounded whatever the body's size.
//
// Lifecycle: Append* then exactly one of Finish (the whole body arrived and every
// Append succeeded) or Abort (it never will: the client closed the connection or was
// too slow, sent a malformed chunk or more than server.max_upload_bytes, an Append
// failed, or the server was shut down); then the sink is destroyed. A sink must clean
// up after itself on Abort (e.g. remove its temporary file), and should in its
// destructor too.
//
// Threading: Append, Finish, Abort and the destructor run on the server's blocking
// pool, not on an IO thread, so they may block (disk writes, a long Finish) without
// stalling other connections. Calls on one sink never overlap and each happens after
// the previous one returned, but they may come from different threads. A sink must
// not keep references into the Request it was created from (the server reuses it);
// copy what Finish needs. Exceptions thrown by a sink are caught and answered with
// 500.

#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/http_message.h"

namespace ferry::server {

class BodySink {
 public:
  virtual ~BodySink() = default;

  // The next bytes of the body (never empty). A non-OK status stops the request: the
  // client gets it as the JSON error body (core::MapStatusCode's status and code),
  // the rest of the body is not read, the connection is closed, and Abort follows.
  virtual absl::Status Append(std::string_view bytes) = 0;

  // The body is complete: the response to send. A non-OK status becomes the JSON
  // error body. May take long (seconds); the connection waits without a deadline.
  virtual absl::StatusOr<Response> Finish() = 0;

  // The body will not be complete; `reason` says why (for logs). Nobody is answered.
  virtual void Abort(std::string_view reason) = 0;
};

using BodySinkPtr = std::unique_ptr<BodySink>;

}  // namespace ferry::server
