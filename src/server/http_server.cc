#include "server/http_server.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

#include "core/status.h"
#include "core/strings.h"
#include "server/asio.h"  // first: see asio.h
#include "server/worker.h"

namespace ferry::server {
namespace {

// Threads for streaming routes' sinks: several uploads can finish (add a dataset) at
// once without stopping the others' appends.
constexpr int kBlockingThreads = 16;

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(core::Cat("server config: ", what));
}

absl::StatusOr<std::string> ResolveHost(const std::string& host) {
  if (host == "localhost") return std::string("127.0.0.1");
  ErrorCode ec;
  asio::ip::make_address(host, ec);
  if (ec) {
    return Invalid(core::Cat("listen host \"", host, "\" is not an IP address or localhost"));
  }
  return host;
}

// TLS 1.2 and 1.3 only; for 1.2, only forward-secret AEAD suites (TLS 1.3's are all
// of that kind). Certificate chain and key from PEM files, checked against each other.
absl::StatusOr<std::unique_ptr<asio::ssl::context>> MakeTlsContext(
    const core::ServerConfig& config) {
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return Invalid("tls_cert and tls_key go together: give both or neither");
  }
  auto tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = tls->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return absl::InternalError("TLS: cannot require TLS 1.2 or later");
  }
  SSL_CTX_set_options(
      native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
    return absl::InternalError("TLS: cannot set the cipher list");
  }
  for (const auto& [what, file] :
       {std::pair<std::string_view, const std::string*>{"certificate", &config.tls_cert},
        {"key", &config.tls_key}}) {
    if (::access(file->c_str(), R_OK) != 0) {
      return Invalid(
          core::Cat("cannot read TLS ", what, " \"", *file, "\": ", std::strerror(errno)));
    }
  }
  ErrorCode ec;
  tls->use_certificate_chain_file(config.tls_cert, ec);
  if (ec) {
    return Invalid(core::Cat("cannot use TLS certificate \"", config.tls_cert, "\": ", ec.message(),
                             " (expected a PEM certificate chain)"));
  }
  tls->use_private_key_file(config.tls_key, asio::ssl::context::pem, ec);
  if (ec && ec.message().find("mismatch") != std::string::npos) {
    return Invalid(core::Cat("TLS key \"", config.tls_key, "\" does not match certificate \"",
                             config.tls_cert, "\""));
  }
  if (ec) {
    return Invalid(core::Cat("cannot use TLS key \"", config.tls_key, "\": ", ec.message(),
                             " (expected a PEM private key)"));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Invalid(core::Cat("TLS key \"", config.tls_key, "\" does not match certificate \"",
                             config.tls_cert, "\""));
  }
  return tls;
}

}  // namespace

