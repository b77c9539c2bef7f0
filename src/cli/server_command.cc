// `ferry server [--listen HOST:PORT] [--threads N]`: serves the workspace over HTTP
// until SIGINT or SIGTERM, then stops gracefully.

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "api/routes.h"
#include "cli/commands.h"
#include "core/status.h"
#include "server/http_server.h"

namespace ferry::cli {
namespace {

absl::Status RunServer(CliContext& context, const std::string& listen, int threads) {
  ASSIGN_OR_RETURN(auto workspace, context.OpenWorkspace());
  core::ServerConfig config = workspace->config().server;
  if (!listen.empty()) config.listen = listen;
  if (threads >= 0) config.threads = threads;

  auto ready = std::make_shared<std::atomic<bool>>(false);
  ASSIGN_OR_RETURN(std::shared_ptr<server::Router> router, api::BuildRouter(*workspace, ready));
  ASSIGN_OR_RETURN(auto http, server::HttpServer::Create(
                                  config, router, std::make_shared<server::AllowAllAuthorizer>()));
  ASSIGN_OR_RETURN(core::HostPort bound, core::ParseHostPort(config.listen));
  const bool ipv6 = bound.host.find(':') != std::string::npos;
  // The callback runs once signals are caught and the port is bound, so a SIGTERM
  // right after the "listening" line still stops the server gracefully.
  RETURN_IF_ERROR(http->RunUntilSignal([&] {
    ready->store(true);
    context.out() << "ferry server listening on http://" << (ipv6 ? "[" : "") << bound.host
                  << (ipv6 ? "]" : "") << ":" << http->port() << " (workspace "
                  << workspace->root().string() << ")" << std::endl;
  }));
  context.out() << "ferry server stopped" << std::endl;
  return absl::OkStatus();
}

}  // namespace

void AddServerCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* cmd = app.add_subcommand(
      "server", "Serve the workspace over HTTP until SIGINT/SIGTERM (graceful shutdown)");
  auto listen = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(-1);
  cmd->add_option("--listen", *listen,
                  "Address to listen on (default: server.listen in config.yaml, 127.0.0.1:8080)")
      ->type_name("HOST:PORT");
  cmd->add_option("--threads", *threads, "Server threads (default: server.threads; 0 = one per core)")
      ->check(CLI::Range(0, 256));
  cmd->callback([&context, result, listen, threads] {
    *result = RunServer(context, *listen, *threads);
  });
}

}  // namespace ferry::cli
