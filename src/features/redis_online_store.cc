#include "features/redis_online_store.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "features/online_value.h"

namespace ferry::features {
namespace {

using core::Cat;

// KEYS[1]: the entity's hash. ARGV: value, layout tag (hex), event time, created time
// ("" for none), the view's ttl in milliseconds ("0" for none). Writes unless the stored
// value has the same layout and is newer (event time, then created time; none is the
// oldest); returns 1 when it wrote. A written key expires ttl after the later of its event
// time and Redis's clock now (docs/online-store-format.md, "Expiry"); one without a ttl
// never does.
constexpr char kWriteScript[] = R"(
local cur = redis.call('HMGET', KEYS[1], 'lt', 'ts', 'ct')
if cur[1] and cur[1] == ARGV[2] then
  local ots, nts = tonumber(cur[2]), tonumber(ARGV[3])
  if nts < ots then return 0 end
  if nts == ots then
    local oct = (cur[3] and cur[3] ~= '') and tonumber(cur[3]) or nil
    local nct = (ARGV[4] ~= '') and tonumber(ARGV[4]) or nil
    if oct ~= nil and (nct == nil or nct < oct) then return 0 end
  end
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'lt', ARGV[2], 'ts', ARGV[3], 'ct', ARGV[4])
local ttl = tonumber(ARGV[5])
if ttl > 0 then
  local now = redis.call('TIME')
  local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local event_ms = math.floor(tonumber(ARGV[3]) / 1000)
  redis.call('PEXPIREAT', KEYS[1], math.max(now_ms, event_ms) + ttl)
else
  redis.call('PERSIST', KEYS[1])
end
return 1
)";

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

std::string RandomId() {
  std::random_device device;
  std::string id;
  for (int i = 0; i < 4; ++i) id += fmt::format("{:08x}", device());
  return id;
}

RedisPoolOptions PoolOptions(const RedisOnlineOptions& options, std::string description) {
  RedisPoolOptions pool;
  pool.host = options.host;
  pool.port = options.port;
  pool.description = std::move(description);
  pool.size = options.connections;
  pool.connect_timeout = options.connect_timeout;
  pool.command_timeout = options.command_timeout;
  pool.backoff_initial = options.backoff_initial;
  pool.backoff_max = options.backoff_max;
  return pool;
}

// One command, its reply; Broken when the connection failed.
absl::StatusOr<ReplyPtr> Command(RedisConnectionPool::Lease& lease, std::string_view doing,
                                 std::initializer_list<std::string_view> args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  ReplyPtr reply(static_cast<redisReply*>(redisCommandArgv(
      &lease.context(), static_cast<int>(argv.size()), argv.data(), lengths.data())));
  if (!reply) return lease.Broken(doing);
  return reply;
}

}  // namespace

RedisOnlineStore::RedisOnlineStore(const RedisOnlineOptions& options)
    : options_(options),
      description_(Cat("the online store at redis://", options.host, ":", options.port)),
      pool_(PoolOptions(options, description_),
            [this](redisContext& context) { return SetUp(context); }) {}

absl::Status RedisOnlineStore::SetUp(redisContext& context) {
  // On every new connection: a restarted Redis has forgotten its scripts.
  ReplyPtr loaded(static_cast<redisReply*>(redisCommand(&context, "SCRIPT LOAD %s", kWriteScript)));
  if (!loaded) {
    return absl::UnavailableError(Cat(description_, " failed loading the write script: ",
                                      context.err != 0 ? context.errstr : "no reply"));
  }
  if (loaded->type != REDIS_REPLY_STRING) {
    return absl::UnavailableError(
        Cat(description_, " refused the write script: ",
            loaded->type == REDIS_REPLY_ERROR ? std::string(loaded->str, loaded->len) : "no id"));
  }
  // The id is the script's SHA-1: the same on every connection. The first one (in Connect,
  // before the store is shared) keeps it.
  if (script_sha_.empty()) script_sha_.assign(loaded->str, loaded->len);
  return absl::OkStatus();
}

absl::Status RedisOnlineStore::WithConnection(Body body) const {
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(Lease lease, pool_.Acquire());
    const absl::Status status = body(lease);
    if (!lease.broken() || !lease.kept() || attempt > 0) return status;
  }
}

absl::Status RedisOnlineStore::Refused(std::string_view doing, std::string_view error) const {
  return absl::InternalError(Cat(description_, " refused ", doing, ": ", error));
}

absl::StatusOr<std::unique_ptr<RedisOnlineStore>> RedisOnlineStore::Connect(
    const RedisOnlineOptions& options) {
  auto store = std::unique_ptr<RedisOnlineStore>(new RedisOnlineStore(options));
  const std::string id_key = Cat(options.key_prefix, "store-id");
  const std::string fresh = RandomId();
  RETURN_IF_ERROR(store->WithConnection([&](Lease& lease) -> absl::Status {
    ASSIGN_OR_RETURN(ReplyPtr set, Command(lease, "setting its id", {"SET", id_key, fresh, "NX"}));
    ASSIGN_OR_RETURN(ReplyPtr got, Command(lease, "reading its id", {"GET", id_key}));
    if (got->type != REDIS_REPLY_STRING) {
      return absl::UnavailableError(Cat(store->description_, " has no store id after setting it"));
    }
    store->id_.assign(got->str, got->len);
    return absl::OkStatus();
  }));
  return store;
}

