#include "serving/shared_figures.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <optional>

#include "core/host.h"
#include "core/status.h"
#include "core/strings.h"
#include "table/base64.h"

namespace ferry::serving {
namespace {

using core::Cat;
using store::Row;
using store::Transaction;

constexpr std::string_view kStable = "stable";
constexpr std::string_view kCandidate = "candidate";
constexpr char kWindowColumns[] = "requests, errors, latency_sketch, scores, scores_seen";

absl::Status Damaged(std::string_view what) {
  return absl::DataLossError(Cat("rollout figures: ", what));
}

// A window from the columns kWindowColumns, starting at `first`. DataLoss when damaged.
absl::StatusOr<FiguresWindow> WindowFromRow(const Row& row, size_t first) {
  FiguresWindow window;
  window.requests = row.Int(first);
  window.errors = row.Int(first + 1);
  std::optional<std::string> sketch = table::Base64Decode(row.Text(first + 2));
  if (!sketch) return Damaged("latency sketch is not base64");
  absl::StatusOr<stats::DDSketch> latency = stats::DDSketch::FromBytes(*sketch);
  if (!latency.ok()) return Damaged(core::View(latency.status().message()));
  window.latency = *std::move(latency);
  ASSIGN_OR_RETURN(window.scores, DecodeScores(row.Text(first + 3)));
  window.scores_seen = row.Int(first + 4);
  if (window.requests < 0 || window.errors < 0 || window.errors > window.requests ||
      window.scores_seen < static_cast<int64_t>(window.scores.size())) {
    return Damaged("counts do not add up");
  }
  return window;
}

}  // namespace

std::string EncodeScores(const std::vector<double>& scores) {
  std::string out;
  out.reserve(scores.size() * 12 + 2);
  out.push_back('[');
  char buffer[32];
  for (size_t i = 0; i < scores.size(); ++i) {
    if (i > 0) out.push_back(',');
    // Scores are model outputs, float32: the shortest float form reads back exactly.
    const auto [end, ec] =
        std::to_chars(buffer, buffer + sizeof(buffer), static_cast<float>(scores[i]));
    out.append(buffer, ec == std::errc() ? end : buffer);
  }
  out.push_back(']');
  return out;
}

absl::StatusOr<std::vector<double>> DecodeScores(std::string_view text) {
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') {
    return Damaged("scores are not an array");
  }
  text = text.substr(1, text.size() - 2);
  std::vector<double> scores;
  while (!text.empty()) {
    if (scores.size() == FiguresWindow::kMaxScores) return Damaged("too many scores");
    float score = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), score);
    if (ec != std::errc()) return Damaged("a score is not a number");
    scores.push_back(score);
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    if (text.empty()) break;
    if (text.front() != ',' || text.size() == 1) return Damaged("scores are not an array");
    text.remove_prefix(1);
  }
  return scores;
}

std::string SharedFigures::NewServerId() {
  std::random_device random;
  const uint64_t nonce = (uint64_t{random()} << 32) ^ random();
  char hex[17];
  const auto [end, ec] = std::to_chars(hex, hex + 16, nonce, 16);
  return Cat(core::HostName(), "/", ::getpid(), "/", std::string_view(hex, end - hex));
}

SharedFigures::SharedFigures(store::Workspace& workspace, EndpointManager& endpoints,
                             std::string server_id)
    : workspace_(workspace),
      endpoints_(endpoints),
      server_id_(std::move(server_id)),
      rng_(std::random_device{}()) {}

