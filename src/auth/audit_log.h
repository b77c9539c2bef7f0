#pragma once

// The audit log: who did what, when, from where, and how it ended, for every mutating
// operation (and every refused request) -- in the metadata store (table audit_log) and
// optionally a JSON-lines file.
//
// AuditWriter takes entries from request threads without making them wait: entries
// queue in memory and a thread of its own writes them, at most every 200 ms, in one
// transaction and one appended, fsync'ed batch of lines. A crash loses at most the
// entries of the last 200 ms; a queue over kMaxQueuedAuditEntries drops entries, counts
// them, and logs so (the request path never blocks on the audit log).
//
// Thread-safety: AuditWriter::Record, Flush and dropped() may be called from any thread.
// The free functions are stateless.

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "store/metadata_store.h"

namespace ferry::auth {

inline constexpr size_t kMaxQueuedAuditEntries = 100'000;

struct AuditEntry {
  int64_t id = 0;  // assigned when stored, counting up
  int64_t at_micros = 0;
  std::string actor;    // "token:NAME", "anonymous", "cli:USER"
  std::string source;   // the client's ADDRESS:PORT, or "cli" with the host
  std::string action;   // "PUT /api/v1/models/{name}/aliases/{alias}", "cli: models alias set"
  std::string target;   // the request path, or the command's arguments
  int status = 0;       // the HTTP status, or the command's exit status
  std::string outcome;  // "ok", "denied" or "error"
  std::string detail;   // the error's message, if any (bounded)
};

// "ok" for 1xx-3xx, "denied" for 401, 403 and 429, "error" otherwise.
std::string_view OutcomeOfStatus(int status);

// Stores entries in one transaction, assigning ids. The store must have the "auth"
// migrations (ApplyAuthMigrations).
absl::Status AppendAudit(store::MetadataStore& metadata, std::vector<AuditEntry>& entries);

struct AuditQuery {
  std::optional<int64_t> since_micros;  // at >= since
  std::string actor;                    // exact, when not empty
  std::string outcome;                  // exact, when not empty
  std::optional<int64_t> before_id;     // for paging: entries older than this id
  int limit = 100;                      // 1..10000
};
// Newest first. InvalidArgument for a bad limit or outcome.
absl::StatusOr<std::vector<AuditEntry>> ListAudit(store::MetadataStore& metadata,
                                                  const AuditQuery& query);

nlohmann::json AuditJson(const AuditEntry& entry);

class AuditWriter {
 public:
  // Applies the migrations; opens (creating) jsonl_file for appending when given.
  // Errors: the store's; the file's, naming it.
  static absl::StatusOr<std::shared_ptr<AuditWriter>> Open(store::MetadataStore& metadata,
                                                           const std::filesystem::path& jsonl_file,
                                                           int64_t now_micros);
  // Writes what is queued, then stops.
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  void Record(AuditEntry entry);
  // Writes everything recorded so far before returning (tests, shutdown).
  void Flush();
  uint64_t dropped() const;

 private:
  AuditWriter(store::MetadataStore& metadata, int fd);
  void Loop();
  // Writes one batch; on the writer thread.
  void WriteBatch(std::vector<AuditEntry>& batch);

  store::MetadataStore& metadata_;
  const int fd_;  // the JSON-lines file, or -1

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::vector<AuditEntry> queue_;
  uint64_t recorded_ = 0;  // entries ever queued
  uint64_t written_ = 0;   // of those, handled by the writer (stored or failed)
  uint64_t dropped_ = 0;
  bool flush_wanted_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ferry::auth
