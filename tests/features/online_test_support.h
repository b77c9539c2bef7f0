#pragma once

// A workspace with a manual clock, datasets added from CSV text, feature definitions
// applied from YAML, and the online store: what the online store, materialization and
// online retrieval tests start from.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/file.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "features/materialization.h"
#include "features/online_features.h"
#include "features/rocksdb_online_store.h"
#include "table/value_parse.h"
#include "testing/temp_dir.h"
#include "testing/postgres_server.h"

namespace ferry::features {

// Microseconds of an RFC 3339 time; aborts the test binary on a typo.
inline int64_t At(std::string_view text) {
  std::optional<int64_t> micros = table::ParseTimestamp(text);
  if (!micros) {
    ADD_FAILURE() << "bad time " << text;
    return 0;
  }
  return *micros;
}

// Two entities most tests use: a string key and an int64 key.
inline constexpr char kCustomerAndMerchant[] = R"(
entities:
  - name: customer
    join_keys: [{name: customer_id, type: string}]
  - name: merchant
    join_keys: [{name: merchant_id, type: int64}]
)";

class OnlineTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<core::ManualClock>(At("2026-02-01T00:00:00Z"));
    workspace_ = std::move(testing::InitWorkspace(temp_ / "ws", clock_)).value();
    datasets_ = std::move(dataset::DatasetStore::Open(*workspace_)).value();
    registry_ = std::move(FeatureRegistry::Open(*workspace_, *datasets_)).value();
  }

  // Adds `csv` as the next version of dataset `name`.
  void AddCsv(const std::string& name, const std::string& csv) {
    const std::filesystem::path file = temp_ / (name + std::to_string(++files_) + ".csv");
    ASSERT_TRUE(core::WriteFileAtomically(file, csv).ok());
    absl::StatusOr<dataset::AddResult> added = datasets_->Add(name, file, {});
    ASSERT_TRUE(added.ok()) << added.status();
  }

  void Apply(const std::string& yaml) {
    absl::StatusOr<FeatureDefinitions> defs = ParseFeatureDefinitions(yaml, "test.yaml");
    ASSERT_TRUE(defs.ok()) << defs.status();
    absl::StatusOr<std::vector<ObjectChange>> changes = registry_->Apply(*defs, {});
    ASSERT_TRUE(changes.ok()) << changes.status();
  }

  RocksDbOnlineStore& Online() {
    if (!online_) {
      online_ = std::move(RocksDbOnlineStore::Open(OnlineStorePath(*workspace_))).value();
    }
    return *online_;
  }
  void CloseOnline() { online_.reset(); }

  absl::StatusOr<std::vector<ViewMaterialization>> Run(MaterializeOptions options) {
    return Materialize(*workspace_, *datasets_, *registry_, Online(), options);
  }
  std::vector<ViewMaterialization> MustRun(MaterializeOptions options) {
    absl::StatusOr<std::vector<ViewMaterialization>> runs = Run(std::move(options));
    EXPECT_TRUE(runs.ok()) << runs.status();
    return runs.ok() ? *runs : std::vector<ViewMaterialization>{};
  }

  // Looks up `refs` for string or int64 keys of one join key.
  OnlineResult Lookup(const std::vector<std::string>& refs, EntityKeyValues keys,
                      OnlineQueryOptions options = {}) {
    OnlineResult result;
    absl::StatusOr<FeatureSelection> selection = registry_->Select(refs);
    EXPECT_TRUE(selection.ok()) << selection.status();
    if (!selection.ok()) return result;
    absl::StatusOr<OnlineQuery> query = OnlineQuery::Prepare(*selection, options);
    EXPECT_TRUE(query.ok()) << query.status();
    if (!query.ok()) return result;
    const OnlineFeatures online(Online(), clock_);
    const absl::Status status = online.Get(*query, {&keys, 1}, result);
    EXPECT_TRUE(status.ok()) << status;
    return result;
  }

  testing::TempDir temp_;
  std::shared_ptr<core::ManualClock> clock_;
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<dataset::DatasetStore> datasets_;
  std::unique_ptr<FeatureRegistry> registry_;
  std::unique_ptr<RocksDbOnlineStore> online_;
  int files_ = 0;
};

inline EntityKeyValues StringKeys(std::string name, std::vector<std::string> values) {
  return {std::move(name), table::ColumnType::kString, {}, std::move(values)};
}
inline EntityKeyValues IntKeys(std::string name, std::vector<int64_t> values) {
  return {std::move(name), table::ColumnType::kInt64, std::move(values), {}};
}

}  // namespace ferry::features
