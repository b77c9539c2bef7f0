#pragma once

// FeatureRegistry: the registered entities, feature views and feature services, and
// every change made to them (the "features" component of the metadata store).
//
// Each object has numbered versions; a version holds the object's canonical JSON, or
// nothing when that version deleted it. `Apply` is declarative like `feast apply`:
// objects in the file are created or updated, identical ones are left alone (so applying
// the same file twice changes nothing), and with `prune` registered objects absent from
// the file are deleted. The whole resulting state is validated before anything is
// written, against the source datasets' schemas:
//   - a view's entities exist, its source resolves to a tabular dataset version, which
//     has every join key with the entity's type, the timestamp field (and created
//     timestamp field) as timestamp columns, and every feature with its type (a float64
//     feature may read an int64 column);
//   - a service's "view:feature" references name registered views and features;
//   - nothing left registered refers to a deleted object.
// One write transaction applies the change; a concurrent apply that changed an object
// this one read makes it fail (Aborted) rather than overwrite blindly.
//
// Thread-safety: safe for concurrent use (the metadata store serialises writes).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataset/dataset_store.h"
#include "features/feature_definitions.h"
#include "store/workspace.h"

namespace ferry::features {

enum class ChangeAction : uint8_t { kCreated, kUpdated, kUnchanged, kDeleted };
std::string_view ChangeActionName(ChangeAction action);

struct ObjectChange {
  ObjectKind kind = ObjectKind::kEntity;
  std::string name;
  ChangeAction action = ChangeAction::kUnchanged;
  int64_t version = 0;  // the object's version after the apply (the deleting one)
};

struct ApplyOptions {
  bool prune = false;    // delete registered objects the definitions do not name
  bool dry_run = false;  // validate and report, write nothing
};

// One version of an object, for `features show` history.
struct ObjectVersion {
  int64_t version = 0;
  bool deleted = false;
  std::string spec_sha256;
  int64_t applied_at = 0;
};

// A requested feature, resolved: the view's current definition and the feature in it.
struct ResolvedFeature {
  FeatureRef ref;
  table::ColumnType type = table::ColumnType::kFloat64;
};

// Requested features grouped by view, in the order the views were first named.
struct FeatureSelection {
  struct ViewPart {
    FeatureView view;
    std::vector<JoinKey> join_keys;  // its entities' keys, in order
    std::vector<Feature> features;   // the requested ones, in request order
  };
  std::vector<ViewPart> views;
  std::vector<FeatureRef> refs;  // every requested feature, in request order
};

class FeatureRegistry {
 public:
  // Applies the "features" migrations. Errors: the store's.
  static absl::StatusOr<std::unique_ptr<FeatureRegistry>> Open(
      store::Workspace& workspace, const dataset::DatasetStore& datasets);

  // See the file comment. Errors: InvalidArgument naming the object and field that
  // fails validation, NotFound for a source dataset that does not exist, Aborted
  // when a concurrent apply changed the registry meanwhile. On error nothing changes.
  absl::StatusOr<std::vector<ObjectChange>> Apply(const FeatureDefinitions& definitions,
                                                  const ApplyOptions& options);

  // Everything registered now, each kind sorted by name.
  absl::StatusOr<FeatureDefinitions> Current() const;
  // Errors: InvalidArgument for a name no object can have (ValidateObjectName); NotFound
  // ("no feature view named ...").
  absl::StatusOr<Entity> GetEntity(std::string_view name) const;
  absl::StatusOr<FeatureView> GetView(std::string_view name) const;
  absl::StatusOr<FeatureService> GetService(std::string_view name) const;
  absl::StatusOr<std::vector<ObjectVersion>> History(ObjectKind kind,
                                                     std::string_view name) const;

  // Resolves "view:feature" references (and "view:*") or a service's list into
  // features grouped by view. Errors: InvalidArgument for malformed references or an
  // empty list, NotFound for unknown views, features or services.
  absl::StatusOr<FeatureSelection> Select(const std::vector<std::string>& refs) const;
  absl::StatusOr<FeatureSelection> SelectService(std::string_view service) const;

  // The join keys of a view (its entities' keys, in order).
  absl::StatusOr<std::vector<JoinKey>> JoinKeysOf(const FeatureView& view) const;

 private:
  FeatureRegistry(store::Workspace& workspace, const dataset::DatasetStore& datasets)
      : workspace_(workspace), datasets_(datasets) {}

  store::Workspace& workspace_;
  const dataset::DatasetStore& datasets_;
};

// Checks a view against the schema of its source version (`source_label`, e.g.
// "customer_daily@3", names it in messages). Errors: InvalidArgument naming the view
// and the field.
absl::Status ValidateViewSchema(const FeatureView& view, const std::vector<JoinKey>& join_keys,
                                const table::Schema& schema, std::string_view source_label);

}  // namespace ferry::features
