// End-to-end tests of `ferry data ...` and the dataset HTTP routes.

#include <signal.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "subprocess.h"
#include "testing/temp_dir.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;
using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

class DataE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Ferry({"init"}).exit_code, 0); }
  CommandResult Ferry(std::vector<std::string> args) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, dir_);
  }
  void WriteFile(const std::string& name, const std::string& contents) {
    std::FILE* f = std::fopen((dir_ / name).c_str(), "wb");
    std::fwrite(contents.data(), 1, contents.size(), f);
    std::fclose(f);
  }
  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
};

TEST_F(DataE2eTest, AddListLogShowTagExportDiff) {
  ASSERT_EQ(Ferry({"demo", "transactions", "--out", "tx.csv", "--rows", "20000"}).exit_code, 0);
  CommandResult add = Ferry({"data", "add", "transactions", "tx.csv", "-m", "first", "--json"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  auto added = nlohmann::json::parse(add.out);
  EXPECT_TRUE(added["created"].get<bool>());
  EXPECT_EQ(added["version"]["ref"], "transactions@1");
  EXPECT_EQ(added["version"]["rows"], 20000);

  CommandResult same = Ferry({"data", "add", "transactions", "tx.csv"});
  EXPECT_EQ(same.exit_code, 0);
  EXPECT_NE(same.out.find("unchanged"), std::string::npos) << same.out;

  ASSERT_EQ(Ferry({"demo", "transactions", "--out", "tx2.csv", "--rows", "20000", "--seed", "7"})
                .exit_code,
            0);
  ASSERT_EQ(Ferry({"data", "add", "transactions", "tx2.csv", "--tag", "gold"}).exit_code, 0);

  auto list = nlohmann::json::parse(Ferry({"data", "list", "--json"}).out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["versions"], 2);
  auto log = nlohmann::json::parse(Ferry({"data", "log", "transactions", "--json"}).out);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["tags"], nlohmann::json::array({"gold"}));
  EXPECT_EQ(log[1]["message"], "first");

  CommandResult show = Ferry({"data", "show", "transactions@gold", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto shown = nlohmann::json::parse(show.out);
  EXPECT_EQ(shown["version"]["version"], 2);
  EXPECT_TRUE(shown["profile"].is_object());
  CommandResult show_text = Ferry({"data", "show", "transactions@1"});
  EXPECT_NE(show_text.out.find("amount"), std::string::npos);
  EXPECT_NE(show_text.out.find("float64"), std::string::npos);

  ASSERT_EQ(Ferry({"data", "export", "transactions@1", "back.csv"}).exit_code, 0);
  CommandResult cmp = RunCommand({"/usr/bin/cmp", "tx.csv", "back.csv"}, dir_);
  EXPECT_EQ(cmp.exit_code, 0) << cmp.out;

  CommandResult diff = Ferry({"data", "diff", "transactions@1", "transactions@2", "--json"});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  auto diffed = nlohmann::json::parse(diff.out);
  EXPECT_GT(diffed["new_bytes"].get<int64_t>(), 0);

  EXPECT_EQ(Ferry({"data", "verify"}).exit_code, 0);
  EXPECT_EQ(Ferry({"fsck"}).exit_code, 0);
}

TEST_F(DataE2eTest, ErrorsHaveClearMessagesAndExitCodes) {
  WriteFile("ragged.csv", "a,b\n1,2\n3\n");
  CommandResult ragged = Ferry({"data", "add", "d", "ragged.csv"});
  EXPECT_EQ(ragged.exit_code, 2);
  EXPECT_NE(ragged.err.find("ragged.csv: line 3"), std::string::npos) << ragged.err;
  CommandResult lenient = Ferry({"data", "add", "d", "ragged.csv", "--lenient"});
  EXPECT_EQ(lenient.exit_code, 0) << lenient.err;
  EXPECT_NE(lenient.out.find("1 bad rows skipped"), std::string::npos) << lenient.out;

  CommandResult unknown = Ferry({"data", "show", "nope@1"});
  EXPECT_EQ(unknown.exit_code, 3);
  EXPECT_NE(unknown.err.find("no dataset named \"nope\""), std::string::npos) << unknown.err;
  EXPECT_EQ(Ferry({"data", "show", "d@7"}).exit_code, 3);
  EXPECT_EQ(Ferry({"data", "show", "d@0"}).exit_code, 2);
  EXPECT_EQ(Ferry({"data", "add", "d", "missing.csv"}).exit_code, 3);
  WriteFile("empty.csv", "");
  EXPECT_EQ(Ferry({"data", "add", "d", "empty.csv"}).exit_code, 2);

  ASSERT_EQ(Ferry({"data", "tag", "d@1", "gold"}).exit_code, 0);
  WriteFile("b.csv", "a,b\n5,6\n");
  ASSERT_EQ(Ferry({"data", "add", "d", "b.csv"}).exit_code, 0);
  CommandResult taken = Ferry({"data", "tag", "d@2", "gold"});
  EXPECT_EQ(taken.exit_code, 4);
  EXPECT_NE(taken.err.find("--move"), std::string::npos) << taken.err;
  // The failed commands stored nothing.
  auto log = nlohmann::json::parse(Ferry({"data", "log", "d", "--json"}).out);
  EXPECT_EQ(log.size(), 2u);
}

TEST_F(DataE2eTest, KilledAddLeavesNoVersionAndACleanWorkspace) {
  ASSERT_EQ(Ferry({"demo", "transactions", "--out", "big.csv", "--rows", "1500000"}).exit_code, 0);
  {
    Child add({FERRY_BINARY, "data", "add", "big", "big.csv"}, dir_);
    std::this_thread::sleep_for(150ms);
    add.Signal(SIGKILL);
    EXPECT_NE(add.Wait(10s), 0);
  }
  auto list = nlohmann::json::parse(Ferry({"data", "list", "--json"}).out);
  EXPECT_TRUE(list.empty()) << list.dump();
  CommandResult fsck = Ferry({"fsck"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  // And the dataset can be added afterwards.
  CommandResult again = Ferry({"data", "add", "big", "big.csv"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Ferry({"data", "verify"}).exit_code, 0);
}

TEST_F(DataE2eTest, FsckAndVerifyNameTheVersionOfAMissingChunk) {
  ASSERT_EQ(Ferry({"demo", "transactions", "--out", "t.csv", "--rows", "30000"}).exit_code, 0);
  CommandResult add = Ferry({"data", "add", "t", "t.csv", "--json"});
  ASSERT_EQ(add.exit_code, 0);
  // Remove the first chunk the manifest names: the largest object file that is not
  // the manifest or the profile will do; find any chunk by elimination.
  auto version = nlohmann::json::parse(add.out)["version"];
  std::string manifest = version["manifest"], profile = version["profile"];
  fs::path victim;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / ".ferry/objects")) {
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() == 64 && name != manifest && name != profile) {
      victim = entry.path();
      break;
    }
  }
  ASSERT_FALSE(victim.empty());
  fs::remove(victim);
  CommandResult fsck = Ferry({"fsck"});
  EXPECT_EQ(fsck.exit_code, 5) << fsck.out;
  EXPECT_NE(fsck.out.find("t@1: chunk " + victim.filename().string() + " is missing"),
            std::string::npos)
      << fsck.out;
  CommandResult verify = Ferry({"data", "verify"});
  EXPECT_EQ(verify.exit_code, 5);
  EXPECT_NE(verify.out.find("t@1"), std::string::npos) << verify.out;
  CommandResult exported = Ferry({"data", "export", "t@1", "out.csv"});
  EXPECT_NE(exported.exit_code, 0);
  EXPECT_FALSE(fs::exists(dir_ / "out.csv"));
}

TEST_F(DataE2eTest, ServerListsDatasetsAndVersions) {
  WriteFile("a.csv", "id,score\n1,0.5\n2,0.25\n");
  ASSERT_EQ(Ferry({"data", "add", "scores", "a.csv"}).exit_code, 0);
  Child server({FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir_);
  int port = WaitForServerPort(server);
  ASSERT_GT(port, 0);

  HttpResult all = HttpRequest(port, "GET", "/api/v1/datasets");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(nlohmann::json::parse(all.body)["datasets"][0]["name"], "scores");
  HttpResult versions = HttpRequest(port, "GET", "/api/v1/datasets/scores/versions");
  ASSERT_EQ(versions.status, 200);
  EXPECT_EQ(nlohmann::json::parse(versions.body)["versions"].size(), 1u);
  HttpResult one = HttpRequest(port, "GET", "/api/v1/datasets/scores/versions/1");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(nlohmann::json::parse(one.body)["rows"], 2);
  HttpResult latest = HttpRequest(port, "GET", "/api/v1/datasets/scores/versions/latest");
  EXPECT_EQ(latest.status, 200);
  HttpResult missing = HttpRequest(port, "GET", "/api/v1/datasets/scores/versions/9");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing.body)["error"]["code"], "not_found");
  HttpResult bad = HttpRequest(port, "GET", "/api/v1/datasets/scores/versions/0");
  EXPECT_EQ(bad.status, 400);

  // Uploading a version over HTTP.
  const std::string csv = "id,score\n1,0.5\n2,0.25\n3,0.75\n";
  HttpResult posted = HttpRequest(
      port, "POST", "/api/v1/datasets/scores/versions?filename=b.csv&message=from%20http&tag=web",
      csv);
  ASSERT_EQ(posted.status, 201) << posted.body;
  auto version = nlohmann::json::parse(posted.body)["version"];
  EXPECT_EQ(version["ref"], "scores@2");
  EXPECT_EQ(version["rows"], 3);
  EXPECT_EQ(version["message"], "from http");
  EXPECT_EQ(version["source"], "b.csv");
  EXPECT_EQ(version["tags"], nlohmann::json::array({"web"}));
  HttpResult again = HttpRequest(port, "POST", "/api/v1/datasets/scores/versions?filename=b.csv",
                                 csv);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_FALSE(nlohmann::json::parse(again.body)["created"].get<bool>());
  HttpResult ragged = HttpRequest(port, "POST", "/api/v1/datasets/scores/versions?filename=c.csv",
                                  "a,b\n1\n");
  EXPECT_EQ(ragged.status, 400);
  EXPECT_NE(nlohmann::json::parse(ragged.body)["error"]["message"].get<std::string>().find(
                "c.csv: line 2"),
            std::string::npos)
      << ragged.body;
  EXPECT_EQ(HttpRequest(port, "POST", "/api/v1/datasets/scores/versions?nope=1", csv).status, 400);
  EXPECT_EQ(HttpRequest(port, "POST", "/api/v1/datasets/scores/versions?filename=../x", csv).status,
            400);
  // Nothing was left behind by the uploads, and the CLI sees the new version.
  EXPECT_TRUE(fs::is_empty(dir_ / ".ferry/uploads"));
  EXPECT_EQ(nlohmann::json::parse(Ferry({"data", "log", "scores", "--json"}).out).size(), 2u);
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(10s), 0);
}

}  // namespace
}  // namespace ferry::e2e
