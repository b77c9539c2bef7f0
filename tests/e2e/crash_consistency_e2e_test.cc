// Crash consistency: `ferry` is SIGKILLed at seeded random moments (some at the start,
// most mid-write, some after it finished, some while a server is idle), many times in a
// row, while it adds dataset versions (`ferry data add`, and uploads to `ferry server`),
// logs metric points (`ferry runs log`, and the log-batch route), moves a model alias
// (`ferry models alias`, and the aliases route) and materializes features (`ferry
// features materialize[-incremental]`). Afterwards:
//   - `ferry fsck` finds every store consistent (metadata, objects, dataset versions,
//     the objects models and feature tables keep, the embedded online store);
//   - every acknowledged write is there (a command that exited 0, a 2xx answer), and
//     every other attempt is there whole or not at all;
//   - no temporary file of a killed writer is left behind;
//   - the workspace takes new writes;
//   - and fsck is shown to fail on real damage of the same stores, so its verdict means
//     something.
// The seed is FERRY_CRASH_SEED or a fixed default, printed when a test fails. With
// FERRY_TEST_METADATA=postgresql the workspaces keep their metadata on PostgreSQL.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crash_harness.h"
#include "testing/xgboost_model.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::microseconds;
using std::chrono::milliseconds;

std::string Ms(microseconds d) { return std::to_string(d.count() / 1000) + " ms"; }

// Rows of a CSV file, ~`bytes` of them, drawn from `seed`.
std::string CsvRows(uint64_t seed, size_t bytes) {
  std::mt19937_64 rng(seed);
  std::string out;
  char line[96];
  for (uint64_t id = 0; out.size() < bytes; ++id) {
    const uint64_t r = rng();
    const int n =
        std::snprintf(line, sizeof(line), "%" PRIu64 ",c%05u,%u.%02u,%s\n", id,
                      static_cast<unsigned>(r % 100000), static_cast<unsigned>((r >> 20) % 5000),
                      static_cast<unsigned>((r >> 40) % 100), (r >> 50) % 2 ? "online" : "pos");
    out.append(line, static_cast<size_t>(n));
  }
  return out;
}

// Dataset versions: files of ~3 MiB that share their first 1 MiB, so a version both
// reuses chunks and writes new ones.
class DatasetAdds {
 public:
  DatasetAdds(fs::path dir, uint64_t seed) : dir_(std::move(dir)), seed_(seed) {}

  std::string File(int index) {
    const std::string name = "add-" + std::to_string(index) + ".csv";
    if (!written_.count(name)) {
      std::ofstream(dir_ / name, std::ios::binary)
          << "id,customer,amount,channel\n"
          << CsvRows(seed_, 1024 << 10)
          << CsvRows(seed_ + 1 + static_cast<uint64_t>(index), 2048 << 10);
      written_.insert(name);
    }
    return name;
  }

 private:
  const fs::path dir_;
  const uint64_t seed_;
  std::set<std::string> written_;
};

