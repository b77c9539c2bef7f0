#pragma once

// HttpServer: ferry's HTTP/1.1 server. It listens on one address, serves the routes of
// a Router (every mutating route through an Authorizer), and enforces the limits of
// core::ServerConfig:
//   - header larger than max_header_bytes: 431, connection closed;
//   - body larger than max_body_bytes: 413 (JSON), judged from Content-Length before
//     the body is read, and from the running total for chunked bodies; for a
//     streaming route (router.h, body_sink.h) the same with max_upload_bytes;
//   - a request not fully read within request_timeout_ms of its first byte (a client
//     trickling its header or body), or a response not written within it: connection
//     dropped; a streamed body may take as long as it needs, but not request_timeout_ms
//     without a byte; a keep-alive connection idle for idle_timeout_ms: closed;
//   - a malformed request: 400 (JSON) and close; a client that vanishes mid-request is
//     dropped. Nothing a client sends can stop the server.
// With config.access_log, each response is logged through spdlog at info level:
// method, path (without query), status, body bytes, microseconds, peer address --
// never a body or a header.
//
// Threading: config.threads threads (0: one per core), each with its own io_context
// and its own listening socket on the shared port (SO_REUSEPORT); a connection stays
// on the thread that accepted it, and its handlers run there. Handlers therefore run
// concurrently on several threads, and a slow handler delays the other connections of
// its thread (offload long work). The exception is a streaming route's BodySink:
// its calls (disk writes, a Finish that takes seconds) run on a BlockingPool of up to
// 16 more threads, and the answer is posted back to the connection's thread, because
// an upload of many GiB would otherwise stall its thread's other connections.
//
// Lifecycle: Create -> Start -> ... -> Shutdown -> Wait (or RunUntilSignal for all of
// it). Shutdown is graceful: new connections are refused at once, idle keep-alive
// connections are closed, requests in flight finish and are answered with
// "Connection: close", and whatever is still open after shutdown_grace_ms is closed.
//
// Thread-safety: Start, Shutdown and port() may be called from any thread; Shutdown
// may even be called from a handler. Wait may be called from any thread except a
// server thread (a handler), where it would wait for itself.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config.h"
#include "server/authorizer.h"
#include "server/router.h"

namespace ferry::server {

struct ServerContext;
class Worker;

// Whether config's TLS files (if any) can serve HTTPS, as Create would find: for callers
// that want to know before they build what the server needs. InvalidArgument naming the
// file and what is wrong with it.
absl::Status CheckTlsConfig(const core::ServerConfig& config);

class HttpServer {
 public:
  // Checks the configuration; binds nothing yet. InvalidArgument when config.listen is
  // not HOST:PORT with an IP address (or "localhost"), a limit or timeout is not
  // positive, config.threads is negative, or router or authorizer is null (pass an
  // AllowAllAuthorizer to allow everything).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const core::ServerConfig& config,
                                                            std::shared_ptr<const Router> router,
                                                            std::shared_ptr<Authorizer> authorizer);
  // Shuts down (gracefully) and waits.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads; returns once the server accepts
  // connections. Unavailable when the address cannot be bound (e.g. in use, also by
  // another process using SO_REUSEPORT); FailedPrecondition when already started or
  // shut down.
  absl::Status Start();

  // The bound port (the one the OS chose when config.listen asked for port 0); 0
  // before Start.
  uint16_t port() const { return port_.load(); }

  // Begins the graceful shutdown described above and returns without waiting. New
  // connections are refused from the moment it returns. Idempotent.
  void Shutdown();

  // Blocks until every server thread has stopped (after Shutdown); returns at once if
  // the server was never started.
  void Wait();

  // Starts the server unless started, serves until SIGINT or SIGTERM (or until
  // Shutdown is called elsewhere), shuts down gracefully and waits. on_started, if
  // given, runs on the calling thread once the server accepts connections and the
  // signals are caught (port() is valid then): the place to announce the address or
  // flip readiness, with no window in which a signal would still kill the process.
  // Returns Start's error, or OkStatus after a clean stop.
  absl::Status RunUntilSignal(const std::function<void()>& on_started = {});

 private:
  HttpServer(std::unique_ptr<ServerContext> context, std::string host, uint16_t port,
             int thread_count);

  std::unique_ptr<ServerContext> context_;
  const std::string host_;         // an IP address
  const uint16_t requested_port_;  // 0: any
  const int thread_count_;
  std::atomic<uint16_t> port_{0};

  std::mutex mutex_;  // guards the flags and workers_ during Start and Shutdown
  bool started_ = false;
  bool shutdown_requested_ = false;
  std::vector<std::unique_ptr<Worker>> workers_;

  std::mutex join_mutex_;  // serializes Wait; never held with mutex_
  std::vector<std::thread> threads_;
};

}  // namespace ferry::server