absl::Status SharedFigures::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  struct Pending {
    RolloutLiveFigures live;
    RolloutWindows windows;
  };
  std::vector<Pending> pending;
  for (RolloutLiveFigures& live : endpoints_.LiveRolloutFigures()) {
    RolloutWindows windows{live.stable->Take(), live.candidate->Take()};
    if (windows.stable.empty() && windows.candidate.empty()) continue;
    pending.push_back({std::move(live), std::move(windows)});
  }
  if (pending.empty()) return absl::OkStatus();
  const int64_t now = workspace_.clock().NowMicros();
  // Adds one side's window to this server's row (the callback leaves `window` as it was,
  // so it can be given back when the transaction fails).
  const auto add = [&](Transaction& tx, int64_t rollout_id, std::string_view side,
                       const FiguresWindow& window) -> absl::Status {
    if (window.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::optional<Row> row,
                     tx.QueryOptional(Cat("SELECT ", kWindowColumns,
                                          " FROM rollout_figures"
                                          " WHERE rollout_id = ? AND side = ? AND server_id = ?"),
                                      {rollout_id, side, server_id_}));
    FiguresWindow merged = window;
    if (row) {
      absl::StatusOr<FiguresWindow> published = WindowFromRow(*row, 0);
      absl::Status status = published.status();
      if (published.ok()) status = MergeWindow(merged, *std::move(published), rng_);
      if (!status.ok()) {
        spdlog::warn("rollouts: replacing this server's figures of rollout {} ({}): {}", rollout_id,
                     side, core::View(status.message()));
        merged = window;
      }
    }
    const store::Value values[] = {now,
                                   merged.requests,
                                   merged.errors,
                                   table::Base64Encode(merged.latency.ToBytes()),
                                   EncodeScores(merged.scores),
                                   merged.scores_seen,
                                   rollout_id,
                                   side,
                                   server_id_};
    return tx
        .Execute(row ? "UPDATE rollout_figures SET flushed_at = ?, requests = ?, errors = ?,"
                       " latency_sketch = ?, scores = ?, scores_seen = ?"
                       " WHERE rollout_id = ? AND side = ? AND server_id = ?"
                     : "INSERT INTO rollout_figures (flushed_at, requests, errors,"
                       " latency_sketch, scores, scores_seen, rollout_id, side, server_id)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 values)
        .status();
  };
  absl::Status status = workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    for (const Pending& p : pending) {
      ASSIGN_OR_RETURN(
          std::optional<Row> phase,
          tx.QueryOptional("SELECT phase FROM rollouts WHERE id = ?", {p.live.rollout_id}));
      // A rollout that ended meanwhile wants no more figures (its rows are gone).
      if (!phase ||
          !IsActive(ParseRolloutPhase(phase->Text(0)).value_or(RolloutPhase::kRolledBack))) {
        continue;
      }
      RETURN_IF_ERROR(add(tx, p.live.rollout_id, kStable, p.windows.stable));
      RETURN_IF_ERROR(add(tx, p.live.rollout_id, kCandidate, p.windows.candidate));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) {
    for (Pending& p : pending) {
      p.live.stable->Restore(std::move(p.windows.stable));
      p.live.candidate->Restore(std::move(p.windows.candidate));
    }
  }
  return status;
}

absl::StatusOr<RolloutWindows> SharedFigures::Take(const Rollout& rollout) {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<RolloutLiveFigures> live;
  for (RolloutLiveFigures& l : endpoints_.LiveRolloutFigures()) {
    if (l.endpoint == rollout.endpoint && l.rollout_id == rollout.id) live = std::move(l);
  }
  RolloutWindows own;
  if (live) own = {live->stable->Take(), live->candidate->Take()};
  RolloutWindows merged;
  absl::Status status = workspace_.metadata().Write([&](Transaction& tx) -> absl::Status {
    merged = own;
    // A controller with an old view of the rollout (another one analysed it meanwhile)
    // would take a window it cannot apply: it leaves it for the next analysis instead.
    ASSIGN_OR_RETURN(
        std::optional<Row> current,
        tx.QueryOptional("SELECT generation FROM rollouts WHERE id = ?", {rollout.id}));
    if (!current || current->Int(0) != rollout.generation) {
      return absl::AbortedError(Cat("rollout ", rollout.id, " on endpoint ", rollout.endpoint,
                                    " changed since generation ", rollout.generation));
    }
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx.Query(Cat("SELECT side, server_id, ", kWindowColumns,
                                  " FROM rollout_figures WHERE rollout_id = ?"),
                              {rollout.id}));
    for (const Row& row : rows) {
      const std::string& side = row.Text(0);
      absl::StatusOr<FiguresWindow> published = WindowFromRow(row, 2);
      absl::Status added = published.status();
      if (side != kStable && side != kCandidate) {
        added = Damaged(Cat("unknown side \"", side, "\""));
      } else if (published.ok()) {
        FiguresWindow& into = side == kStable ? merged.stable : merged.candidate;
        added = MergeWindow(into, *std::move(published), rng_);
      }
      if (!added.ok()) {
        spdlog::warn("rollouts: {}: leaving out the figures of server {} ({}): {}",
                     rollout.endpoint, row.Text(1), row.Text(0), core::View(added.message()));
      }
    }
    return tx.Execute("DELETE FROM rollout_figures WHERE rollout_id = ?", {rollout.id}).status();
  });
  if (!status.ok()) {
    if (live) {
      live->stable->Restore(std::move(own.stable));
      live->candidate->Restore(std::move(own.candidate));
    }
    return status;
  }
  return merged;
}

}  // namespace ferry::serving
