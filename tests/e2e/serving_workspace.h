#pragma once

// ServingWorkspaceTest: the fixture of end-to-end tests that serve models -- a fresh
// workspace (`ferry init` in a temp dir), the `ferry` binary run in it, and a `ferry
// server` on a free loopback port, stopped at the end of the test. Deploys and calls
// endpoints over HTTP. Needs FERRY_BINARY (the e2e_test target defines it).

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "subprocess.h"
#include "testing/temp_dir.h"

namespace ferry::e2e {

class ServingWorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Ferry({"init"}).exit_code, 0); }
  void TearDown() override {
    if (server_) {
      server_->Signal(SIGTERM);
      // A clean stop exits 0 (under the sanitizers, also: no leak at exit).
      EXPECT_EQ(server_->Wait(std::chrono::milliseconds(10'000)), 0) << server_->Stderr();
    }
  }

  // Runs `ferry ARGS` in the workspace as user "ada" (the actor commands record).
  CommandResult Ferry(std::vector<std::string> args) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, dir_, {{"USER", "ada"}});
  }
  // The same, expecting success; its stdout parsed as JSON.
  nlohmann::json Json(std::vector<std::string> args) {
    CommandResult result = Ferry(std::move(args));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return nlohmann::json::parse(result.out, nullptr, false);
  }
  void Write(const std::string& name, const std::string& contents) {
    std::ofstream(dir_ / name) << contents;
  }
  void StartServer() {
    server_ = std::make_unique<Child>(
        std::vector<std::string>{FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir_);
    port_ = WaitForServerPort(*server_);
    ASSERT_GT(port_, 0);
  }
  void StopServer() {
    server_->Signal(SIGTERM);
    EXPECT_EQ(server_->Wait(std::chrono::milliseconds(10'000)), 0);
    server_.reset();
  }
  HttpResult Http(const std::string& method, const std::string& target,
                  const std::string& body = "",
                  const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return HttpRequest(port_, method, target, body, headers);
  }
  void Deploy(const std::string& endpoint, const std::string& model,
              const std::string& policy = "error") {
    HttpResult r = Http("PUT", "/api/v1/endpoints/" + endpoint,
                        nlohmann::json{{"model", model}, {"missing_features", policy}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(nlohmann::json::parse(r.body)["state"], "READY") << r.body;
  }
  // POSTs a v2 request; returns the parsed response (status checked).
  nlohmann::json Infer(const std::string& endpoint, const nlohmann::json& request,
                       int expect = 200) {
    HttpResult r = Http("POST", "/v2/models/" + endpoint + "/infer", request.dump());
    EXPECT_EQ(r.status, expect) << r.body;
    return r.status == 0 ? nlohmann::json() : nlohmann::json::parse(r.body);
  }

  testing::TempDir temp_;
  const std::filesystem::path& dir_ = temp_.path();
  std::unique_ptr<Child> server_;
  int port_ = 0;
};

}  // namespace ferry::e2e
