#include "features/rocksdb_online_store.h"

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <random>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "features/online_value.h"

namespace ferry::features {
namespace {

namespace fs = std::filesystem;
using core::Cat;

// Record names live under a 0x01 prefix: view names start with a letter or '_', so no
// value key can start with it.
constexpr char kRecordPrefix = '\x01';
constexpr std::string_view kStoreIdRecord = "store_id";
// MultiGet batches: large enough to amortise the call, small enough to stay in cache.
constexpr size_t kReadBatch = 128;

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = Cat(what, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(message);
  return absl::InternalError(message);
}

bool IsLockError(const rocksdb::Status& s) {
  return s.IsIOError() && s.ToString().find("LOCK") != std::string::npos;
}

std::string RecordKey(std::string_view name) {
  std::string key(1, kRecordPrefix);
  key.append(name);
  return key;
}

std::string RandomId() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}", device(), device());
}

rocksdb::Options MakeOptions(const RocksDbOnlineOptions& options) {
  rocksdb::Options o;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  if (options.row_cache_bytes > 0) o.row_cache = rocksdb::NewLRUCache(options.row_cache_bytes);
  o.max_open_files = -1;
  // RocksDB's own log: warnings only, a few small files.
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  o.keep_log_file_num = 2;
  o.max_log_file_size = size_t{1} << 20;
  return o;
}

rocksdb::ReadOptions LookupOptions() {
  rocksdb::ReadOptions ro;
  ro.verify_checksums = false;  // blocks are checked when read from disk into the cache
  return ro;
}

}  // namespace

fs::path OnlineStorePath(const store::Workspace& workspace) {
  return workspace.ferry_dir() / kOnlineDirName;
}

absl::StatusOr<std::unique_ptr<RocksDbOnlineStore>> RocksDbOnlineStore::Open(
    const fs::path& path, const RocksDbOnlineOptions& options) {
  rocksdb::Options o = MakeOptions(options);
  o.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(o, path.string(), &db);
  if (IsLockError(s)) {
    return absl::UnavailableError(
        Cat("the online store ", path.string(),
            " is open for writing in another process (only one may write it at a time)"));
  }
  RETURN_IF_ERROR(FromRocks(s, Cat("open the online store ", path.string())));
  std::unique_ptr<RocksDbOnlineStore> store(new RocksDbOnlineStore());
  store->db_.reset(db);
  store->writable_ = true;
  if (options.value_cache_bytes > 0) {
    store->cache_ = std::make_unique<OnlineValueCache>(options.value_cache_bytes);
  }
  ASSIGN_OR_RETURN(std::optional<std::string> id, store->GetRecord(kStoreIdRecord));
  if (!id) {
    id = RandomId();
    RETURN_IF_ERROR(store->PutRecord(kStoreIdRecord, *id));
    RETURN_IF_ERROR(store->Sync());
  }
  store->id_ = *id;
  return store;
}

absl::StatusOr<std::unique_ptr<RocksDbOnlineStore>> RocksDbOnlineStore::OpenFollower(
    const fs::path& path, const RocksDbOnlineOptions& options) {
  std::error_code ec;
  if (!fs::exists(path / "CURRENT", ec)) {
    return absl::FailedPreconditionError(
        Cat("nothing is materialized yet (", path.string(),
            " does not exist); run `ferry features materialize-incremental`"));
  }
  // A secondary instance keeps its own small state (info log) in a folder of its own.
  std::string pattern = (fs::temp_directory_path() / "ferry-online-follower-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(Cat("create a temporary folder ", pattern));
  }
  std::unique_ptr<RocksDbOnlineStore> store(new RocksDbOnlineStore());
  store->follower_dir_ = pattern;
  rocksdb::Options o = MakeOptions(options);
  rocksdb::DB* db = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::OpenAsSecondary(o, path.string(), pattern, &db),
                            Cat("open the online store ", path.string(), " read-only")));
  store->db_.reset(db);
  ASSIGN_OR_RETURN(std::optional<std::string> id, store->GetRecord(kStoreIdRecord));
  if (!id) return absl::DataLossError(Cat("the online store ", path.string(), " has no id"));
  store->id_ = *id;
  return store;
}

