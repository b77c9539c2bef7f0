// `ferry server [--listen HOST:PORT] [--threads N] [--tls-cert FILE --tls-key FILE]
// [--insecure-no-auth]`: serves the workspace over HTTP(S) until SIGINT or SIGTERM, then
// stops gracefully.

#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "api/routes.h"
#include "auth/audit_log.h"
#include "auth/token_authorizer.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/host.h"
#include "core/status.h"
#include "core/strings.h"
#include "server/http_server.h"

namespace ferry::cli {
namespace {

struct ServerArgs {
  std::string listen;
  int threads = -1;
  std::string tls_cert;
  std::string tls_key;
  bool insecure_no_auth = false;
};

// Whether requests need a token: server.auth, where the server listens, and the flag.
absl::StatusOr<bool> RequireTokens(const core::ServerConfig& config, const std::string& host,
                                   bool insecure_no_auth) {
  const bool loopback = core::IsLoopbackHost(host);
  if (insecure_no_auth) {
    if (!loopback) {
      spdlog::warn(
          "serving {} WITHOUT AUTHENTICATION (--insecure-no-auth): anyone who can"
          " reach it may read, change and delete everything in this workspace",
          config.listen);
    }
    return false;
  }
  if (config.auth == "on") return true;
  if (config.auth == "off") {
    if (!loopback) {
      return absl::FailedPreconditionError(core::Cat(
          "refusing to serve ", config.listen, " without authentication: server.auth is off and ",
          host,
          " is not a loopback address. Use API tokens (server.auth: auto or on; `ferry token"
          " create`), or pass --insecure-no-auth if something in front of ferry authenticates"));
    }
    return false;
  }
  return !loopback;  // auto
}

absl::Status RunServer(CliContext& context, const ServerArgs& args) {
  ASSIGN_OR_RETURN(auto workspace, context.OpenWorkspace());
  core::ServerConfig config = workspace->config().server;
  if (!args.listen.empty()) config.listen = args.listen;
  if (args.threads >= 0) config.threads = args.threads;
  if (!args.tls_cert.empty() || !args.tls_key.empty()) {
    config.tls_cert = args.tls_cert;
    config.tls_key = args.tls_key;
  }
  ASSIGN_OR_RETURN(core::HostPort bound, core::ParseHostPort(config.listen));
  ASSIGN_OR_RETURN(const bool require_tokens,
                   RequireTokens(config, bound.host, args.insecure_no_auth));
  RETURN_IF_ERROR(server::CheckTlsConfig(config));  // before anything starts

  // Every mutation and refusal goes to the audit log, tokens or not.
  std::filesystem::path audit_file;
  if (!config.audit_log_file.empty()) {
    audit_file = std::filesystem::path(config.audit_log_file);
    if (audit_file.is_relative()) audit_file = workspace->root() / audit_file;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<auth::AuditWriter> audit,
                   auth::AuditWriter::Open(workspace->metadata(), audit_file,
                                           core::SystemClock::Shared()->NowMicros()));
  auth::TokenAuthorizer::Options access;
  access.require_tokens = require_tokens;
  access.rate_limit_per_second = config.rate_limit_per_second;
  access.rate_limit_burst = config.rate_limit_burst;
  ASSIGN_OR_RETURN(std::shared_ptr<auth::TokenAuthorizer> authorizer,
                   auth::TokenAuthorizer::Open(workspace->metadata(), audit, access));
  if (require_tokens && authorizer->usable_tokens() == 0) {
    spdlog::warn(
        "API tokens are required and there are none yet: every request but the health"
        " probes gets 401 until one is made (`ferry token create NAME --scope ...`)");
  }
  const bool tls = !config.tls_cert.empty();
  if (require_tokens && !tls && !core::IsLoopbackHost(bound.host)) {
    spdlog::warn(
        "tokens travel unencrypted over plain HTTP on {}: give --tls-cert and --tls-key,"
        " or put a TLS-terminating proxy in front",
        config.listen);
  }

  auto ready = std::make_shared<std::atomic<bool>>(false);
  ASSIGN_OR_RETURN(std::shared_ptr<server::Router> router, api::BuildRouter(*workspace, ready));
  ASSIGN_OR_RETURN(auto http, server::HttpServer::Create(config, router, authorizer));
  const bool ipv6 = bound.host.find(':') != std::string::npos;
  // The callback runs once signals are caught and the port is bound, so a SIGTERM
  // right after the "listening" line still stops the server gracefully.
  RETURN_IF_ERROR(http->RunUntilSignal([&] {
    ready->store(true);
    context.out() << "ferry server listening on " << (tls ? "https" : "http") << "://"
                  << (ipv6 ? "[" : "") << bound.host << (ipv6 ? "]" : "") << ":" << http->port()
                  << " (workspace " << workspace->root().string() << ")\n"
                  << "auth: "
                  << (require_tokens ? "API tokens required (Authorization: Bearer)"
                                     : "none (anonymous requests allowed)")
                  << std::endl;
  }));
  audit->Flush();
  context.out() << "ferry server stopped" << std::endl;
  return absl::OkStatus();
}

}  // namespace

void AddServerCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* cmd = app.add_subcommand(
      "server", "Serve the workspace over HTTP until SIGINT/SIGTERM (graceful shutdown)");
  auto args = std::make_shared<ServerArgs>();
  cmd->add_option("--listen", args->listen,
                  "Address to listen on (default: server.listen in config.yaml, 127.0.0.1:8080)")
      ->type_name("HOST:PORT");
  cmd->add_option("--threads", args->threads,
                  "Server threads (default: server.threads; 0 = one per core)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--tls-cert", args->tls_cert,
                  "Serve HTTPS (TLS 1.2+) with this PEM certificate chain (with --tls-key)")
      ->type_name("FILE");
  cmd->add_option("--tls-key", args->tls_key, "The PEM private key of --tls-cert")
      ->type_name("FILE");
  cmd->add_flag("--insecure-no-auth", args->insecure_no_auth,
                "Require no API tokens, even on a non-loopback address");
  cmd->callback([&context, result, args] { *result = RunServer(context, *args); });
}

}  // namespace ferry::cli
