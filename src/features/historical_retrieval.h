#pragma once

// Historical retrieval: builds a training set by the point-in-time join
// (point_in_time_join.h) of an entity table with the requested features, and stores it
// as a new version of a dataset, with lineage to the entity table, every source
// version it read and every feature view -- or writes it to a file with that lineage
// for a caller that stores it itself (a pipeline's training-set step).
//
// The entity table has the join keys of every requested view (with the entities'
// types) and an `event_timestamp` column of timestamps (naive ones are UTC); all its
// columns pass through, in order, followed by the features in request order, named
// `feature` or, with full_feature_names, `view__feature`. Output rows are the entity
// rows, one each, in input order. The training set is a CSV file.
//
// Views run in parallel (each on its own thread, at most `threads`); each reads its
// source's FeatureTable, built first if this layout of that version has none.
//
// Thread-safety: RetrieveHistorical may run concurrently with itself and with adds.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "features/entity_table.h"
#include "features/feature_registry.h"
#include "features/feature_table.h"
#include "features/point_in_time_join.h"
#include "nlohmann/json_fwd.hpp"
#include "store/workspace.h"

namespace ferry::features {

inline constexpr std::string_view kEntityTimestampColumn = "event_timestamp";

struct HistoricalOptions {
  std::string entities;  // a CSV / JSON Lines file, or a dataset reference
  std::string entities_display;  // how messages name the file (default: `entities`)
  EntitySource entities_source = EntitySource::kFileOrDataset;  // what `entities` may name
  FeatureSelection selection;
  std::string output;  // the dataset that gets the training set as a new version
  bool full_feature_names = false;
  std::string message;
  std::optional<std::string> tag;
  int threads = 0;  // 0: one per core
  size_t group_rows = FeatureTables::kDefaultGroupRows;  // of tables built (tests: small)
};

struct ViewReport {
  std::string view;
  std::string source;  // the version read, "NAME@N"
  bool table_built = false;
  JoinStats stats;
};

struct HistoricalResult {
  dataset::AddResult added;
  int64_t rows = 0;
  std::vector<std::string> columns;
  std::vector<ViewReport> views;
};

// {"created", "rows", "columns", "views": [{"view", "source", "table_built", "matched",
// "expired"}, ...], "version": dataset::VersionToJson}: how `ferry features historical
// --json` and the HTTP API report a stored training set.
nlohmann::json HistoricalResultToJson(const HistoricalResult& result);

// A training set written by WriteTrainingSetFile and what it was made from.
struct TrainingSetFile {
  int64_t rows = 0;
  std::vector<std::string> columns;
  std::vector<ViewReport> views;
  std::string message;  // options.message, or "point-in-time join of X with N features"
  // The lineage RetrieveHistorical records: the entity table ("entity_table"), each
  // source version ("feature_source") and feature view ("feature_view").
  std::vector<dataset::LineageInput> derived_from;
};

struct PreparedTable {
  std::string view;
  FeatureTableInfo table;
  double seconds = 0;  // to find or build it
};

// Makes sure every registered view has the join-ready table of the version its source
// resolves to now, building missing ones (views in parallel, up to `threads`), so the
// first retrieval pays no sort. `ferry features apply` calls it. Errors: as
// FeatureTables::Ensure, naming the view.
absl::StatusOr<std::vector<PreparedTable>> PrepareFeatureTables(
    store::Workspace& workspace, const dataset::DatasetStore& datasets,
    const FeatureRegistry& registry, int threads = 0);

// Errors: InvalidArgument naming the problem for an entity table without
// event_timestamp or a join key, a key whose type differs from its entity's, an
// empty event_timestamp (with its row), output column name collisions (naming both
// views); NotFound for an entity table or source version that does not exist; the
// stores' errors. Nothing is stored on error.
absl::StatusOr<HistoricalResult> RetrieveHistorical(store::Workspace& workspace,
                                                    dataset::DatasetStore& datasets,
                                                    const HistoricalOptions& options);

// The training set RetrieveHistorical would store, written as CSV to `path` instead
// (replaced atomically: on error nothing new is there); options.output and options.tag
// are not used. Errors: as RetrieveHistorical, and the file's.
absl::StatusOr<TrainingSetFile> WriteTrainingSetFile(store::Workspace& workspace,
                                                     const dataset::DatasetStore& datasets,
                                                     const HistoricalOptions& options,
                                                     const std::filesystem::path& path);

}  // namespace ferry::features
