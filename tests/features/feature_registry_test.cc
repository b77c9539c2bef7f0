#include "features/feature_registry.h"

#include <gtest/gtest.h>

#include "core/file.h"
#include "testing/temp_dir.h"
#include "testing/postgres_server.h"

namespace ferry::features {
namespace {

namespace fs = std::filesystem;

constexpr char kEntity[] = R"(
entities:
  - name: customer
    join_keys: [{name: customer_id, type: string}]
)";

std::string View(const std::string& features, const std::string& extra = "") {
  return std::string(kEntity) +
         "feature_views:\n"
         "  - name: stats\n"
         "    entities: [customer]\n"
         "    source: daily\n"
         "    timestamp_field: event_timestamp\n" +
         extra + "    features:\n" + features;
}

class FeatureRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ = std::move(testing::InitWorkspace(temp_ / "ws", core::SystemClock::Shared())).value();
    datasets_ = std::move(dataset::DatasetStore::Open(*workspace_)).value();
    registry_ = std::move(FeatureRegistry::Open(*workspace_, *datasets_)).value();
    AddDataset("daily",
               "customer_id,event_timestamp,amount,count,label\n"
               "c1,2026-01-01T00:00:00Z,1.5,3,x\n");
  }

  void AddDataset(const std::string& name, const std::string& csv,
                  const std::string& file = "data.csv") {
    ASSERT_TRUE(core::WriteFileAtomically(temp_ / file, csv).ok());
    auto added = datasets_->Add(name, temp_ / file, {});
    ASSERT_TRUE(added.ok()) << added.status();
  }

  absl::StatusOr<std::vector<ObjectChange>> Apply(const std::string& yaml,
                                                  ApplyOptions options = {}) {
    auto defs = ParseFeatureDefinitions(yaml, "f.yaml");
    if (!defs.ok()) return defs.status();
    return registry_->Apply(*defs, options);
  }

  testing::TempDir temp_;
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<dataset::DatasetStore> datasets_;
  std::unique_ptr<FeatureRegistry> registry_;
};

std::vector<ChangeAction> Actions(const std::vector<ObjectChange>& changes) {
  std::vector<ChangeAction> out;
  for (const auto& c : changes) out.push_back(c.action);
  return out;
}

TEST_F(FeatureRegistryTest, ApplyingTheSameFileTwiceIsANoOp) {
  const std::string yaml = View("      - {name: amount, type: float64}\n");
  auto first = Apply(yaml);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Actions(*first), (std::vector{ChangeAction::kCreated, ChangeAction::kCreated}));
  auto second = Apply(yaml);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Actions(*second), (std::vector{ChangeAction::kUnchanged, ChangeAction::kUnchanged}));
  auto history = registry_->History(ObjectKind::kFeatureView, "stats");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 1u);
}

TEST_F(FeatureRegistryTest, ChangesAreVersioned) {
  ASSERT_TRUE(Apply(View("      - {name: amount, type: float64}\n")).ok());
  auto changed = Apply(View("      - {name: amount, type: float64}\n"
                            "      - {name: count, type: int64}\n"));
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->at(1).action, ChangeAction::kUpdated);
  EXPECT_EQ(changed->at(1).version, 2);
  auto view = registry_->GetView("stats");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->features.size(), 2u);
  auto history = registry_->History(ObjectKind::kFeatureView, "stats");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_NE(history->at(0).spec_sha256, history->at(1).spec_sha256);
}

TEST_F(FeatureRegistryTest, PruneDeletesWhatTheFileNoLongerDefines) {
  ASSERT_TRUE(Apply(View("      - {name: amount, type: float64}\n")).ok());
  // Dropping the entity alone would leave the view dangling.
  auto dangling = Apply(View("      - {name: amount, type: float64}\n").substr(sizeof(kEntity) - 1),
                        {.prune = true, .dry_run = false});
  ASSERT_FALSE(dangling.ok());
  EXPECT_NE(dangling.status().message().find("entity \"customer\" is not defined"),
            std::string::npos)
      << dangling.status();
  auto pruned = Apply(kEntity, {.prune = true, .dry_run = false});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(Actions(*pruned), (std::vector{ChangeAction::kUnchanged, ChangeAction::kDeleted}));
  EXPECT_EQ(registry_->GetView("stats").status().code(), absl::StatusCode::kNotFound);
  auto history = registry_->History(ObjectKind::kFeatureView, "stats");
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->back().deleted);
  // And it can come back.
  ASSERT_TRUE(Apply(View("      - {name: amount, type: float64}\n")).ok());
  EXPECT_TRUE(registry_->GetView("stats").ok());
}

