#include "serving/prediction_log.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::serving {
namespace {

using core::Cat;
using store::Transaction;

constexpr std::string_view kComponent = "predictions";
constexpr store::Migration kMigrations[] = {
    {1, "create prediction_log",
     "CREATE TABLE prediction_log ("
     " prediction_id TEXT PRIMARY KEY,"
     " endpoint TEXT NOT NULL,"
     " model_name TEXT NOT NULL,"
     " model_version BIGINT NOT NULL,"
     " created_at BIGINT NOT NULL,"
     " inputs TEXT NOT NULL,"
     " outputs TEXT NOT NULL,"
     " label DOUBLE PRECISION,"
     " label_at BIGINT);"
     // Monitoring reads an endpoint's recent predictions; retention deletes by age.
     "CREATE INDEX prediction_log_by_endpoint ON prediction_log (endpoint, created_at);"
     "CREATE INDEX prediction_log_by_time ON prediction_log (created_at);"},
};

constexpr size_t kRowsPerTransaction = 4096;
constexpr auto kExpiryInterval = std::chrono::minutes(1);

// A JSON array of float32 values, NaN as null, in their shortest round-trip form.
void AppendFloats(std::span<const float> values, std::string& out) {
  out.push_back('[');
  char buf[32];
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    if (!std::isfinite(values[i])) {
      out += "null";
      continue;
    }
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), values[i]);
    out.append(buf, end);
  }
  out.push_back(']');
}

std::vector<double> ParseFloats(const std::string& text) {
  std::vector<double> out;
  nlohmann::json array = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!array.is_array()) return out;
  out.reserve(array.size());
  for (const auto& v : array) out.push_back(v.is_number() ? v.get<double>() : std::nan(""));
  return out;
}

constexpr char kColumns[] =
    "prediction_id, endpoint, model_name, model_version, created_at, inputs, outputs, label,"
    " label_at";

LoggedPrediction FromRow(const store::Row& row) {
  LoggedPrediction p;
  p.prediction_id = row.Text(0);
  p.endpoint = row.Text(1);
  p.model_name = row.Text(2);
  p.model_version = row.Int(3);
  p.created_at = row.Int(4);
  p.inputs = ParseFloats(row.Text(5));
  p.outputs = ParseFloats(row.Text(6));
  if (!row.IsNull(7)) p.label = row.Double(7);
  p.label_at = row.OptionalInt(8);
  return p;
}

}  // namespace

PredictionLog::PredictionLog(store::Workspace& workspace, const core::ServingConfig& config)
    : workspace_(workspace),
      sample_rate_(config.prediction_log_sample_rate),
      max_queue_(static_cast<size_t>(config.prediction_log_queue)),
      retention_micros_(int64_t{config.prediction_log_retention_days} * 86'400'000'000) {}

absl::StatusOr<std::unique_ptr<PredictionLog>> PredictionLog::Open(
    store::Workspace& workspace, const core::ServingConfig& config) {
  RETURN_IF_ERROR(store::ApplyMigrations(workspace.metadata(), kComponent, kMigrations,
                                         workspace.clock().NowMicros())
                      .status());
  std::unique_ptr<PredictionLog> log(new PredictionLog(workspace, config));
  log->writer_ = std::thread([raw = log.get()] { raw->WriterLoop(); });
  return log;
}

PredictionLog::~PredictionLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
}

bool PredictionLog::Sample() {
  if (sample_rate_ >= 1) return true;
  if (sample_rate_ <= 0) return false;
  thread_local std::minstd_rand rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0, 1)(rng) < sample_rate_;
}

void PredictionLog::Record(const ServedModel& model, std::span<const std::string> ids,
                           std::span<const float> rows, std::span<const float> outputs) {
  const size_t n = ids.size();
  if (n == 0) return;
  // Formatting happens here, outside the lock, so the lock only guards the append.
  std::vector<Pending> pending(n);
  const int64_t now = workspace_.clock().NowMicros();
  auto endpoint = std::make_shared<const std::string>(model.endpoint);
  for (size_t i = 0; i < n; ++i) {
    Pending& p = pending[i];
    p.prediction_id = ids[i];
    p.endpoint = endpoint;
    p.model_name = model.version.name;
    p.model_version = model.version.version;
    p.created_at = now;
    AppendFloats(rows.subspan(i * model.num_inputs, model.num_inputs), p.inputs);
    AppendFloats(outputs.subspan(i * model.num_outputs, model.num_outputs), p.outputs);
  }
  recorded_ += n;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t room = queue_.size() < max_queue_ ? max_queue_ - queue_.size() : 0;
    const size_t take = std::min(room, n);
    for (size_t i = 0; i < take; ++i) queue_.push_back(std::move(pending[i]));
    enqueued_seq_ += take;
    dropped_ += n - take;
    wake = queue_.size() >= kRowsPerTransaction;
  }
  if (wake) wake_.notify_one();
}

void PredictionLog::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = enqueued_seq_;
  flush_requested_ = true;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return done_seq_ >= target || stopping_; });
}

