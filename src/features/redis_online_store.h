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
// newer one. Writes are pipelined: one script call per 128 entries (the call's own cost
// spread thin; Redis held up well under a millisecond), each sent as soon as it is
// encoded, all replies read at the end of the batch;
// reads are one pipelined `HGET key v` per key (the one field holds everything a lookup
// needs), one round trip per call. Unlike the interface's promise, a Read allocates:
// hiredis makes an object per reply.
//
// Expiry: a write of a view with a ttl makes its key expire ttl after the later of the
// value's event time and Redis's own clock at the write (PEXPIREAT in the same script), so
// keys no materialization or push renews go away by themselves; a view without a ttl
// removes any expiry (PERSIST). Lookups still apply the ttl to the event time against
// ferry's clock, so a stale value is never served while its key lingers.
//
// Connections: a RedisConnectionPool of up to `connections`, so concurrent lookups do not
// wait for each other. A call that finds its kept connection dead (Redis restarted) tries
// once more on a new one (every call here is safe to repeat: writes only ever keep the
// newest value); after a failed connect, new connections are attempted again only after a
// backoff (50 ms doubling to 2 s by default), and calls meanwhile fail at once. While Redis
// is down every call fails with Unavailable naming the server, promptly, never waiting
// past one connect timeout and its command timeouts.
//
// Durability is Redis's (its AOF/RDB settings): Sync has nothing to flush here. Chosen by
// the workspace config (`online_store: redis://HOST:PORT`, shared_online_store.h).
//
// Thread-safety: safe for concurrent use.

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "features/online_store.h"
#include "features/redis_connection_pool.h"

namespace ferry::features {

struct RedisOnlineOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string key_prefix = "ferry:";
  int connections = 8;  // at most, opened as concurrent calls need them
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
  // After a failed connect, the wait before the next attempt: doubling up to the maximum.
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{2000};
};

class RedisOnlineStore final : public OnlineStore {
 public:
  // Connects, loads the write script and reads (or sets, the first time) the store's id.
  // Errors: Unavailable when the server cannot be reached or answers with an error.
  static absl::StatusOr<std::unique_ptr<RedisOnlineStore>> Connect(
      const RedisOnlineOptions& options);
  RedisOnlineStore(const RedisOnlineStore&) = delete;
  RedisOnlineStore& operator=(const RedisOnlineStore&) = delete;

  const std::string& id() const override { return id_; }
  // Errors: Unavailable (naming the server) when Redis cannot be reached; Internal when it
  // refuses a write; InvalidArgument for an entry that is not an online value.
  absl::StatusOr<WriteCounts> WriteLatest(const OnlineView& view,
                                          std::span<const OnlineEntry> entries) override;
  absl::Status Sync() override { return absl::OkStatus(); }
  absl::Status Read(std::span<const std::string_view> keys, FoundFn found) const override;
  absl::StatusOr<std::optional<std::string>> GetRecord(std::string_view name) const override;
  absl::Status PutRecord(std::string_view name, std::string_view value) override;

 private:
  using Lease = RedisConnectionPool::Lease;
  using Body = absl::FunctionRef<absl::Status(Lease& lease)>;

  explicit RedisOnlineStore(const RedisOnlineOptions& options);
  // Loads the write script on a new connection.
  absl::Status SetUp(redisContext& context);
  // Runs `body` on a pooled connection, once more on a new one when a kept connection
  // turns out to be dead (the body reports that with Lease::Broken).
  absl::Status WithConnection(Body body) const;
  // Internal: the server answered `doing` with an error.
  absl::Status Refused(std::string_view doing, std::string_view error) const;

  const RedisOnlineOptions options_;
  const std::string description_;  // "the online store at redis://HOST:PORT"
  std::string id_;                 // set by Connect
  std::string script_sha_;         // the write script's; set by the first connection (in Connect)
  mutable RedisConnectionPool pool_;
};

}  // namespace ferry::features
