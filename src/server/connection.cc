#include "server/connection.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "core/strings.h"
#include "server/response_head.h"

namespace ferry::server {
namespace {

constexpr size_t kInitialBufferBytes = 4096;
// Bodies larger than this are not kept around for the next request on the connection.
constexpr size_t kKeptBodyCapacity = 64 << 10;
// How long a closing connection drains what the client still sends (at most), and
// how long once the server is shutting down (so lingering does not delay it).
constexpr std::chrono::milliseconds kMaxLinger{2000};
constexpr std::chrono::milliseconds kShutdownLinger{100};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::string FormatPeer(const tcp::socket& socket) {
  ErrorCode ec;
  tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return "-";
  if (peer.address().is_v6()) return core::Cat("[", peer.address().to_string(), "]:", peer.port());
  return core::Cat(peer.address().to_string(), ":", peer.port());
}

void ReleaseIfLarge(std::string& text) {
  if (text.capacity() > kKeptBodyCapacity) std::string().swap(text);
}

}  // namespace

Connection::Connection(Worker& worker, tcp::socket socket)
    : worker_(worker),
      socket_(std::move(socket)),
      buffer_(new char[kInitialBufferBytes]),
      capacity_(kInitialBufferBytes) {
  worker_.AddConnection(this);
  worker_.context().connections.fetch_add(1, std::memory_order_relaxed);
}

Connection::~Connection() {
  // Only when the worker is torn down with the request's sink idle: abort it here.
  if (sink_) sink_->Abort("the server stopped");
  worker_.context().connections.fetch_sub(1, std::memory_order_relaxed);
  worker_.RemoveConnection(this);
}

void Connection::Start() {
  request_.SetRemoteAddress(FormatPeer(socket_));
  ErrorCode ignored;
  socket_.non_blocking(true, ignored);  // for the inline write in WriteResponse
  if (worker_.context().tls) {
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *worker_.context().tls);
    state_ = State::kReading;  // the handshake has request_timeout, as a request would
    deadline_ = Clock::now() + worker_.context().request_timeout;
    tls_->async_handshake(asio::ssl::stream_base::server,
                          [self = shared_from_this()](const ErrorCode& ec) { self->OnHandshake(ec); });
    return;
  }
  state_ = State::kIdle;
  deadline_ = Clock::now() + worker_.context().idle_timeout;
  ReadMore();
}

void Connection::OnHandshake(const ErrorCode& ec) {
  if (state_ == State::kClosed) return;
  if (ec || Stopping()) {
    // Plain HTTP to an HTTPS port, an old protocol version, a client that rejects
    // the certificate: nothing can be answered.
    if (ec) spdlog::debug("{}: TLS handshake failed: {}", request_.remote_address(), ec.message());
    Close();
    return;
  }
  state_ = State::kIdle;
  deadline_ = Clock::now() + worker_.context().idle_timeout;
  ReadMore();
}

void Connection::CloseIfExpired(Clock::time_point now) {
  if (state_ != State::kClosed && now >= deadline_) Close();
}

void Connection::OnShutdown() {
  // Busy connections see Stopping() when they next decide on keep-alive.
  if (state_ == State::kIdle) {
    Close();
  } else if (state_ == State::kLingering) {
    deadline_ = std::min(deadline_, Clock::now() + kShutdownLinger);
  }
}

bool Connection::Stopping() const {
  return worker_.context().stopping.load(std::memory_order_relaxed);
}

void Connection::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  ErrorCode ignored;
  socket_.close(ignored);
  response_.body_file.reset();  // e.g. a client that left in the middle of a file body
  AbortSink("the connection closed before the body was complete");
}

bool Connection::MakeRoom() {
  if (begin_ == end_) begin_ = end_ = 0;
  if (end_ < capacity_) return true;
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    return true;
  }
  size_t max = worker_.context().max_read_buffer;
  if (capacity_ >= max) return false;
  size_t grown = std::min(capacity_ * 2, max);
  auto bigger = std::make_unique<char[]>(grown);
  std::memcpy(bigger.get(), buffer_.get(), end_);
  buffer_ = std::move(bigger);
  capacity_ = grown;
  return true;
}

void Connection::ReadMore() {
  if (reading_) return;  // one read at a time; the pending one continues
  if (!MakeRoom()) {
    // Only a header can fill the buffer (a body is consumed as it arrives), and Beast
    // reports header_limit before that; this is the backstop.
    Reject(431, "header_too_large", "request header is larger than the server's limit");
    return;
  }
  reading_ = true;
  auto into = asio::buffer(buffer_.get() + end_, capacity_ - end_);
  auto done = [self = shared_from_this()](const ErrorCode& ec, size_t bytes) {
    self->OnRead(ec, bytes);
  };
  if (tls_) {
    tls_->async_read_some(into, std::move(done));
  } else {
    socket_.async_read_some(into, std::move(done));
  }
}

