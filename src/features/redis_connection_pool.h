#pragma once

// RedisConnectionPool: up to `size` connections to one Redis server, shared by the calls
// of a RedisOnlineStore so that concurrent lookups do not queue behind each other's round
// trips. Connections are opened when a call finds none idle (never more than `size`; a
// call that finds all of them busy waits at most one command timeout for one) and kept
// idle in between. Each new connection is set up by the pool's SetUp (the store loads its
// write script there: a restarted Redis has forgotten it).
//
// Failures. A caller that finds its connection broken (an I/O error or a timeout) says so
// on its Lease: the pool closes it and every idle one (when Redis restarts they are all
// dead). A failed connect starts a backoff: until it has passed, calls that need a new
// connection fail at once with Unavailable instead of connecting again, and each further
// failed connect doubles it (backoff_initial up to backoff_max); after it, one call at a
// time tries; a successful connect ends it. So a dead Redis is not hammered by every
// request of a busy server, and no call waits longer than one connect timeout and its
// commands' timeouts. Every error names the server (`description`).
//
// Thread-safety: safe for concurrent use; a Lease belongs to one thread at a time.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

struct redisContext;

namespace ferry::features {

struct RedisPoolOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string description;  // for messages; empty: "redis://HOST:PORT"
  int size = 4;             // connections at most
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{2000};
};

class RedisConnectionPool {
 public:
  // Prepares a new connection; an error fails its connect (and counts for the backoff).
  using SetUp = std::function<absl::Status(redisContext& context)>;

  RedisConnectionPool(RedisPoolOptions options, SetUp set_up);
  ~RedisConnectionPool();
  RedisConnectionPool(const RedisConnectionPool&) = delete;
  RedisConnectionPool& operator=(const RedisConnectionPool&) = delete;

  // One connection, held by one caller, back in the pool when the Lease goes.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    ~Lease();

    redisContext& context() const { return *context_; }
    // True when it was idle in the pool (and may have died since), false when it was
    // opened for this Lease.
    bool kept() const { return kept_; }
    bool broken() const { return broken_; }
    // Marks the connection dead (it is closed on return, with every idle one) and returns
    // the Unavailable error to report: DESCRIPTION failed DOING: the connection's error.
    absl::Status Broken(std::string_view doing);

   private:
    friend class RedisConnectionPool;
    Lease(RedisConnectionPool* pool, redisContext* context, bool kept)
        : pool_(pool), context_(context), kept_(kept) {}

    RedisConnectionPool* pool_;
    redisContext* context_;
    bool kept_;
    bool broken_ = false;
  };

  // An idle connection, or a new one. Errors: Unavailable, naming the server, when the
  // connect fails, while a backoff after a failed connect lasts, and when every
  // connection stays busy for a command timeout; ResourceExhausted when hiredis cannot
  // allocate a connection.
  absl::StatusOr<Lease> Acquire();

  const std::string& description() const { return options_.description; }

 private:
  using Clock = std::chrono::steady_clock;

  void Release(redisContext* context, bool broken);
  // Connects and runs set_up_ (mu_ not held). Errors as Acquire's.
  absl::StatusOr<redisContext*> Open();

  const RedisPoolOptions options_;
  const SetUp set_up_;

  std::mutex mu_;  // guards the members below
  std::condition_variable released_;
  std::vector<redisContext*> idle_;
  int open_ = 0;  // idle, leased and being connected
  // After a failed connect: no new connection before retry_at_; backoff_ is the wait
  // (zero while connects succeed); probing_ while one call tries after the wait.
  std::chrono::milliseconds backoff_{0};
  Clock::time_point retry_at_;
  bool probing_ = false;
  std::string last_error_;
};

}  // namespace ferry::features
