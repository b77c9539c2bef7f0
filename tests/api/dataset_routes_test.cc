// The dataset upload route in-process: its sink's private temporary file, and that the
// file goes away however the upload ends.

#include "api/dataset_routes.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "testing/temp_dir.h"
#include "testing/postgres_server.h"

namespace ferry::api {
namespace {

namespace fs = std::filesystem;

class DatasetRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ =
        std::move(testing::InitWorkspace(temp_ / "ws", core::SystemClock::Shared())).value();
    ASSERT_TRUE(AddDatasetRoutes(router_, *workspace_).ok());
  }
  // Opens the upload route's sink as the server does once a header has arrived.
  absl::StatusOr<server::BodySinkPtr> OpenUpload(std::string_view target) {
    request_ = server::Request::Make(server::Method::kPost, target);
    std::optional<server::StreamingMatch> match = router_.MatchStreaming(request_);
    if (!match) return absl::NotFoundError("no streaming route");
    return router_.OpenBodySink(*match, request_, authorizer_);
  }
  std::vector<fs::path> Uploads() const {
    std::vector<fs::path> files;
    fs::path folder = workspace_->ferry_dir() / "uploads";
    if (!fs::exists(folder)) return files;
    for (const auto& entry : fs::directory_iterator(folder)) files.push_back(entry.path());
    return files;
  }

  testing::TempDir temp_;
  std::unique_ptr<store::Workspace> workspace_;
  server::Router router_;
  server::AllowAllAuthorizer authorizer_;
  server::Request request_;
};

TEST_F(DatasetRoutesTest, UploadGoesToAPrivateTemporaryFileThatAbortRemoves) {
  auto sink = OpenUpload("/api/v1/datasets/scores/versions?filename=a.csv");
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Append("id,score\n").ok());
  ASSERT_TRUE((*sink)->Append("1,0.5\n").ok());
  std::vector<fs::path> files = Uploads();
  ASSERT_EQ(files.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(files[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(fs::file_size(files[0]), 15u);
  (*sink)->Abort("test");
  EXPECT_TRUE(Uploads().empty());
}

TEST_F(DatasetRoutesTest, FinishAddsTheVersionAndRemovesTheFileWhateverTheOutcome) {
  auto sink = OpenUpload("/api/v1/datasets/scores/versions?filename=a.csv&tag=t");
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Append("id,score\n1,0.5\n").ok());
  absl::StatusOr<server::Response> response = (*sink)->Finish();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(nlohmann::json::parse(response->body)["version"]["ref"], "scores@1");
  EXPECT_TRUE(Uploads().empty());

  auto ragged = OpenUpload("/api/v1/datasets/scores/versions?filename=b.csv");
  ASSERT_TRUE(ragged.ok());
  ASSERT_TRUE((*ragged)->Append("a,b\n1\n").ok());
  absl::StatusOr<server::Response> refused = (*ragged)->Finish();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("b.csv: line 2"), std::string::npos);
  EXPECT_TRUE(Uploads().empty());

  ragged->reset();  // destroyed unfinished: nothing stays either
  auto dropped = OpenUpload("/api/v1/datasets/scores/versions");
  ASSERT_TRUE(dropped.ok());
  dropped->reset();
  EXPECT_TRUE(Uploads().empty());
}

TEST_F(DatasetRoutesTest, BadNamesTagsAndOptionsAreRefusedBeforeAnyBody) {
  for (const char* target :
       {"/api/v1/datasets/bad%20name/versions", "/api/v1/datasets/scores/versions?tag=a%20b",
        "/api/v1/datasets/scores/versions?format=xml",
        "/api/v1/datasets/scores/versions?filename=..%2Fx",
        "/api/v1/datasets/scores/versions?nope=1"}) {
    auto sink = OpenUpload(target);
    EXPECT_EQ(sink.status().code(), absl::StatusCode::kInvalidArgument) << target;
  }
  EXPECT_TRUE(Uploads().empty());
}

}  // namespace
}  // namespace ferry::api
