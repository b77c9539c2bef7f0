#pragma once

// Feature definitions: entities, feature views and feature services, as users write
// them in YAML (`ferry features apply FILE.yaml`) and as the registry stores them
// (canonical JSON, one document per object). The format is documented in
// docs/feature-definitions.md; in short:
//
//   entities:
//     - name: customer
//       join_keys: [{name: customer_id, type: string}]
//   feature_views:
//     - name: customer_stats
//       entities: [customer]
//       source: customer_daily            # a dataset: NAME (latest), NAME@N or NAME@TAG
//       timestamp_field: event_timestamp
//       created_timestamp_field: created  # optional: breaks ties between equal times
//       ttl: 30d                          # optional; 0 or absent: no age limit
//       features:
//         - {name: avg_amount_7d, type: float64}
//   feature_services:
//     - name: fraud_model
//       features: [customer_stats:avg_amount_7d, merchant_stats:*]
//
// This file checks what one file can say on its own (known keys, names, types,
// duplicates, references between the file's own objects); the registry checks the
// rest against what is already registered and the source datasets' schemas.
//
// Thread-safety: value types and pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "table/schema.h"

namespace ferry::features {

enum class ObjectKind : uint8_t { kEntity, kFeatureView, kFeatureService };
// "entity", "feature_view", "feature_service".
std::string_view ObjectKindName(ObjectKind kind);
std::optional<ObjectKind> ParseObjectKind(std::string_view name);

struct JoinKey {
  std::string name;
  table::ColumnType type = table::ColumnType::kString;  // int64 or string
  friend bool operator==(const JoinKey&, const JoinKey&) = default;
};

struct Entity {
  std::string name;
  std::vector<JoinKey> join_keys;  // at least one
  std::string description;
  friend bool operator==(const Entity&, const Entity&) = default;
};

struct Feature {
  std::string name;
  table::ColumnType type = table::ColumnType::kFloat64;
  friend bool operator==(const Feature&, const Feature&) = default;
};

struct FeatureView {
  std::string name;
  std::vector<std::string> entities;  // entity names; the view's keys are theirs, in order
  std::string source;                 // a dataset reference, e.g. "customer_daily@3"
  std::string timestamp_field;
  std::string created_timestamp_field;  // empty: none
  std::vector<Feature> features;
  int64_t ttl_seconds = 0;  // 0: no age limit
  bool online = true;       // materialized into the online store
  std::string description;
  friend bool operator==(const FeatureView&, const FeatureView&) = default;

  const Feature* FindFeature(std::string_view feature) const;
};

struct FeatureService {
  std::string name;
  std::vector<std::string> features;  // "view:feature" or "view:*", as written
  std::string description;
  friend bool operator==(const FeatureService&, const FeatureService&) = default;
};

struct FeatureDefinitions {
  std::vector<Entity> entities;
  std::vector<FeatureView> views;
  std::vector<FeatureService> services;
};

// A reference to one feature, "view:feature".
struct FeatureRef {
  std::string view;
  std::string feature;
  std::string ToString() const { return view + ":" + feature; }
  friend bool operator==(const FeatureRef&, const FeatureRef&) = default;
};

// Parses "view:feature" (or "view:*" when `allow_wildcard`). InvalidArgument naming
// the text otherwise.
absl::StatusOr<FeatureRef> ParseFeatureRef(std::string_view text, bool allow_wildcard);

// Parses a definitions file. InvalidArgument with `source_name`, the line and the key
// path for: YAML syntax errors, unknown keys, missing required keys, bad names (see
// ValidateObjectName), unknown types, join keys that are not int64 or string, bad
// durations, a feature named like a join key or a timestamp field, duplicate names
// within a kind or within a view, a service naming the same feature twice.
absl::StatusOr<FeatureDefinitions> ParseFeatureDefinitions(std::string_view yaml,
                                                           std::string_view source_name);

// Names of entities, views, services, join keys and features: 1-128 characters of
// [A-Za-z0-9_], starting with a letter or '_' (so they are valid column names in
// every engine a training set goes to). InvalidArgument otherwise.
absl::Status ValidateObjectName(std::string_view what, std::string_view name);

// Durations: "0", "90s", "15m", "12h", "30d", "2w", or plain seconds. InvalidArgument
// otherwise, or beyond 100 years.
absl::StatusOr<int64_t> ParseDurationSeconds(std::string_view text);
// The shortest of those forms, e.g. "30d", "90m", "0".
std::string FormatDuration(int64_t seconds);

// Canonical JSON (sorted keys, no whitespace): what the registry stores and hashes.
std::string ToJson(const Entity& entity);
std::string ToJson(const FeatureView& view);
std::string ToJson(const FeatureService& service);
absl::StatusOr<Entity> EntityFromJson(std::string_view json);
absl::StatusOr<FeatureView> FeatureViewFromJson(std::string_view json);
absl::StatusOr<FeatureService> FeatureServiceFromJson(std::string_view json);

}  // namespace ferry::features
