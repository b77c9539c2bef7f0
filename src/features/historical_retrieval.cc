#include "features/historical_retrieval.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "features/entity_table.h"
#include "table/csv_writer.h"

namespace ferry::features {
namespace {

namespace fs = std::filesystem;
using core::Cat;
using table::ColumnArray;
using table::ColumnType;

// What one view contributes: its keys (as entity-table columns) and output columns.
struct ViewPlan {
  const FeatureSelection::ViewPart* part = nullptr;
  std::vector<std::string> key_names;
  std::vector<std::string> output_names;
  ViewReport report;
  std::vector<JoinedColumn> joined;
};

absl::Status CheckEntitySchema(const EntityTable& entities, const std::vector<ViewPlan>& plans) {
  const table::Schema& schema = entities.schema();
  const auto columns = [&schema] {
    std::string names;
    for (const table::ColumnSchema& c : schema.columns) names += Cat(names.empty() ? "" : ", ", c.name);
    return names;
  };
  std::optional<size_t> ts = schema.Find(kEntityTimestampColumn);
  if (!ts) {
    return absl::InvalidArgumentError(Cat("entity table ", entities.label(), " has no \"",
                                          kEntityTimestampColumn, "\" column (columns: ",
                                          columns(), ")"));
  }
  if (schema.columns[*ts].type != ColumnType::kTimestamp) {
    return absl::InvalidArgumentError(
        Cat("entity table ", entities.label(), ": \"", kEntityTimestampColumn,
            "\" must hold timestamps (ISO 8601, or epoch numbers), but its values read as ",
            table::ColumnTypeName(schema.columns[*ts].type)));
  }
  for (const ViewPlan& plan : plans) {
    for (const JoinKey& key : plan.part->join_keys) {
      std::optional<size_t> index = schema.Find(key.name);
      if (!index) {
        return absl::InvalidArgumentError(
            Cat("entity table ", entities.label(), " has no column \"", key.name,
                "\", a join key of feature view \"", plan.part->view.name, "\" (columns: ",
                columns(), ")"));
      }
      const ColumnType type = schema.columns[*index].type;
      if (type != key.type) {
        return absl::InvalidArgumentError(
            Cat("entity table ", entities.label(), ": join key \"", key.name, "\" reads as ",
                table::ColumnTypeName(type), " but the entity of feature view \"",
                plan.part->view.name, "\" declares it ", table::ColumnTypeName(key.type)));
      }
    }
  }
  return absl::OkStatus();
}

// Where an output feature column comes from: a plan and its joined column.
struct OutputColumn {
  size_t plan = 0;
  size_t joined = 0;
};

// Output names: entity columns first, then features in request order; any repeat is
// an error. Fills each plan's output_names (in its features' order) and `order`.
absl::Status NameOutputs(const EntityTable& entities, const FeatureSelection& selection,
                         bool full_names, std::vector<ViewPlan>& plans,
                         std::vector<std::string>& columns, std::vector<OutputColumn>& order) {
  std::map<std::string, std::string> owner;  // name -> who made it
  for (const table::ColumnSchema& c : entities.schema().columns) {
    owner[c.name] = "the entity table";
    columns.push_back(c.name);
  }
  for (ViewPlan& plan : plans) plan.output_names.resize(plan.part->features.size());
  for (const FeatureRef& ref : selection.refs) {
    for (size_t p = 0; p < plans.size(); ++p) {
      const auto& features = plans[p].part->features;
      for (size_t f = 0; f < features.size(); ++f) {
        if (plans[p].part->view.name != ref.view || features[f].name != ref.feature) continue;
        std::string name = full_names ? Cat(ref.view, "__", ref.feature) : ref.feature;
        const std::string who = Cat("feature view \"", ref.view, "\"");
        auto [it, inserted] = owner.emplace(name, who);
        if (!inserted) {
          return absl::InvalidArgumentError(
              Cat("output column \"", name, "\" comes from both ", it->second, " and ", who,
                  full_names ? "" : "; use --full-feature-names"));
        }
        plans[p].output_names[f] = name;
        columns.push_back(std::move(name));
        order.push_back({p, f});
      }
    }
  }
  return absl::OkStatus();
}

int ThreadCount(int threads) {
  return threads > 0 ? threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// Runs task(i) for i in [0, count) on up to `threads` threads (the caller's included);
// the first error wins and stops tasks not yet started.
absl::Status ForEachParallel(size_t count, int threads,
                             const std::function<absl::Status(size_t)>& task) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  absl::Status first_error;
  const auto work = [&] {
    for (size_t i = next++; i < count; i = next++) {
      absl::Status status = task(i);
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = std::move(status);
        next = count;
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t i = 1; i < std::min<size_t>(count, static_cast<size_t>(ThreadCount(threads))); ++i) {
    pool.emplace_back(work);
  }
  work();
  for (std::thread& t : pool) t.join();
  return first_error;
}

// Reads the whole entity table once (the join needs its keys and times, the training set
// all its columns), checking that every row has a time.
absl::StatusOr<std::vector<table::RecordBatch>> ReadEntities(const EntityTable& entities) {
  std::vector<table::RecordBatch> batches;
  int64_t row_base = 0;
  const size_t time_index = *entities.schema().Find(kEntityTimestampColumn);
  RETURN_IF_ERROR(entities.Read({}, [&](table::RecordBatch batch) -> absl::Status {
    const ColumnArray& time = batch.columns[time_index];
    for (size_t r = 0; r < time.size(); ++r) {
      if (time.IsNull(r)) {
        return absl::InvalidArgumentError(Cat("entity table ", entities.label(), ": row ",
                                              row_base + static_cast<int64_t>(r) + 1, ": \"",
                                              kEntityTimestampColumn, "\" is empty"));
      }
    }
    row_base += batch.num_rows;
    batches.push_back(std::move(batch));
    return absl::OkStatus();
  }));
  return batches;
}

// The entity keys of each key layout the views use, sorted for merging (in parallel).
absl::StatusOr<std::map<std::vector<std::string>, EntityKeys>> SortEntityKeys(
    const std::vector<table::RecordBatch>& batches, const std::vector<ViewPlan>& plans,
    int threads) {
  std::map<std::vector<std::string>, EntityKeys> out;
  for (const ViewPlan& plan : plans) out[plan.key_names];
  std::vector<std::pair<const std::vector<std::string>*, EntityKeys*>> layouts;
  for (auto& [names, keys] : out) layouts.emplace_back(&names, &keys);
  RETURN_IF_ERROR(ForEachParallel(layouts.size(), threads, [&](size_t i) -> absl::Status {
    EntityKeysBuilder builder;
    for (const table::RecordBatch& batch : batches) {
      std::vector<const ColumnArray*> keys;
      for (const std::string& k : *layouts[i].first) keys.push_back(batch.column(k));
      builder.Add(keys, *batch.column(kEntityTimestampColumn));
    }
    *layouts[i].second = std::move(builder).Finish();
    return absl::OkStatus();
  }));
  return out;
}

absl::Status JoinOne(store::Workspace& workspace, const dataset::DatasetStore& datasets,
                     const EntityKeys& keys, size_t group_rows, ViewPlan& plan) {
  const FeatureView& view = plan.part->view;
  ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(view.source));
  absl::StatusOr<dataset::VersionRecord> version = datasets.Resolve(ref);
  if (!version.ok()) {
    return absl::Status(version.status().code(), Cat("feature view \"", view.name, "\": ",
                                                     core::View(version.status().message())));
  }
  if (version->profile) {
    ASSIGN_OR_RETURN(table::TableProfile profile, datasets.Profile(*version));
    RETURN_IF_ERROR(
        ValidateViewSchema(view, plan.part->join_keys, profile.schema(), version->Ref()));
  }
  const FeatureTables tables(workspace, datasets, group_rows);
  ASSIGN_OR_RETURN(FeatureTableInfo info,
                   tables.Ensure(*version, FeatureTableLayout::Of(view, plan.part->join_keys)));
  ASSIGN_OR_RETURN(FeatureTableReader reader,
                   FeatureTableReader::Open(workspace.objects(), info.manifest));
  std::vector<size_t> columns;
  for (const Feature& f : plan.part->features) {
    for (size_t i = 0; i < view.features.size(); ++i) {
      if (view.features[i].name == f.name) columns.push_back(i);
    }
    JoinedColumn out;
    out.name = plan.output_names[plan.joined.size()];
    out.type = f.type;
    plan.joined.push_back(std::move(out));
  }
  ASSIGN_OR_RETURN(plan.report.stats,
                   JoinView(keys, reader, view.ttl_seconds, columns, plan.joined));
  plan.report.view = view.name;
  plan.report.source = version->Ref();
  plan.report.table_built = info.built;
  return absl::OkStatus();
}

// Writes each entity row with its features.
absl::Status WriteTrainingSet(const std::vector<table::RecordBatch>& entities,
                              const std::vector<ViewPlan>& plans,
                              const std::vector<std::string>& columns,
                              const std::vector<OutputColumn>& order, int fd) {
  table::CsvWriter out(fd);
  for (const std::string& name : columns) out.String(name);
  RETURN_IF_ERROR(out.EndRow());
  size_t row_base = 0;
  for (const table::RecordBatch& batch : entities) {
    for (size_t r = 0; r < static_cast<size_t>(batch.num_rows); ++r) {
      // Entity columns (ColumnArray) and joined ones (JoinedColumn) have the same typed
      // arrays, IsNull and StringAt.
      for (const ColumnArray& c : batch.columns) table::WriteColumnValue(out, c, r);
      for (const OutputColumn& o : order) {
        table::WriteColumnValue(out, plans[o.plan].joined[o.joined], row_base + r);
      }
      RETURN_IF_ERROR(out.EndRow());
    }
    row_base += static_cast<size_t>(batch.num_rows);
  }
  return out.Flush();
}

// Logs (at debug) how long each phase of a retrieval took, for tuning.
class PhaseTimer {
 public:
  void Done(std::string_view phase) {
    const auto now = std::chrono::steady_clock::now();
    spdlog::debug("historical retrieval: {} took {} ms", phase,
                  std::chrono::duration_cast<std::chrono::milliseconds>(now - last_).count());
    last_ = now;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// The join, written as CSV to `fd`; what it was made from.
absl::StatusOr<TrainingSetFile> JoinToFile(store::Workspace& workspace,
                                           const dataset::DatasetStore& datasets,
                                           const HistoricalOptions& options, int fd) {
  if (options.selection.views.empty()) return absl::InvalidArgumentError("no features requested");
  PhaseTimer timer;
  ASSIGN_OR_RETURN(EntityTable entities,
                   EntityTable::Open(datasets, options.entities, options.entities_display,
                                     options.entities_source));
  if (entities.rows() == 0) {
    return absl::InvalidArgumentError(Cat("entity table ", entities.label(), " has no rows"));
  }

  std::vector<ViewPlan> plans;
  for (const FeatureSelection::ViewPart& part : options.selection.views) {
    ViewPlan plan;
    plan.part = &part;
    for (const JoinKey& k : part.join_keys) plan.key_names.push_back(k.name);
    plans.push_back(std::move(plan));
  }
  RETURN_IF_ERROR(CheckEntitySchema(entities, plans));
  TrainingSetFile result;
  std::vector<OutputColumn> order;
  RETURN_IF_ERROR(NameOutputs(entities, options.selection, options.full_feature_names, plans,
                              result.columns, order));

  timer.Done("opening the entity table");
  ASSIGN_OR_RETURN(std::vector<table::RecordBatch> rows, ReadEntities(entities));
  timer.Done("reading the entity table");
  ASSIGN_OR_RETURN(auto keys, SortEntityKeys(rows, plans, options.threads));
  timer.Done("sorting entity keys");
  RETURN_IF_ERROR(ForEachParallel(plans.size(), options.threads, [&](size_t i) {
    return JoinOne(workspace, datasets, keys.at(plans[i].key_names), options.group_rows, plans[i]);
  }));
  keys.clear();  // the sorted keys are not needed to write
  timer.Done("joining the views");
  RETURN_IF_ERROR(WriteTrainingSet(rows, plans, result.columns, order, fd));
  timer.Done("writing the training set");

  result.message = options.message.empty()
                       ? Cat("point-in-time join of ", entities.label(), " with ",
                             options.selection.refs.size(), " features")
                       : options.message;
  result.derived_from.push_back({entities.node(), "entity_table"});
  for (const ViewPlan& plan : plans) {
    result.derived_from.push_back(
        {{std::string(lineage::kind::kDatasetVersion), plan.report.source}, "feature_source"});
    result.derived_from.push_back(
        {{std::string(lineage::kind::kFeatureView), plan.part->view.name}, "feature_view"});
  }
  result.rows = entities.rows();
  for (ViewPlan& plan : plans) result.views.push_back(std::move(plan.report));
  return result;
}

}  // namespace

nlohmann::json HistoricalResultToJson(const HistoricalResult& result) {
  nlohmann::json views = nlohmann::json::array();
  for (const ViewReport& r : result.views) {
    views.push_back({{"view", r.view},
                     {"source", r.source},
                     {"table_built", r.table_built},
                     {"matched", r.stats.matched},
                     {"expired", r.stats.expired}});
  }
  return nlohmann::json{{"created", result.added.created},
                        {"rows", result.rows},
                        {"columns", result.columns},
                        {"views", views},
                        {"version", dataset::VersionToJson(result.added.version)}};
}

absl::StatusOr<std::vector<PreparedTable>> PrepareFeatureTables(
    store::Workspace& workspace, const dataset::DatasetStore& datasets,
    const FeatureRegistry& registry, int threads) {
  ASSIGN_OR_RETURN(FeatureDefinitions defs, registry.Current());
  std::vector<PreparedTable> prepared(defs.views.size());
  const FeatureTables tables(workspace, datasets);
  RETURN_IF_ERROR(ForEachParallel(defs.views.size(), threads, [&](size_t i) -> absl::Status {
    const FeatureView& view = defs.views[i];
    const auto start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(std::vector<JoinKey> keys, registry.JoinKeysOf(view));
    ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(view.source));
    ASSIGN_OR_RETURN(dataset::VersionRecord version, datasets.Resolve(ref));
    absl::StatusOr<FeatureTableInfo> info =
        tables.Ensure(version, FeatureTableLayout::Of(view, std::move(keys)));
    if (!info.ok()) {
      return absl::Status(info.status().code(), Cat("feature view \"", view.name, "\": ",
                                                    core::View(info.status().message())));
    }
    prepared[i] = {view.name, *info,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
    return absl::OkStatus();
  }));
  return prepared;
}

absl::StatusOr<TrainingSetFile> WriteTrainingSetFile(store::Workspace& workspace,
                                                     const dataset::DatasetStore& datasets,
                                                     const HistoricalOptions& options,
                                                     const fs::path& path) {
  ASSIGN_OR_RETURN(core::AtomicFile file, core::AtomicFile::Create(path));
  ASSIGN_OR_RETURN(TrainingSetFile written, JoinToFile(workspace, datasets, options, file.fd()));
  RETURN_IF_ERROR(file.Commit());
  return written;
}

absl::StatusOr<HistoricalResult> RetrieveHistorical(store::Workspace& workspace,
                                                    dataset::DatasetStore& datasets,
                                                    const HistoricalOptions& options) {
  RETURN_IF_ERROR(dataset::ValidateDatasetName(options.output));
  const fs::path uploads = workspace.ferry_dir() / "uploads";
  std::error_code ec;
  fs::create_directories(uploads, ec);
  if (ec) return core::ErrnoToStatus(ec.value(), Cat("create ", uploads.string()));
  // Never committed: dropping it removes the file once the add has stored it.
  ASSIGN_OR_RETURN(core::AtomicFile file, core::AtomicFile::Create(uploads / "training-set"));
  ASSIGN_OR_RETURN(TrainingSetFile written, JoinToFile(workspace, datasets, options, file.fd()));
  PhaseTimer timer;

  dataset::AddOptions add;
  add.message = written.message;
  add.tag = options.tag;
  add.format = table::Format::kCsv;
  add.source_name = Cat(options.output, ".csv");
  add.derived_from = std::move(written.derived_from);
  HistoricalResult result;
  ASSIGN_OR_RETURN(result.added, datasets.Add(options.output, file.temp_path(), add));
  timer.Done("storing it as a dataset version");
  result.rows = written.rows;
  result.columns = std::move(written.columns);
  result.views = std::move(written.views);
  return result;
}

}  // namespace ferry::features
