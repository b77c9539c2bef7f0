#include "auth/audit_log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "auth/token_store.h"
#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::auth {
namespace {

using store::Row;
using store::Transaction;

constexpr auto kFlushInterval = std::chrono::milliseconds(200);
constexpr size_t kMaxDetailBytes = 1000;
constexpr int kMaxListLimit = 10'000;

constexpr char kColumns[] = "id, at, actor, source, action, target, status, outcome, detail";

AuditEntry EntryOf(const Row& row) {
  AuditEntry entry;
  entry.id = row.Int(0);
  entry.at_micros = row.Int(1);
  entry.actor = row.Text(2);
  entry.source = row.Text(3);
  entry.action = row.Text(4);
  entry.target = row.Text(5);
  entry.status = static_cast<int>(row.Int(6));
  entry.outcome = row.Text(7);
  entry.detail = row.Text(8);
  return entry;
}

// Writes all of text to fd (append mode), retrying short writes; false on an error.
bool WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::string_view OutcomeOfStatus(int status) {
  if (status == 401 || status == 403 || status == 429) return "denied";
  if (status >= 100 && status < 400) return "ok";
  return "error";
}

absl::Status AppendAudit(store::MetadataStore& metadata, std::vector<AuditEntry>& entries) {
  if (entries.empty()) return absl::OkStatus();
  return metadata.Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<Row> max, tx.Query("SELECT COALESCE(MAX(id), 0) FROM audit_log"));
    int64_t id = max[0].Int(0);
    for (AuditEntry& entry : entries) {
      entry.id = ++id;
      if (entry.detail.size() > kMaxDetailBytes) entry.detail.resize(kMaxDetailBytes);
      RETURN_IF_ERROR(
          tx.Execute(core::Cat("INSERT INTO audit_log (", kColumns,
                               ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                     {entry.id, entry.at_micros, entry.actor, entry.source, entry.action,
                      entry.target, entry.status, entry.outcome, entry.detail})
              .status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<AuditEntry>> ListAudit(store::MetadataStore& metadata,
                                                  const AuditQuery& query) {
  if (query.limit < 1 || query.limit > kMaxListLimit) {
    return absl::InvalidArgumentError(core::Cat("limit must be 1..", kMaxListLimit));
  }
  if (!query.outcome.empty() && query.outcome != "ok" && query.outcome != "denied" &&
      query.outcome != "error") {
    return absl::InvalidArgumentError("outcome must be ok, denied or error");
  }
  std::string sql = core::Cat("SELECT ", kColumns, " FROM audit_log WHERE 1 = 1");
  std::vector<store::Value> params;
  if (query.since_micros.has_value()) {
    sql += " AND at >= ?";
    params.emplace_back(*query.since_micros);
  }
  if (!query.actor.empty()) {
    sql += " AND actor = ?";
    params.emplace_back(query.actor);
  }
  if (!query.outcome.empty()) {
    sql += " AND outcome = ?";
    params.emplace_back(query.outcome);
  }
  if (query.before_id.has_value()) {
    sql += " AND id < ?";
    params.emplace_back(*query.before_id);
  }
  sql += core::Cat(" ORDER BY id DESC LIMIT ", query.limit);
  std::vector<AuditEntry> entries;
  RETURN_IF_ERROR(metadata.Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<Row> rows, tx.Query(sql, params));
    entries.reserve(rows.size());
    for (const Row& row : rows) entries.push_back(EntryOf(row));
    return absl::OkStatus();
  }));
  return entries;
}

nlohmann::json AuditJson(const AuditEntry& entry) {
  return nlohmann::json{{"id", entry.id},         {"at", core::FormatTimestamp(entry.at_micros)},
                        {"actor", entry.actor},   {"source", entry.source},
                        {"action", entry.action}, {"target", entry.target},
                        {"status", entry.status}, {"outcome", entry.outcome},
                        {"detail", entry.detail}};
}

absl::StatusOr<std::shared_ptr<AuditWriter>> AuditWriter::Open(
    store::MetadataStore& metadata, const std::filesystem::path& jsonl_file, int64_t now_micros) {
  RETURN_IF_ERROR(ApplyAuthMigrations(metadata, now_micros));
  int fd = -1;
  if (!jsonl_file.empty()) {
    fd = ::open(jsonl_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return absl::FailedPreconditionError(core::Cat(
          "cannot open audit log file \"", jsonl_file.string(), "\": ", std::strerror(errno)));
    }
  }
  return std::shared_ptr<AuditWriter>(new AuditWriter(metadata, fd));
}

AuditWriter::AuditWriter(store::MetadataStore& metadata, int fd)
    : metadata_(metadata), fd_(fd), thread_([this] { Loop(); }) {}

AuditWriter::~AuditWriter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void AuditWriter::Record(AuditEntry entry) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kMaxQueuedAuditEntries) {
      if (dropped_++ % 10'000 == 0) {
        spdlog::error("audit: the audit log cannot keep up; {} entries dropped so far", dropped_);
      }
      return;
    }
    queue_.push_back(std::move(entry));
    ++recorded_;
  }
}

void AuditWriter::Flush() {
  std::unique_lock lock(mutex_);
  const uint64_t target = recorded_;
  flush_wanted_ = true;
  wake_.notify_all();
  flushed_.wait(lock, [&] { return written_ >= target || stop_; });
}

uint64_t AuditWriter::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

void AuditWriter::Loop() {
  constexpr size_t kBatchEarly = 1024;  // write before the interval ends at this many
  std::vector<AuditEntry> batch;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait_for(lock, kFlushInterval,
                   [&] { return stop_ || flush_wanted_ || queue_.size() >= kBatchEarly; });
    flush_wanted_ = false;
    batch.swap(queue_);
    const bool stopping = stop_;
    if (!batch.empty()) {
      lock.unlock();
      const size_t count = batch.size();
      WriteBatch(batch);
      batch.clear();
      lock.lock();
      written_ += count;
    }
    flushed_.notify_all();
    if (stopping && queue_.empty()) return;
  }
}

void AuditWriter::WriteBatch(std::vector<AuditEntry>& batch) {
  if (batch.empty()) return;
  if (absl::Status stored = AppendAudit(metadata_, batch); !stored.ok()) {
    spdlog::error("audit: cannot store {} entries: {}", batch.size(), core::View(stored.message()));
  }
  if (fd_ < 0) return;
  std::string lines;
  for (const AuditEntry& entry : batch) {
    lines += AuditJson(entry).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    lines += '\n';
  }
  if (!WriteAll(fd_, lines) || ::fsync(fd_) != 0) {
    spdlog::error("audit: cannot append to the audit log file: {}", std::strerror(errno));
  }
}

}  // namespace ferry::auth