void Connection::OnRead(const ErrorCode& ec, size_t bytes) {
  reading_ = false;
  if (state_ == State::kClosed) return;
  if (ec) {
    // End of stream or a reset: there is no one left to answer. A request cut short
    // mid-way is dropped with the connection.
    if (state_ == State::kReading) {
      spdlog::debug("{}: connection ended mid-request: {}", request_.remote_address(),
                    ec.message());
    }
    Close();
    return;
  }
  if (state_ == State::kLingering) {
    begin_ = end_ = 0;  // discard
    ReadMore();
    return;
  }
  if (state_ == State::kWriting) {
    // A read left pending when a streamed body was refused midway: the connection
    // closes after this response, so the rest of the body is discarded.
    begin_ = end_ = 0;
    return;
  }
  end_ += bytes;
  if (state_ == State::kIdle) BeginRequest(Clock::now());
  if (streaming_) {
    PumpBody();
    return;
  }
  ParseBuffered();
}

void Connection::BeginRequest(Clock::time_point now) {
  state_ = State::kReading;
  request_start_ = now;
  deadline_ = now + worker_.context().request_timeout;
  request_.Reset();
  const ServerContext& context = worker_.context();
  parser_.emplace(request_, context.config.max_body_bytes, context.header_limit);
  body_limit_ = context.config.max_body_bytes;
  continue_sent_ = false;
  header_routed_ = false;
  streaming_route_ = false;
  streaming_ = false;
  if (context.router->has_streaming_routes()) {
    // Stop after the header, before Beast judges the body by a limit: which limit
    // applies depends on the route (RouteHeader). Not boost::none: Beast 1.74 compares
    // a Content-Length with the optional, and any number is greater than none.
    parser_->eager(false);
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
  }
}

Connection::Parsed Connection::ParseOnce() {
  ErrorCode ec;
  size_t used = parser_->put(asio::const_buffer(buffer_.get() + begin_, end_ - begin_), ec);
  begin_ += used;
  if (ec == beast::http::error::need_more) return Parsed::kNeedMore;
  if (ec) {
    RejectMalformed(ec);
    return Parsed::kRejected;
  }
  return used == 0 ? Parsed::kNeedMore : Parsed::kSome;
}

void Connection::ParseBuffered() {
  while (begin_ < end_) {
    Parsed parsed = ParseOnce();
    if (parsed == Parsed::kRejected) return;
    if (parsed == Parsed::kNeedMore) break;
    if (!header_routed_ && parser_->is_header_done()) {
      header_routed_ = true;
      if (!RouteHeader()) return;
    }
    if (parser_->is_done()) {
      HandleRequest();
      return;
    }
  }
  if (parser_->is_header_done() && parser_->expects_continue() && !continue_sent_ &&
      request_.http_version() >= 11) {
    WriteContinue();
    return;
  }
  ReadMore();
}

void Connection::RejectMalformed(const ErrorCode& ec) {
  if (ec == beast::http::error::header_limit) {
    Reject(431, "header_too_large", "request header is larger than the server's limit");
  } else if (ec == beast::http::error::body_limit && streaming_route_) {
    Reject(413, "payload_too_large",
           core::Cat("upload is larger than the server's limit of ", body_limit_,
                     " bytes (server.max_upload_bytes)"));
  } else if (ec == beast::http::error::body_limit) {
    Reject(413, "payload_too_large",
           core::Cat("request body is larger than the server's limit of ", body_limit_, " bytes"));
  } else {
    Reject(400, "invalid_argument", core::Cat("malformed request: ", ec.message()));
  }
}

void Connection::WriteContinue() {
  continue_sent_ = true;
  auto done = [self = shared_from_this()](const ErrorCode& ec, size_t) {
    if (self->state_ == State::kClosed) return;
    if (ec) {
      self->Close();
      return;
    }
    if (self->streaming_) {
      self->PumpBody();
    } else {
      self->ReadMore();
    }
  };
  auto bytes = asio::buffer(kContinue.data(), kContinue.size());
  if (tls_) {
    asio::async_write(*tls_, bytes, std::move(done));
  } else {
    asio::async_write(socket_, bytes, std::move(done));
  }
}

void Connection::HandleRequest() {
  bool client_keeps_alive = parser_->keep_alive();
  parser_.reset();
  const ServerContext& context = worker_.context();
  response_ = context.router->Dispatch(request_, *context.authorizer);
  // Decided after the handler: a shutdown that began while it ran closes the connection.
  keep_alive_ = client_keeps_alive && !Stopping();
  WriteResponse();
}

