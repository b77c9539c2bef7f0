#include "features/redis_online_store.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <random>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "features/online_value.h"

namespace ferry::features {
namespace {

using core::Cat;

// Entries per script call: enough to spread the call's own cost (dispatch, the Lua call,
// Redis's clock) thin, few enough that Redis, which runs nothing else meanwhile, is held up
// for well under a millisecond.
constexpr size_t kEntriesPerScript = 128;

// KEYS: the entities' hashes. ARGV[1]: the view's ttl in milliseconds ("0" for none); then
// four per key: value, layout tag (hex), event time, created time ("" for none). Writes
// each key unless its stored value has the same layout and is newer (event time, then
// created time; none is the oldest); returns how many it wrote. A written key expires ttl
// after the later of its event time and Redis's clock now (docs/online-store-format.md,
// "Expiry"); one without a ttl never does (PERSIST, for a key that had one: a new key has
// none).
constexpr char kWriteScript[] = R"(
local ttl = tonumber(ARGV[1])
local now_ms = 0
if ttl > 0 then
  local now = redis.call('TIME')
  now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end
local written = 0
for i, key in ipairs(KEYS) do
  local a = 4 * i - 2
  local lt, ts, ct = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local cur = redis.call('HMGET', key, 'lt', 'ts', 'ct')
  local newer = true
  if cur[1] and cur[1] == lt then
    local ots, nts = tonumber(cur[2]), tonumber(ts)
    if nts < ots then
      newer = false
    elseif nts == ots then
      local oct = (cur[3] and cur[3] ~= '') and tonumber(cur[3]) or nil
      local nct = (ct ~= '') and tonumber(ct) or nil
      if oct ~= nil and (nct == nil or nct < oct) then newer = false end
    end
  end
  if newer then
    redis.call('HSET', key, 'v', ARGV[a], 'lt', lt, 'ts', ts, 'ct', ct)
    if ttl > 0 then
      redis.call('PEXPIREAT', key, math.max(now_ms, math.floor(tonumber(ts) / 1000)) + ttl)
    elseif cur[1] then
      redis.call('PERSIST', key)
    end
    written = written + 1
  end
end
return written
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
    // One EVALSHA per kEntriesPerScript entries, all of them pipelined. Per-thread buffers
    // keep their capacity between calls; `text` holds the keys and the decimal fields
    // back to back, `argv` points into it once it is complete.
    thread_local std::string text;
    thread_local std::vector<size_t> ends;
    thread_local std::vector<const char*> argv;
    thread_local std::vector<size_t> lengths;
    size_t calls = 0;
    for (size_t first = 0; first < entries.size(); first += kEntriesPerScript, ++calls) {
      const std::span<const OnlineEntry> part =
          entries.subspan(first, std::min(kEntriesPerScript, entries.size() - first));
      text.clear();
      ends.clear();
      const auto end_field = [&] { ends.push_back(text.size()); };
      for (const OnlineEntry& e : part) {
        text.append(options_.key_prefix).append(e.key);
        end_field();
      }
      for (const OnlineEntry& e : part) {
        const OnlineValueHeader header = *ReadOnlineValueHeader(e.value);
        fmt::format_to(std::back_inserter(text), "{:016x}", header.layout_tag);
        end_field();
        fmt::format_to(std::back_inserter(text), "{}", header.event_ts);
        end_field();
        if (header.created_ts != kNoCreatedTime) {
          fmt::format_to(std::back_inserter(text), "{}", header.created_ts);
        }
        end_field();
      }
      const std::string count = std::to_string(part.size());
      argv.assign({"EVALSHA", script_sha_.data(), count.data()});
      lengths.assign({7, script_sha_.size(), count.size()});
      size_t begin = 0;
      const auto field = [&](size_t i) {
        argv.push_back(text.data() + begin);
        lengths.push_back(ends[i] - begin);
        begin = ends[i];
      };
      for (size_t i = 0; i < part.size(); ++i) field(i);  // KEYS
      argv.push_back(ttl_ms.data());
      lengths.push_back(ttl_ms.size());
      for (size_t i = 0; i < part.size(); ++i) {
        argv.push_back(part[i].value.data());
        lengths.push_back(part[i].value.size());
        for (size_t f = 0; f < 3; ++f) field(part.size() + 3 * i + f);
      }
      if (redisAppendCommandArgv(&context, static_cast<int>(argv.size()), argv.data(),
                                 lengths.data()) != REDIS_OK) {
        return lease.Broken("queueing a write");
      }
      // Sent at once, so Redis runs this part while the next one is encoded.
      int done = 0;
      while (!done) {
        if (redisBufferWrite(&context, &done) != REDIS_OK) return lease.Broken("writing");
      }
    }
    absl::Status first_error;
    for (size_t call = 0; call < calls; ++call) {
      void* raw = nullptr;
      if (redisGetReply(&context, &raw) != REDIS_OK) return lease.Broken("writing");
      ReplyPtr reply(static_cast<redisReply*>(raw));
      const size_t size = std::min(kEntriesPerScript, entries.size() - call * kEntriesPerScript);
      if (reply->type == REDIS_REPLY_INTEGER) {
        counts.written += reply->integer;
        counts.kept += static_cast<int64_t>(size) - reply->integer;
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
