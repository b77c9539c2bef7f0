#pragma once

// OnlineStore: where materialized feature values live for low-latency lookups, one value
// per (feature view, entity key): the latest row materialization found for that key. Keys
// and values are bytes here, encoded by online_value.h. RocksDbOnlineStore
// (rocksdb_online_store.h) is the embedded default under `.ferry/online/`; a Redis store
// for scale-out implements the same interface.
//
// What every implementation guarantees:
//   - WriteLatest never replaces a stored value by an older one (ReplacesStored in
//     online_value.h decides), atomically with respect to every other write of the key;
//   - a write is visible to Read once WriteLatest returns, and survives a crash after
//     Sync returns;
//   - Read may run on any number of threads at once, concurrently with writes, and
//     allocates nothing per call once a thread is warm.
//
// Thread-safety: implementations are safe for concurrent use.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"

namespace ferry::features {

struct OnlineEntry {
  std::string_view key;
  std::string_view value;
};

// The feature view a write belongs to, as far as a store needs to know it.
struct OnlineView {
  std::string_view name;
  // The view's ttl (0: none). A store whose keys expire (Redis) keeps a written value at
  // least this long after both its event time and the write; lookups withhold values older
  // than the ttl whether or not they are still stored (online_features.h).
  int64_t ttl_seconds = 0;
};

struct WriteCounts {
  int64_t written = 0;  // entries stored
  int64_t kept = 0;     // entries dropped because the stored value was newer
};

class OnlineStore {
 public:
  virtual ~OnlineStore() = default;

  // A random id fixed when the store was created. Materialization records name the store
  // they wrote into, so a store that was deleted and created again is known to be empty.
  virtual const std::string& id() const = 0;

  // Writes each entry unless the stored value of its key is newer. The entries belong to
  // `view` (their keys start with its prefix) and have distinct keys. Errors:
  // FailedPrecondition for a store opened read-only; DataLoss when the engine finds
  // damage; Unavailable when a remote engine cannot be reached; Internal for the engine's
  // other errors.
  virtual absl::StatusOr<WriteCounts> WriteLatest(const OnlineView& view,
                                                  std::span<const OnlineEntry> entries) = 0;

  // Makes every write that has returned durable. Errors: as WriteLatest.
  virtual absl::Status Sync() = 0;

  // Looks up `keys` and calls `found(i, value)` once for each key that has a value, in no
  // particular order; the bytes are valid during the call only. Errors: DataLoss when the engine
  // finds damage; Unavailable when a remote engine cannot be reached; Internal for its
  // other errors.
  using FoundFn = absl::FunctionRef<void(size_t index, std::string_view value)>;
  virtual absl::Status Read(std::span<const std::string_view> keys, FoundFn found) const = 0;

  // Small named records that describe the store's content (e.g. the layout a view was
  // last materialized with), apart from the values. nullopt when absent. Errors: as
  // Read / WriteLatest.
  virtual absl::StatusOr<std::optional<std::string>> GetRecord(std::string_view name) const = 0;
  virtual absl::Status PutRecord(std::string_view name, std::string_view value) = 0;
};

using OnlineStorePtr = std::unique_ptr<OnlineStore>;

}  // namespace ferry::features
