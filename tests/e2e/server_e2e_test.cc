// End-to-end tests of `ferry server`: the real binary, real sockets on loopback.

#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "subprocess.h"
#include "testing/temp_dir.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;
using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

class ServerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CommandResult init = RunCommand({FERRY_BINARY, "init"}, dir_);
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }

  // Starts `ferry server` on a port the OS picks and returns the port.
  int StartServer(std::unique_ptr<Child>& child) {
    child = std::make_unique<Child>(
        std::vector<std::string>{FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir_);
    return WaitForServerPort(*child);
  }

  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
};

TEST_F(ServerE2eTest, AnswersHealthAndOipAndStopsCleanlyOnSigterm) {
  std::unique_ptr<Child> server;
  int port = StartServer(server);
  ASSERT_GT(port, 0);

  HttpResult live = HttpRequest(port, "GET", "/v2/health/live");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(nlohmann::json::parse(live.body), nlohmann::json({{"live", true}}));
  HttpResult ready = HttpRequest(port, "GET", "/v2/health/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(nlohmann::json::parse(ready.body), nlohmann::json({{"ready", true}}));
  HttpResult meta = HttpRequest(port, "GET", "/v2");
  ASSERT_EQ(meta.status, 200);
  auto meta_json = nlohmann::json::parse(meta.body);
  EXPECT_EQ(meta_json["name"], "ferry");
  EXPECT_TRUE(meta_json["extensions"].is_array());
  EXPECT_EQ(HttpRequest(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(HttpRequest(port, "GET", "/readyz").status, 200);

  HttpResult workspace = HttpRequest(port, "GET", "/api/v1/workspace");
  EXPECT_EQ(workspace.status, 200);
  EXPECT_EQ(nlohmann::json::parse(workspace.body)["workspace_id"].get<std::string>().size(), 32u);

  HttpResult missing = HttpRequest(port, "GET", "/no/such/route");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing.body)["error"]["code"], "not_found");
  HttpResult wrong_method = HttpRequest(port, "DELETE", "/v2/health/live");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(nlohmann::json::parse(wrong_method.body)["error"]["code"], "method_not_allowed");

  server->Signal(SIGTERM);
  EXPECT_EQ(server->Wait(10s), 0) << server->Stderr();
  EXPECT_EQ(HttpRequest(port, "GET", "/v2/health/live").status, 0);  // refused
}

TEST_F(ServerE2eTest, SigintAlsoStopsGracefully) {
  std::unique_ptr<Child> server;
  int port = StartServer(server);
  ASSERT_GT(port, 0);
  EXPECT_EQ(HttpRequest(port, "GET", "/healthz").status, 200);
  server->Signal(SIGINT);
  EXPECT_EQ(server->Wait(10s), 0) << server->Stderr();
}

TEST_F(ServerE2eTest, PortInUseIsAClearError) {
  std::unique_ptr<Child> first;
  int port = StartServer(first);
  ASSERT_GT(port, 0);
  CommandResult second =
      RunCommand({FERRY_BINARY, "server", "--listen", "127.0.0.1:" + std::to_string(port)}, dir_);
  EXPECT_EQ(second.exit_code, 6) << second.out << second.err;
  EXPECT_NE(second.err.find("ferry: error:"), std::string::npos) << second.err;
  first->Signal(SIGTERM);
  EXPECT_EQ(first->Wait(10s), 0);
}

TEST_F(ServerE2eTest, BadListenAddressIsUsageError) {
  CommandResult r = RunCommand({FERRY_BINARY, "server", "--listen", "nonsense"}, dir_);
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST_F(ServerE2eTest, FsckFindsAFlippedByteInAStoredObject) {
  ASSERT_EQ(RunCommand({FERRY_BINARY, "-C", "ws", "init"}, dir_).exit_code, 0);
  ASSERT_EQ(RunCommand({FERRY_BINARY, "-C", "ws", "demo", "transactions", "--out", "tx.csv",
                        "--rows", "5000"},
                       dir_)
                .exit_code,
            0);
  ASSERT_EQ(RunCommand({FERRY_BINARY, "-C", "ws", "data", "add", "tx", "tx.csv"}, dir_).exit_code,
            0);
  fs::path object;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "ws/.ferry/objects")) {
    if (entry.is_regular_file() && entry.path().filename().string().size() == 64) {
      object = entry.path();
    }
  }
  ASSERT_FALSE(object.empty());
  {
    std::FILE* f = std::fopen(object.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, -10, SEEK_END);
    int c = std::fgetc(f);
    std::fseek(f, -10, SEEK_END);
    std::fputc(c ^ 0x5a, f);
    std::fclose(f);
  }
  CommandResult fsck = RunCommand({FERRY_BINARY, "-C", "ws", "fsck"}, dir_);
  EXPECT_EQ(fsck.exit_code, 5) << fsck.out << fsck.err;
  EXPECT_NE(fsck.out.find("1 damaged"), std::string::npos) << fsck.out;
  EXPECT_NE(fsck.out.find(object.filename().string()), std::string::npos) << fsck.out;
  EXPECT_NE(fsck.err.find("ferry: error: the workspace is damaged"), std::string::npos);
}

}  // namespace
}  // namespace ferry::e2e