absl::Status CheckTlsConfig(const core::ServerConfig& config) {
  if (config.tls_cert.empty() && config.tls_key.empty()) return absl::OkStatus();
  return MakeTlsContext(config).status();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(
    const core::ServerConfig& config, std::shared_ptr<const Router> router,
    std::shared_ptr<Authorizer> authorizer) {
  if (router == nullptr) return Invalid("no router");
  if (authorizer == nullptr) return Invalid("no authorizer (use AllowAllAuthorizer)");
  ASSIGN_OR_RETURN(core::HostPort listen, core::ParseHostPort(config.listen));
  ASSIGN_OR_RETURN(std::string host, ResolveHost(listen.host));
  if (config.threads < 0) return Invalid("threads must be >= 0");
  if (config.request_timeout_ms <= 0 || config.idle_timeout_ms <= 0 ||
      config.shutdown_grace_ms < 0) {
    return Invalid("timeouts must be positive");
  }
  if (config.max_header_bytes < 256 || config.max_body_bytes == 0 || config.max_upload_bytes == 0) {
    return Invalid("max_header_bytes must be >= 256, max_body_bytes and max_upload_bytes > 0");
  }
  if (config.max_connections < 1) return Invalid("max_connections must be >= 1");
  std::unique_ptr<asio::ssl::context> tls;
  if (!config.tls_cert.empty() || !config.tls_key.empty()) {
    ASSIGN_OR_RETURN(tls, MakeTlsContext(config));
  }

  auto context = std::make_unique<ServerContext>();
  context->config = config;
  context->router = std::move(router);
  context->authorizer = std::move(authorizer);
  context->blocking = std::make_unique<BlockingPool>(kBlockingThreads);
  context->tls = std::move(tls);
  context->request_timeout = std::chrono::milliseconds(config.request_timeout_ms);
  context->idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  context->shutdown_grace = std::chrono::milliseconds(config.shutdown_grace_ms);
  // Deadlines are checked this often: about a tenth of the shortest timeout.
  context->sweep_interval =
      std::clamp(std::min(context->request_timeout, context->idle_timeout) / 10,
                 std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
  context->header_limit =
      static_cast<uint32_t>(std::min<uint64_t>(config.max_header_bytes, 1u << 30));
  // Beast applies the limit to the request line and to the header fields separately.
  context->max_read_buffer = 2 * static_cast<size_t>(context->header_limit) + 1024;

  int threads =
      config.threads > 0 ? config.threads : static_cast<int>(std::thread::hardware_concurrency());
  return std::unique_ptr<HttpServer>(
      new HttpServer(std::move(context), std::move(host), listen.port, std::max(threads, 1)));
}

HttpServer::HttpServer(std::unique_ptr<ServerContext> context, std::string host, uint16_t port,
                       int thread_count)
    : context_(std::move(context)),
      host_(std::move(host)),
      requested_port_(port),
      thread_count_(thread_count) {}

HttpServer::~HttpServer() {
  Shutdown();
  Wait();
}

absl::Status HttpServer::Start() {
  std::lock_guard lock(mutex_);
  if (started_) return absl::FailedPreconditionError("the server is already started");
  if (shutdown_requested_) return absl::FailedPreconditionError("the server was shut down");
  tcp::endpoint endpoint(asio::ip::make_address(host_), requested_port_);

  bool reuse_port = thread_count_ > 1;
  if (reuse_port) {
    // With SO_REUSEPORT the kernel would let us share a port with another process
    // that uses it too (a second ferry server, say) and split its traffic with us. A
    // probe bound without the option fails if anyone listens there, and, for port 0,
    // picks the port all workers then share.
    Worker probe(*context_);
    RETURN_IF_ERROR(probe.Listen(endpoint, /*reuse_port=*/false));
    endpoint.port(probe.port());
  }
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < thread_count_; ++i) {
    auto worker = std::make_unique<Worker>(*context_);
    RETURN_IF_ERROR(worker->Listen(endpoint, reuse_port));
    endpoint.port(worker->port());
    workers.push_back(std::move(worker));
  }
  port_ = endpoint.port();
  workers_ = std::move(workers);
  started_ = true;

  std::lock_guard join_lock(join_mutex_);
  for (int i = 0; i < thread_count_; ++i) {
    Worker* worker = workers_[i].get();
    threads_.emplace_back([worker] { worker->Run(); });
    std::string name = core::Cat("ferry-http-", i);
    pthread_setname_np(threads_.back().native_handle(), name.c_str());
  }
  spdlog::info("http: listening on {}:{} with {} thread(s)", host_, port_.load(), thread_count_);
  return absl::OkStatus();
}

void HttpServer::Shutdown() {
  std::lock_guard lock(mutex_);
  if (shutdown_requested_) return;
  shutdown_requested_ = true;
  context_->stopping = true;
  for (auto& worker : workers_) worker->StopListening();
  for (auto& worker : workers_) worker->PostShutdown();
}

void HttpServer::Wait() {
  std::lock_guard lock(join_mutex_);
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

absl::Status HttpServer::RunUntilSignal(const std::function<void()>& on_started) {
  // The signals are caught before Start, so one that arrives while starting still
  // leads to a graceful stop instead of the default (abrupt) termination.
  asio::io_context signal_io(1);
  asio::signal_set signals(signal_io, SIGINT, SIGTERM);
  signals.async_wait([this](const ErrorCode& ec, int signal_number) {
    if (ec) return;  // cancelled: the server stopped some other way
    spdlog::info("http: signal {} received; shutting down", signal_number);
    Shutdown();
  });
  bool started;
  {
    std::lock_guard lock(mutex_);
    started = started_;
  }
  if (!started) RETURN_IF_ERROR(Start());
  if (on_started) on_started();

  // Wakes the signal loop when the server stops without a signal.
  std::thread watcher([this, &signal_io, &signals] {
    Wait();
    asio::post(signal_io, [&signals] { signals.cancel(); });
  });
  signal_io.run();
  watcher.join();
  return absl::OkStatus();
}

}  // namespace ferry::server
