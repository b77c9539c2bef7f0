#include "tracking/tracking_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "lineage/lineage_graph.h"
#include "testing/temp_dir.h"
#include "testing/postgres_server.h"

namespace ferry::tracking {
namespace {

RunBatch Params(std::vector<Param> params) {
  RunBatch batch;
  batch.params = std::move(params);
  return batch;
}
RunBatch Metrics(std::vector<MetricPoint> metrics) {
  RunBatch batch;
  batch.metrics = std::move(metrics);
  return batch;
}
RunBatch Tags(std::vector<Tag> tags) {
  RunBatch batch;
  batch.tags = std::move(tags);
  return batch;
}
RunBatch Inputs(std::vector<InputSpec> inputs) {
  RunBatch batch;
  batch.inputs = std::move(inputs);
  return batch;
}

class TrackingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ = std::move(testing::InitWorkspace(temp_ / "ws", clock_)).value();
    datasets_ = std::move(dataset::DatasetStore::Open(*workspace_)).value();
    tracking_ = std::move(TrackingStore::Open(*workspace_, *datasets_)).value();
    ASSERT_TRUE(core::WriteFileAtomically(temp_ / "train.csv", "x,y\n1,2\n3,4\n").ok());
    ASSERT_TRUE(datasets_->Add("train", temp_ / "train.csv", {}).ok());
  }
  RunInfo NewRun(RunBatch initial = {}) {
    CreateRunOptions options;
    options.experiment = "fraud";
    options.name = "baseline";
    options.user = "ada";
    options.initial = std::move(initial);
    absl::StatusOr<RunInfo> run = tracking_->CreateRun(options);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : RunInfo{};
  }

  testing::TempDir temp_;
  std::shared_ptr<core::ManualClock> clock_ = std::make_shared<core::ManualClock>(1'767'225'600'000'000);
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<dataset::DatasetStore> datasets_;
  std::unique_ptr<TrackingStore> tracking_;
};

TEST_F(TrackingStoreTest, CreatedRunHoldsWhatItLoggedAndItsInputsAreLineage) {
  RunBatch initial;
  initial.params = {{"max_depth", "6"}, {"eta", "0.1"}};
  initial.tags = {{"team", "risk"}};
  initial.metrics = {{"auc", 0.8, 0, 0}, {"auc", 0.9, 1, 0}};
  initial.inputs = {{"train", InputRole::kTrain}};
  RunInfo info = NewRun(initial);
  EXPECT_EQ(info.status, RunStatus::kRunning);
  EXPECT_EQ(info.experiment_name, "fraud");
  EXPECT_EQ(info.run_id.size(), 32u);

  absl::StatusOr<tracking::Run> run = tracking_->GetRun(info.run_id);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->params, (std::vector<Param>{{"eta", "0.1"}, {"max_depth", "6"}}));
  EXPECT_EQ(run->tags, (std::vector<Tag>{{"team", "risk"}}));
  ASSERT_EQ(run->metrics.size(), 1u);
  EXPECT_EQ(run->metrics[0].value, 0.9);
  EXPECT_EQ(run->metrics[0].timestamp, clock_->NowMicros());
  EXPECT_EQ(run->metric_points.at("auc"), 2);
  ASSERT_EQ(run->inputs.size(), 1u);
  EXPECT_EQ(run->inputs[0].dataset_version, "train@1");
  EXPECT_EQ(run->inputs[0].content_sha256.size(), 64u);

  auto experiments = tracking_->ListExperiments();
  ASSERT_TRUE(experiments.ok());
  ASSERT_EQ(experiments->size(), 1u);
  EXPECT_EQ((*experiments)[0].runs, 1);

  std::vector<lineage::Edge> edges;
  ASSERT_TRUE(workspace_->metadata()
                  .Read([&](store::Transaction& tx) -> absl::Status {
                    auto found = lineage::Inputs(tx, {"run", info.run_id});
                    if (found.ok()) edges = *found;
                    return found.status();
                  })
                  .ok());
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].from, (lineage::Node{"dataset_version", "train@1"}));
  EXPECT_EQ(edges[0].relation, "train");
}

