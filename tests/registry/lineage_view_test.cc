// The lineage of a model reaches the bytes of its data: dataset -> feature view ->
// training set -> run -> model version, walked both ways.

#include "registry/lineage_view.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "features/historical_retrieval.h"
#include "registry_fixture.h"

namespace ferry::registry {
namespace {

using LineageViewTest = RegistryFixture;

const LineageNodeInfo* Find(const LineageView& view, std::string_view kind, std::string_view id) {
  for (const LineageNodeInfo& n : view.nodes) {
    if (n.node.kind == kind && n.node.id == id) return &n;
  }
  return nullptr;
}

TEST_F(LineageViewTest, ModelVersionReachesSourceDataAndSourceDataReachesTheModel) {
  ASSERT_TRUE(core::WriteFileAtomically(temp_ / "entities.csv",
                                        "customer_id,event_timestamp,label\n"
                                        "c1,2026-01-02T00:00:00Z,0\n"
                                        "c2,2026-01-05T00:00:00Z,1\n")
                  .ok());
  features::HistoricalOptions options;
  options.entities = (temp_ / "entities.csv").string();
  options.selection = *features_->SelectService("fraud");
  options.output = "train";
  auto training = features::RetrieveHistorical(*workspace_, *datasets_, options);
  ASSERT_TRUE(training.ok()) << training.status();

  tracking::CreateRunOptions run_options;
  run_options.source_name = "pipeline.yaml";
  run_options.source_sha256 = std::string(64, 'a');
  run_options.initial.inputs = {{"train@1", tracking::InputRole::kTrain}};
  auto run = tracking_->CreateRun(run_options);
  ASSERT_TRUE(run.ok()) << run.status();
  RegisterOptions register_options;
  register_options.run_id = run->run_id;
  register_options.signature = Signature{"fraud", {}, {}};
  auto model = Register("fraud", register_options);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->reference_dataset, "train@1");

  auto up = BuildLineageView(*workspace_, *datasets_, *tracking_, *models_,
                             {"model_version", "fraud@1"}, lineage::Direction::kUpstream);
  ASSERT_TRUE(up.ok()) << up.status();
  const LineageNodeInfo* source = Find(*up, "dataset_version", "customer_daily@1");
  ASSERT_NE(source, nullptr) << LineageViewToText(*up);
  EXPECT_EQ(source->details.at("sha256"),
            datasets_->Resolve(*dataset::ParseDatasetRef("customer_daily@1"))->content_sha256);
  EXPECT_NE(Find(*up, "run", run->run_id), nullptr);
  EXPECT_NE(Find(*up, "dataset_version", "train@1"), nullptr);
  EXPECT_NE(Find(*up, "feature_view", "customer_stats"), nullptr);
  EXPECT_NE(Find(*up, "feature_service", "fraud"), nullptr);
  EXPECT_NE(Find(*up, "source", std::string(64, 'a')), nullptr);
  const std::string text = LineageViewToText(*up);
  EXPECT_EQ(text.rfind("model_version fraud@1", 0), 0u) << text;
  EXPECT_NE(text.find("├── dataset_version customer_daily@1  sha256:"), std::string::npos)
      << text;
  const nlohmann::json json = LineageViewToJson(*up);
  EXPECT_EQ(json["nodes"].size(), up->nodes.size());
  EXPECT_EQ(json["edges"].size(), up->edges.size());

  auto down = BuildLineageView(*workspace_, *datasets_, *tracking_, *models_,
                               {"dataset_version", "customer_daily@1"},
                               lineage::Direction::kDownstream);
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_NE(Find(*down, "run", run->run_id), nullptr) << LineageViewToText(*down);
  EXPECT_NE(Find(*down, "model_version", "fraud@1"), nullptr) << LineageViewToText(*down);

  // A deleted version leaves the graph with it.
  ASSERT_TRUE(models_->DeleteVersion(*ParseModelRef("fraud@1")).ok());
  auto after = BuildLineageView(*workspace_, *datasets_, *tracking_, *models_,
                                {"dataset_version", "customer_daily@1"},
                                lineage::Direction::kDownstream);
  EXPECT_EQ(Find(*after, "model_version", "fraud@1"), nullptr);
}

}  // namespace
}  // namespace ferry::registry