class CrashConsistencyE2eTest : public CrashHarness {
 protected:
  // Checks the versions of `dataset` against the attempts that added `add-N.csv` files:
  // numbered 1..V without gaps, in attempt order, each made by an attempt that was
  // acknowledged or interrupted (never one that failed), every acknowledged attempt's
  // version present as it was reported, and each version's bytes exactly its file's.
  void ExpectVersionsMatchAttempts(const std::string& dataset,
                                   const std::map<int, json>& acked_versions,
                                   const std::set<int>& interrupted) {
    json log = FerryJson({"data", "log", dataset, "--json"});
    ASSERT_TRUE(log.is_array());
    std::map<int64_t, json> versions;
    for (const json& v : log) versions[v["version"].get<int64_t>()] = v;
    int64_t expected_number = 1;
    int previous_attempt = -1;
    std::set<int> present;
    for (const auto& [number, v] : versions) {
      EXPECT_EQ(number, expected_number++) << "version numbers have a gap";
      const std::string source = v["source"];
      int attempt = -1;
      ASSERT_EQ(std::sscanf(source.c_str(), "add-%d.csv", &attempt), 1) << source;
      EXPECT_GT(attempt, previous_attempt) << "versions out of attempt order at @" << number;
      previous_attempt = attempt;
      present.insert(attempt);
      EXPECT_TRUE(acked_versions.count(attempt) || interrupted.count(attempt))
          << dataset << "@" << number << " comes from attempt " << attempt
          << ", which neither succeeded nor was killed";
      if (auto acked = acked_versions.find(attempt); acked != acked_versions.end()) {
        EXPECT_EQ(acked->second["version"], number) << "attempt " << attempt;
        EXPECT_EQ(acked->second["content_sha256"], v["content_sha256"]) << "attempt " << attempt;
      }
      const std::string out = "export-" + std::to_string(number) + ".csv";
      CommandResult exported =
          Ferry({"data", "export", dataset + "@" + std::to_string(number), out});
      ASSERT_EQ(exported.exit_code, 0) << exported.err;
      EXPECT_TRUE(ReadFile(dir() / out) == ReadFile(dir() / source))
          << dataset << "@" << number << " does not read back as " << source;
      fs::remove(dir() / out);
    }
    for (const auto& [attempt, reported] : acked_versions) {
      EXPECT_TRUE(present.count(attempt))
          << "acknowledged " << reported["ref"] << " (attempt " << attempt << ") is missing";
    }
  }

  // An object file of `dataset`'s latest version that is neither its manifest nor its
  // profile: one of its chunks.
  fs::path SomeChunkOf(const std::string& dataset) {
    json v = FerryJson({"data", "show", dataset, "--json"})["version"];
    for (const auto& entry : fs::recursive_directory_iterator(dir() / ".ferry/objects")) {
      const std::string name = entry.path().filename().string();
      if (entry.is_regular_file() && name.size() == 64 && name != v["manifest"] &&
          name != v["profile"]) {
        return entry.path();
      }
    }
    return {};
  }
};

TEST_F(CrashConsistencyE2eTest, KilledDataAddsKeepEveryAcknowledgedVersion) {
  constexpr int kAttempts = 12;
  DatasetAdds files(dir(), seed());
  std::map<int, json> acked;
  std::set<int> interrupted;
  // The first add runs to its end: it times the operation the kills are spread over.
  microseconds duration{};
  Attempt first = RunTimed({"data", "add", "sales", files.File(0), "--json"}, duration);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  acked[0] = json::parse(first.out)["version"];
  const std::vector<microseconds> delays = KillDelays(kAttempts - 1, duration);
  for (int i = 1; i < kAttempts; ++i) {
    Attempt a = RunAndKill({"data", "add", "sales", files.File(i), "--json"}, delays[i - 1]);
    if (a.acked()) {
      acked[i] = json::parse(a.out)["version"];
    } else {
      ASSERT_TRUE(a.killed()) << "attempt " << i << " failed: " << a.exit_code << " " << a.err;
      interrupted.insert(i);
    }
  }
  Report("data add: " + std::to_string(kAttempts) + " attempts of ~3 MiB, " + Ms(duration) +
         " each, " + std::to_string(interrupted.size()) + " killed, " +
         std::to_string(acked.size()) + " acknowledged");
  EXPECT_FALSE(interrupted.empty());

  ExpectVersionsMatchAttempts("sales", acked, interrupted);
  ExpectFsckClean();
  ExpectNoTemporaryFilesLeft();
  // The workspace takes the next version.
  json next = FerryJson({"data", "add", "sales", files.File(kAttempts), "--json"});
  EXPECT_TRUE(next["created"].get<bool>());

  // fsck's verdict means something: one flipped byte in a chunk is found and named.
  const fs::path chunk = SomeChunkOf("sales");
  ASSERT_FALSE(chunk.empty());
  const char original = FlipByte(chunk, -100);
  CommandResult damaged = Fsck();
  EXPECT_EQ(damaged.exit_code, 5) << damaged.out;
  EXPECT_NE(damaged.out.find(chunk.filename().string()), std::string::npos) << damaged.out;
  RestoreByte(chunk, -100, original);
  ExpectFsckClean();
}

