#pragma once

// Leadership: elects which one of the ferry servers sharing a workspace does the
// singleton duties -- rollout analysis, alert evaluation, pipeline triggers -- while
// every server serves traffic. No consensus of ferry's own: the lock belongs to the
// engine the workspace already trusts.
//
// - PostgreSQL: a session-level advisory lock, held on a connection of its own. The
//   kernel closes a killed server's connection at once, so the lock frees within the
//   check interval; a server that stalls (paused, swapped out, partitioned) stops
//   pinging its session, and PostgreSQL ends the session after `lease` of idleness
//   (idle_session_timeout), freeing the lock for another.
// - SQLite (one machine): flock on .ferry/leader.lock, released by the kernel when the
//   holder dies.
//
// Each new leader opens a term: `leader_terms` (a core table) counts terms up in a
// write transaction. A duty runs under a FenceScope with the term it was started in
// (TermFence), so each of its writes checks, inside the serialised write transaction,
// that no later term began: an old leader waking after its lease cannot write anything
// a new leader decides on.
//
// Thread-safety: term(), CurrentLeader() and TermFence from any thread; Start/Stop and
// CheckNow from one thread (CheckNow only while not started: tests).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "store/metadata_store.h"
#include "store/workspace.h"

namespace ferry::store {

class LeaderLock;

class Leadership {
 public:
  struct Options {
    // How often the lock is tried (followers) or its session pinged (the leader).
    std::chrono::milliseconds check_interval{500};
    // PostgreSQL: a leader whose lock session stays idle this long loses it.
    std::chrono::milliseconds lease{5000};
    // Who this is, as recorded with its terms: host, pid, listen address.
    std::string holder;
  };

  struct Leader {
    std::string holder;
    int64_t term = 0;
    int64_t since = 0;  // micros, the workspace clock
  };

  // Does not take the lock yet (Start or CheckNow do).
  static absl::StatusOr<std::unique_ptr<Leadership>> Open(Workspace& workspace, Options options);
  ~Leadership();  // stops; a leader steps down, so another takes over at once

  // The first attempt now (so a lone server leads before it serves), then a thread.
  void Start();
  void Stop();

  // One round: try the lock (follower) or ping it (leader). Tests call it by hand.
  absl::Status CheckNow();

  // This process's term while it leads, 0 otherwise.
  int64_t term() const { return term_.load(); }
  bool leading() const { return term() != 0; }
  const std::string& holder() const { return options_.holder; }

  // The latest term recorded in the workspace (any server), if any.
  absl::StatusOr<std::optional<Leader>> CurrentLeader() const;

 private:
  Leadership(Workspace& workspace, Options options, std::unique_ptr<LeaderLock> lock);
  absl::Status BeginTerm();
  void StepDown(std::string_view why);
  void Loop();

  Workspace& workspace_;
  const Options options_;
  std::unique_ptr<LeaderLock> lock_;
  std::atomic<int64_t> term_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

// The fence of one term: Check fails with Aborted once a later term has begun (or the
// term was never recorded).
class TermFence final : public Fence {
 public:
  explicit TermFence(int64_t term) : term_(term) {}
  absl::Status Check(Transaction& tx) const override;

 private:
  const int64_t term_;
};

// Runs `duty` when this process leads -- always when `leadership` is null (a process
// that elects nobody, e.g. a test) -- under the fence of the term it leads in. False
// when it did not run.
bool RunIfLeading(const Leadership* leadership, const std::function<void()>& duty);

}  // namespace ferry::store
