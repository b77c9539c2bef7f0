// End-to-end tests of streamed dataset uploads: files POSTed to a real `ferry server`
// become the same versions `ferry data add` makes, and abandoned uploads leave nothing.

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "subprocess.h"
#include "testing/temp_dir.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;
using std::chrono_literals::operator""s;

constexpr std::string_view kVersions = "/api/v1/datasets/";

bool SameBytes(const fs::path& a, const fs::path& b) {
  if (fs::file_size(a) != fs::file_size(b)) return false;
  std::ifstream in_a(a, std::ios::binary);
  std::ifstream in_b(b, std::ios::binary);
  std::string piece_a(1 << 20, '\0');
  std::string piece_b(1 << 20, '\0');
  while (in_a && in_b) {
    in_a.read(piece_a.data(), static_cast<std::streamsize>(piece_a.size()));
    in_b.read(piece_b.data(), static_cast<std::streamsize>(piece_b.size()));
    if (in_a.gcount() != in_b.gcount() ||
        piece_a.compare(0, static_cast<size_t>(in_a.gcount()), piece_b, 0,
                        static_cast<size_t>(in_b.gcount())) != 0) {
      return false;
    }
  }
  return true;
}

class UploadE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Ferry({"init"}).exit_code, 0);
    server_ = std::make_unique<Child>(
        std::vector<std::string>{FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir_);
    port_ = WaitForServerPort(*server_);
    ASSERT_GT(port_, 0);
  }
  CommandResult Ferry(std::vector<std::string> args) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, dir_);
  }
  std::string Target(const std::string& dataset, const std::string& query) {
    return std::string(kVersions) + dataset + "/versions?" + query;
  }
  // Stops the server gracefully; returns what it logged.
  std::string StopServer() {
    server_->Signal(SIGTERM);
    EXPECT_EQ(server_->Wait(20s), 0);
    return server_->Stderr();
  }

  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
  std::unique_ptr<Child> server_;
  int port_ = 0;
};

TEST_F(UploadE2eTest, LargeCsvUploadIsTheVersionDataAddMakesOfTheSameFile) {
  // ~100 MiB: over server.max_body_bytes (64 MiB), so only a streamed body gets in.
  ASSERT_EQ(Ferry({"demo", "transactions", "--rows", "1400000", "--out", "big.csv"}).exit_code, 0);
  const uint64_t size = fs::file_size(dir_ / "big.csv");
  ASSERT_GT(size, 64u << 20);

  HttpResult uploaded = HttpPostFile(
      port_, Target("web", "filename=big.csv&message=over%20http&tag=first"), dir_ / "big.csv");
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  nlohmann::json web = nlohmann::json::parse(uploaded.body)["version"];
  EXPECT_EQ(web["ref"], "web@1");
  EXPECT_EQ(web["rows"], 1400000);
  EXPECT_EQ(web["size"], size);
  EXPECT_EQ(web["source"], "big.csv");
  EXPECT_EQ(web["message"], "over http");
  EXPECT_EQ(web["tags"], nlohmann::json::array({"first"}));

  CommandResult added = Ferry({"data", "add", "cli", "big.csv", "--json"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  nlohmann::json cli = nlohmann::json::parse(added.out)["version"];
  for (const char* field :
       {"content_sha256", "manifest", "profile", "rows", "size", "chunks", "schema", "format"}) {
    EXPECT_EQ(web[field], cli[field]) << field;
  }
  ASSERT_EQ(Ferry({"data", "export", "web@first", "exported.csv"}).exit_code, 0);
  EXPECT_TRUE(SameBytes(dir_ / "exported.csv", dir_ / "big.csv"));

  // Chunked transfer encoding makes the same version of the same bytes.
  std::ofstream(dir_ / "small.csv") << "id,score\n1,0.5\n2,0.25\n";
  HttpResult chunked = HttpPostFile(port_, Target("small", "filename=small.csv"),
                                    dir_ / "small.csv", BodyEncoding::kChunked);
  ASSERT_EQ(chunked.status, 201) << chunked.body;
  EXPECT_EQ(nlohmann::json::parse(chunked.body)["version"]["rows"], 2);

  EXPECT_TRUE(fs::is_empty(dir_ / ".ferry/uploads"));
  StopServer();
  EXPECT_EQ(Ferry({"fsck"}).exit_code, 0);
}

TEST_F(UploadE2eTest, ClientHangingUpMidUploadLeavesNoVersionAndNoTemporaryFile) {
  ASSERT_TRUE(HttpPostAndHangUp(port_, Target("gone", "filename=g.csv"), 50 << 20, 8 << 20));
  // Refused uploads leave nothing either, and the server goes on serving.
  HttpResult ragged = HttpRequest(port_, "POST", Target("ragged", "filename=r.csv"), "a,b\n1\n");
  EXPECT_EQ(ragged.status, 400);
  EXPECT_EQ(nlohmann::json::parse(ragged.body)["error"]["code"], "invalid_argument");
  HttpResult bad_tag = HttpRequest(port_, "POST", Target("t", "tag=a%20b"), "x\n");
  EXPECT_EQ(bad_tag.status, 400);
  HttpResult listed = HttpRequest(port_, "GET", "/api/v1/datasets");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(nlohmann::json::parse(listed.body)["datasets"], nlohmann::json::array());
  HttpResult gone = HttpRequest(port_, "GET", "/api/v1/datasets/gone/versions");
  EXPECT_EQ(gone.status, 404);

  // Once the server has stopped, every abandoned upload has been cleaned up.
  std::string log = StopServer();
  EXPECT_NE(log.find("upload to dataset gone abandoned"), std::string::npos) << log;
  EXPECT_TRUE(fs::is_empty(dir_ / ".ferry/uploads"));
  EXPECT_EQ(Ferry({"fsck"}).exit_code, 0);
}

}  // namespace
}  // namespace ferry::e2e