TEST_F(CrashConsistencyE2eTest, KilledServerDuringUploadsKeepsEveryAcknowledgedVersion) {
  constexpr int kServerLives = 6;
  DatasetAdds files(dir(), seed());
  const auto upload = [&](int port, int index) {
    const std::string name = files.File(index);
    return HttpPostFile(port, "/api/v1/datasets/uploads/versions?filename=" + name, dir() / name);
  };
  // Time one upload to spread the kills over a few of them.
  microseconds duration{};
  {
    std::unique_ptr<RunningServer> server = StartServer();
    const int port = server->port();
    ASSERT_GT(port, 0);
    files.File(0);
    const auto start = std::chrono::steady_clock::now();
    HttpResult first = upload(port, 0);
    duration = std::chrono::duration_cast<microseconds>(std::chrono::steady_clock::now() - start);
    ASSERT_EQ(first.status, 201) << first.body;
  }
  std::map<int, json> acked;
  std::set<int> interrupted;
  const std::vector<HttpAttempt> uploads =
      ServerLivesUnderLoad(upload, 1, kServerLives, 2 * duration, 1);
  for (const HttpAttempt& a : uploads) {
    if (a.acked()) {
      acked[a.index] = json::parse(a.result.body)["version"];
    } else {
      interrupted.insert(a.index);
    }
  }
  const int next_index = uploads.empty() ? 1 : uploads.back().index + 1;
  Report("data upload: " + std::to_string(kServerLives) + " server kills (" +
         std::to_string(kServerLives / 3) + " idle), upload " + Ms(duration) + ", " +
         std::to_string(interrupted.size()) + " uploads cut, " + std::to_string(acked.size()) +
         " acknowledged");
  acked[0] = FerryJson({"data", "show", "uploads@1", "--json"})["version"];

  ExpectVersionsMatchAttempts("uploads", acked, interrupted);
  ExpectFsckClean();
  ExpectNoTemporaryFilesLeft();
  std::unique_ptr<RunningServer> server = StartServer();
  const int port = server->port();
  ASSERT_GT(port, 0);
  EXPECT_EQ(upload(port, next_index).status, 201);
}

// Metric batches: batch `index` logs the points (step, index * 10000 + step) of a key of
// its own, so a batch is visibly whole or absent.
constexpr int kPointsPerBatch = 240;

std::string BatchKey(const std::string& prefix, int index) {
  return prefix + std::to_string(index);
}

std::vector<std::string> RunsLogArgs(const std::string& run, const std::string& key, int index) {
  std::vector<std::string> args = {"runs", "log", run};
  for (int step = 0; step < kPointsPerBatch; ++step) {
    args.push_back("-m");
    args.push_back(key + "=" + std::to_string(index * 10000 + step) + "@" + std::to_string(step));
  }
  return args;
}

std::string LogBatchBody(const std::string& key, int index) {
  json metrics = json::array();
  for (int step = 0; step < kPointsPerBatch; ++step) {
    metrics.push_back({{"key", key}, {"value", index * 10000 + step}, {"step", step}});
  }
  return json{{"metrics", metrics}}.dump();
}

