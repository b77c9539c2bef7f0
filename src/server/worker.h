#pragma once

// Worker: one server thread's share of the work. Each worker owns an io_context, its
// own listening socket on the shared port (SO_REUSEPORT, so the kernel spreads new
// connections across workers), and the connections it accepted. A connection lives
// on its worker's thread from accept to close: parsing, routing, the handler and the
// response all run there, so the request path takes no locks.
//
// Timeouts are kept as a deadline in each connection and enforced by one coarse
// sweeper timer per worker, which costs a clock read per request instead of a timer
// re-arm (and its cancellation) per read.
//
// Thread-safety: everything runs on the worker's thread, except StopListening and
// PostShutdown, which may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "core/config.h"
#include "server/asio.h"  // first: see asio.h
#include "server/authorizer.h"
#include "server/blocking_pool.h"
#include "server/router.h"

namespace ferry::server {

class Connection;
using Clock = std::chrono::steady_clock;

// What every worker and connection of one server shares; immutable once serving,
// except `stopping`.
struct ServerContext {
  core::ServerConfig config;
  std::shared_ptr<const Router> router;
  std::shared_ptr<Authorizer> authorizer;
  // Runs what a streaming route's BodySink does; outlives the workers.
  std::unique_ptr<BlockingPool> blocking;
  std::chrono::milliseconds request_timeout{0};
  std::chrono::milliseconds idle_timeout{0};
  std::chrono::milliseconds shutdown_grace{0};
  std::chrono::milliseconds sweep_interval{0};
  uint32_t header_limit = 0;   // per request line and per field block (Beast's limit)
  size_t max_read_buffer = 0;  // enough for a request line and fields at the limit
  // HTTPS: every connection's TLS settings, certificate and key; null for plain HTTP.
  std::unique_ptr<asio::ssl::context> tls;
  std::atomic<bool> stopping{false};
  // Open connections across all workers, against config.max_connections.
  mutable std::atomic<int> connections{0};
};

class Worker {
 public:
  explicit Worker(ServerContext& context);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens, binds and listens; Unavailable naming the endpoint when that fails (e.g.
  // the address is in use). Before Run.
  absl::Status Listen(const tcp::endpoint& endpoint, bool reuse_port);
  uint16_t port() const { return port_; }

  // Serves until shut down and every connection has closed. On the worker's thread.
  void Run();

  // Any thread. Stops the kernel from queueing new connections for this worker at
  // once (shutdown(2) on the listening socket), so a client that connects after
  // HttpServer::Shutdown returns is refused even while this worker's thread is busy.
  void StopListening();
  // Any thread. Asks the worker's thread to close idle connections, let busy ones
  // finish their current request, and force-close what is left after the grace period.
  void PostShutdown();

  // For connections, on the worker's thread.
  asio::io_context& io() { return io_; }
  const ServerContext& context() const { return context_; }
  bool shutting_down() const { return shutting_down_; }
  void AddConnection(Connection* connection);
  void RemoveConnection(Connection* connection);

 private:
  void Accept();
  void OnAccept(const ErrorCode& ec, tcp::socket socket);
  // Answers 503 and closes: the server holds config.max_connections already.
  void RefuseOverLimit(tcp::socket& socket);
  void ArmSweeper();
  void Sweep();
  void BeginShutdown();

  ServerContext& context_;
  // Declared before io_ so they outlive it: destroying io_ destroys pending handlers,
  // whose connections then remove themselves from connections_.
  std::vector<Connection*> connections_;  // each knows its index here: O(1) removal
  bool shutting_down_ = false;
  bool destroying_ = false;
  Clock::time_point grace_deadline_;
  Clock::time_point last_refusal_log_;
  std::atomic<int> listen_fd_{-1};  // acceptor_'s descriptor, for StopListening
  uint16_t port_ = 0;

  asio::io_context io_{1};
  tcp::acceptor acceptor_{io_};
  asio::steady_timer sweeper_{io_};
  asio::steady_timer accept_retry_{io_};
};

}  // namespace ferry::server
