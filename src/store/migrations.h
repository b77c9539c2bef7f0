#pragma once

// Versioned schema migrations. Each subsystem owns an ordered list of migrations
// under its own component name ("core", "data", "registry", ...), so subsystems
// evolve their tables independently and the store knows none of them. Applied
// migrations are recorded in `schema_migrations(component, version, name,
// checksum, applied_at)`.
//
// Guarantees: each migration runs in its own transaction together with the row
// that records it, so it is applied entirely or not at all; applying twice changes
// nothing; a migration whose SQL changed after it was applied, or a workspace
// written by a newer ferry, is refused rather than guessed at.
//
// Thread-safety: ApplyMigrations may run concurrently in several processes on one
// store; the write transaction serialises them and each re-checks what is applied.

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "store/metadata_store.h"

namespace ferry::store {

struct Migration {
  int version;            // 1, 2, 3, ... without gaps
  std::string_view name;  // short description, e.g. "create workspace_info"
  std::string_view sql;   // portable SQL (see src/store/README.md), may hold several statements
};

// Applies the migrations of `component` that are not applied yet, in order.
// Returns the number applied. Errors: InvalidArgument if `migrations` is not
// numbered 1..n; FailedPrecondition if an applied migration's SQL changed or the
// store holds a version newer than the last one given; the store's error if a
// statement fails (that migration and later ones are then not applied).
absl::StatusOr<int> ApplyMigrations(MetadataStore& store, std::string_view component,
                                    std::span<const Migration> migrations, int64_t now_micros);

// The highest applied version of `component`, 0 if none.
absl::StatusOr<int> AppliedVersion(MetadataStore& store, std::string_view component);

}  // namespace ferry::store
