// A workspace whose metadata lives on PostgreSQL (`ferry init --metadata postgresql://...`),
// on the test process's own server (testing/postgres_server.h): the CLI and `ferry server`
// work on it, a second folder pointed at the same database is the same workspace, and bad
// or unreachable URLs give clear errors and leave nothing behind.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "subprocess.h"
#include "testing/server_process.h"
#include "testing/postgres_server.h"
#include "testing/temp_dir.h"

namespace ferry::e2e {
namespace {

using nlohmann::json;

TEST(PostgresMetadataE2eTest, CliAndServerWorkOnPostgresAndFoldersShareIt) {
  testing::TempDir dir;
  const std::string url = testing::SharedPostgres().NewDatabase();
  ASSERT_FALSE(url.empty());
  const auto ferry = [&](std::vector<std::string> args, const std::filesystem::path& where) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, where);
  };
  std::filesystem::create_directories(dir.path() / "a");
  std::filesystem::create_directories(dir.path() / "b");
  CommandResult init = ferry({"init", "--metadata", url, "--json"}, dir.path() / "a");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const std::string id = json::parse(init.out)["workspace_id"];
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "a" / ".ferry" / "metadata.db"));

  std::ofstream(dir.path() / "a" / "customers.csv") << "customer_id,amount\nc1,10.5\nc2,20\n";
  CommandResult added = ferry({"data", "add", "customers", "customers.csv"}, dir.path() / "a");
  ASSERT_EQ(added.exit_code, 0) << added.err;

  // Another folder on the same database is the same workspace: same id, same datasets.
  CommandResult second = ferry({"init", "--metadata", url, "--json"}, dir.path() / "b");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(json::parse(second.out)["workspace_id"], id);
  CommandResult listed = ferry({"data", "list", "--json"}, dir.path() / "b");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("customers"), std::string::npos) << listed.out;

  CommandResult fsck = ferry({"fsck"}, dir.path() / "a");
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  EXPECT_NE(fsck.out.find("metadata: ok"), std::string::npos) << fsck.out;

  Child server({FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir.path() / "a");
  const int port = WaitForServerPort(server);
  ASSERT_GT(port, 0);
  HttpResult workspace = HttpRequest(port, "GET", "/api/v1/workspace");
  ASSERT_EQ(workspace.status, 200) << workspace.body;
  EXPECT_EQ(json::parse(workspace.body)["workspace_id"], id);
  // Shown as DescribePostgresUrl prints it: without credentials or options.
  EXPECT_EQ(json::parse(workspace.body)["metadata"], url.substr(0, url.find('?')));
  HttpResult datasets = HttpRequest(port, "GET", "/api/v1/datasets");
  ASSERT_EQ(datasets.status, 200);
  EXPECT_NE(datasets.body.find("customers"), std::string::npos) << datasets.body;
}

TEST(PostgresMetadataE2eTest, BadAndUnreachableUrlsAreClearAndCreateNothing) {
  testing::TempDir dir;
  const auto ferry = [&](std::vector<std::string> args) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, dir.path());
  };
  CommandResult password = ferry({"init", "--metadata", "postgresql://me:pw@db.internal/ferry"});
  EXPECT_EQ(password.exit_code, 2) << password.err;
  EXPECT_NE(password.err.find("PGPASSWORD"), std::string::npos) << password.err;
  EXPECT_EQ(password.err.find("pw@"), std::string::npos) << password.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / ".ferry"));

  const std::string nowhere =
      "postgresql://ferry@127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()) + "/ferry";
  const auto start = std::chrono::steady_clock::now();
  CommandResult down = ferry({"init", "--metadata", nowhere});
  EXPECT_NE(down.exit_code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_NE(down.err.find("cannot connect to " + nowhere), std::string::npos) << down.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / ".ferry"));
}

}  // namespace
}  // namespace ferry::e2e
