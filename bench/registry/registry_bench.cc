// registry_bench: the library side of bench/registry/run.
//
//   registry_bench populate WORKSPACE RUNS   creates RUNS runs in experiment "bench", each
//       with 10 params and 20 metric points (auc and loss at steps 0..9) logged in its
//       creating transaction -- what a training script's first and only batch looks like;
//       prints seconds and metric points per second
//   registry_bench log WORKSPACE BATCH POINTS   logs POINTS points into one new run in
//       batches of BATCH (one transaction each); prints points per second
//   registry_bench search WORKSPACE ROUNDS FILTER ORDER   the first page of 100 and the
//       page after it, ROUNDS times each; prints the median and p90 of each in ms
//
// Data is generated with a fixed seed. The library is the client here: the CLI and the
// server both call exactly these functions (TrackingStore::CreateRun / LogBatch,
// SearchRuns), so this measures ferry's logging and search without process start-up
// or HTTP in the way.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "dataset/dataset_store.h"
#include "tracking/run_search.h"
#include "tracking/tracking_store.h"

namespace {

using namespace ferry;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "registry_bench: %s\n", std::string(status.message()).c_str());
  return 1;
}

struct Opened {
  std::unique_ptr<store::Workspace> workspace;
  std::unique_ptr<dataset::DatasetStore> datasets;
  std::unique_ptr<tracking::TrackingStore> tracking;
};

// A new workspace's metadata goes where FERRY_BENCH_METADATA says (a postgresql:// URL:
// bench/scale_out compares the engines), else into SQLite.
core::WorkspaceConfig NewWorkspaceConfig() {
  core::WorkspaceConfig config;
  if (const char* metadata = std::getenv("FERRY_BENCH_METADATA")) config.metadata = metadata;
  return config;
}

absl::StatusOr<Opened> Open(const std::string& root, bool create) {
  Opened o;
  auto ws = create ? store::Workspace::Init(root, core::SystemClock::Shared(), NewWorkspaceConfig())
                   : store::Workspace::Open(root, core::SystemClock::Shared());
  if (!ws.ok()) return ws.status();
  o.workspace = std::move(*ws);
  auto datasets = dataset::DatasetStore::Open(*o.workspace);
  if (!datasets.ok()) return datasets.status();
  o.datasets = std::move(*datasets);
  auto tracking = tracking::TrackingStore::Open(*o.workspace, *o.datasets);
  if (!tracking.ok()) return tracking.status();
  o.tracking = std::move(*tracking);
  return o;
}

int Populate(const std::string& root, int runs) {
  auto opened = Open(root, true);
  if (!opened.ok()) return Fail(opened.status());
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> unit(0, 1);
  const auto start = Clock::now();
  for (int i = 0; i < runs; ++i) {
    tracking::CreateRunOptions options;
    options.experiment = "bench";
    options.name = "run" + std::to_string(i);
    options.user = "bench";
    options.host = "bench";
    tracking::RunBatch& batch = options.initial;
    batch.params = {{"max_depth", std::to_string(2 + rng() % 8)},
                    {"eta", std::to_string(0.01 * (1 + rng() % 30))},
                    {"subsample", std::to_string(0.5 + 0.05 * (rng() % 10))},
                    {"colsample_bytree", std::to_string(0.5 + 0.05 * (rng() % 10))},
                    {"min_child_weight", std::to_string(1 + rng() % 10)},
                    {"lambda", std::to_string(rng() % 5)},
                    {"alpha", std::to_string(rng() % 5)},
                    {"n_estimators", std::to_string(100 * (1 + rng() % 10))},
                    {"objective", "binary:logistic"},
                    {"seed", std::to_string(i)}};
    const double target = 0.6 + 0.4 * unit(rng);
    for (int step = 0; step < 10; ++step) {
      const double progress = (step + 1) / 10.0;
      batch.metrics.push_back({"auc", 0.5 + (target - 0.5) * progress, step, 0});
      batch.metrics.push_back({"loss", 0.7 * (1 - progress * target), step, 0});
    }
    auto run = opened->tracking->CreateRun(options);
    if (!run.ok()) return Fail(run.status());
  }
  const double seconds = Seconds(start);
  std::printf("populate runs=%d seconds=%.2f runs_per_s=%.0f points_per_s=%.0f\n", runs, seconds,
              runs / seconds, runs * 20 / seconds);
  return 0;
}

int Log(const std::string& root, int batch_size, int points) {
  auto opened = Open(root, false);
  if (!opened.ok()) return Fail(opened.status());
  tracking::CreateRunOptions options;
  options.experiment = "logging";
  auto run = opened->tracking->CreateRun(options);
  if (!run.ok()) return Fail(run.status());
  const auto start = Clock::now();
  int64_t step = 0;
  for (int done = 0; done < points; done += batch_size) {
    tracking::RunBatch batch;
    for (int i = 0; i < batch_size; ++i, ++step) {
      batch.metrics.push_back({"loss", 1.0 / static_cast<double>(step + 1), step, 0});
    }
    absl::Status status = opened->tracking->LogBatch(run->run_id, batch);
    if (!status.ok()) return Fail(status);
  }
  const double seconds = Seconds(start);
  std::printf("log batch=%d points=%d seconds=%.3f points_per_s=%.0f\n", batch_size, points,
              seconds, points / seconds);
  return 0;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

int Search(const std::string& root, int rounds, const std::string& filter,
           const std::string& order) {
  auto opened = Open(root, false);
  if (!opened.ok()) return Fail(opened.status());
  std::vector<double> first, second;
  size_t shown = 0;
  for (int r = 0; r < rounds; ++r) {
    tracking::SearchRequest request;
    request.filter = filter;
    request.order_by = order;
    request.experiments = {"bench"};
    auto start = Clock::now();
    auto page = tracking::SearchRuns(*opened->tracking, request);
    first.push_back(Seconds(start) * 1000);
    if (!page.ok()) return Fail(page.status());
    shown = page->runs.size();
    if (page->next_page_token.empty()) continue;
    request.page_token = page->next_page_token;
    start = Clock::now();
    auto next = tracking::SearchRuns(*opened->tracking, request);
    second.push_back(Seconds(start) * 1000);
    if (!next.ok()) return Fail(next.status());
  }
  std::printf("search runs_on_page=%zu first_median_ms=%.2f first_p90_ms=%.2f next_median_ms=%.2f"
              " next_p90_ms=%.2f\n",
              shown, Percentile(first, 0.5), Percentile(first, 0.9),
              second.empty() ? 0.0 : Percentile(second, 0.5),
              second.empty() ? 0.0 : Percentile(second, 0.9));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "populate") return Populate(args[1], std::stoi(args[2]));
  if (args.size() == 4 && args[0] == "log") return Log(args[1], std::stoi(args[2]), std::stoi(args[3]));
  if (args.size() == 5 && args[0] == "search") {
    return Search(args[1], std::stoi(args[2]), args[3], args[4]);
  }
  std::fprintf(stderr,
               "usage: registry_bench populate WS RUNS | log WS BATCH POINTS |"
               " search WS ROUNDS FILTER ORDER\n");
  return 2;
}
