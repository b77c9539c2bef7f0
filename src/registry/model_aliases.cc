// ModelRegistry: aliases (with their history) and tags.

#include "core/status.h"
#include "core/strings.h"
#include "registry/model_aliases.h"
#include "registry/model_holds.h"
#include "registry/model_queries.h"
#include "registry/model_registry.h"
#include "store/change_feed.h"
#include "tracking/run_record.h"

namespace ferry::registry {
namespace {

using core::Cat;
using store::Row;
using store::Transaction;

// Appends one move of an alias to its history.
absl::Status RecordChange(Transaction& tx, std::string_view name, const AliasChange& change) {
  ASSIGN_OR_RETURN(auto next, tx.QueryOptional("SELECT COALESCE(MAX(seq), 0) + 1 FROM"
                                               " model_alias_history WHERE name = ? AND alias = ?",
                                               {name, change.alias}));
  RETURN_IF_ERROR(
      tx.Execute("INSERT INTO model_alias_history (name, alias, seq, version,"
                 " previous_version, actor, reason, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 {name, change.alias, next->Int(0), change.version, change.previous,
                  change.actor, change.reason, change.at})
          .status());
  // Endpoints following the alias switch versions: tell every server.
  return store::NotifyChange(tx, store::kServingChannel);
}

}  // namespace

absl::StatusOr<std::optional<int64_t>> AliasTarget(Transaction& tx, std::string_view name,
                                                   std::string_view alias) {
  ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT version FROM model_aliases WHERE name = ?"
                                              " AND alias = ?",
                                              {name, alias}));
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(row->Int(0));
}

absl::StatusOr<AliasChange> MoveAlias(Transaction& tx, const ModelRef& ref, std::string_view alias,
                                      std::string_view actor, std::string_view reason,
                                      int64_t now_micros) {
  RETURN_IF_ERROR(ValidateAlias(alias));
  AliasChange change{std::string(alias), std::nullopt,         std::nullopt,
                     std::string(actor), std::string(reason), now_micros};
  ASSIGN_OR_RETURN(int64_t number, ResolveNumber(tx, ref));
  RETURN_IF_ERROR(LoadVersion(tx, ref.name, number).status());
  ASSIGN_OR_RETURN(change.previous, AliasTarget(tx, ref.name, alias));
  change.version = number;
  if (change.previous == change.version) return change;
  RETURN_IF_ERROR(tx.Execute("INSERT INTO model_aliases (name, alias, version, updated_at,"
                             " updated_by) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name, alias)"
                             " DO UPDATE SET version = excluded.version,"
                             " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                             {ref.name, alias, number, change.at, change.actor})
                      .status());
  RETURN_IF_ERROR(RecordChange(tx, ref.name, change));
  return change;
}

absl::StatusOr<AliasChange> RemoveAlias(Transaction& tx, std::string_view name,
                                        std::string_view alias, std::string_view actor,
                                        std::string_view reason, int64_t now_micros) {
  AliasChange change{std::string(alias), std::nullopt,         std::nullopt,
                     std::string(actor), std::string(reason), now_micros};
  RETURN_IF_ERROR(ValidateAlias(alias));
  RETURN_IF_ERROR(LoadModel(tx, name).status());
  ASSIGN_OR_RETURN(change.previous, AliasTarget(tx, name, alias));
  if (!change.previous) {
    return absl::NotFoundError(Cat("model \"", name, "\" has no alias \"", alias, "\""));
  }
  // An endpoint following the alias holds it; moving it (MoveAlias) stays allowed.
  RETURN_IF_ERROR(RefuseIfHeld(tx, {std::string(name), std::nullopt, std::string(alias)},
                               Cat(name, "@", alias)));
  RETURN_IF_ERROR(
      tx.Execute("DELETE FROM model_aliases WHERE name = ? AND alias = ?", {name, alias}).status());
  RETURN_IF_ERROR(RecordChange(tx, name, change));
  return change;
}

absl::StatusOr<AliasChange> ModelRegistry::SetAlias(const ModelRef& ref, std::string_view alias,
                                                    std::string_view actor,
                                                    std::string_view reason) {
  const int64_t now = workspace_.clock().NowMicros();
  AliasChange change;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(change, MoveAlias(tx, ref, alias, actor, reason, now));
    return absl::OkStatus();
  }));
  return change;
}

absl::StatusOr<AliasChange> ModelRegistry::DeleteAlias(std::string_view name,
                                                       std::string_view alias,
                                                       std::string_view actor,
                                                       std::string_view reason) {
  const int64_t now = workspace_.clock().NowMicros();
  AliasChange change;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(change, RemoveAlias(tx, name, alias, actor, reason, now));
    return absl::OkStatus();
  }));
  return change;
}

absl::StatusOr<std::vector<AliasChange>> ModelRegistry::AliasHistory(
    std::string_view name, std::string_view alias) const {
  std::vector<AliasChange> changes;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(LoadModel(tx, name).status());
    ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT alias, version, previous_version, actor, reason,"
                                         " changed_at FROM model_alias_history WHERE name = ?"
                                         " AND (? = '' OR alias = ?)"
                                         " ORDER BY changed_at, alias, seq",
                                         {name, alias, alias}));
    for (const Row& r : rows) {
      changes.push_back({r.Text(0), r.OptionalInt(1), r.OptionalInt(2), r.Text(3), r.Text(4),
                         r.Int(5)});
    }
    return absl::OkStatus();
  }));
  return changes;
}

absl::Status ModelRegistry::SetTag(const ModelRef& ref, std::string_view key,
                                   const std::optional<std::string>& value) {
  RETURN_IF_ERROR(tracking::ValidateKey("tag", key));
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    const bool on_model = !ref.version && !ref.alias;
    std::string what;
    int64_t changed = 0;
    if (on_model) {
      RETURN_IF_ERROR(LoadModel(tx, ref.name).status());
      what = Cat("model \"", ref.name, "\"");
      if (value) {
        ASSIGN_OR_RETURN(changed, tx.Execute("INSERT INTO registered_model_tags (name, key,"
                                             " value) VALUES (?, ?, ?) ON CONFLICT (name, key)"
                                             " DO UPDATE SET value = excluded.value",
                                             {ref.name, key, *value}));
      } else {
        ASSIGN_OR_RETURN(changed, tx.Execute("DELETE FROM registered_model_tags WHERE name = ?"
                                             " AND key = ?",
                                             {ref.name, key}));
      }
    } else {
      ASSIGN_OR_RETURN(int64_t number, ResolveNumber(tx, ref));
      RETURN_IF_ERROR(LoadVersion(tx, ref.name, number).status());
      what = Cat("model ", ref.name, "@", number);
      if (value) {
        ASSIGN_OR_RETURN(changed, tx.Execute("INSERT INTO model_version_tags (name, version, key,"
                                             " value) VALUES (?, ?, ?, ?) ON CONFLICT (name,"
                                             " version, key) DO UPDATE SET value = excluded.value",
                                             {ref.name, number, key, *value}));
      } else {
        ASSIGN_OR_RETURN(changed, tx.Execute("DELETE FROM model_version_tags WHERE name = ? AND"
                                             " version = ? AND key = ?",
                                             {ref.name, number, key}));
      }
    }
    if (!value && changed == 0) {
      return absl::NotFoundError(Cat(what, " has no tag \"", key, "\""));
    }
    return absl::OkStatus();
  });
}

}  // namespace ferry::registry
