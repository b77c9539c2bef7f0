#include "store/leadership.h"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include "core/status.h"
#include "core/strings.h"
#include "store/postgres_metadata_store.h"
#include "store/store_lock.h"

namespace ferry::store {
namespace {

constexpr char kDuties[] = "duties";  // leader_terms.name of the one election there is
constexpr char kLockFileName[] = "leader.lock";
// The first key of PostgreSQL's two-key advisory lock ("ferr"); the second is a hash of
// the workspace id, so workspaces sharing a database elect separately.
constexpr int32_t kAdvisoryClass = 0x66657272;

// FNV-1a, folded to 31 bits: stable across builds and machines (std::hash is not).
int32_t WorkspaceKey(std::string_view id) {
  uint32_t h = 2166136261u;
  for (char c : id) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return static_cast<int32_t>(h & 0x7fffffff);
}

}  // namespace

// How one engine holds the leader's lock.
class LeaderLock {
 public:
  virtual ~LeaderLock() = default;
  // Takes the lock if free; true when this process now holds it.
  virtual absl::StatusOr<bool> TryAcquire() = 0;
  // OK while the lock is certainly still held; an error means it may be lost.
  virtual absl::Status Ping() = 0;
  virtual void Release() = 0;
};

namespace {

class FileLeaderLock final : public LeaderLock {
 public:
  explicit FileLeaderLock(std::filesystem::path path) : path_(std::move(path)) {}

  absl::StatusOr<bool> TryAcquire() override {
    absl::StatusOr<StoreLock> lock =
        StoreLock::Acquire(path_, StoreLock::Mode::kExclusive, std::chrono::milliseconds(0));
    if (lock.status().code() == absl::StatusCode::kUnavailable) return false;
    if (!lock.ok()) return lock.status();
    lock_.emplace(std::move(*lock));
    return true;
  }
  absl::Status Ping() override {
    return lock_ ? absl::OkStatus() : absl::FailedPreconditionError("not held");
  }
  void Release() override { lock_.reset(); }

 private:
  const std::filesystem::path path_;
  std::optional<StoreLock> lock_;
};

class PostgresLeaderLock final : public LeaderLock {
 public:
  PostgresLeaderLock(std::string url, int32_t key, std::chrono::milliseconds lease)
      : url_(std::move(url)), description_(DescribePostgresUrl(url_)), key_(key), lease_(lease) {}
  ~PostgresLeaderLock() override { Close(); }

  absl::StatusOr<bool> TryAcquire() override {
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) RETURN_IF_ERROR(Connect());
    absl::StatusOr<std::string> taken =
        Scalar(core::Cat("SELECT pg_try_advisory_lock(", kAdvisoryClass, ", ", key_, ")"));
    if (!taken.ok()) return taken.status();
    return !taken->empty() && taken->front() == 't';
  }

  absl::Status Ping() override {
    if (conn_ == nullptr) return absl::FailedPreconditionError("not held");
    return Scalar("SELECT 1").status();
  }

  void Release() override {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) {
      Scalar(core::Cat("SELECT pg_advisory_unlock(", kAdvisoryClass, ", ", key_, ")"))
          .IgnoreError();
    }
    Close();  // closing the session would release it anyway
  }

 private:
  absl::Status Connect() {
    Close();
    // A partitioned leader must notice too: TCP keepalives and a user timeout of the
    // lease make a ping on a dead network fail instead of waiting for the kernel's
    // retransmissions (minutes).
    const std::string lease_ms = std::to_string(lease_.count());
    const char* keys[] = {"dbname",           "connect_timeout",  "application_name",
                          "keepalives",       "keepalives_idle",  "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout", nullptr};
    const char* values[] = {url_.c_str(), "5", "ferry leader lock", "1",    "2",
                            "1",          "3", lease_ms.c_str(),    nullptr};
    conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      std::string detail = conn_ != nullptr ? PQerrorMessage(conn_) : "out of memory";
      detail = TrimPostgresMessage(std::move(detail));
      Close();
      return absl::UnavailableError(
          core::Cat("leader lock: cannot connect to ", description_, ": ", detail));
    }
    // The lease: PostgreSQL ends this session, and so frees the lock, once it has been
    // idle this long -- which happens only when this process stopped pinging it. The
    // setting came with PostgreSQL 14; an older server keeps a stalled leader's lock
    // until its connection dies.
    if (PQserverVersion(conn_) < 140000) {
      spdlog::warn("leader lock: {} is older than PostgreSQL 14: no lease for a stalled leader",
                   description_);
      return absl::OkStatus();
    }
    return Scalar(core::Cat("SELECT set_config('idle_session_timeout', '", lease_.count(),
                            "', false)"))
        .status();
  }

  absl::StatusOr<std::string> Scalar(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    const bool ok =
        result != nullptr && PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1;
    std::string value = ok ? PQgetvalue(result, 0, 0) : "";
    std::string error =
        ok ? "" : (result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
    PQclear(result);
    if (!ok) {
      error = TrimPostgresMessage(std::move(error));
      return absl::UnavailableError(core::Cat("leader lock on ", description_, ": ", error));
    }
    return value;
  }

  void Close() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  const std::string url_;
  const std::string description_;
  const int32_t key_;
  const std::chrono::milliseconds lease_;
  PGconn* conn_ = nullptr;
};

}  // namespace

