// The dataset routes in-process: the upload's private temporary file, which goes away
// however the upload ends, and downloads of a version's bytes.

#include "api/dataset_routes.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/sha256.h"
#include "server/body_file.h"
#include "testing/postgres_server.h"
#include "testing/temp_dir.h"

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
  // Adds `bytes` through the upload route; the status of its answer.
  int Upload(std::string_view target, std::string_view bytes) {
    auto sink = OpenUpload(target);
    EXPECT_TRUE(sink.ok()) << sink.status();
    if (!sink.ok()) return 0;
    EXPECT_TRUE((*sink)->Append(bytes).ok());
    absl::StatusOr<server::Response> response = (*sink)->Finish();
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->status : 0;
  }
  server::Response Get(std::string_view target, server::Method method = server::Method::kGet) {
    server::Request request = server::Request::Make(method, target);
    return router_.Dispatch(request, authorizer_);
  }
  static std::string Header(const server::Response& response, std::string_view name) {
    for (const auto& [key, value] : response.headers) {
      if (key == name) return value;
    }
    return "";
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

TEST_F(DatasetRoutesTest, DownloadAnswersTheVersionsBytesWithTheirDigestAndName) {
  std::string csv = "id,score\n";
  for (int i = 0; i < 50'000; ++i) csv += std::to_string(i) + ",0." + std::to_string(i % 97) + "\n";
  ASSERT_EQ(Upload("/api/v1/datasets/scores/versions?filename=scores.csv&tag=prod", csv), 201);
  core::Sha256 hasher;
  hasher.Update(csv);
  const std::string sha = hasher.Finish().ToHex();
  for (const char* ref : {"1", "latest", "prod"}) {
    server::Response r = Get(std::string("/api/v1/datasets/scores/versions/") + ref + "/content");
    ASSERT_EQ(r.status, 200) << ref << ": " << r.body;
    ASSERT_NE(r.body_file, nullptr);
    EXPECT_EQ(r.body_file->size(), csv.size());
    EXPECT_TRUE(r.body_file->ReadAll().value() == csv) << ref;
    EXPECT_EQ(r.content_type, "text/csv; charset=utf-8");
    EXPECT_EQ(Header(r, "ETag"), "\"sha256:" + sha + "\"");
    EXPECT_EQ(Header(r, "X-Ferry-Sha256"), sha);
    EXPECT_EQ(Header(r, "Content-Disposition"), "attachment; filename=\"scores.csv\"");
  }
  // The rebuilt file is unlinked as soon as it is open: nothing is left in uploads.
  EXPECT_TRUE(Uploads().empty());
  server::Response head = Get("/api/v1/datasets/scores/versions/1/content", server::Method::kHead);
  EXPECT_EQ(head.status, 200);
  ASSERT_NE(head.body_file, nullptr);
  EXPECT_EQ(head.body_file->size(), csv.size());
}

TEST_F(DatasetRoutesTest, DownloadNamesTheTypeByFormatAndOnlySafeFileNames) {
  ASSERT_EQ(Upload("/api/v1/datasets/events/versions?filename=events.jsonl", "{\"a\": 1}\n"), 201);
  const std::string binary("\x00\x01\xff\"x\r\n", 7);
  ASSERT_EQ(Upload("/api/v1/datasets/blob/versions?filename=we%22ird%20name.bin", binary), 201);
  ASSERT_EQ(Upload("/api/v1/datasets/blob/versions?filename=%C3%A9t%C3%A9.csv&format=opaque", "x"),
            201);
  server::Response jsonl = Get("/api/v1/datasets/events/versions/1/content");
  ASSERT_EQ(jsonl.status, 200) << jsonl.body;
  EXPECT_EQ(jsonl.content_type, "application/x-ndjson");
  EXPECT_EQ(Header(jsonl, "Content-Disposition"), "attachment; filename=\"events.jsonl\"");
  server::Response opaque = Get("/api/v1/datasets/blob/versions/1/content");
  ASSERT_EQ(opaque.status, 200) << opaque.body;
  EXPECT_EQ(opaque.content_type, "application/octet-stream");
  EXPECT_EQ(Header(opaque, "Content-Disposition"), "attachment; filename=\"blob-v1.bin\"");
  EXPECT_TRUE(opaque.body_file->ReadAll().value() == binary);
  server::Response accented = Get("/api/v1/datasets/blob/versions/2/content");
  EXPECT_EQ(Header(accented, "Content-Disposition"), "attachment; filename=\"blob-v2.csv\"");
}

TEST_F(DatasetRoutesTest, DownloadOfAnUnknownVersionIs404LikeTheVersionItself) {
  ASSERT_EQ(Upload("/api/v1/datasets/scores/versions?filename=a.csv", "id\n1\n"), 201);
  for (const char* ref : {"scores/versions/2", "scores/versions/nope", "missing/versions/1"}) {
    const std::string version = std::string("/api/v1/datasets/") + ref;
    server::Response content = Get(version + "/content");
    server::Response described = Get(version);
    EXPECT_EQ(content.status, 404) << ref << ": " << content.body;
    EXPECT_EQ(content.body, described.body);
    EXPECT_EQ(content.body_file, nullptr);
  }
  EXPECT_EQ(Get("/api/v1/datasets/scores/versions/0/content").status, 400);
  EXPECT_TRUE(Uploads().empty());
}

TEST_F(DatasetRoutesTest, DownloadRunsOnTheBlockingPoolAndTakesNoBody) {
  ASSERT_EQ(Upload("/api/v1/datasets/scores/versions?filename=a.csv", "id\n1\n"), 201);
  const std::string target = "/api/v1/datasets/scores/versions/1/content";
  // A streaming route: the server runs its rebuild in the sink's Finish, off the IO
  // threads; HEAD too.
  for (server::Method method : {server::Method::kGet, server::Method::kHead}) {
    request_ = server::Request::Make(method, target);
    EXPECT_TRUE(router_.MatchStreaming(request_).has_value());
  }
  server::Request with_body = server::Request::Make(server::Method::kGet, target, "x=1");
  server::Response refused = router_.Dispatch(with_body, authorizer_);
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("this request takes no body"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.body_file, nullptr);
  EXPECT_TRUE(Uploads().empty());
}

TEST_F(DatasetRoutesTest, ProfileLineageAndDiffOfVersions) {
  ASSERT_EQ(Upload("/api/v1/datasets/scores/versions?filename=a.csv", "id,score\n1,0.5\n2,1.5\n"),
            201);
  ASSERT_EQ(Upload("/api/v1/datasets/scores/versions?filename=a.csv",
                   "id,score,who\n1,0.5,x\n2,2.5,y\n3,4.0,z\n"),
            201);
  server::Response profile = Get("/api/v1/datasets/scores/versions/1/profile");
  ASSERT_EQ(profile.status, 200) << profile.body;
  nlohmann::json body = nlohmann::json::parse(profile.body);
  EXPECT_EQ(body["version"]["ref"], "scores@1");
  ASSERT_EQ(body["profile"]["columns"].size(), 2u);
  const nlohmann::json& score = body["profile"]["columns"][1];
  EXPECT_EQ(score["name"], "score");
  EXPECT_EQ(score["min"], 0.5);
  EXPECT_EQ(score["max"], 1.5);
  EXPECT_TRUE(score.contains("histogram"));
  EXPECT_FALSE(score.contains("sketches"));  // only with ?sketches=true
  body = nlohmann::json::parse(Get("/api/v1/datasets/scores/versions/1/profile?sketches=true").body);
  EXPECT_TRUE(body["profile"]["columns"][1].contains("sketches"));
  EXPECT_EQ(Get("/api/v1/datasets/scores/versions/1/profile?nope=1").status, 400);
  EXPECT_EQ(Get("/api/v1/datasets/scores/versions/9/profile").status, 404);

  server::Response diff = Get("/api/v1/datasets/scores/versions/1/diff?to=scores@latest");
  ASSERT_EQ(diff.status, 200) << diff.body;
  body = nlohmann::json::parse(diff.body);
  EXPECT_EQ(body["before"], "scores@1");
  EXPECT_EQ(body["after"], "scores@2");
  EXPECT_FALSE(body["profile"].is_null());
  EXPECT_NE(body["profile"].dump().find("who"), std::string::npos) << body.dump();  // added
  EXPECT_EQ(Get("/api/v1/datasets/scores/versions/1/diff").status, 400);
  EXPECT_EQ(Get("/api/v1/datasets/scores/versions/1/diff?to=bad%20ref").status, 400);
  EXPECT_EQ(Get("/api/v1/datasets/scores/versions/1/diff?to=other@1").status, 404);

  server::Response lineage = Get("/api/v1/datasets/scores/versions/2/lineage");
  ASSERT_EQ(lineage.status, 200) << lineage.body;
  body = nlohmann::json::parse(lineage.body);
  EXPECT_EQ(body["version"], "scores@2");
  EXPECT_TRUE(body["made_from"].is_array());
  EXPECT_TRUE(body["used_by"].is_array());
  EXPECT_EQ(Get("/api/v1/datasets/missing/versions/1/lineage").status, 404);
}

TEST_F(DatasetRoutesTest, AnOpaqueVersionHasNoProfile) {
  ASSERT_EQ(Upload("/api/v1/datasets/blob/versions?filename=b.bin&format=opaque", "\x01\x02"), 201);
  server::Response profile = Get("/api/v1/datasets/blob/versions/1/profile");
  ASSERT_EQ(profile.status, 200) << profile.body;
  EXPECT_TRUE(nlohmann::json::parse(profile.body)["profile"].is_null());
}

}  // namespace
}  // namespace ferry::api
