#include "features/online_store_check.h"

#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "features/materialization.h"
#include "features/materialization_log.h"
#include "features/online_value.h"
#include "features/rocksdb_online_store.h"
#include "table/schema.h"

namespace ferry::features {
namespace {

namespace fs = std::filesystem;
using core::Cat;

// Problems listed one by one; beyond this many only counted.
constexpr size_t kMaxListedProblems = 20;

class Problems {
 public:
  explicit Problems(std::vector<std::string>& out) : out_(out) {}
  // Adds the count of the problems not listed; call once, at the end.
  void Finish() {
    if (unlisted_ > 0) out_.push_back(Cat("... and ", unlisted_, " more problems"));
  }
  void Add(std::string problem) {
    if (out_.size() < kMaxListedProblems) {
      out_.push_back(std::move(problem));
    } else {
      ++unlisted_;
    }
  }
  // Damage the engine reports becomes a problem; its other errors stop the check.
  absl::Status Note(const absl::Status& status) {
    if (status.code() != absl::StatusCode::kDataLoss) return status;
    Add(std::string(status.message()));
    return absl::OkStatus();
  }

 private:
  std::vector<std::string>& out_;
  int64_t unlisted_ = 0;
};

// A key for a message: printable bytes as they are, others as '?', cut at 60.
std::string Printable(std::string_view key) {
  std::string out;
  for (char c : key.substr(0, 60)) out += c >= 0x20 && c < 0x7f ? c : '?';
  return out;
}

struct ViewLayout {
  uint64_t tag = 0;
  OnlineValueLayout layout;
};

// A view's layout record (materialization.cc writes it); nullopt when malformed.
std::optional<ViewLayout> ParseViewRecord(std::string_view bytes) {
  const nlohmann::json record = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object() || !record.contains("layout_sha256") ||
      !record["layout_sha256"].is_string() || !record.contains("features") ||
      !record["features"].is_array()) {
    return std::nullopt;
  }
  std::vector<table::ColumnType> types;
  for (const nlohmann::json& feature : record["features"]) {
    if (!feature.is_object() || !feature.contains("type") || !feature["type"].is_string()) {
      return std::nullopt;
    }
    std::optional<table::ColumnType> type =
        table::ParseColumnType(feature["type"].get<std::string>());
    if (!type) return std::nullopt;
    types.push_back(*type);
  }
  return ViewLayout{LayoutTag(record["layout_sha256"].get<std::string>()),
                    OnlineValueLayout(types)};
}

}  // namespace

absl::StatusOr<OnlineStoreCheck> CheckOnlineStore(const store::Workspace& workspace) {
  OnlineStoreCheck check;
  check.store = workspace.config().online_store;
  if (check.store != "rocksdb") return check;
  const fs::path path = OnlineStorePath(workspace);
  std::error_code ec;
  if (!fs::exists(path / "CURRENT", ec)) return check;  // nothing materialized yet
  check.checked = true;
  Problems problems(check.problems);
  RocksDbOnlineOptions options;
  options.value_cache_bytes = 0;
  options.block_cache_bytes = size_t{8} << 20;
  absl::StatusOr<std::unique_ptr<RocksDbOnlineStore>> opened =
      RocksDbOnlineStore::OpenFollower(path, options);
  if (!opened.ok()) {
    RETURN_IF_ERROR(problems.Note(opened.status()));
    problems.Finish();
    return check;
  }
  const RocksDbOnlineStore& online = **opened;
  RETURN_IF_ERROR(problems.Note(online.VerifyTables()));

  std::map<std::string, ViewLayout, std::less<>> layouts;
  constexpr std::string_view kViewRecord = "view/";
  RETURN_IF_ERROR(problems.Note(
      online.ForEachRecord([&](std::string_view name, std::string_view bytes) -> absl::Status {
        if (!name.starts_with(kViewRecord)) return absl::OkStatus();  // the id, or a newer ferry's
        std::optional<ViewLayout> layout = ParseViewRecord(bytes);
        if (!layout) {
          problems.Add(Cat("online store record \"", Printable(name), "\" is not a view layout"));
        } else {
          layouts.emplace(name.substr(kViewRecord.size()), *std::move(layout));
        }
        return absl::OkStatus();
      })));
  check.views = static_cast<int64_t>(layouts.size());

  std::vector<uint32_t> offsets;
  RETURN_IF_ERROR(problems.Note(
      online.ForEachValue([&](std::string_view key, std::string_view value) -> absl::Status {
        ++check.values_checked;
        const size_t end_of_view = key.find('\0');
        if (end_of_view == std::string_view::npos || end_of_view == 0) {
          problems.Add(Cat("online value under \"", Printable(key), "\": the key names no view"));
          return absl::OkStatus();
        }
        const std::optional<OnlineValueHeader> header = ReadOnlineValueHeader(value);
        if (!header) {
          problems.Add(Cat("online value of \"", Printable(key), "\" (", value.size(),
                           " bytes) is not a value of a known format"));
          return absl::OkStatus();
        }
        const auto layout = layouts.find(key.substr(0, end_of_view));
        if (layout == layouts.end() || layout->second.tag != header->layout_tag) {
          return absl::OkStatus();  // obsolete: lookups treat it as absent
        }
        offsets.resize(layout->second.layout.feature_count());
        if (!layout->second.layout.Locate(value, offsets)) {
          problems.Add(Cat("online value of \"", Printable(key), "\" (", value.size(),
                           " bytes) does not hold the features of its view's layout"));
        }
        return absl::OkStatus();
      })));

  ASSIGN_OR_RETURN(std::vector<std::string> logged,
                   MaterializedViews(workspace.metadata(), online.id()));
  for (const std::string& view : logged) {
    if (!layouts.count(view)) {
      problems.Add(Cat("feature view \"", view,
                       "\" was materialized into this online store (the metadata store's log"
                       " says so) but the store has no layout record for it"));
    }
  }
  problems.Finish();
  return check;
}

}  // namespace ferry::features
