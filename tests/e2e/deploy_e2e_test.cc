// End-to-end tests of `ferry deploy`: endpoints by alias and by version, list, status
// (with and without a server to ask), an alias move followed, deletion, the registry's
// refusal to delete what an endpoint serves, and exit codes.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "serving_workspace.h"
#include "subprocess.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A loopback socket bound to port 0. With Listen(), Serve() answers one connection
// with `body` as application/json; without, connecting to port() is refused.
class FakeServer {
 public:
  FakeServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~FakeServer() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

  // Answers the next request with `body`; the request line is kept for request_line().
  void ServeOnce(std::string body) {
    ASSERT_EQ(::listen(fd_, 1), 0);
    thread_ = std::thread([this, body = std::move(body)] {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(client, buffer, sizeof(buffer));
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
      }
      request_line_ = request.substr(0, request.find("\r\n"));
      const std::string reply =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          "Connection: close\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body;
      EXPECT_EQ(::write(client, reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
      ::close(client);
    });
  }
  std::string request_line() {
    if (thread_.joinable()) thread_.join();
    return request_line_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string request_line_;
};

class DeployE2eTest : public ServingWorkspaceTest {
 protected:
  void SetUp() override {
    ServingWorkspaceTest::SetUp();
    testing::WriteXGBoostModel(dir_ / "model.json", 2, {"avg_amount", "txn_count"});
    for (int i = 0; i < 2; ++i) {
      CommandResult reg = Ferry({"models", "register", "fraud-model", "--artifact", "model.json"});
      ASSERT_EQ(reg.exit_code, 0) << reg.err;
    }
    ASSERT_EQ(Ferry({"models", "alias", "fraud-model@1", "production"}).exit_code, 0);
  }

};

TEST_F(DeployE2eTest, DeployByAliasAndVersionFollowTheAliasAndDelete) {
  CommandResult fraud = Ferry({"deploy", "fraud", "--model", "fraud-model@production"});
  ASSERT_EQ(fraud.exit_code, 0) << fraud.err;
  EXPECT_EQ(fraud.out,
            "endpoint fraud -> fraud-model@production (version 1), missing features: error\n");
  json pinned = Json({"deploy", "pinned", "--model", "fraud-model@1", "--missing-features",
                      "missing", "--actor", "bob", "--json"});
  EXPECT_EQ(pinned["resolved_version"], 1);
  EXPECT_EQ(pinned["missing_features"], "missing");
  EXPECT_EQ(pinned["updated_by"], "bob");
  EXPECT_EQ(pinned["flavor"], "xgboost");

  CommandResult list = Ferry({"deploy", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("ENDPOINT"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("fraud-model@production"), std::string::npos) << list.out;
  json listed = Json({"deploy", "list", "--json"});
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]["endpoint"], "fraud");
  EXPECT_EQ(listed[1]["endpoint"], "pinned");

  CommandResult status = Ferry({"deploy", "status", "fraud"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("fraud-model@production"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("version           1 (xgboost"), std::string::npos) << status.out;

  // The endpoint follows its alias.
  ASSERT_EQ(Ferry({"models", "alias", "fraud-model@2", "production"}).exit_code, 0);
  EXPECT_EQ(Json({"deploy", "status", "fraud", "--json"})["resolved_version"], 2);
  EXPECT_EQ(Json({"deploy", "status", "pinned", "--json"})["resolved_version"], 1);

  // What an endpoint serves is not deleted.
  CommandResult held = Ferry({"models", "delete", "fraud-model@1"});
  EXPECT_EQ(held.exit_code, 4);
  EXPECT_NE(held.err.find("fraud-model@1 is deployed on endpoint pinned; run `ferry deploy"
                          " delete pinned` or deploy another version first"),
            std::string::npos)
      << held.err;
  CommandResult alias = Ferry({"models", "alias", "fraud-model", "production", "--delete"});
  EXPECT_EQ(alias.exit_code, 4);
  EXPECT_NE(alias.err.find("fraud-model@production is deployed on endpoint fraud"),
            std::string::npos)
      << alias.err;

  CommandResult deleted = Ferry({"deploy", "delete", "pinned"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, "deleted endpoint pinned\n");
  EXPECT_EQ(Ferry({"models", "delete", "fraud-model@1"}).exit_code, 0);
  EXPECT_EQ(Json({"deploy", "list", "--json"}).size(), 1u);
}

TEST_F(DeployE2eTest, MistakesExitNonZeroWithAClearMessage) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message_part;
  };
  const Case cases[] = {
      {{"deploy"}, 2, "usage: ferry deploy ENDPOINT --model"},
      {{"deploy", "fraud"}, 2, "needs --model"},
      {{"deploy", "fraud", "--model", "fraud-model"}, 2, "fraud-model@production"},
      {{"deploy", "fraud", "--model", "fraud-model@9"}, 3, "has no version 9"},
      {{"deploy", "fraud", "--model", "fraud-model@canary"}, 3, "has no alias \"canary\""},
      {{"deploy", "fraud", "--model", "nosuch@1"}, 3, "no model named \"nosuch\""},
      {{"deploy", "fraud", "--model", "fraud-model@1", "--missing-features", "nan"},
       2,
       "\"error\" or \"missing\""},
      {{"deploy", "fraud/v2", "--model", "fraud-model@1"}, 2, "endpoint name"},
      {{"deploy", "--model", "fraud-model@1", "--", "list"}, 2, "is reserved"},
      {{"deploy", "status", "nosuch"}, 3, "no endpoint named \"nosuch\""},
      {{"deploy", "delete", "nosuch"}, 3, "no endpoint named \"nosuch\""},
      {{"deploy", "status"}, 2, "ENDPOINT is required"},
  };
  for (const Case& c : cases) {
    CommandResult result = Ferry(c.args);
    EXPECT_EQ(result.exit_code, c.exit_code) << c.args.back() << ": " << result.err;
    EXPECT_NE(result.err.find(c.message_part), std::string::npos) << result.err;
  }
  EXPECT_EQ(Json({"deploy", "list", "--json"}).size(), 0u) << "no mistake deployed anything";
}

TEST_F(DeployE2eTest, StatusAsksTheServerWhenGivenOne) {
  ASSERT_EQ(Ferry({"deploy", "fraud", "--model", "fraud-model@production"}).exit_code, 0);
  {
    FakeServer closed;  // bound, not listening: connections are refused
    const std::string url = "http://127.0.0.1:" + std::to_string(closed.port());
    CommandResult down = Ferry({"deploy", "status", "fraud", "--server", url});
    EXPECT_EQ(down.exit_code, 0) << down.err;
    EXPECT_NE(down.out.find("server not reachable at " + url), std::string::npos) << down.out;
    EXPECT_NE(down.out.find("fraud-model@production"), std::string::npos) << down.out;
  }
  FakeServer server;
  // The shape of GET /api/v1/endpoints/{endpoint} (src/api/inference_routes.cc).
  server.ServeOnce(R"({"endpoint": "fraud", "model": "fraud-model@production", "version": 1,)"
                   R"( "target_version": 2, "state": "READY", "reason": "", "evaluator": "native-trees",)"
                   R"( "objective": "binary:logistic", "loaded_at": "2026-11-26T10:00:00Z"})");
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  CommandResult up = Ferry({"deploy", "status", "fraud", "--server", url});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(server.request_line(), "GET /api/v1/endpoints/fraud HTTP/1.1");
  EXPECT_NE(up.out.find("  state             READY\n"), std::string::npos) << up.out;
  EXPECT_NE(up.out.find("  serving           version 1 (target 2)\n"), std::string::npos)
      << up.out;
  EXPECT_NE(up.out.find("  evaluator         native-trees, binary:logistic\n"),
            std::string::npos)
      << up.out;
  EXPECT_EQ(up.out.find("reason"), std::string::npos) << "an empty reason is left out";
}

}  // namespace
}  // namespace ferry::e2e