absl::StatusOr<WriteCounts> RedisOnlineStore::WriteLatest(const OnlineView& view,
                                                          std::span<const OnlineEntry> entries) {
  WriteCounts counts;
  if (entries.empty()) return counts;
  for (const OnlineEntry& e : entries) {
    if (!ReadOnlineValueHeader(e.value)) return absl::InvalidArgumentError("not an online value");
  }
  const std::string ttl_ms = std::to_string(std::max<int64_t>(view.ttl_seconds, 0) * 1000);
  RETURN_IF_ERROR(WithConnection([&](Lease& lease) -> absl::Status {
    redisContext& context = lease.context();
    counts = WriteCounts{};
    std::string key;
    std::string tag;
    std::string event;
    std::string created;
    for (const OnlineEntry& e : entries) {
      const OnlineValueHeader header = *ReadOnlineValueHeader(e.value);
      key.assign(options_.key_prefix).append(e.key);
      tag = fmt::format("{:016x}", header.layout_tag);
      event = std::to_string(header.event_ts);
      created =
          header.created_ts == kNoCreatedTime ? std::string() : std::to_string(header.created_ts);
      const char* argv[] = {"EVALSHA",    script_sha_.c_str(), "1",
                            key.data(),   e.value.data(),      tag.data(),
                            event.data(), created.data(),      ttl_ms.data()};
      const size_t lengths[] = {7,
                                script_sha_.size(),
                                1,
                                key.size(),
                                e.value.size(),
                                tag.size(),
                                event.size(),
                                created.size(),
                                ttl_ms.size()};
      if (redisAppendCommandArgv(&context, 9, argv, lengths) != REDIS_OK) {
        return lease.Broken("queueing a write");
      }
    }
    absl::Status first_error;
    for (size_t i = 0; i < entries.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(&context, &raw) != REDIS_OK) return lease.Broken("writing");
      ReplyPtr reply(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_INTEGER) {
        (reply->integer == 1 ? counts.written : counts.kept)++;
        continue;
      }
      const std::string error = reply->type == REDIS_REPLY_ERROR
                                    ? std::string(reply->str, reply->len)
                                    : std::string("an unexpected reply");
      // Someone flushed the scripts: a new connection loads it again.
      if (std::string_view(error).starts_with("NOSCRIPT")) {
        lease.Broken("finding the write script").IgnoreError();
      }
      if (first_error.ok()) first_error = Refused("a write", error);
    }
    return first_error;
  }));
  return counts;
}

absl::Status RedisOnlineStore::Read(std::span<const std::string_view> keys, FoundFn found) const {
  if (keys.empty()) return absl::OkStatus();
  return WithConnection([&](Lease& lease) -> absl::Status {
    redisContext& context = lease.context();
    // Per-thread buffers keep their capacity between calls.
    thread_local std::string key;
    thread_local std::vector<ReplyPtr> replies;
    replies.clear();
    for (const std::string_view k : keys) {
      key.assign(options_.key_prefix).append(k);
      const char* argv[] = {"HGET", key.data(), "v"};
      const size_t lengths[] = {4, key.size(), 1};
      if (redisAppendCommandArgv(&context, 3, argv, lengths) != REDIS_OK) {
        return lease.Broken("queueing a read");
      }
    }
    // Replies are gathered first: `found` sees values only once every reply has come,
    // so a retry on a new connection never reports a key twice.
    for (size_t i = 0; i < keys.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(&context, &raw) != REDIS_OK) {
        replies.clear();
        return lease.Broken("reading");
      }
      replies.emplace_back(static_cast<redisReply*>(raw));
    }
    absl::Status status;
    for (const ReplyPtr& reply : replies) {
      if (reply->type == REDIS_REPLY_ERROR) {
        status = Refused("a read", std::string_view(reply->str, reply->len));
        break;
      }
    }
    if (status.ok()) {
      for (size_t i = 0; i < keys.size(); ++i) {
        if (replies[i]->type == REDIS_REPLY_STRING) {
          found(i, std::string_view(replies[i]->str, replies[i]->len));
        }
      }
    }
    replies.clear();
    return status;
  });
}

absl::StatusOr<std::optional<std::string>> RedisOnlineStore::GetRecord(
    std::string_view name) const {
  const std::string key = Cat(options_.key_prefix, "record:", name);
  std::optional<std::string> out;
  RETURN_IF_ERROR(WithConnection([&](Lease& lease) -> absl::Status {
    out.reset();
    ASSIGN_OR_RETURN(ReplyPtr reply, Command(lease, "reading a record", {"GET", key}));
    if (reply->type == REDIS_REPLY_NIL) return absl::OkStatus();
    if (reply->type != REDIS_REPLY_STRING) {
      return Refused("a record read", "the answer is not a string");
    }
    out = std::string(reply->str, reply->len);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status RedisOnlineStore::PutRecord(std::string_view name, std::string_view value) {
  const std::string key = Cat(options_.key_prefix, "record:", name);
  return WithConnection([&](Lease& lease) -> absl::Status {
    ASSIGN_OR_RETURN(ReplyPtr reply, Command(lease, "writing a record", {"SET", key, value}));
    if (reply->type == REDIS_REPLY_ERROR) {
      return Refused("a record", std::string_view(reply->str, reply->len));
    }
    return absl::OkStatus();
  });
}

}  // namespace ferry::features
