#pragma once

// A workspace on a simulated clock with a metrics text the test sets, for the store and
// evaluator tests; and a loopback webhook receiver that fails its first N deliveries.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "alerts/alert_evaluator.h"
#include "core/clock.h"
#include "server/test_server.h"
#include "store/workspace.h"
#include "testing/temp_dir.h"
#include "testing/postgres_server.h"

namespace ferry::alerts::testing {

// 2026-11-26T12:00:00Z.
inline constexpr int64_t kStart = 1'795'694'400'000'000;
inline constexpr int64_t kSecond = 1'000'000;

class AlertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<core::ManualClock>(kStart);
    auto workspace = ferry::testing::InitWorkspace(temp_ / "ws", clock_);
    ASSERT_TRUE(workspace.ok()) << workspace.status();
    workspace_ = *std::move(workspace);
    auto store = AlertStore::Open(*workspace_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  void SetMetrics(std::string text) {
    std::lock_guard<std::mutex> lock(metrics_->mu);
    metrics_->text = std::move(text);
  }
  AlertEvaluator::MetricsSource Source() {
    return [metrics = metrics_]() -> absl::StatusOr<std::string> {
      std::lock_guard<std::mutex> lock(metrics->mu);
      return metrics->text;
    };
  }
  void Apply(const std::string& yaml) {
    absl::StatusOr<ApplyResult> applied = store_->Apply(yaml, "rules.yaml", "test");
    ASSERT_TRUE(applied.ok()) << applied.status();
  }
  std::unique_ptr<AlertEvaluator> OpenEvaluator(AlertEvaluatorOptions options = {}) {
    auto evaluator = AlertEvaluator::Open(*workspace_, Source(), options);
    EXPECT_TRUE(evaluator.ok()) << evaluator.status();
    return evaluator.ok() ? *std::move(evaluator) : nullptr;
  }
  // Evaluates at the clock's time, which first moves on by `after_seconds`.
  EvaluationReport EvaluateAfter(AlertEvaluator& evaluator, int64_t after_seconds) {
    clock_->Advance(std::chrono::seconds(after_seconds));
    absl::StatusOr<EvaluationReport> report = evaluator.Evaluate(clock_->NowMicros());
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *std::move(report) : EvaluationReport{};
  }
  // "RULE from->to" for each transition.
  static std::vector<std::string> Moves(const std::vector<Transition>& transitions) {
    std::vector<std::string> out;
    for (const Transition& t : transitions) {
      out.push_back(t.alert.rule + " " + std::string(AlertStateName(t.from)) + "->" +
                    std::string(AlertStateName(t.to)));
    }
    return out;
  }

  ferry::testing::TempDir temp_;
  std::shared_ptr<core::ManualClock> clock_;
  std::unique_ptr<store::Workspace> workspace_;
  std::unique_ptr<AlertStore> store_;

 private:
  struct Metrics {
    std::mutex mu;
    std::string text;
  };
  std::shared_ptr<Metrics> metrics_ = std::make_shared<Metrics>();
};

// Answers POST /hook with 503 to the first `failures` deliveries, then 200; keeps the
// bodies and the (steady) time of every call.
class WebhookReceiver {
 public:
  explicit WebhookReceiver(int failures) : failures_(failures) {
    auto router = std::make_shared<server::Router>();
    EXPECT_TRUE(router
                    ->Post("/hook",
                           [this](server::Request& request) -> absl::StatusOr<server::Response> {
                             std::lock_guard<std::mutex> lock(mu_);
                             calls_.push_back(std::chrono::steady_clock::now());
                             if (static_cast<int>(calls_.size()) <= failures_) {
                               return server::JsonTextResponse("{}", 503);
                             }
                             bodies_.push_back(
                                 nlohmann::json::parse(request.body(), nullptr, false));
                             return server::JsonTextResponse("{}", 200);
                           })
                    .ok());
    http_ = server::testing::StartServer(server::testing::TestConfig(), router);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_->port()) + "/hook"; }
  std::vector<nlohmann::json> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::vector<std::chrono::steady_clock::time_point> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  // Waits (up to 5 s) until `count` bodies have been accepted.
  bool WaitForBodies(size_t count) {
    for (int i = 0; i < 500; ++i) {
      if (bodies().size() >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  const int failures_;
  std::mutex mu_;
  std::vector<std::chrono::steady_clock::time_point> calls_;
  std::vector<nlohmann::json> bodies_;
  std::unique_ptr<server::HttpServer> http_;
};

}  // namespace ferry::alerts::testing
