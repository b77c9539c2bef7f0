// The ferry side of the http_floor benchmark: HttpServer serving the health routes on
// 127.0.0.1:PORT with the access log off, until SIGTERM or SIGINT. Prints
// "http_floor_server: listening on PORT" once it accepts connections. Stands in for
// `ferry server` until the CLI can start the server.
//
// Usage: http_floor_server [--port N] [--threads N]   (defaults: 0 = any port, one
// thread per core)

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "core/config.h"
#include "server/health_routes.h"
#include "server/http_server.h"

namespace {

int Usage() {
  std::fprintf(stderr, "usage: http_floor_server [--port N] [--threads N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ferry;
  std::string port = "0";
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc) return Usage();
    if (flag == "--port") {
      port = argv[++i];
    } else if (flag == "--threads") {
      threads = std::atoi(argv[++i]);
    } else {
      return Usage();
    }
  }

  core::ServerConfig config;
  config.listen = "127.0.0.1:" + port;
  config.threads = threads;
  config.access_log = false;

  auto router = std::make_shared<server::Router>();
  if (absl::Status added = server::AddHealthRoutes(*router); !added.ok()) {
    std::fprintf(stderr, "http_floor_server: %s\n", added.ToString().c_str());
    return 1;
  }
  auto created =
      server::HttpServer::Create(config, router, std::make_shared<server::AllowAllAuthorizer>());
  if (!created.ok()) {
    std::fprintf(stderr, "http_floor_server: %s\n", created.status().ToString().c_str());
    return 1;
  }
  server::HttpServer& http = **created;
  if (absl::Status started = http.Start(); !started.ok()) {
    std::fprintf(stderr, "http_floor_server: %s\n", started.ToString().c_str());
    return 1;
  }
  std::printf("http_floor_server: listening on %u\n", static_cast<unsigned>(http.port()));
  std::fflush(stdout);
  absl::Status stopped = http.RunUntilSignal();
  if (!stopped.ok()) {
    std::fprintf(stderr, "http_floor_server: %s\n", stopped.ToString().c_str());
    return 1;
  }
  return 0;
}