TEST_F(TrackingStoreTest, ParamsAreImmutableAndAFailedBatchWritesNothing) {
  RunInfo info = NewRun(Params({{"max_depth", "6"}}));
  EXPECT_TRUE(tracking_->LogBatch(info.run_id, Params({{"max_depth", "6"}})).ok());

  RunBatch conflicting;
  conflicting.metrics = {{"loss", 0.5, 0, 0}};
  conflicting.params = {{"max_depth", "7"}};
  absl::Status status = tracking_->LogBatch(info.run_id, conflicting);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(status.message().find("param \"max_depth\" of run"), std::string::npos) << status;
  EXPECT_NE(status.message().find("is already \"6\""), std::string::npos) << status;
  auto run = tracking_->GetRun(info.run_id);
  EXPECT_TRUE(run->metrics.empty()) << "the batch's metric must not be stored";

  RunBatch twice;
  twice.params = {{"lr", "0.1"}, {"lr", "0.2"}};
  EXPECT_EQ(tracking_->LogBatch(info.run_id, twice).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TrackingStoreTest, EndedRunsRefuseResultsButTakeTags) {
  RunInfo info = NewRun();
  auto finished = tracking_->SetStatus(info.run_id, RunStatus::kFinished);
  ASSERT_TRUE(finished.ok());
  EXPECT_EQ(finished->end_time, clock_->NowMicros());
  absl::Status status = tracking_->LogBatch(info.run_id, Metrics({{"auc", 1, 0, 0}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("is FINISHED"), std::string::npos) << status;
  EXPECT_EQ(tracking_->LogBatch(info.run_id, Params({{"a", "b"}})).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(tracking_->LogBatch(info.run_id, Tags({{"note", "good"}})).ok());
  // Ending again the same way is a retry; ending differently is refused.
  EXPECT_TRUE(tracking_->SetStatus(info.run_id, RunStatus::kFinished).ok());
  EXPECT_EQ(tracking_->SetStatus(info.run_id, RunStatus::kFailed).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(TrackingStoreTest, NaNAndInfinitiesAreStoredAndShownAsSuch) {
  RunInfo info = NewRun();
  RunBatch batch;
  batch.metrics = {{"loss", std::nan(""), 0, 0}, {"loss", HUGE_VAL, 1, 0},
                   {"loss", -HUGE_VAL, 2, 0}, {"gap", std::nan(""), 0, 0}};
  ASSERT_TRUE(tracking_->LogBatch(info.run_id, batch).ok());
  auto history = tracking_->MetricHistory(info.run_id, "loss");
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 3u);
  EXPECT_TRUE(std::isnan((*history)[0].value));
  EXPECT_EQ((*history)[1].value, HUGE_VAL);
  EXPECT_EQ((*history)[2].value, -HUGE_VAL);

  auto run = tracking_->GetRun(info.run_id);
  nlohmann::json json = RunToJson(*run);
  EXPECT_EQ(json["metrics"]["loss"]["value"], "-Infinity");
  EXPECT_EQ(json["metrics"]["gap"]["value"], "NaN");
  EXPECT_NO_THROW(nlohmann::json::parse(json.dump()));
  EXPECT_TRUE(std::isnan(*MetricValueFromJson("NaN")));
  EXPECT_EQ(*ParseMetricValue("-inf"), -HUGE_VAL);
  EXPECT_EQ(FormatMetricValue(HUGE_VAL), "Infinity");
}

TEST_F(TrackingStoreTest, ABigBatchKeepsEveryPointOnceWhateverItsSize) {
  // 150 points go in statements of 64, 64, 16, 4, 1 and 1 rows; repeats within the batch
  // and of an earlier batch are kept once, NaNs as NaN.
  RunInfo info = NewRun();
  ASSERT_TRUE(tracking_->LogBatch(info.run_id, Metrics({{"loss", 0.5, 7, 1}})).ok());
  std::vector<MetricPoint> points;
  for (int step = 0; step < 147; ++step) {
    points.push_back({"loss", step % 10 == 3 ? std::nan("") : step * 0.5, step, 1});
  }
  points.push_back({"loss", 0.5, 7, 1});   // stored already
  points.push_back({"loss", 2.0, 4, 1});   // twice in this batch
  points.push_back({"loss", 2.0, 4, 1});
  ASSERT_EQ(points.size(), 150u);
  ASSERT_TRUE(tracking_->LogBatch(info.run_id, Metrics(points)).ok());
  auto history = tracking_->MetricHistory(info.run_id, "loss");
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 148u);  // steps 0..146, step 7 twice (0.5 and 3.5)
  int nans = 0;
  for (const MetricPoint& p : *history) nans += std::isnan(p.value) ? 1 : 0;
  EXPECT_EQ(nans, 15);
  EXPECT_EQ(tracking_->GetRun(info.run_id)->metric_points.at("loss"), 148);
}

TEST_F(TrackingStoreTest, LatestValueIsTheHighestStepWhateverTheOrderLogged) {
  RunInfo info = NewRun();
  ASSERT_TRUE(tracking_->LogBatch(info.run_id, Metrics({{"auc", 0.7, 5, 0}})).ok());
  clock_->Advance(std::chrono::seconds(1));
  ASSERT_TRUE(tracking_->LogBatch(info.run_id, Metrics({{"auc", 0.9, 3, 0}})).ok());
  auto run = tracking_->GetRun(info.run_id);
  ASSERT_EQ(run->metrics.size(), 1u);
  EXPECT_EQ(run->metrics[0].value, 0.7);
  EXPECT_EQ(run->metrics[0].step, 5);
  // A batch retried as is adds no points.
  ASSERT_TRUE(tracking_->LogBatch(info.run_id, Metrics({{"auc", 0.7, 5, 1}})).ok());
  ASSERT_TRUE(tracking_->LogBatch(info.run_id, Metrics({{"auc", 0.7, 5, 1}})).ok());
  EXPECT_EQ(tracking_->GetRun(info.run_id)->metric_points.at("auc"), 3);
}

TEST_F(TrackingStoreTest, UnknownReferencesAreNotFound) {
  EXPECT_EQ(tracking_->LogBatch("feedface", Tags({{"a", "b"}})).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(tracking_->GetRun("feedface").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(tracking_->GetRunInfo("feedface").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(tracking_->LogBatch("feedface", RunBatch{}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(tracking_->GetExperiment("nope").status().code(), absl::StatusCode::kNotFound);
  RunInfo info = NewRun();
  absl::Status status = tracking_->LogBatch(info.run_id, Inputs({{"missing@2", InputRole::kTest}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_EQ(tracking_->CreateExperiment("fraud", "").status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(TrackingStoreTest, BadNamesAndOversizedBatchesAreRefused) {
  RunInfo info = NewRun();
  EXPECT_EQ(tracking_->LogBatch(info.run_id, Params({{"", "x"}})).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tracking_->LogBatch(info.run_id, Metrics({{"a;drop", 1, 0, 0}})).code(),
            absl::StatusCode::kInvalidArgument);
  RunBatch big;
  big.metrics.resize(RunBatch::kMaxBatchMetrics + 1, MetricPoint{"m", 1, 0, 0});
  EXPECT_EQ(tracking_->LogBatch(info.run_id, big).code(), absl::StatusCode::kInvalidArgument);
  CreateRunOptions bad_hash;
  bad_hash.source_sha256 = "abc";
  EXPECT_EQ(tracking_->CreateRun(bad_hash).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TrackingStoreTest, ArtifactsAreStoredListedAndKeptByGc) {
  RunInfo info = NewRun();
  ASSERT_TRUE(core::WriteFileAtomically(temp_ / "model.json", "{\"trees\": []}").ok());
  auto artifact = tracking_->LogArtifact(info.run_id, temp_ / "model.json", "");
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(artifact->path, "model.json");
  EXPECT_TRUE(tracking_->LogArtifact(info.run_id, temp_ / "model.json", "").ok());
  ASSERT_TRUE(core::WriteFileAtomically(temp_ / "other.json", "{}").ok());
  EXPECT_EQ(tracking_->LogArtifact(info.run_id, temp_ / "other.json", "model.json").status().code(),
            absl::StatusCode::kAlreadyExists);
  auto gc = datasets_->CollectGarbage();
  ASSERT_TRUE(gc.ok()) << gc.status();
  auto digest = core::Digest::FromHex(artifact->digest);
  ASSERT_TRUE(digest.ok());
  EXPECT_TRUE(workspace_->objects().Verify(*digest).ok());
  EXPECT_EQ(tracking_->GetRun(info.run_id)->artifacts.size(), 1u);
  ASSERT_TRUE(tracking_->SetStatus(info.run_id, RunStatus::kKilled).ok());
  EXPECT_EQ(tracking_->LogArtifact(info.run_id, temp_ / "other.json", "x.json").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace ferry::tracking
