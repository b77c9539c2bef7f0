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

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::string RandomId() {
  std::random_device device;
  std::string id;
  for (int i = 0; i < 4; ++i) id += fmt::format("{:08x}", device());
  return id;
}

}  // namespace

RedisOnlineStore::~RedisOnlineStore() {
  if (context_ != nullptr) redisFree(context_);
}

absl::Status RedisOnlineStore::Failed(std::string_view doing) const {
  const std::string why = context_ != nullptr && context_->err != 0
                              ? std::string(context_->errstr)
                              : std::string("the connection was lost");
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
  return absl::UnavailableError(Cat("the online store at redis://", options_.host, ":",
                                    options_.port, " failed ", doing, ": ", why));
}

absl::Status RedisOnlineStore::EnsureConnected() const {
  if (context_ != nullptr) return absl::OkStatus();
  const timeval connect = ToTimeval(options_.connect_timeout);
  context_ = redisConnectWithTimeout(options_.host.c_str(), options_.port, connect);
  if (context_ == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate a Redis connection");
  }
  if (context_->err != 0) return Failed("connecting");
  if (redisSetTimeout(context_, ToTimeval(options_.command_timeout)) != REDIS_OK) {
    return Failed("setting its timeout");
  }
  // On every new connection: a restarted Redis has forgotten its scripts.
  ReplyPtr loaded(static_cast<redisReply*>(redisCommand(context_, "SCRIPT LOAD %s", kWriteScript)));
  if (!loaded) return Failed("loading its write script");
  if (loaded->type != REDIS_REPLY_STRING) {
    const std::string why = loaded->type == REDIS_REPLY_ERROR ? loaded->str : "no script id";
    redisFree(context_);
    context_ = nullptr;
    return absl::UnavailableError(
        Cat("redis://", options_.host, ":", options_.port, " refused the write script: ", why));
  }
  script_sha_.assign(loaded->str, loaded->len);
  return absl::OkStatus();
}

absl::Status RedisOnlineStore::OnConnection(const std::function<absl::Status()>& body) const {
  for (int attempt = 0;; ++attempt) {
    const bool kept = context_ != nullptr;
    RETURN_IF_ERROR(EnsureConnected());
    const absl::Status status = body();
    // Failed() dropped the connection: a kept one may just have been dead.
    if (status.ok() || context_ != nullptr || !kept || attempt > 0) return status;
  }
}

absl::StatusOr<std::unique_ptr<RedisOnlineStore>> RedisOnlineStore::Connect(
    const RedisOnlineOptions& options) {
  auto store = std::unique_ptr<RedisOnlineStore>(new RedisOnlineStore(options));
  std::lock_guard lock(store->mu_);
  RETURN_IF_ERROR(store->EnsureConnected());
  const std::string id_key = Cat(options.key_prefix, "store-id");
  const std::string fresh = RandomId();
  ReplyPtr set(static_cast<redisReply*>(redisCommand(store->context_, "SET %b %b NX", id_key.data(),
                                                     id_key.size(), fresh.data(), fresh.size())));
  if (!set) return store->Failed("setting its id");
  ReplyPtr got(static_cast<redisReply*>(
      redisCommand(store->context_, "GET %b", id_key.data(), id_key.size())));
  if (!got) return store->Failed("reading its id");
  if (got->type != REDIS_REPLY_STRING) {
    return absl::UnavailableError(
        Cat("redis://", options.host, ":", options.port, " has no store id after setting it"));
  }
  store->id_.assign(got->str, got->len);
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
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(OnConnection([&]() -> absl::Status {
    counts = WriteCounts{};
    std::string key;
    std::string tag;
    std::string event;
    std::string created;
    for (const OnlineEntry& e : entries) {
      const OnlineValueHeader header = *ReadOnlineValueHeader(e.value);
      key = Cat(options_.key_prefix, std::string_view(e.key));
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
      if (redisAppendCommandArgv(context_, 9, argv, lengths) != REDIS_OK) {
        return Failed("queueing a write");
      }
    }
    absl::Status first_error;
    for (size_t i = 0; i < entries.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK) return Failed("writing");
      ReplyPtr reply(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_INTEGER) {
        (reply->integer == 1 ? counts.written : counts.kept)++;
      } else if (first_error.ok()) {
        first_error = absl::InternalError(
            Cat("redis://", options_.host, ":", options_.port, " refused a write: ",
                reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len) : "?"));
      }
    }
    return first_error;
  }));
  return counts;
}

absl::Status RedisOnlineStore::Read(std::span<const std::string_view> keys, FoundFn found) const {
  if (keys.empty()) return absl::OkStatus();
  std::lock_guard lock(mu_);
  return OnConnection([&]() -> absl::Status {
    std::string key;
    for (const std::string_view k : keys) {
      key = Cat(options_.key_prefix, k);
      const char* argv[] = {"HGET", key.data(), "v"};
      const size_t lengths[] = {4, key.size(), 1};
      if (redisAppendCommandArgv(context_, 3, argv, lengths) != REDIS_OK) {
        return Failed("queueing a read");
      }
    }
    // Replies are gathered first: `found` sees values only once every reply has come,
    // so a retry on a new connection never reports a key twice.
    std::vector<ReplyPtr> replies(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK) return Failed("reading");
      replies[i].reset(static_cast<redisReply*>(raw));
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      const redisReply& reply = *replies[i];
      if (reply.type == REDIS_REPLY_ERROR) {
        return absl::InternalError(Cat("redis://", options_.host, ":", options_.port,
                                       " refused a read: ", std::string(reply.str, reply.len)));
      }
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      if (replies[i]->type == REDIS_REPLY_STRING) {
        found(i, std::string_view(replies[i]->str, replies[i]->len));
      }
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<std::string>> RedisOnlineStore::GetRecord(
    std::string_view name) const {
  std::lock_guard lock(mu_);
  const std::string key = Cat(options_.key_prefix, "record:", name);
  std::optional<std::string> out;
  RETURN_IF_ERROR(OnConnection([&]() -> absl::Status {
    ReplyPtr reply(
        static_cast<redisReply*>(redisCommand(context_, "GET %b", key.data(), key.size())));
    if (!reply) return Failed("reading a record");
    if (reply->type == REDIS_REPLY_NIL) return absl::OkStatus();
    if (reply->type != REDIS_REPLY_STRING) {
      return absl::InternalError(Cat("redis://", options_.host, ":", options_.port,
                                     " answered a record read with a non-string"));
    }
    out = std::string(reply->str, reply->len);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status RedisOnlineStore::PutRecord(std::string_view name, std::string_view value) {
  std::lock_guard lock(mu_);
  const std::string key = Cat(options_.key_prefix, "record:", name);
  return OnConnection([&]() -> absl::Status {
    ReplyPtr reply(static_cast<redisReply*>(
        redisCommand(context_, "SET %b %b", key.data(), key.size(), value.data(), value.size())));
    if (!reply) return Failed("writing a record");
    if (reply->type == REDIS_REPLY_ERROR) {
      return absl::InternalError(Cat("redis://", options_.host, ":", options_.port,
                                     " refused a record: ", std::string(reply->str, reply->len)));
    }
    return absl::OkStatus();
  });
}

}  // namespace ferry::features
