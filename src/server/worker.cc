#include "server/worker.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <exception>

#include "core/strings.h"
#include "server/connection.h"

namespace ferry::server {
namespace {

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

std::string Describe(const tcp::endpoint& endpoint) {
  if (endpoint.address().is_v6()) {
    return core::Cat("[", endpoint.address().to_string(), "]:", endpoint.port());
  }
  return core::Cat(endpoint.address().to_string(), ":", endpoint.port());
}

// Accept errors that say "out of descriptors or memory": retrying at once would spin.
bool IsResourceShortage(const ErrorCode& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec.value() == ENFILE;
}

}  // namespace

Worker::Worker(ServerContext& context) : context_(context) {}

Worker::~Worker() {
  // io_'s destructor destroys pending handlers and with them their connections, which
  // then must not touch the timers (already destroyed by then).
  destroying_ = true;
}

absl::Status Worker::Listen(const tcp::endpoint& endpoint, bool reuse_port) {
  auto fail = [&](std::string_view step, const ErrorCode& ec) {
    ErrorCode ignored;
    acceptor_.close(ignored);
    return absl::UnavailableError(
        core::Cat("cannot listen on ", Describe(endpoint), ": ", step, ": ", ec.message()));
  };
  ErrorCode ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail("socket", ec);
  acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return fail("SO_REUSEADDR", ec);
  if (reuse_port) {
    acceptor_.set_option(ReusePort(true), ec);
    if (ec) return fail("SO_REUSEPORT", ec);
  }
  acceptor_.bind(endpoint, ec);
  if (ec) return fail("bind", ec);
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen", ec);
  port_ = acceptor_.local_endpoint(ec).port();
  if (ec) return fail("getsockname", ec);
  listen_fd_ = acceptor_.native_handle();
  return absl::OkStatus();
}

void Worker::Run() {
  Accept();
  ArmSweeper();
  // Handlers do not throw (the Router catches what user code throws), but an exception
  // from deeper down (bad_alloc) must cost one connection, not the process.
  while (true) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("http worker: unexpected exception: {}", e.what());
    } catch (...) {
      spdlog::error("http worker: unexpected non-exception thrown");
    }
  }
}

void Worker::StopListening() {
  int fd = listen_fd_.load();
  // On Linux, shutdown(2) on a listening socket stops it listening: queued and new
  // connection attempts are refused and a pending accept fails. The descriptor is
  // closed later, on the worker's thread, so it cannot have been reused here.
  if (fd >= 0) ::shutdown(fd, SHUT_RD);
}

void Worker::PostShutdown() {
  asio::post(io_, [this] { BeginShutdown(); });
}

void Worker::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  grace_deadline_ = Clock::now() + context_.shutdown_grace;
  ErrorCode ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  // Closing an idle connection only cancels its read; none is destroyed (nor removed
  // from connections_) until its handler runs later, so iterating here is safe.
  for (Connection* connection : connections_) connection->OnShutdown();
  if (connections_.empty()) sweeper_.cancel();
}

void Worker::AddConnection(Connection* connection) {
  connection->index_in_worker = connections_.size();
  connections_.push_back(connection);
}

void Worker::RemoveConnection(Connection* connection) {
  size_t index = connection->index_in_worker;
  if (index < connections_.size() && connections_[index] == connection) {
    connections_[index] = connections_.back();
    connections_[index]->index_in_worker = index;
    connections_.pop_back();
  }
  if (shutting_down_ && connections_.empty() && !destroying_) sweeper_.cancel();
}

void Worker::Accept() {
  acceptor_.async_accept(
      [this](const ErrorCode& ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void Worker::OnAccept(const ErrorCode& ec, tcp::socket socket) {
  if (shutting_down_ || context_.stopping.load(std::memory_order_relaxed)) return;
  if (ec == asio::error::connection_aborted) {  // the client gave up before accept
    Accept();
    return;
  }
  if (ec) {
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_retry_.expires_after(std::chrono::milliseconds(IsResourceShortage(ec) ? 100 : 10));
    accept_retry_.async_wait([this](const ErrorCode& wait_ec) {
      if (!wait_ec && !shutting_down_) Accept();
    });
    return;
  }
  ErrorCode ignored;
  if (context_.connections.load(std::memory_order_relaxed) >= context_.config.max_connections) {
    RefuseOverLimit(socket);
    Accept();
    return;
  }
  socket.set_option(tcp::no_delay(true), ignored);
  std::make_shared<Connection>(*this, std::move(socket))->Start();
  Accept();
}

void Worker::RefuseOverLimit(tcp::socket& socket) {
  // One best-effort write of a fixed answer (it fits any socket buffer) and close: a
  // connection over the limit costs no buffer, parser or timer. A TLS client could not
  // read plain text, so it just sees the close.
  static constexpr std::string_view kOverLimit =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Content-Length: 90\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
      "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many connections (server.max_connections)\"}}";
  ErrorCode ignored;
  if (!context_.tls) {
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(kOverLimit.data(), kOverLimit.size()), ignored);
  }
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
  const auto now = Clock::now();
  if (now - last_refusal_log_ > std::chrono::seconds(10)) {
    last_refusal_log_ = now;
    spdlog::warn("http: refusing connections: {} open (server.max_connections)",
                 context_.config.max_connections);
  }
}

void Worker::ArmSweeper() {
  sweeper_.expires_after(context_.sweep_interval);
  sweeper_.async_wait([this](const ErrorCode& ec) {
    if (ec) return;  // cancelled: shutting down with no connections left
    Sweep();
  });
}

void Worker::Sweep() {
  Clock::time_point now = Clock::now();
  bool force = shutting_down_ && now >= grace_deadline_;
  if (force && !connections_.empty()) {
    spdlog::warn("http: shutdown grace period over; closing {} connection(s)", connections_.size());
  }
  for (Connection* connection : connections_) {
    if (force) {
      connection->Close();
    } else {
      connection->CloseIfExpired(now);
    }
  }
  if (shutting_down_ && connections_.empty()) return;
  ArmSweeper();
}

}  // namespace ferry::server