TEST_F(FeatureRegistryTest, DryRunWritesNothing) {
  auto changes = Apply(View("      - {name: amount, type: float64}\n"),
                       {.prune = false, .dry_run = true});
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(changes->size(), 2u);
  auto current = registry_->Current();
  ASSERT_TRUE(current.ok());
  EXPECT_TRUE(current->entities.empty());
}

struct SchemaCase {
  std::string features;
  std::string extra;
  std::string message;
};

class RegistrySchemaTest : public FeatureRegistryTest,
                           public ::testing::WithParamInterface<SchemaCase> {};

TEST_P(RegistrySchemaTest, RefusesAndWritesNothing) {
  auto changes = Apply(View(GetParam().features, GetParam().extra));
  ASSERT_FALSE(changes.ok());
  EXPECT_NE(changes.status().message().find(GetParam().message), std::string::npos)
      << changes.status().message();
  auto current = registry_->Current();
  ASSERT_TRUE(current.ok());
  EXPECT_TRUE(current->entities.empty() && current->views.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RegistrySchemaTest,
    ::testing::Values(
        SchemaCase{"      - {name: amount2, type: float64}\n", "",
                   "feature view \"stats\": feature \"amount2\": daily has no such column"
                   " (columns: customer_id, event_timestamp, amount, count, label)"},
        SchemaCase{"      - {name: amount, type: int64}\n", "",
                   "feature \"amount\" is declared int64 but daily has it as float64"},
        SchemaCase{"      - {name: label, type: float64}\n", "",
                   "feature \"label\" is declared float64 but daily has it as string"},
        SchemaCase{"      - {name: amount, type: float64}\n", "    created_timestamp_field: label\n",
                   "created_timestamp_field \"label\" must be a timestamp column"}));

TEST_F(FeatureRegistryTest, WideningIntToFloatIsAllowed) {
  EXPECT_TRUE(Apply(View("      - {name: count, type: float64}\n")).ok());
}

TEST_F(FeatureRegistryTest, UnknownOrOpaqueSourcesAreRefused) {
  std::string yaml = View("      - {name: amount, type: float64}\n");
  yaml.replace(yaml.find("source: daily"), 13, "source: missing");
  auto missing = Apply(yaml);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  ASSERT_TRUE(core::WriteFileAtomically(temp_ / "blob.bin", "\x01\x02").ok());
  ASSERT_TRUE(datasets_->Add("blob", temp_ / "blob.bin", {}).ok());
  yaml.replace(yaml.find("source: missing"), 15, "source: blob");
  auto opaque = Apply(yaml);
  EXPECT_NE(opaque.status().message().find("is not a table"), std::string::npos)
      << opaque.status();
}

TEST_F(FeatureRegistryTest, KeyTypeMustMatchTheSource) {
  std::string yaml = View("      - {name: amount, type: float64}\n");
  yaml.replace(yaml.find("type: string"), 12, "type: int64");
  auto changes = Apply(yaml);
  EXPECT_NE(changes.status().message().find(
                "join key \"customer_id\" is declared int64 but daily has it as string"),
            std::string::npos)
      << changes.status();
}

TEST_F(FeatureRegistryTest, ServicesAreCheckedAndSelected) {
  const std::string base = View("      - {name: amount, type: float64}\n"
                                "      - {name: count, type: int64}\n");
  auto bad = Apply(base + "feature_services:\n  - name: s\n    features: [stats:nope]\n");
  EXPECT_NE(bad.status().message().find("view \"stats\" has no feature \"nope\""),
            std::string::npos)
      << bad.status();
  ASSERT_TRUE(Apply(base + "feature_services:\n  - name: s\n    features: [stats:count, "
                           "\"stats:*\"]\n")
                  .ok());
  auto selection = registry_->SelectService("s");
  ASSERT_TRUE(selection.ok()) << selection.status();
  ASSERT_EQ(selection->refs.size(), 2u);  // count, then amount from the wildcard
  EXPECT_EQ(selection->refs[0].ToString(), "stats:count");
  EXPECT_EQ(selection->refs[1].ToString(), "stats:amount");
  ASSERT_EQ(selection->views.size(), 1u);
  EXPECT_EQ(selection->views[0].join_keys[0].name, "customer_id");
  EXPECT_EQ(registry_->Select({"stats:missing"}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->Select({"other:x"}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->Select({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->SelectService("nope").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ferry::features
