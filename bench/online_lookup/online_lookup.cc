// online_lookup: the data and the in-process half of bench/online_lookup (see run).
//
//   online_lookup write-data --keys N --out DIR
//       DIR/features.csv (one row per key "k:%012d", ten float64 features, fixed seed),
//       DIR/features.yaml (entity `entity` with join key entity_id, view `stats`),
//       DIR/redis.txt (the same rows as redis-cli commands: HSET k:... f0 v0 ... f9 v9)
//   online_lookup inprocess --workspace WS --keys N [--seconds S] [--batch B]
//                           [--value-cache-mb M] [--row-cache-mb M] [--block-cache-mb M]
//       times OnlineFeatures::Get on one thread, B random keys per call (10 features each),
//       alternating with the floor (an std::unordered_map from key to the ten values,
//       filled from the same generator), after looking every key up once (the steady
//       state of a server), a warm-up pair and five counted pairs; prints
//       per-pair figures, then the medians and heap allocations per lookup. With
//       `--only-ours 1` it times ferry alone (to run under a profiler).
//   online_lookup redis --workspace WS --redis-port P --keys N [--threads T] [--seconds S]
//                       [--batch B]
//       times OnlineFeatures::Get on the Redis online store at 127.0.0.1:P (bench/scale_out)
//       from T threads at once, one connection each; prints keys/s and calls/s.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "dataset/dataset_store.h"
#include "features/feature_registry.h"
#include "features/online_features.h"
#include "features/redis_online_store.h"
#include "features/rocksdb_online_store.h"
#include "store/workspace.h"
#include "table/random.h"

// Counts C++ heap allocations, to show that a warm lookup makes none.
static std::atomic<uint64_t> g_allocations{0};
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace ferry;
using Clock = std::chrono::steady_clock;

constexpr int kFeatures = 10;
constexpr uint64_t kSeed = 42;

std::string Key(uint64_t i) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "k:%012llu", static_cast<unsigned long long>(i));
  return buffer;
}

// The ten feature values of key i (the same for the CSV, Redis and the floor).
std::array<double, kFeatures> Values(uint64_t i) {
  table::SplitMix64 rng(kSeed ^ (i * 0x9e3779b97f4a7c15ULL));
  std::array<double, kFeatures> v;
  for (double& d : v) d = static_cast<double>(rng.NextBelow(1'000'000)) / 100.0;
  return v;
}

std::string Arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 2; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

int WriteData(uint64_t keys, const std::string& dir) {
  std::ofstream csv(dir + "/features.csv"), redis(dir + "/redis.txt");
  csv << "event_timestamp,entity_id";
  for (int f = 0; f < kFeatures; ++f) csv << ",f" << f;
  csv << "\n";
  char number[32];
  for (uint64_t i = 0; i < keys; ++i) {
    const std::string key = Key(i);
    csv << "2026-01-01T00:00:00Z," << key;
    redis << "HSET " << key;
    const auto values = Values(i);
    for (int f = 0; f < kFeatures; ++f) {
      std::snprintf(number, sizeof(number), "%.2f", values[f]);
      csv << "," << number;
      redis << " f" << f << " " << number;
    }
    csv << "\n";
    redis << "\n";
  }
  std::ofstream yaml(dir + "/features.yaml");
  yaml << "entities:\n  - name: entity\n    join_keys: [{name: entity_id, type: string}]\n"
          "feature_views:\n  - name: stats\n    entities: [entity]\n    source: features\n"
          "    timestamp_field: event_timestamp\n    features:\n";
  for (int f = 0; f < kFeatures; ++f) yaml << "      - {name: f" << f << ", type: float64}\n";
  return csv && redis && yaml ? 0 : 1;
}

struct Figure {
  double lookups_per_second = 0;
  double checksum = 0;
};

