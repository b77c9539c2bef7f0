// Connection, streaming bodies: a streaming route's body goes to its BodySink piece by
// piece, each sink call on the blocking pool (see connection.h).

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <exception>

#include "core/strings.h"
#include "server/blocking_pool.h"
#include "server/connection.h"

namespace ferry::server {
namespace {

// The read buffer of a streamed body, and the most one staged piece holds.
constexpr size_t kStreamBufferBytes = 256 << 10;

template <typename Result>
Result CallCatching(const std::function<Result()>& work) {
  try {
    return work();
  } catch (const std::exception& e) {
    spdlog::error("http: request body sink threw: {}", e.what());
  } catch (...) {
    spdlog::error("http: request body sink threw a non-exception");
  }
  return absl::InternalError("internal error");
}

}  // namespace

template <typename Result>
void Connection::RunBlocking(std::function<Result()> work, void (Connection::*done)(Result)) {
  worker_.context().blocking->Post(
      [self = shared_from_this(), work = std::move(work), done]() mutable {
        Result result = CallCatching(work);
        work = nullptr;  // what it owned (a finished sink) goes before the answer
        // The last reference to the connection travels back with the result, so the
        // connection is destroyed on its own thread.
        asio::io_context& io = self->worker_.io();
        asio::post(io, [self = std::move(self), result = std::move(result), done]() mutable {
          ((*self).*done)(std::move(result));
        });
      });
}

bool Connection::RouteHeader() {
  const ServerContext& context = worker_.context();
  if (!context.router->has_streaming_routes()) return true;  // limits set at the start
  parser_->eager(true);
  boost::optional<uint64_t> length = parser_->content_length();
  std::optional<StreamingMatch> match = context.router->MatchStreaming(request_);
  streaming_route_ = match.has_value();
  body_limit_ = match ? context.config.max_upload_bytes : context.config.max_body_bytes;
  if (length && *length > body_limit_) {
    RejectMalformed(beast::http::error::body_limit);
    return false;
  }
  parser_->body_limit(body_limit_);
  if (!match) return true;
  absl::StatusOr<BodySinkPtr> sink =
      context.router->OpenBodySink(*match, request_, *context.authorizer);
  if (!sink.ok()) {
    Reject(RefusalResponse(sink.status()));
    return false;
  }
  StartStreaming(*std::move(sink));
  return false;
}

void Connection::StartStreaming(BodySinkPtr sink) {
  sink_ = std::move(sink);
  streaming_ = true;
  parser_->SetBodyDestination(staging_);
  if (capacity_ < kStreamBufferBytes) {  // fewer, larger reads for a large body
    auto bigger = std::make_unique<char[]>(kStreamBufferBytes);
    std::memcpy(bigger.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    buffer_ = std::move(bigger);
    capacity_ = kStreamBufferBytes;
  }
  // The client is told to send the body only now that a sink takes it.
  if (parser_->expects_continue() && request_.http_version() >= 11 && !parser_->is_done()) {
    WriteContinue();
    return;
  }
  PumpBody();
}

void Connection::PumpBody() {
  if (state_ == State::kClosed || !streaming_) return;
  // Parse only into an empty staging buffer, so it never holds more than one read.
  while (staging_.empty() && begin_ < end_ && !parser_->is_done()) {
    Parsed parsed = ParseOnce();
    if (parsed == Parsed::kRejected) return;
    if (parsed == Parsed::kNeedMore) break;
  }
  if (!sink_busy_) {
    if (!staging_.empty()) {
      staging_.swap(appending_);
      StartAppend();
    } else if (parser_->is_done()) {
      StartFinish();
      return;
    }
  }
  if (reading_ || parser_->is_done()) return;
  const bool full = begin_ == 0 && end_ == capacity_;
  if (!full) {
    deadline_ = Clock::now() + worker_.context().request_timeout;
    ReadMore();
  } else if (!sink_busy_) {
    // A full buffer the parser cannot move on from: a chunk header that long.
    Reject(400, "invalid_argument", "malformed request: chunk header too long");
  } else {
    deadline_ = Clock::time_point::max();  // waiting for the sink, not the client
  }
}

void Connection::StartAppend() {
  sink_busy_ = true;
  BodySink* sink = sink_.get();  // stays in sink_ while busy
  std::string_view bytes = appending_;
  RunBlocking<absl::Status>([sink, bytes] { return sink->Append(bytes); }, &Connection::OnAppended);
}

void Connection::OnAppended(absl::Status status) {
  sink_busy_ = false;
  appending_.clear();
  if (pending_abort_) {
    std::string reason = std::move(*pending_abort_);
    pending_abort_.reset();
    AbortSink(reason);
    return;
  }
  if (!status.ok()) {
    Reject(ErrorResponse(status));
    return;
  }
  PumpBody();
}

void Connection::StartFinish() {
  streaming_ = false;
  finish_keep_alive_ = parser_->keep_alive();
  parser_.reset();
  state_ = State::kFinishing;
  deadline_ = Clock::time_point::max();
  sink_busy_ = true;
  RunBlocking<absl::StatusOr<Response>>(
      [sink = std::move(sink_)]() mutable {
        absl::StatusOr<Response> response = sink->Finish();
        sink.reset();  // destroyed before the client hears the answer
        return response;
      },
      &Connection::OnFinished);
}

void Connection::OnFinished(absl::StatusOr<Response> response) {
  sink_busy_ = false;
  pending_abort_.reset();                // the sink finished; there is nothing left to abort
  if (state_ == State::kClosed) return;  // the client left; the work is done anyway
  response_ = response.ok() ? *std::move(response) : ErrorResponse(response.status());
  keep_alive_ = finish_keep_alive_ && !Stopping();
  WriteResponse();
}

void Connection::AbortSink(std::string_view reason) {
  if (sink_busy_) {
    if (sink_ && !pending_abort_) pending_abort_ = std::string(reason);
    return;
  }
  if (!sink_) return;
  spdlog::debug("{}: {} {}: request body aborted: {}", request_.remote_address(),
                request_.method_name(), request_.path(), reason);
  worker_.context().blocking->Post([sink = std::move(sink_), reason = std::string(reason)] {
    try {
      sink->Abort(reason);
    } catch (const std::exception& e) {
      spdlog::error("http: request body sink threw on abort: {}", e.what());
    } catch (...) {
      spdlog::error("http: request body sink threw a non-exception on abort");
    }
  });
  sink_ = nullptr;
}

}  // namespace ferry::server
