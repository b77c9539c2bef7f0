#pragma once

// Helpers for tests that run a real HttpServer on 127.0.0.1, port 0: a configuration
// with short timeouts, a router with a few test routes, and a started server.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "server/body_file.h"
#include "server/health_routes.h"
#include "server/http_server.h"

namespace ferry::server::testing {

inline core::ServerConfig TestConfig() {
  core::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.threads = 2;
  config.max_body_bytes = 64 << 10;
  config.max_header_bytes = 4096;
  config.request_timeout_ms = 2000;
  config.idle_timeout_ms = 2000;
  config.shutdown_grace_ms = 2000;
  config.access_log = false;
  return config;
}

// GET /hello, POST /echo (body back as text), GET /slow (300 ms), GET /throw,
// POST /models/{model}/infer (sets *infer_ran), and the health routes.
inline std::shared_ptr<Router> TestRouter(std::atomic<bool>* infer_ran = nullptr) {
  auto router = std::make_shared<Router>();
  EXPECT_TRUE(router
                  ->Get("/hello",
                        [](Request&) -> absl::StatusOr<Response> {
                          return JsonTextResponse(R"({"hello":"world"})");
                        })
                  .ok());
  EXPECT_TRUE(router
                  ->Post("/echo",
                         [](Request& request) -> absl::StatusOr<Response> {
                           Response response;
                           response.body = std::move(request.mutable_body());
                           response.content_type = kTextContentType;
                           return response;
                         })
                  .ok());
  EXPECT_TRUE(router
                  ->Get("/slow",
                        [](Request&) -> absl::StatusOr<Response> {
                          std::this_thread::sleep_for(std::chrono::milliseconds(300));
                          return JsonTextResponse(R"({"slow":true})");
                        })
                  .ok());
  EXPECT_TRUE(router
                  ->Get("/throw",
                        [](Request&) -> absl::StatusOr<Response> {
                          throw std::runtime_error("handler bug");
                        })
                  .ok());
  EXPECT_TRUE(router
                  ->Post("/models/{model}/infer",
                         [infer_ran](Request& request) -> absl::StatusOr<Response> {
                           if (infer_ran != nullptr) *infer_ran = true;
                           return JsonResponse({{"model", request.PathParam("model")}});
                         })
                  .ok());
  EXPECT_TRUE(AddHealthRoutes(*router).ok());
  return router;
}

// `size` pseudo-random bytes written to `path` (seeded: the same every run); returned too.
inline std::string WriteRandomFile(const std::filesystem::path& path, size_t size) {
  std::mt19937_64 rng(size);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  std::ofstream(path, std::ios::binary) << bytes;
  return bytes;
}

// GET /file: the content of `path` as a BodyFile. *last (when given) watches the last
// one opened, so a test can see when the server lets it go.
inline void AddFileRoute(Router& router, const std::filesystem::path& path,
                         std::shared_ptr<std::weak_ptr<BodyFile>> last = nullptr) {
  EXPECT_TRUE(router
                  .Get("/file",
                       [path, last](Request&) -> absl::StatusOr<Response> {
                         Response response;
                         absl::StatusOr<std::shared_ptr<BodyFile>> file = BodyFile::Open(path);
                         if (!file.ok()) return file.status();
                         response.body_file = *std::move(file);
                         if (last) *last = response.body_file;
                         response.content_type = "application/octet-stream";
                         response.headers.emplace_back("X-File", "yes");
                         return response;
                       })
                  .ok());
}

inline std::unique_ptr<HttpServer> StartServer(
    const core::ServerConfig& config = TestConfig(),
    std::shared_ptr<const Router> router = TestRouter(),
    std::shared_ptr<Authorizer> authorizer = std::make_shared<AllowAllAuthorizer>()) {
  auto server = HttpServer::Create(config, std::move(router), std::move(authorizer));
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  absl::Status started = (*server)->Start();
  EXPECT_TRUE(started.ok()) << started;
  EXPECT_NE((*server)->port(), 0);
  return std::move(*server);
}

}  // namespace ferry::server::testing