RocksDbOnlineStore::~RocksDbOnlineStore() {
  if (db_) {
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
  if (!follower_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(follower_dir_, ec);
  }
}

std::mutex& RocksDbOnlineStore::ViewLock(std::string_view view) {
  std::lock_guard<std::mutex> lock(locks_mu_);
  auto it = view_locks_.find(view);
  if (it == view_locks_.end()) {
    it = view_locks_.emplace(std::string(view), std::make_unique<std::mutex>()).first;
  }
  return *it->second;
}

absl::StatusOr<WriteCounts> RocksDbOnlineStore::WriteLatest(const OnlineView& view,
                                                            std::span<const OnlineEntry> entries) {
  if (!writable_) return absl::FailedPreconditionError("the online store is open read-only");
  std::lock_guard<std::mutex> lock(ViewLock(view.name));
  // Read what is stored, keep the entries that replace it, write those in one batch.
  std::vector<std::string_view> keys;
  keys.reserve(entries.size());
  for (const OnlineEntry& e : entries) keys.push_back(e.key);
  std::vector<uint8_t> replaces(entries.size(), 1);
  RETURN_IF_ERROR(ReadEngine(keys, [&](size_t i, std::string_view stored) {
    // The same bytes again (a rerun) are counted as kept, not rewritten.
    replaces[i] = stored != entries[i].value && ReplacesStored(stored, entries[i].value);
  }));
  rocksdb::WriteBatch batch;
  WriteCounts counts;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!replaces[i]) {
      ++counts.kept;
      continue;
    }
    RETURN_IF_ERROR(FromRocks(batch.Put(entries[i].key, entries[i].value), "online batch"));
    ++counts.written;
  }
  if (counts.written > 0) {
    RETURN_IF_ERROR(FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "online write"));
  }
  if (cache_) {
    for (size_t i = 0; i < entries.size(); ++i) {
      if (replaces[i]) cache_->Written(entries[i].key, entries[i].value);
    }
  }
  return counts;
}

absl::Status RocksDbOnlineStore::Sync() {
  if (!writable_) return absl::FailedPreconditionError("the online store is open read-only");
  return FromRocks(db_->FlushWAL(/*sync=*/true), "sync the online store");
}

absl::Status RocksDbOnlineStore::Read(std::span<const std::string_view> keys,
                                      FoundFn found) const {
  if (!cache_) return ReadEngine(keys, found);
  // Hits are answered from the cache; the misses go to RocksDB together, and fill it.
  struct Misses {
    std::vector<size_t> index;
    std::vector<uint64_t> epoch;
    std::vector<std::string_view> keys;
    std::vector<uint8_t> found;
  };
  thread_local Misses misses;
  misses.index.clear();
  misses.epoch.clear();
  misses.keys.clear();
  for (size_t i = 0; i < keys.size(); ++i) {
    const OnlineValueCache::Probe probe =
        cache_->Lookup(keys[i], [&](std::optional<std::string_view> value) {
          if (value) found(i, *value);
        });
    if (!probe.hit) {
      misses.index.push_back(i);
      misses.epoch.push_back(probe.epoch);
      misses.keys.push_back(keys[i]);
    }
  }
  if (misses.keys.empty()) return absl::OkStatus();
  misses.found.assign(misses.keys.size(), 0);
  RETURN_IF_ERROR(ReadEngine(misses.keys, [&](size_t j, std::string_view value) {
    misses.found[j] = 1;
    cache_->Fill(misses.keys[j], value, misses.epoch[j]);
    found(misses.index[j], value);
  }));
  for (size_t j = 0; j < misses.keys.size(); ++j) {
    if (!misses.found[j]) cache_->Fill(misses.keys[j], std::nullopt, misses.epoch[j]);
  }
  return absl::OkStatus();
}

