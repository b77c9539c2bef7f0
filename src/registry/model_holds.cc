#include "registry/model_holds.h"

#include "core/status.h"
#include "core/strings.h"
#include "registry/model_queries.h"

namespace ferry::registry {
namespace {

using core::Cat;
using store::Row;

// A hold names a version (alias '') or an alias (version 0): both columns are NOT NULL
// so that they can be part of the primary key on every engine.
constexpr int64_t kNoVersion = 0;

}  // namespace

absl::Status AddHold(store::Transaction& tx, const ModelHolder& holder, const ModelRef& ref,
                     int64_t now_micros) {
  if (ref.version.has_value() == ref.alias.has_value()) {
    return absl::InvalidArgumentError(Cat("a hold names a version or an alias of a model (",
                                          ref.name, "@3, ", ref.name, "@production), got \"",
                                          ref.ToString(), "\""));
  }
  // Resolving checks that the model and the alias exist; loading, that the version does.
  ASSIGN_OR_RETURN(int64_t number, ResolveNumber(tx, ref));
  RETURN_IF_ERROR(LoadVersion(tx, ref.name, number).status());
  return tx
      .Execute(
          "INSERT INTO model_holds (holder, name, version, alias, relation,"
          " release_hint, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
          " ON CONFLICT DO NOTHING",
          {holder.holder, ref.name, ref.version.value_or(kNoVersion), ref.alias.value_or(""),
           holder.relation, holder.release_hint, now_micros})
      .status();
}

absl::StatusOr<int64_t> RemoveHolds(store::Transaction& tx, std::string_view holder) {
  return tx.Execute("DELETE FROM model_holds WHERE holder = ?", {holder});
}

absl::Status RefuseIfHeld(store::Transaction& tx, const ModelRef& ref, std::string_view label) {
  ASSIGN_OR_RETURN(auto holds,
                   tx.Query("SELECT holder, relation, release_hint FROM model_holds"
                            " WHERE name = ? AND version = ? AND alias = ?"
                            " ORDER BY holder",
                            {ref.name, ref.version.value_or(kNoVersion), ref.alias.value_or("")}));
  if (holds.empty()) return absl::OkStatus();
  std::string message = Cat(label, " is");
  for (size_t i = 0; i < holds.size(); ++i) {
    const Row& h = holds[i];
    message += Cat(i == 0 ? " " : "; it is also ", h.Text(1), " ", h.Text(0), "; ", h.Text(2));
  }
  return absl::FailedPreconditionError(message);
}

}  // namespace ferry::registry
