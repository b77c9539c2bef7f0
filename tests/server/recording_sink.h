#pragma once

// RecordingSink: a BodySink for tests that records what the server does with it (the
// bytes or just their count, how many appends, finish or abort), with knobs to fail an
// append or to make Finish slow. Its SinkLog outlives it and can be waited on from the
// test's thread while the server's blocking pool calls the sink.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "server/body_sink.h"

namespace ferry::server::testing {

struct SinkLog {
  std::mutex mutex;
  std::condition_variable changed;
  std::string bytes;  // when keeping them
  uint64_t byte_count = 0;
  int appends = 0;
  bool finished = false;
  std::string aborted;  // the reason; empty unless aborted
  bool destroyed = false;

  // Waits until done(*this) holds (checked under the lock) or the timeout passes.
  bool WaitUntil(const std::function<bool(const SinkLog&)>& done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return done(*this); });
  }
  bool WaitUntilEnded(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return WaitUntil([](const SinkLog& log) { return log.destroyed; }, timeout);
  }
  // Forgets everything, for the next sink (once the last one ended).
  void Reset() {
    std::lock_guard lock(mutex);
    bytes.clear();
    byte_count = 0;
    appends = 0;
    finished = false;
    aborted.clear();
    destroyed = false;
  }
};

struct SinkOptions {
  bool keep_bytes = true;
  // Append fails with ResourceExhausted once this many bytes arrived.
  uint64_t fail_after_bytes = UINT64_MAX;
  std::chrono::milliseconds finish_delay{0};
};

class RecordingSink final : public BodySink {
 public:
  RecordingSink(std::shared_ptr<SinkLog> log, SinkOptions options)
      : log_(std::move(log)), options_(options) {}
  ~RecordingSink() override {
    Update([](SinkLog& log) { log.destroyed = true; });
  }

  absl::Status Append(std::string_view bytes) override {
    bool fail = false;
    Update([&](SinkLog& log) {
      ++log.appends;
      log.byte_count += bytes.size();
      if (options_.keep_bytes) log.bytes.append(bytes);
      fail = log.byte_count >= options_.fail_after_bytes;
    });
    if (fail) return absl::ResourceExhaustedError("the test sink is full");
    return absl::OkStatus();
  }

  absl::StatusOr<Response> Finish() override {
    std::this_thread::sleep_for(options_.finish_delay);
    nlohmann::json body;
    Update([&](SinkLog& log) {
      log.finished = true;
      body = {{"bytes", log.byte_count}, {"appends", log.appends}};
    });
    return JsonResponse(body, 201);
  }

  void Abort(std::string_view reason) override {
    Update([&](SinkLog& log) { log.aborted = reason.empty() ? "(no reason)" : reason; });
  }

 private:
  template <typename F>
  void Update(F change) {
    {
      std::lock_guard lock(log_->mutex);
      change(*log_);
    }
    log_->changed.notify_all();
  }

  std::shared_ptr<SinkLog> log_;
  SinkOptions options_;
};

}  // namespace ferry::server::testing