absl::Status RocksDbOnlineStore::ReadEngine(std::span<const std::string_view> keys,
                                            FoundFn found) const {
  static const rocksdb::ReadOptions kRead = LookupOptions();
  rocksdb::ColumnFamilyHandle* const cf = db_->DefaultColumnFamily();
  if (keys.size() == 1) {
    thread_local rocksdb::PinnableSlice value;
    const rocksdb::Status s = db_->Get(kRead, cf, rocksdb::Slice(keys[0].data(), keys[0].size()),
                                       &value);
    if (s.ok()) found(0, std::string_view(value.data(), value.size()));
    value.Reset();
    if (s.ok() || s.IsNotFound()) return absl::OkStatus();
    return FromRocks(s, "online lookup");
  }
  // Per-thread buffers keep their capacity, so steady lookups allocate nothing here.
  thread_local std::vector<rocksdb::Slice> slices(kReadBatch);
  thread_local std::vector<rocksdb::PinnableSlice> values(kReadBatch);
  thread_local std::vector<rocksdb::Status> statuses(kReadBatch);
  for (size_t start = 0; start < keys.size(); start += kReadBatch) {
    const size_t n = std::min(kReadBatch, keys.size() - start);
    for (size_t i = 0; i < n; ++i) {
      slices[i] = rocksdb::Slice(keys[start + i].data(), keys[start + i].size());
    }
    db_->MultiGet(kRead, cf, n, slices.data(), values.data(), statuses.data(),
                  /*sorted_input=*/false);
    absl::Status failure = absl::OkStatus();
    for (size_t i = 0; i < n; ++i) {
      if (statuses[i].ok()) {
        found(start + i, std::string_view(values[i].data(), values[i].size()));
      } else if (!statuses[i].IsNotFound() && failure.ok()) {
        failure = FromRocks(statuses[i], "online lookup");
      }
      values[i].Reset();
    }
    RETURN_IF_ERROR(failure);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> RocksDbOnlineStore::GetRecord(
    std::string_view name) const {
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), RecordKey(name), &value);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocks(s, Cat("online store record ", name)));
  return value;
}

absl::Status RocksDbOnlineStore::PutRecord(std::string_view name, std::string_view value) {
  if (!writable_) return absl::FailedPreconditionError("the online store is open read-only");
  return FromRocks(db_->Put(rocksdb::WriteOptions(), RecordKey(name), value),
                   Cat("online store record ", name));
}

absl::Status RocksDbOnlineStore::VerifyTables() const {
  return FromRocks(db_->VerifyChecksum(), "verify the online store's tables");
}

namespace {

// Visits the entries from `from` on while `more` holds for their keys.
absl::Status Scan(rocksdb::DB& db, std::string_view from,
                  absl::FunctionRef<bool(std::string_view)> more,
                  absl::FunctionRef<absl::Status(std::string_view, std::string_view)> visit) {
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;  // a scan of everything would only evict the lookups' blocks
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(ro));
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (!more(key)) break;
    RETURN_IF_ERROR(visit(key, std::string_view(it->value().data(), it->value().size())));
  }
  return FromRocks(it->status(), "read the online store");
}

}  // namespace

absl::Status RocksDbOnlineStore::ForEachValue(EntryFn visit) const {
  return Scan(
      *db_, "", [](std::string_view) { return true; },
      [&](std::string_view key, std::string_view value) {
        if (!key.empty() && key[0] == kRecordPrefix) return absl::OkStatus();
        return visit(key, value);
      });
}

absl::Status RocksDbOnlineStore::ForEachRecord(EntryFn visit) const {
  const std::string prefix(1, kRecordPrefix);
  return Scan(
      *db_, prefix, [&](std::string_view key) { return key.starts_with(prefix); },
      [&](std::string_view key, std::string_view value) { return visit(key.substr(1), value); });
}

}  // namespace ferry::features
