#pragma once

// RedisOnlineStore: the online store on a Redis server (or anything speaking its
// protocol), for several ferry servers sharing one store (scale-out). Layout
// (docs/online-store-format.md, "Redis"): one hash per view and entity key, under
// PREFIX + the key bytes ferry's online keys are made of (online_value.h), with the fields
//   v   the encoded value (online_value.h: layout tag, event time, created time, features)
//   lt  the value's layout tag, hex
//   ts  its event time, microseconds since the epoch, decimal
//   ct  its created time, decimal, or "" when the view has none
// and PREFIX + "store-id" (the store's id, set once) and PREFIX + "record:" + NAME (the
// records of GetRecord / PutRecord).
//
// "Never older over newer" runs in Redis itself: a Lua script compares the stored hash's
// ts/ct (when its layout tag is the same) with the incoming value and writes only a newer
// one, so concurrent writers from any number of processes cannot put an older value over a
// newer one. Writes are pipelined (one script call per entry, one round trip per batch);
// reads are one pipelined HGET per key.
//
// Durability is Redis's (its AOF/RDB settings): Sync has nothing to flush here. A lost
// connection is opened again on the next call (one attempt per call, bounded by the
// timeouts; a call that finds its kept connection dead tries once more on a new one);
// while Redis is down every call fails with Unavailable naming the server, promptly,
// never hanging past the command timeout.
//
// Expiry: a write of a view with a ttl makes its key expire ttl after the later of the
// value's event time and Redis's own clock at the write (PEXPIREAT in the same script), so
// keys no materialization or push renews go away by themselves; a view without a ttl
// removes any expiry (PERSIST). Lookups still apply the ttl to the event time against
// ferry's clock, so a stale value is never served while its key lingers.
//
// Chosen by the workspace config (`online_store: redis://HOST:PORT`,
// shared_online_store.h). Not yet: several connections (calls share one connection under
// a mutex).
//
// Thread-safety: safe for concurrent use (calls are serialized on the connection).

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "features/online_store.h"

struct redisContext;

namespace ferry::features {

struct RedisOnlineOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string key_prefix = "ferry:";
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
};

class RedisOnlineStore final : public OnlineStore {
 public:
  // Connects, loads the write script and reads (or sets, the first time) the store's id.
  // Errors: Unavailable when the server cannot be reached or answers with an error.
  static absl::StatusOr<std::unique_ptr<RedisOnlineStore>> Connect(
      const RedisOnlineOptions& options);
  ~RedisOnlineStore() override;
  RedisOnlineStore(const RedisOnlineStore&) = delete;
  RedisOnlineStore& operator=(const RedisOnlineStore&) = delete;

  const std::string& id() const override { return id_; }
  absl::StatusOr<WriteCounts> WriteLatest(const OnlineView& view,
                                          std::span<const OnlineEntry> entries) override;
  absl::Status Sync() override { return absl::OkStatus(); }
  absl::Status Read(std::span<const std::string_view> keys, FoundFn found) const override;
  absl::StatusOr<std::optional<std::string>> GetRecord(std::string_view name) const override;
  absl::Status PutRecord(std::string_view name, std::string_view value) override;

 private:
  explicit RedisOnlineStore(const RedisOnlineOptions& options) : options_(options) {}
  // Opens the connection when there is none; the caller holds mu_.
  absl::Status EnsureConnected() const;
  absl::Status Failed(std::string_view doing) const;  // drops the connection
  // Runs `body` on the connection (mu_ held), once more on a fresh connection when a kept
  // one turns out to be dead (a restarted Redis closes it; every call here is safe to
  // repeat: writes only ever keep the newest value).
  absl::Status OnConnection(const std::function<absl::Status()>& body) const;

  const RedisOnlineOptions options_;
  std::string id_;
  mutable std::mutex mu_;
  mutable redisContext* context_ = nullptr;  // guarded by mu_
  mutable std::string script_sha_;           // of the write script; guarded by mu_
};

}  // namespace ferry::features