TEST_F(CrashConsistencyE2eTest, KilledMetricLoggingKeepsEveryAcknowledgedBatch) {
  constexpr int kCliAttempts = 16;
  constexpr int kServerLives = 6;
  CommandResult created = Ferry({"runs", "create", "-e", "crash", "-n", "metrics"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string run = created.out.substr(0, created.out.find('\n'));

  std::map<std::string, int> attempted;  // key -> batch index
  std::set<std::string> acked;
  microseconds duration{};
  Attempt first = RunTimed(RunsLogArgs(run, "cli0", 0), duration);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  attempted["cli0"] = 0;
  acked.insert("cli0");
  int killed = 0;
  const std::vector<microseconds> delays = KillDelays(kCliAttempts - 1, duration);
  for (int i = 1; i < kCliAttempts; ++i) {
    const std::string key = BatchKey("cli", i);
    attempted[key] = i;
    Attempt a = RunAndKill(RunsLogArgs(run, key, i), delays[i - 1]);
    if (a.acked()) {
      acked.insert(key);
    } else {
      ASSERT_TRUE(a.killed()) << key << ": " << a.exit_code << " " << a.err;
      ++killed;
    }
  }
  // Through the tracking API: batches back to back while the server is killed.
  const auto post = [&](int port, int index) {
    return HttpRequest(port, "POST", "/api/v1/runs/" + run + "/log-batch",
                       LogBatchBody(BatchKey("http", index), index));
  };
  int cut = 0;
  const std::vector<HttpAttempt> batches =
      ServerLivesUnderLoad(post, 0, kServerLives, milliseconds(400), 3);
  for (const HttpAttempt& a : batches) {
    attempted[BatchKey("http", a.index)] = a.index;
    if (a.acked()) {
      acked.insert(BatchKey("http", a.index));
    } else {
      ++cut;
    }
  }
  const int next_index = batches.empty() ? 0 : batches.back().index + 1;
  Report("metrics: " + std::to_string(kCliAttempts) + " `runs log` of " +
         std::to_string(kPointsPerBatch) + " points, " + Ms(duration) + " each, " +
         std::to_string(killed) + " killed; " + std::to_string(kServerLives) +
         " server kills over " + std::to_string(next_index) + " log-batch requests, " +
         std::to_string(cut) + " cut; " + std::to_string(acked.size()) + " batches acknowledged");

  json shown = FerryJson({"runs", "show", run, "--json"});
  ASSERT_TRUE(shown.is_object());
  const json& counts = shown["metric_points"];
  std::map<std::string, double> latest;
  for (const auto& [key, m] : shown["metrics"].items()) latest[key] = m["value"].get<double>();
  for (const auto& [key, count] : counts.items()) {
    ASSERT_TRUE(attempted.count(key)) << "a metric nobody logged: " << key;
    EXPECT_EQ(count.get<int>(), kPointsPerBatch) << "batch " << key << " is partly stored";
    EXPECT_EQ(latest[key], attempted[key] * 10000 + kPointsPerBatch - 1) << key;
  }
  for (const std::string& key : acked) {
    EXPECT_TRUE(counts.contains(key)) << "acknowledged batch " << key << " is missing";
  }
  // Every stored series point by point, through the API.
  std::unique_ptr<RunningServer> server = StartServer();
  const int port = server->port();
  ASSERT_GT(port, 0);
  for (const auto& [key, count] : counts.items()) {
    HttpResult series = HttpRequest(port, "GET", "/api/v1/runs/" + run + "/metrics/" + key);
    ASSERT_EQ(series.status, 200) << series.body;
    const json points = json::parse(series.body)["points"];
    ASSERT_EQ(points.size(), static_cast<size_t>(kPointsPerBatch)) << key;
    std::set<int64_t> steps;
    for (const json& p : points) {
      const int64_t step = p["step"];
      steps.insert(step);
      EXPECT_EQ(p["value"].get<double>(), attempted[key] * 10000 + step) << key << "@" << step;
    }
    EXPECT_EQ(steps.size(), static_cast<size_t>(kPointsPerBatch)) << key;
  }
  // The workspace takes more.
  EXPECT_EQ(post(port, next_index).status, 200);
  server.reset();
  ExpectFsckClean();
  ExpectNoTemporaryFilesLeft();
}

// Alias moves: attempt `index` points `production` at version index % 4 + 1 with the
// reason naming the attempt.
constexpr int kModelVersions = 4;
int AliasTarget(int index) { return index % kModelVersions + 1; }

// One attempted move of the alias, in attempt order.
struct AliasMove {
  std::string reason;  // unique: names the attempt in the alias history
  int target = 0;
  bool acked = false;
};

// Checks the model's `production` alias against the attempted moves: its history is a
// chain of attempted moves in attempt order, each starting where the previous one ended,
// ending at the alias's target; every acknowledged move is in it (unless the alias already
// pointed there: such a move records nothing); so the alias points at the last
// acknowledged target or at a later attempt's. Returns the target.
int ExpectAliasMatchesMoves(const json& model, const std::vector<AliasMove>& moves) {
  std::map<std::string, size_t> order;
  for (size_t k = 0; k < moves.size(); ++k) order[moves[k].reason] = k;
  const int target = model["aliases"]["production"];
  int at = 0;  // 0: no target yet
  std::optional<size_t> last_order;
  std::map<size_t, int> committed;  // attempt order -> version
  for (const json& change : model["alias_history"]) {
    if (change["alias"] != "production") continue;
    const auto found = order.find(change["reason"].get<std::string>());
    if (found == order.end()) {
      ADD_FAILURE() << "a move nobody attempted: " << change.dump();
      continue;
    }
    EXPECT_TRUE(!last_order || found->second > *last_order) << "out of order: " << change.dump();
    last_order = found->second;
    const int previous =
        change["previous_version"].is_null() ? 0 : change["previous_version"].get<int>();
    EXPECT_EQ(previous, at) << "the history skips a move before " << change.dump();
    at = change["version"];
    committed[found->second] = at;
  }
  EXPECT_EQ(at, target) << "the alias is not where its history ends";
  int current = 0;
  size_t last_acked = 0;
  for (size_t k = 0; k < moves.size(); ++k) {
    if (committed.count(k)) current = committed[k];
    if (!moves[k].acked) continue;
    last_acked = k;
    EXPECT_TRUE(committed.count(k) || current == moves[k].target)
        << "acknowledged move " << moves[k].reason << " to @" << moves[k].target << " is lost";
  }
  std::set<int> allowed;
  for (size_t k = last_acked; k < moves.size(); ++k) allowed.insert(moves[k].target);
  EXPECT_TRUE(allowed.count(target))
      << "production -> @" << target << " after " << moves[last_acked].reason;
  return target;
}

TEST_F(CrashConsistencyE2eTest, KilledAliasMovesLeaveTheAliasAtAnAttemptedTarget) {
  constexpr int kCliAttempts = 12;
  constexpr int kServerLives = 6;
  for (int v = 1; v <= kModelVersions; ++v) {
    const std::string file = "model-" + std::to_string(v) + ".json";
    testing::WriteXGBoostModel(dir() / file, 2, {}, 2 + v);
    CommandResult registered =
        Ferry({"models", "register", "fraud", "--artifact", file, "--flavor", "xgboost"});
    ASSERT_EQ(registered.exit_code, 0) << registered.err;
  }
  std::vector<AliasMove> moves;
  const auto alias_args = [](const AliasMove& move) {
    return std::vector<std::string>{
        "models",     "alias",    "fraud@" + std::to_string(move.target),
        "production", "--reason", move.reason};
  };
  microseconds duration{};
  moves.push_back({"cli-0", AliasTarget(0)});
  Attempt first = RunTimed(alias_args(moves.back()), duration);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("fraud@production -> @1"), std::string::npos) << first.out;
  moves.back().acked = true;
  int killed = 0;
  const std::vector<microseconds> delays = KillDelays(kCliAttempts - 1, duration);
  for (int i = 1; i < kCliAttempts; ++i) {
    moves.push_back({"cli-" + std::to_string(i), AliasTarget(i)});
    Attempt a = RunAndKill(alias_args(moves.back()), delays[i - 1]);
    moves.back().acked = a.acked();
    if (!a.acked()) {
      ASSERT_TRUE(a.killed()) << moves.back().reason << ": " << a.exit_code << " " << a.err;
      ++killed;
    }
  }
  // Through the registry API: moves back to back while the server is killed.
  const auto put = [](int port, int index) {
    return HttpRequest(
        port, "PUT", "/api/v1/models/fraud/aliases/production",
        json{{"version", AliasTarget(index)}, {"reason", "http-" + std::to_string(index)}}.dump());
  };
  int cut = 0;
  const std::vector<HttpAttempt> puts =
      ServerLivesUnderLoad(put, kCliAttempts, kServerLives, milliseconds(300), 5);
  for (const HttpAttempt& a : puts) {
    moves.push_back({"http-" + std::to_string(a.index), AliasTarget(a.index), a.acked()});
    cut += a.acked() ? 0 : 1;
  }
  Report("alias moves: " + std::to_string(kCliAttempts) + " `models alias`, " + Ms(duration) +
         " each, " + std::to_string(killed) + " killed; " + std::to_string(kServerLives) +
         " server kills over " + std::to_string(puts.size()) + " PUTs, " + std::to_string(cut) +
         " cut");

  json model = FerryJson({"models", "show", "fraud", "--json"});
  ASSERT_TRUE(model.is_object());
  const int target = ExpectAliasMatchesMoves(model, moves);
  ExpectFsckClean();
  ExpectNoTemporaryFilesLeft();
  CommandResult moved = Ferry({"models", "alias", "fraud@" + std::to_string(target % 4 + 1),
                               "production", "--reason", "after"});
  EXPECT_EQ(moved.exit_code, 0) << moved.err;

  // fsck's verdict means something: a registered model's artifact gone is named.
  const std::string digest = FerryJson({"models", "show", "fraud@1", "--json"})["artifact_digest"];
  const fs::path artifact = dir() / ".ferry/objects" / digest.substr(0, 2) / digest;
  const fs::path aside = dir() / "artifact.aside";
  fs::rename(artifact, aside);
  CommandResult damaged = Fsck();
  EXPECT_EQ(damaged.exit_code, 5) << damaged.out;
  EXPECT_NE(damaged.out.find("fraud@1"), std::string::npos) << damaged.out;
  fs::rename(aside, artifact);
  ExpectFsckClean();
}

// Materialization: `kKeys` entities with one row a day for `kDays` days; the value of a
// row names its key and day. Attempt i materializes up to midday of day i + 1.
constexpr int kKeys = 12000;
constexpr int kDays = 14;
constexpr int64_t kDay = 86400;
constexpr int64_t kStart = 1767225600;  // 2026-01-01T00:00:00Z

int64_t RowTime(int key, int day) {
  return kStart + day * kDay + (static_cast<int64_t>(key) * 7919 + day * 104729) % kDay;
}
int64_t RowValue(int key, int day) { return static_cast<int64_t>(key) * 100 + day; }
int64_t WindowEnd(int attempt) { return kStart + (attempt + 1) * kDay + kDay / 2; }

std::string Rfc3339(int64_t seconds) {
  const time_t t = seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// The day of `key`'s latest row at or before `end`; -1 when there is none.
int WinnerDay(int key, int64_t end) {
  int day = -1;
  for (int d = 0; d < kDays && RowTime(key, d) <= end; ++d) day = d;
  return day;
}

TEST_F(CrashConsistencyE2eTest, KilledMaterializationsLeaveOnlyAttemptedValuesOnline) {
  constexpr int kAttempts = 11;
  std::string csv = "key_id,event_timestamp,value\n";
  for (int day = 0; day < kDays; ++day) {
    for (int key = 0; key < kKeys; ++key) {
      csv += "k" + std::to_string(key) + "," + Rfc3339(RowTime(key, day)) + "," +
             std::to_string(RowValue(key, day)) + "\n";
    }
  }
  WriteFile("events.csv", csv);
  WriteFile("features.yaml", R"(
entities:
  - name: thing
    join_keys: [{name: key_id, type: string}]
feature_views:
  - name: latest
    entities: [thing]
    source: events
    timestamp_field: event_timestamp
    features:
      - {name: value, type: int64}
)");
  CommandResult added = Ferry({"data", "add", "events", "events.csv"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  CommandResult applied = Ferry({"features", "apply", "features.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;

  const auto args = [](int attempt) {
    return std::vector<std::string>{"features",
                                    attempt % 3 == 2 ? "materialize-incremental" : "materialize",
                                    "--end", Rfc3339(WindowEnd(attempt)), "--json"};
  };
  std::vector<bool> acked(kAttempts, false);
  microseconds duration{};
  Attempt first = RunTimed(args(0), duration);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  acked[0] = true;
  int killed = 0;
  const std::vector<microseconds> delays = KillDelays(kAttempts - 1, duration);
  for (int i = 1; i < kAttempts; ++i) {
    Attempt a = RunAndKill(args(i), delays[i - 1]);
    acked[i] = a.acked();
    if (!a.acked()) {
      ASSERT_TRUE(a.killed()) << "attempt " << i << ": " << a.exit_code << " " << a.err;
      ++killed;
    }
  }
  Report("materialize: " + std::to_string(kAttempts) + " runs over " + std::to_string(kKeys) +
         " keys, " + Ms(duration) + " each, " + std::to_string(killed) + " killed");
  int last_acked = 0;
  for (int i = 0; i < kAttempts; ++i) {
    if (acked[i]) last_acked = i;
  }

  // Each key holds the latest row of the last acknowledged window, or of a window
  // attempted after it (a killed run may have written some keys): nothing older, nothing
  // from a window nobody asked for.
  ExpectFsckClean();
  std::unique_ptr<RunningServer> server = StartServer();
  const int port = server->port();
  ASSERT_GT(port, 0);
  constexpr int kPerRequest = 6000;
  for (int from = 0; from < kKeys; from += kPerRequest) {
    json keys = json::array();
    for (int key = from; key < from + kPerRequest; ++key) keys.push_back("k" + std::to_string(key));
    HttpResult read = HttpRequest(
        port, "POST", "/api/v1/features/online",
        json{{"features", json::array({"latest:value"})}, {"entities", {{"key_id", keys}}}}.dump());
    ASSERT_EQ(read.status, 200) << read.body;
    const json column = json::parse(read.body)["results"][1];
    for (int j = 0; j < kPerRequest; ++j) {
      const int key = from + j;
      std::set<int> allowed_days;
      for (int i = last_acked; i < kAttempts; ++i)
        allowed_days.insert(WinnerDay(key, WindowEnd(i)));
      const bool present = column["statuses"][j] == "PRESENT";
      const int day = present ? static_cast<int>(column["values"][j].get<int64_t>() % 100) : -1;
      ASSERT_TRUE(allowed_days.count(day))
          << "k" << key << " holds " << column["values"][j] << " (" << column["statuses"][j]
          << "); the last acknowledged window was attempt " << last_acked;
      if (present) {
        EXPECT_EQ(column["values"][j].get<int64_t>(), RowValue(key, day));
        EXPECT_EQ(column["event_timestamps"][j], Rfc3339(RowTime(key, day)));
      }
    }
  }
  // The server materializes the rest of the data.
  HttpResult rest = HttpRequest(port, "POST", "/api/v1/features/materialize",
                                json{{"end", Rfc3339(kStart + kDays * kDay)}}.dump());
  EXPECT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Stderr();
  const json report = ExpectFsckClean();
  EXPECT_GE(report["online"]["values_checked"].get<int64_t>(), kKeys) << report.dump();
  ExpectNoTemporaryFilesLeft();

  // fsck's verdict means something: a flipped byte in an online table file is found.
  fs::path table;
  for (const auto& entry : fs::directory_iterator(dir() / ".ferry/online")) {
    if (entry.path().extension() == ".sst" &&
        (table.empty() || entry.file_size() > fs::file_size(table))) {
      table = entry.path();
    }
  }
  ASSERT_FALSE(table.empty()) << "no table file in the online store";
  const int64_t middle = static_cast<int64_t>(fs::file_size(table) / 3);
  const char original = FlipByte(table, middle);
  CommandResult damaged = Fsck();
  EXPECT_EQ(damaged.exit_code, 5) << damaged.out;
  EXPECT_NE(damaged.out.find(table.filename().string()), std::string::npos) << damaged.out;
  RestoreByte(table, middle, original);
  ExpectFsckClean();
}

}  // namespace
}  // namespace ferry::e2e