// Runs `step` (which does `batch` lookups) for `seconds`; lookups per second.
template <typename Step>
Figure Time(double seconds, size_t batch, Step step) {
  Figure figure;
  uint64_t lookups = 0;
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration<double>(seconds);
  auto now = start;
  while (now < stop) {
    for (int i = 0; i < 256; ++i) figure.checksum += step();
    lookups += 256 * batch;
    now = Clock::now();
  }
  figure.lookups_per_second = lookups / std::chrono::duration<double>(now - start).count();
  return figure;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// A workspace of write-data's definitions, and the query of view `stats`'s ten features.
struct Workspace {
  std::unique_ptr<store::Workspace> workspace;
  std::optional<features::OnlineQuery> query;
};

absl::StatusOr<Workspace> OpenWorkspace(const std::string& root) {
  Workspace out;
  ASSIGN_OR_RETURN(out.workspace, store::Workspace::Open(root, core::SystemClock::Shared()));
  ASSIGN_OR_RETURN(auto datasets, dataset::DatasetStore::Open(*out.workspace));
  ASSIGN_OR_RETURN(auto registry, features::FeatureRegistry::Open(*out.workspace, *datasets));
  ASSIGN_OR_RETURN(features::FeatureSelection selection, registry->Select({"stats:*"}));
  ASSIGN_OR_RETURN(out.query, features::OnlineQuery::Prepare(selection, {}));
  return out;
}

int InProcess(int argc, char** argv) {
  const std::string root = Arg(argc, argv, "--workspace", "");
  const uint64_t keys = std::stoull(Arg(argc, argv, "--keys", "100000"));
  const double seconds = std::stod(Arg(argc, argv, "--seconds", "2"));
  const size_t batch = std::stoull(Arg(argc, argv, "--batch", "1"));
  features::RocksDbOnlineOptions options;
  options.value_cache_bytes = std::stoull(Arg(argc, argv, "--value-cache-mb", "256")) << 20;
  options.row_cache_bytes = std::stoull(Arg(argc, argv, "--row-cache-mb", "0")) << 20;
  options.block_cache_bytes = std::stoull(Arg(argc, argv, "--block-cache-mb", "64")) << 20;

  absl::StatusOr<Workspace> workspace = OpenWorkspace(root);
  if (!workspace.ok()) return std::cerr << workspace.status() << "\n", 1;
  const std::optional<features::OnlineQuery>& query = workspace->query;
  auto store =
      features::RocksDbOnlineStore::Open(features::OnlineStorePath(*workspace->workspace), options);
  if (!store.ok()) return std::cerr << store.status() << "\n", 1;
  const features::OnlineFeatures online(**store, core::SystemClock::Shared());

  std::unordered_map<std::string, std::array<double, kFeatures>> floor;
  floor.reserve(keys);
  for (uint64_t i = 0; i < keys; ++i) floor.emplace(Key(i), Values(i));

  // Requests arrive with their keys as text: draw them beforehand, so neither side pays
  // for formatting them.
  table::SplitMix64 rng(7);
  std::vector<std::string> requests(1 << 20);
  for (std::string& k : requests) k = Key(rng.NextBelow(keys));
  size_t next = 0;
  const auto next_key = [&]() -> const std::string& { return requests[next++ & (requests.size() - 1)]; };
  features::EntityKeyValues entity{"entity_id", table::ColumnType::kString, {}, {}};
  entity.string_values.resize(batch);
  features::OnlineResult result;
  std::array<double, kFeatures> copied{};
  uint64_t missing = 0;
  auto ours = [&] {
    for (std::string& k : entity.string_values) k = next_key();
    if (!online.Get(*query, {&entity, 1}, result).ok()) std::abort();
    missing += result.columns[9].statuses[0] != features::FeatureStatus::kPresent;
    return result.columns[9].Float64(0);
  };
  auto peer = [&] {
    double sum = 0;
    for (size_t b = 0; b < batch; ++b) {
      const auto it = floor.find(next_key());
      copied = it->second;  // the values leave the map, as ours leave the store
      sum += copied[9];
    }
    return sum;
  };

  // Steady state, as in a long-running server: every key looked up once already.
  entity.string_values.resize(1);
  for (uint64_t i = 0; i < keys; ++i) {
    entity.string_values[0] = Key(i);
    if (!online.Get(*query, {&entity, 1}, result).ok()) std::abort();
  }
  entity.string_values.resize(batch);
  if (Arg(argc, argv, "--only-ours", "") == "1") {  // for profilers: ferry's loop alone
    std::printf("%.0f lookups/s\n", Time(seconds, batch, ours).lookups_per_second);
    return 0;
  }
  Time(seconds / 2, batch, ours);  // warm-up pair
  Time(seconds / 2, batch, peer);
  std::vector<double> our_rates, floor_rates, ratios;
  for (int pair = 1; pair <= 5; ++pair) {
    const Figure f = Time(seconds, batch, peer);
    const Figure o = Time(seconds, batch, ours);
    our_rates.push_back(o.lookups_per_second);
    floor_rates.push_back(f.lookups_per_second);
    ratios.push_back(o.lookups_per_second / f.lookups_per_second);
    std::fprintf(stderr, "online_lookup: pair %d: ferry %.0f lookups/s, hash map %.0f\n", pair,
                 o.lookups_per_second, f.lookups_per_second);
  }
  const uint64_t before = g_allocations.load();
  const int probe = 10'000;
  for (int i = 0; i < probe; ++i) ours();
  const double allocations = static_cast<double>(g_allocations.load() - before) / probe;
  if (missing > 0) std::fprintf(stderr, "online_lookup: %llu lookups found nothing\n",
                                static_cast<unsigned long long>(missing));
  std::printf("online_lookup_inprocess_batch%zu: ours=%.0f keys/s floor=%.0f keys/s ratio=%.3f"
              " (10 float64 features per key, %llu keys, 1 thread; floor: unordered_map)\n",
              batch, Median(our_rates), Median(floor_rates), Median(ratios),
              static_cast<unsigned long long>(keys));
  std::printf("online_lookup_inprocess_batch%zu_allocations: %.2f heap allocations per call\n",
              batch, allocations);
  return 0;
}

// `redis`: OnlineFeatures::Get on the Redis online store at --redis-port (127.0.0.1), from
// --threads threads at once (one pooled connection each), each looking up --batch random
// keys per call for --seconds; prints "KEYS_PER_SECOND CALLS_PER_SECOND".
int Redis(int argc, char** argv) {
  const uint64_t keys = std::stoull(Arg(argc, argv, "--keys", "100000"));
  const double seconds = std::stod(Arg(argc, argv, "--seconds", "2"));
  const size_t batch = std::stoull(Arg(argc, argv, "--batch", "1"));
  const int threads = std::stoi(Arg(argc, argv, "--threads", "1"));
  absl::StatusOr<Workspace> workspace = OpenWorkspace(Arg(argc, argv, "--workspace", ""));
  if (!workspace.ok()) return std::cerr << workspace.status() << "\n", 1;
  features::RedisOnlineOptions options;
  options.port = std::stoi(Arg(argc, argv, "--redis-port", "6379"));
  options.connections = threads;
  auto store = features::RedisOnlineStore::Connect(options);
  if (!store.ok()) return std::cerr << store.status() << "\n", 1;
  const features::OnlineFeatures online(**store, core::SystemClock::Shared());

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> missing{0};
  const auto lookups = [&](uint64_t seed) {
    table::SplitMix64 rng(seed);
    features::EntityKeyValues entity{"entity_id", table::ColumnType::kString, {}, {}};
    entity.string_values.resize(batch);
    features::OnlineResult result;
    uint64_t done = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      for (std::string& k : entity.string_values) k = Key(rng.NextBelow(keys));
      if (!online.Get(*workspace->query, {&entity, 1}, result).ok()) std::abort();
      missing += result.columns[9].statuses[0] != features::FeatureStatus::kPresent;
      ++done;
    }
    calls += done;
  };
  std::vector<std::thread> running;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) running.emplace_back(lookups, kSeed + t);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (std::thread& t : running) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (missing > 0) {
    std::fprintf(stderr, "online_lookup: %llu lookups found nothing\n",
                 static_cast<unsigned long long>(missing.load()));
  }
  std::printf("%.0f %.0f\n", calls * batch / elapsed, calls / elapsed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "write-data") {
    return WriteData(std::stoull(Arg(argc, argv, "--keys", "100000")), Arg(argc, argv, "--out", "."));
  }
  if (mode == "inprocess") return InProcess(argc, argv);
  if (mode == "redis") return Redis(argc, argv);
  std::cerr << "usage: online_lookup write-data --keys N --out DIR | inprocess --workspace WS"
               " --keys N [--seconds S] [--batch B] [--value-cache-mb M] [--row-cache-mb M]"
               " [--block-cache-mb M] | redis --workspace WS --redis-port P --keys N"
               " [--threads T] [--seconds S] [--batch B]\n";
  return 2;
}
