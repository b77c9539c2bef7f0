#include "features/redis_connection_pool.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <utility>

#include "core/strings.h"

namespace ferry::features {
namespace {

using core::Cat;

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

RedisPoolOptions Described(RedisPoolOptions options) {
  if (options.description.empty()) {
    options.description = Cat("redis://", options.host, ":", options.port);
  }
  options.size = std::max(options.size, 1);
  return options;
}

}  // namespace

RedisConnectionPool::RedisConnectionPool(RedisPoolOptions options, SetUp set_up)
    : options_(Described(std::move(options))), set_up_(std::move(set_up)) {}

RedisConnectionPool::~RedisConnectionPool() {
  for (redisContext* context : idle_) redisFree(context);
}

RedisConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      context_(std::exchange(other.context_, nullptr)),
      kept_(other.kept_),
      broken_(other.broken_) {}

RedisConnectionPool::Lease& RedisConnectionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (pool_ != nullptr && context_ != nullptr) pool_->Release(context_, broken_);
    pool_ = std::exchange(other.pool_, nullptr);
    context_ = std::exchange(other.context_, nullptr);
    kept_ = other.kept_;
    broken_ = other.broken_;
  }
  return *this;
}

RedisConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && context_ != nullptr) pool_->Release(context_, broken_);
}

absl::Status RedisConnectionPool::Lease::Broken(std::string_view doing) {
  broken_ = true;
  const std::string why =
      context_->err != 0 ? std::string(context_->errstr) : std::string("the connection was lost");
  return absl::UnavailableError(Cat(pool_->description(), " failed ", doing, ": ", why));
}

absl::StatusOr<RedisConnectionPool::Lease> RedisConnectionPool::Acquire() {
  std::unique_lock lock(mu_);
  const Clock::time_point deadline = Clock::now() + options_.command_timeout;
  while (idle_.empty() && open_ >= options_.size) {
    if (released_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.size) {
      return absl::UnavailableError(Cat(description(), ": all ", options_.size,
                                        " connections stayed busy for ",
                                        options_.command_timeout.count(), " ms"));
    }
  }
  if (!idle_.empty()) {
    redisContext* context = idle_.back();
    idle_.pop_back();
    return Lease(this, context, /*kept=*/true);
  }
  // A new connection; after failed ones, only once the backoff has passed, one at a time.
  const bool recovering = backoff_.count() > 0;
  if (recovering) {
    const Clock::time_point now = Clock::now();
    if (probing_ || now < retry_at_) {
      const auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::max(retry_at_ - now, {}));
      return absl::UnavailableError(
          Cat(last_error_, " (not trying again for another ", wait.count(), " ms)"));
    }
    probing_ = true;
  }
  ++open_;
  lock.unlock();
  absl::StatusOr<redisContext*> opened = Open();
  lock.lock();
  if (recovering) probing_ = false;
  if (!opened.ok()) {
    --open_;
    last_error_ = std::string(opened.status().message());
    backoff_ = backoff_.count() == 0 ? options_.backoff_initial
                                     : std::min(backoff_ * 2, options_.backoff_max);
    retry_at_ = Clock::now() + backoff_;
    released_.notify_one();
    return opened.status();
  }
  backoff_ = std::chrono::milliseconds(0);
  return Lease(this, *opened, /*kept=*/false);
}

absl::StatusOr<redisContext*> RedisConnectionPool::Open() {
  redisContext* context = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                                  ToTimeval(options_.connect_timeout));
  if (context == nullptr) return absl::ResourceExhaustedError("cannot allocate a Redis connection");
  absl::Status status;
  if (context->err != 0) {
    status = absl::UnavailableError(Cat(description(), " failed connecting: ", context->errstr));
  } else if (redisSetTimeout(context, ToTimeval(options_.command_timeout)) != REDIS_OK) {
    status = absl::UnavailableError(
        Cat(description(), " failed setting its timeout: ", context->errstr));
  } else {
    status = set_up_(*context);
  }
  if (!status.ok()) {
    redisFree(context);
    return status;
  }
  return context;
}

void RedisConnectionPool::Release(redisContext* context, bool broken) {
  std::vector<redisContext*> closing;
  {
    std::lock_guard lock(mu_);
    if (broken) {
      closing.swap(idle_);
      closing.push_back(context);
      open_ -= static_cast<int>(closing.size());
    } else {
      idle_.push_back(context);
    }
  }
  released_.notify_all();
  for (redisContext* c : closing) redisFree(c);
}

}  // namespace ferry::features
