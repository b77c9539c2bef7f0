#include "cli/demo_replay.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::cli {
namespace {

using core::Cat;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr int64_t kMicrosPerDay = 86'400'000'000;
constexpr size_t kMaxFeedbackBatch = 10'000;  // the feedback route's limit

absl::Status AppendToFile(const fs::path& path, std::string_view bytes) {
  core::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!fd.valid()) return core::ErrnoToStatus(errno, Cat("open ", path.string()));
  RETURN_IF_ERROR(core::WriteAll(fd.get(), bytes.data(), bytes.size()));
  if (::fsync(fd.get()) != 0) return core::ErrnoToStatus(errno, Cat("fsync ", path.string()));
  return absl::OkStatus();
}

// The label delay of a transaction: spread evenly over [min, max] by its id, so that
// the same run of the demo sends the same labels at the same simulated times.
int64_t LabelDelay(uint64_t id, int64_t min, int64_t max) {
  uint64_t h = id * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  return min + static_cast<int64_t>(h % static_cast<uint64_t>(std::max<int64_t>(max - min, 1)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<DemoReplay>> DemoReplay::Create(
    const ReplayOptions& options, std::shared_ptr<core::SimulatedClock> clock) {
  if (options.history_days < 2) {
    return absl::InvalidArgumentError("the history needs at least 2 days");
  }
  ASSIGN_OR_RETURN(demo::World world, demo::World::Create(options.world));
  auto replay = std::unique_ptr<DemoReplay>(new DemoReplay(options, clock, std::move(world)));
  // The history: the same days `ferry demo generate` writes for these options.
  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec) return core::ErrnoToStatus(ec.value(), Cat("creating ", options.data_dir.string()));
  std::string transactions(demo::kTransactionsHeader);
  std::string customers(demo::kCustomerDailyHeader);
  std::string merchants(demo::kMerchantDailyHeader);
  demo::GeneratedWorld& h = replay->history_;
  for (int64_t d = 0; d < options.history_days; ++d) {
    demo::WorldDay day = replay->world_.NextDay();
    demo::AppendTransactionsCsv(day.transactions, transactions);
    h.transactions += day.transactions.size();
    for (const demo::Transaction& t : day.transactions) h.fraud += t.fraud ? 1 : 0;
    h.customer_rows +=
        std::count(day.customer_daily_rows.begin(), day.customer_daily_rows.end(), '\n');
    h.merchant_rows +=
        std::count(day.merchant_daily_rows.begin(), day.merchant_daily_rows.end(), '\n');
    customers += day.customer_daily_rows;
    merchants += day.merchant_daily_rows;
  }
  h.bytes = transactions.size() + customers.size() + merchants.size();
  RETURN_IF_ERROR(core::WriteFileAtomically(options.data_dir / "transactions.csv", transactions));
  RETURN_IF_ERROR(core::WriteFileAtomically(options.data_dir / "customer_daily.csv", customers));
  RETURN_IF_ERROR(core::WriteFileAtomically(options.data_dir / "merchant_daily.csv", merchants));
  replay->next_export_ = replay->live_start_micros() + options.export_every.count();
  return replay;
}

DemoReplay::DemoReplay(const ReplayOptions& options, std::shared_ptr<core::SimulatedClock> clock,
                       demo::World world)
    : options_(options),
      clock_(std::move(clock)),
      world_(std::move(world)),
      http_("127.0.0.1", options.port, std::chrono::seconds(60)) {}

int64_t DemoReplay::live_start_micros() const {
  return options_.world.start_micros + options_.history_days * kMicrosPerDay;
}

absl::Status DemoReplay::Upload(std::string_view dataset, const fs::path& file,
                                std::string_view message) {
  ASSIGN_OR_RETURN(std::string bytes, core::ReadFileToString(file, 1ull << 34));
  std::string target =
      Cat("/api/v1/datasets/", dataset, "/versions?filename=", dataset, ".csv&message=");
  for (const char c : message) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') {
      target += c;
    } else {
      target += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  ASSIGN_OR_RETURN(server::HttpReply reply, http_.Call("POST", target, bytes, "text/csv"));
  if (reply.status != 200 && reply.status != 201) {
    return absl::InternalError(
        Cat("uploading ", dataset, ": HTTP ", reply.status, " ", reply.body.substr(0, 300)));
  }
  ++counters_.exports;
  return absl::OkStatus();
}

absl::Status DemoReplay::UploadHistory() {
  const std::string message = fmt::format("history: {} days", options_.history_days);
  for (const char* name : {"transactions", "customer_daily", "merchant_daily"}) {
    RETURN_IF_ERROR(Upload(name, options_.data_dir / Cat(name, ".csv"), message));
  }
  return absl::OkStatus();
}

absl::Status DemoReplay::EnsureDay(int64_t micros) {
  const int64_t day = (micros - options_.world.start_micros) / kMicrosPerDay;
  if (have_day_ && day_.day == day) return absl::OkStatus();
  if (have_day_) RETURN_IF_ERROR(ExportDay());  // the previous day has ended
  day_ = world_.NextDay();
  have_day_ = true;
  next_payment_ = 0;
  if (day_.day != day) {
    return absl::InternalError(Cat("the world is at day ", day_.day, ", the clock at day ", day));
  }
  return absl::OkStatus();
}

absl::Status DemoReplay::AdvanceTo(int64_t until) {
  until = std::max(until, clock_->NowMicros());
  while (true) {
    RETURN_IF_ERROR(EnsureDay(clock_->NowMicros()));
    const int64_t day_end = day_.start_micros + kMicrosPerDay;
    const int64_t step_end = std::min({until, day_end, next_export_});
    // Payments up to step_end, each at its own time.
    while (next_payment_ < day_.transactions.size() &&
           day_.transactions[next_payment_].event_micros < step_end) {
      const demo::Transaction& t = day_.transactions[next_payment_++];
      const int64_t now = clock_->NowMicros();
      if (t.event_micros > now) clock_->Advance(std::chrono::microseconds(t.event_micros - now));
      RETURN_IF_ERROR(SendDueLabels(clock_->NowMicros()));
      RETURN_IF_ERROR(Pay(t, clock_->NowMicros()));
    }
    const int64_t now = clock_->NowMicros();
    if (step_end > now) clock_->Advance(std::chrono::microseconds(step_end - now));
    RETURN_IF_ERROR(SendDueLabels(clock_->NowMicros()));
    if (clock_->NowMicros() >= next_export_) {
      RETURN_IF_ERROR(ExportTransactions(clock_->NowMicros()));
      next_export_ += options_.export_every.count();
    }
    if (step_end >= until) return absl::OkStatus();
  }
}

absl::Status DemoReplay::Pay(const demo::Transaction& t, int64_t now) {
  // The payment stream writes the payment into the online store as it happens...
  const std::string id = demo::World::TransactionId(t.id);
  body_.clear();
  fmt::format_to(std::back_inserter(body_),
                 R"({{"view":"transaction","rows":[{{"transaction_id":"{}","event_timestamp":{},)"
                 R"("amount":{:.2f},"hour":{},"online":{},"foreign":{}}}]}})",
                 id, t.event_micros, t.amount, t.hour, t.online ? 1 : 0, t.foreign ? 1 : 0);
  ASSIGN_OR_RETURN(server::HttpReply pushed, http_.Call("POST", "/api/v1/features/push", body_));
  if (pushed.status != 200) {
    return absl::InternalError(
        Cat("pushing a payment: HTTP ", pushed.status, " ", pushed.body.substr(0, 300)));
  }
  // ... and the fraud check asks with the keys alone: every input comes from the store.
  body_.clear();
  fmt::format_to(
      std::back_inserter(body_),
      R"({{"instances":[{{"transaction_id":"{}","customer_id":"{}","merchant_id":"{}"}}]}})", id,
      demo::World::CustomerId(t.customer), demo::World::MerchantId(t.merchant));
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<server::HttpReply> reply = http_.Call("POST", "/v1/models/fraud:predict", body_);
  const float latency_ms =
      std::chrono::duration<float, std::milli>(std::chrono::steady_clock::now() - start).count();
  ++counters_.requests;
  PendingLabel label;
  label.due = t.event_micros +
              LabelDelay(t.id, options_.min_label_delay.count(), options_.max_label_delay.count());
  label.transaction = t;
  if (!reply.ok() || reply->status != 200) {
    ++counters_.failed_requests;
    if (counters_.first_failure.empty()) {
      counters_.first_failure = reply.ok() ? Cat("HTTP ", reply->status, " ", reply->body)
                                           : std::string(reply.status().message());
    }
    labels_.push(std::move(label));  // the payment happened; it is exported all the same
    return absl::OkStatus();
  }
  json answer = json::parse(reply->body, nullptr, false);
  if (answer.is_discarded() || !answer.contains("prediction_ids")) {
    ++counters_.failed_requests;
    if (counters_.first_failure.empty()) counters_.first_failure = reply->body.substr(0, 300);
    labels_.push(std::move(label));
    return absl::OkStatus();
  }
  label.prediction_id = answer["prediction_ids"][0].get<std::string>();
  ServedPayment served;
  served.at = now;
  served.version = std::stoi(answer.value("model_version", std::string("0")));
  served.score = answer["predictions"][0].get<float>();
  served.fraud = t.fraud;
  served.latency_ms = latency_ms;
  payments_.push_back(served);
  labels_.push(std::move(label));
  return absl::OkStatus();
}

absl::Status DemoReplay::SendDueLabels(int64_t now) {
  // A prediction reaches the log within its flush interval (100 ms of real time), which
  // can be less than the simulated hours the label waits: a label the server does not
  // know yet is sent again a little later, up to three times.
  constexpr int kMaxResends = 3;
  constexpr int64_t kResendAfter = 10LL * 60 * 1'000'000;
  while (!labels_.empty() && labels_.top().due <= now) {
    std::vector<PendingLabel> batch;
    json feedback = json::array();
    while (!labels_.empty() && labels_.top().due <= now && batch.size() < kMaxFeedbackBatch) {
      PendingLabel l = labels_.top();
      labels_.pop();
      if (l.resent == 0) unexported_.push_back(l.transaction);
      if (l.prediction_id.empty()) continue;
      feedback.push_back(
          {{"prediction_id", l.prediction_id}, {"label", l.transaction.fraud ? 1 : 0}});
      batch.push_back(std::move(l));
    }
    if (feedback.empty()) continue;
    ASSIGN_OR_RETURN(server::HttpReply reply,
                     http_.Call("POST", "/api/v1/feedback", json{{"feedback", feedback}}.dump()));
    if (reply.status != 200) {
      return absl::InternalError(
          Cat("feedback: HTTP ", reply.status, " ", reply.body.substr(0, 300)));
    }
    const json answer = json::parse(reply.body, nullptr, false);
    std::set<std::string> unknown;
    if (answer.is_object() && answer.contains("unknown_ids")) {
      for (const json& id : answer["unknown_ids"]) unknown.insert(id.get<std::string>());
    }
    for (PendingLabel& l : batch) {
      if (!unknown.contains(l.prediction_id)) {
        ++counters_.labels_sent;
      } else if (l.resent < kMaxResends) {
        ++l.resent;
        l.due = now + kResendAfter;
        labels_.push(std::move(l));
      } else {
        ++counters_.labels_unknown;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status DemoReplay::ExportTransactions(int64_t now) {
  if (unexported_.empty()) return absl::OkStatus();
  std::sort(unexported_.begin(), unexported_.end(),
            [](const demo::Transaction& a, const demo::Transaction& b) {
              return a.event_micros != b.event_micros ? a.event_micros < b.event_micros
                                                      : a.id < b.id;
            });
  std::string rows;
  demo::AppendTransactionsCsv(unexported_, rows);
  const fs::path file = options_.data_dir / "transactions.csv";
  RETURN_IF_ERROR(AppendToFile(file, rows));
  const std::string message = fmt::format("{} labelled transactions up to {}", unexported_.size(),
                                          core::FormatTimestamp(now).substr(0, 16));
  unexported_.clear();
  return Upload("transactions", file, message);
}

absl::Status DemoReplay::ExportDay() {
  const std::string day = core::FormatTimestamp(day_.start_micros).substr(0, 10);
  RETURN_IF_ERROR(AppendToFile(options_.data_dir / "customer_daily.csv", day_.customer_daily_rows));
  RETURN_IF_ERROR(AppendToFile(options_.data_dir / "merchant_daily.csv", day_.merchant_daily_rows));
  RETURN_IF_ERROR(Upload("customer_daily", options_.data_dir / "customer_daily.csv",
                         Cat("aggregates of ", day)));
  RETURN_IF_ERROR(Upload("merchant_daily", options_.data_dir / "merchant_daily.csv",
                         Cat("aggregates of ", day)));
  ASSIGN_OR_RETURN(server::HttpReply reply,
                   http_.Call("POST", "/api/v1/features/materialize", R"({"incremental": true})"));
  if (reply.status != 200) {
    return absl::InternalError(
        Cat("materializing: HTTP ", reply.status, " ", reply.body.substr(0, 300)));
  }
  return absl::OkStatus();
}

}  // namespace ferry::cli