Leadership::Leadership(Workspace& workspace, Options options, std::unique_ptr<LeaderLock> lock)
    : workspace_(workspace), options_(std::move(options)), lock_(std::move(lock)) {}

Leadership::~Leadership() { Stop(); }

absl::StatusOr<std::unique_ptr<Leadership>> Leadership::Open(Workspace& workspace,
                                                             Options options) {
  std::unique_ptr<LeaderLock> lock;
  if (workspace.metadata().dialect() == Dialect::kPostgresql) {
    lock = std::make_unique<PostgresLeaderLock>(workspace.config().metadata,
                                                WorkspaceKey(workspace.id()), options.lease);
  } else {
    lock = std::make_unique<FileLeaderLock>(workspace.ferry_dir() / kLockFileName);
  }
  return std::unique_ptr<Leadership>(
      new Leadership(workspace, std::move(options), std::move(lock)));
}

absl::Status Leadership::BeginTerm() {
  int64_t term = 0;
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO leader_terms (name, term, holder, since)"
                               " VALUES (?, 1, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                               " term = leader_terms.term + 1, holder = excluded.holder,"
                               " since = excluded.since",
                               {kDuties, options_.holder, workspace_.clock().NowMicros()})
                        .status());
    ASSIGN_OR_RETURN(auto rows,
                     tx.Query("SELECT term FROM leader_terms WHERE name = ?", {kDuties}));
    term = rows.at(0).Int(0);
    return absl::OkStatus();
  }));
  term_.store(term);
  spdlog::info("leadership: this server leads (term {}, {})", term, options_.holder);
  return absl::OkStatus();
}

void Leadership::StepDown(std::string_view why) {
  const int64_t term = term_.exchange(0);
  lock_->Release();
  if (term != 0) spdlog::warn("leadership: term {} over: {}", term, why);
}

absl::Status Leadership::CheckNow() {
  if (leading()) {
    absl::Status alive = lock_->Ping();
    if (!alive.ok()) StepDown(core::View(alive.message()));
    return alive;
  }
  ASSIGN_OR_RETURN(bool taken, lock_->TryAcquire());
  if (!taken) return absl::OkStatus();
  absl::Status begun = BeginTerm();
  // Without a recorded term the fence would refuse every duty: let another try.
  if (!begun.ok()) lock_->Release();
  return begun;
}

void Leadership::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  if (absl::Status first = CheckNow(); !first.ok()) {
    spdlog::warn("leadership: {}", core::View(first.message()));
  }
  thread_ = std::thread([this] { Loop(); });
}

void Leadership::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (leading()) {
    const int64_t term = term_.exchange(0);
    lock_->Release();
    spdlog::info("leadership: stepped down (term {})", term);
  }
}

void Leadership::Loop() {
  std::string last_error;  // logged once, not every round
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.check_interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const absl::Status checked = CheckNow();
    const std::string error = checked.ok() ? "" : std::string(checked.message());
    if (!error.empty() && error != last_error) spdlog::warn("leadership: {}", error);
    last_error = error;
    lock.lock();
  }
}

absl::StatusOr<std::optional<Leadership::Leader>> Leadership::CurrentLeader() const {
  std::optional<Leader> leader;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional("SELECT holder, term, since FROM leader_terms"
                                                " WHERE name = ?",
                                                {kDuties}));
    if (row) leader = Leader{row->Text(0), row->Int(1), row->Int(2)};
    return absl::OkStatus();
  }));
  return leader;
}

absl::Status TermFence::Check(Transaction& tx) const {
  ASSIGN_OR_RETURN(auto row,
                   tx.QueryOptional("SELECT term FROM leader_terms WHERE name = ?", {kDuties}));
  if (!row || row->Int(0) != term_) {
    return absl::AbortedError(core::Cat("fenced: leader term ", term_, " is over (now ",
                                        row ? row->Int(0) : 0, "); this server no longer leads"));
  }
  return absl::OkStatus();
}

bool RunIfLeading(const Leadership* leadership, const std::function<void()>& duty) {
  if (leadership == nullptr) {
    duty();
    return true;
  }
  const int64_t term = leadership->term();
  if (term == 0) return false;
  const TermFence fence(term);
  FenceScope scope(fence);
  duty();
  return true;
}

}  // namespace ferry::store
