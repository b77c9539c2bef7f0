#pragma once

// CrashHarness: what the crash-consistency test (crash_consistency_e2e_test.cc) needs to
// SIGKILL `ferry` at chosen moments and judge what is left: a workspace of its own (on
// SQLite, or on the test process's PostgreSQL server when FERRY_TEST_METADATA=postgresql),
// a seeded random source (FERRY_CRASH_SEED overrides the default; the seed is printed when
// a test fails), kill delays spread over an operation's duration, commands run and killed,
// `ferry server` lives, and the checks every crash test ends with (`ferry fsck`, no
// temporary files left behind).
//
// Thread-safety: one test thread uses a harness; only HttpLoop runs a client thread.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "subprocess.h"
#include "testing/temp_dir.h"

namespace ferry::e2e {

// How one attempt of an operation ended.
struct Attempt {
  int exit_code = -1;  // 128 + SIGKILL when the kill came before the exit
  std::string out;
  std::string err;
  bool acked() const { return exit_code == 0; }
  bool killed() const { return exit_code == 128 + SIGKILL; }
};

// The requests of one client loop against one server life, in order.
struct HttpAttempt {
  int index = 0;  // the caller's number for the write (its key, reason, file, ...)
  HttpResult result;
  bool acked() const { return result.status >= 200 && result.status < 300; }
  bool unanswered() const { return result.status == 0; }
};

// A `ferry server` on a free loopback port in `dir`, whose stderr (its access log, a line
// per request) a thread of its own keeps draining, so that the server never blocks on a
// full pipe however many requests it serves. The destructor SIGKILLs it if still running.
class RunningServer {
 public:
  explicit RunningServer(const std::filesystem::path& dir);
  ~RunningServer();
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;

  // 0 when the server did not start (the test has failed then).
  int port() const { return port_; }
  // Sends `signal` and waits for the exit; returns it as Child::Wait does.
  int Stop(int signal);
  // What the server wrote to stderr; once it has stopped, all of it.
  std::string Stderr();

 private:
  void StopDraining();

  Child child_;
  int port_ = 0;
  std::atomic<bool> draining_{true};
  std::thread drain_;
};

class CrashHarness : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // `ferry ARGS` in the workspace, to its end.
  CommandResult Ferry(std::vector<std::string> args);
  // The same, which must succeed and print JSON; returns it (null on failure, with the
  // test failed).
  nlohmann::json FerryJson(std::vector<std::string> args);
  // `ferry ARGS`, SIGKILLed `delay` after it started unless it has exited by then.
  Attempt RunAndKill(std::vector<std::string> args, std::chrono::microseconds delay);
  // `ferry ARGS` to its end, with how long it took.
  Attempt RunTimed(std::vector<std::string> args, std::chrono::microseconds& took);

  // `count` kill delays spread evenly (one per stratum, at a random point inside it,
  // then shuffled) over [0, 1.5 x duration]: some kills land at the start, most during
  // the operation, some after it has finished.
  std::vector<std::chrono::microseconds> KillDelays(int count, std::chrono::microseconds duration);

  // A `ferry server` of the workspace.
  std::unique_ptr<RunningServer> StartServer();

  // One server life under a client: `request(port, index)` is sent for index = first,
  // first + 1, ... back to back until the server stops answering. With `kill_delay`, the
  // server is SIGKILLed that long after its start, wherever the client is; without it
  // (an idle kill), the client stops after `idle_requests` answered requests and the
  // server is killed while it waits for the next. Returns the requests in order.
  using HttpWrite = std::function<HttpResult(int port, int index)>;
  std::vector<HttpAttempt> ServerLifeUnderLoad(const HttpWrite& request, int first,
                                               std::optional<std::chrono::microseconds> kill_delay,
                                               int idle_requests);
  // `lives` such lives in a row, the requests numbered on from `first`: every third life
  // ends in an idle kill (after `idle_requests` answers), the others at kill delays spread
  // over `span`. An answer other than 2xx fails the test: a request is either acknowledged
  // or cut by the kill. Returns every request of every life, in order.
  std::vector<HttpAttempt> ServerLivesUnderLoad(const HttpWrite& request, int first, int lives,
                                                std::chrono::microseconds span, int idle_requests);

  // `ferry fsck --json` exits 0 and finds nothing damaged, missing or unreadable in any
  // store (metadata, objects, dataset versions, object roots, online store). Returns the
  // report.
  nlohmann::json ExpectFsckClean();
  // The exit code and report of `ferry fsck --json` whatever they are.
  CommandResult Fsck();
  // No temporary file of a killed writer is left in the workspace's temporary folders
  // once a command has opened it after the writers' grace period.
  void ExpectNoTemporaryFilesLeft();

  void WriteFile(const std::string& name, const std::string& contents);
  std::string ReadFile(const std::filesystem::path& path);

  // Prints one line of figures for the report (and for whoever reads the test's log).
  void Report(const std::string& line);

  const std::filesystem::path& dir() const { return temp_.path(); }
  uint64_t seed() const { return seed_; }
  std::mt19937_64& rng() { return rng_; }

 private:
  testing::TempDir temp_;
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::chrono::steady_clock::time_point last_kill_{};
};

// The bytes of `path` with one byte flipped at `offset` (from the end when negative);
// returns the original byte so that the caller can restore it.
char FlipByte(const std::filesystem::path& path, int64_t offset);
void RestoreByte(const std::filesystem::path& path, int64_t offset, char original);

}  // namespace ferry::e2e