void PredictionLog::WriterLoop() {
  std::vector<Pending> batch;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait_for(lock, kFlushInterval, [&] {
      return stopping_ || flush_requested_ || queue_.size() >= kRowsPerTransaction;
    });
    flush_requested_ = false;
    if (queue_.empty()) {
      if (stopping_) break;
      continue;
    }
    batch.clear();
    batch.swap(queue_);
    lock.unlock();
    for (size_t begin = 0; begin < batch.size(); begin += kRowsPerTransaction) {
      const size_t end = std::min(batch.size(), begin + kRowsPerTransaction);
      std::vector<Pending> part(std::make_move_iterator(batch.begin() + begin),
                                std::make_move_iterator(batch.begin() + end));
      if (absl::Status status = Write(part); status.ok()) {
        written_ += part.size();
      } else {
        failed_ += part.size();
        spdlog::warn("serving: prediction log: {} predictions not stored: {}", part.size(),
                     core::View(status.message()));
      }
    }
    DeleteExpired();
    lock.lock();
    done_seq_ += batch.size();
    flushed_.notify_all();
  }
  flushed_.notify_all();
}

absl::Status PredictionLog::Write(std::vector<Pending>& batch) {
  return workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    for (Pending& p : batch) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO prediction_log (prediction_id, endpoint,"
                                 " model_name, model_version, created_at, inputs, outputs)"
                                 " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                 {std::move(p.prediction_id), *p.endpoint,
                                  std::move(p.model_name), p.model_version, p.created_at,
                                  std::move(p.inputs), std::move(p.outputs)})
                          .status());
    }
    return absl::OkStatus();
  });
}

void PredictionLog::DeleteExpired() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_expiry_ < kExpiryInterval) return;
  last_expiry_ = now;
  const int64_t cutoff = workspace_.clock().NowMicros() - retention_micros_;
  absl::Status status = workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    return tx.Execute("DELETE FROM prediction_log WHERE created_at < ?", {cutoff}).status();
  });
  if (!status.ok()) {
    spdlog::warn("serving: prediction log: deleting expired rows: {}",
                 core::View(status.message()));
  }
}

absl::StatusOr<FeedbackResult> PredictionLog::AddFeedback(std::span<const Feedback> feedback) {
  if (feedback.size() > kMaxFeedback) {
    return absl::InvalidArgumentError(
        Cat("at most ", kMaxFeedback, " feedback entries per request, got ", feedback.size()));
  }
  for (size_t i = 0; i < feedback.size(); ++i) {
    if (feedback[i].prediction_id.empty()) {
      return absl::InvalidArgumentError(Cat("feedback ", i, ": prediction_id is empty"));
    }
    if (!std::isfinite(feedback[i].label)) {
      return absl::InvalidArgumentError(Cat("feedback ", i, ": label must be a finite number"));
    }
  }
  // Predictions still queued would look unknown: store them first.
  Flush();
  FeedbackResult result;
  const int64_t now = workspace_.clock().NowMicros();
  RETURN_IF_ERROR(workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    result = FeedbackResult{};
    for (const Feedback& f : feedback) {
      ASSIGN_OR_RETURN(int64_t changed,
                       tx.Execute("UPDATE prediction_log SET label = ?, label_at = ?"
                                  " WHERE prediction_id = ?",
                                  {f.label, now, f.prediction_id}));
      if (changed > 0) {
        ++result.accepted;
      } else {
        ++result.unknown;
        if (result.unknown_ids.size() < kMaxReportedUnknown) {
          result.unknown_ids.push_back(f.prediction_id);
        }
      }
    }
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<std::vector<LoggedPrediction>> PredictionLog::Recent(std::string_view endpoint,
                                                                    size_t limit,
                                                                    bool labeled_only) const {
  std::vector<LoggedPrediction> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        std::vector<store::Row> rows,
        tx.Query(Cat("SELECT ", kColumns, " FROM prediction_log WHERE endpoint = ?",
                     labeled_only ? " AND label IS NOT NULL" : "",
                     " ORDER BY created_at DESC, prediction_id DESC LIMIT ?"),
                 {endpoint, static_cast<int64_t>(limit)}));
    for (const store::Row& row : rows) out.push_back(FromRow(row));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<LoggedPrediction> PredictionLog::Get(std::string_view prediction_id) const {
  std::optional<LoggedPrediction> out;
  RETURN_IF_ERROR(workspace_.metadata().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, tx.QueryOptional(Cat("SELECT ", kColumns, " FROM prediction_log"
                                                    " WHERE prediction_id = ?"),
                                                {prediction_id}));
    if (row) out = FromRow(*row);
    return absl::OkStatus();
  }));
  if (!out) return absl::NotFoundError(Cat("no logged prediction \"", prediction_id, "\""));
  return *std::move(out);
}

PredictionLogStats PredictionLog::stats() const {
  return {recorded_.load(), written_.load(), dropped_.load(), failed_.load()};
}

}  // namespace ferry::serving