void Connection::Reject(int http_status, std::string_view code, std::string_view message) {
  Reject(ErrorResponse(http_status, code, message));
}

void Connection::Reject(Response response) {
  spdlog::debug("{}: rejecting request with {}: {}", request_.remote_address(), response.status,
                response.body);
  parser_.reset();
  streaming_ = false;
  AbortSink(core::Cat("the request was refused with ", response.status));
  keep_alive_ = false;
  response_ = std::move(response);
  WriteResponse();
}

void Connection::WriteResponse() {
  if (!request_.route_pattern().empty()) {
    worker_.context().authorizer->OnResponse(request_, response_);
  }
  head_.clear();
  body_bytes_ = AppendResponseHead(
      response_, HeadOptions{.keep_alive = keep_alive_, .request_version = request_.http_version()},
      head_);
  size_t body_to_send = request_.method() == Method::kHead ? 0 : body_bytes_;
  state_ = State::kWriting;
  deadline_ = Clock::now() + worker_.context().request_timeout;
  if (response_.body_file && body_to_send > 0) {
    file_written_ = 0;
    WriteFilePiece();
    return;
  }

  // Try the write here first: a small response almost always fits the socket buffer,
  // and finishing it inline saves queueing a completion (and the extra reactor poll
  // that costs) on every request.
  std::array<asio::const_buffer, 2> buffers = {
      asio::buffer(head_), asio::const_buffer(response_.body.data(), body_to_send)};
  auto done = [self = shared_from_this()](const ErrorCode& ec, size_t) {
    self->OnWritten(ec, Completion::kQueued);
  };
  if (tls_) {  // TLS records are written whole: no inline attempt
    asio::async_write(*tls_, buffers, std::move(done));
    return;
  }
  ErrorCode ec;
  size_t written = socket_.write_some(buffers, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    written = 0;
  }
  if (ec) {
    Close();
    return;
  }
  if (written == head_.size() + body_to_send) {
    OnWritten(ErrorCode(), Completion::kInline);
    return;
  }
  // The rest waits for the socket to drain.
  if (written < head_.size()) {
    buffers[0] = asio::buffer(head_) + written;
  } else {
    buffers[0] = asio::const_buffer();
    buffers[1] = buffers[1] + (written - head_.size());
  }
  asio::async_write(socket_, buffers, std::move(done));
}

void Connection::OnWritten(const ErrorCode& ec, Completion completion) {
  if (state_ == State::kClosed) return;
  if (ec) {
    Close();
    return;
  }
  response_.body_file.reset();  // a HEAD answer's file, or one written in full
  if (worker_.context().config.access_log) LogAccess();
  if (!keep_alive_ || Stopping()) {
    Linger();
    return;
  }
  if (begin_ < end_ && completion == Completion::kInline) {
    // A pipelined request is already buffered. Serving it from here would nest one
    // call deeper per request, so it goes through the queue instead.
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->WaitForNextRequest(); });
    return;
  }
  WaitForNextRequest();
}

void Connection::WaitForNextRequest() {
  if (state_ == State::kClosed) return;
  ReleaseIfLarge(response_.body);
  ReleaseIfLarge(request_.mutable_body());
  ReleaseIfLarge(staging_);
  ReleaseIfLarge(appending_);
  Clock::time_point now = Clock::now();
  if (begin_ < end_) {  // a pipelined request is already here
    BeginRequest(now);
    ParseBuffered();
    return;
  }
  state_ = State::kIdle;
  deadline_ = now + worker_.context().idle_timeout;
  ReadMore();
}

void Connection::Linger() {
  // Shutting the write side sends FIN after the response; draining until the client
  // closes (or a short deadline) keeps unread request bytes from turning our close into
  // a reset that could destroy the response before the client reads it.
  state_ = State::kLingering;
  deadline_ = Clock::now() + (Stopping() ? kShutdownLinger
                                         : std::min(worker_.context().request_timeout,
                                                    std::chrono::milliseconds(kMaxLinger)));
  if (tls_) {
    // TLS says goodbye with close_notify (and waits for the client's, within the
    // deadline). It cannot share the stream with a read still pending.
    if (reading_) {
      Close();
      return;
    }
    tls_->async_shutdown([self = shared_from_this()](const ErrorCode&) { self->Close(); });
    return;
  }
  ErrorCode ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  begin_ = end_ = 0;
  ReadMore();
}

void Connection::LogAccess() const {
  // Method, path (no query: it may carry tokens), status, body bytes, time, peer.
  // Never the body or any header.
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - request_start_).count();
  std::string_view path = request_.path();
  spdlog::info("http {} {} {} {} {}us {}", path.empty() ? "-" : request_.method_name(),
               path.empty() ? "-" : path, response_.status, body_bytes_, micros,
               request_.remote_address());
}

}  // namespace ferry::server
