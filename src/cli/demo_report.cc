#include "cli/demo_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"
#include "lineage/lineage_graph.h"
#include "registry/lineage_view.h"
#include "stats/quality.h"
#include "table/value_parse.h"

namespace ferry::cli {
namespace {

using core::Cat;
using nlohmann::json;

absl::StatusOr<json> Get(server::HttpConnection& api, const std::string& target,
                         bool missing_ok = false) {
  ASSIGN_OR_RETURN(server::HttpReply reply, api.Call("GET", target));
  if (missing_ok && reply.status == 404) return json(nullptr);
  if (reply.status != 200) {
    return absl::InternalError(
        Cat("GET ", target, ": HTTP ", reply.status, " ", reply.body.substr(0, 300)));
  }
  json parsed = json::parse(reply.body, nullptr, false);
  if (parsed.is_discarded()) return absl::InternalError(Cat("GET ", target, ": not JSON"));
  return parsed;
}

std::vector<json> SortedBy(const json& list, const char* key) {
  std::vector<json> out;
  if (list.is_array()) out.assign(list.begin(), list.end());
  std::stable_sort(out.begin(), out.end(), [key](const json& a, const json& b) {
    return JsonInt(a, key) < JsonInt(b, key);
  });
  return out;
}

// "01-30 02:15:07" of a simulated time.
std::string When(int64_t micros) {
  std::string t = core::FormatTimestamp(micros).substr(5, 14);
  t[5] = ' ';
  return t;
}

std::string FirstLine(std::string text) {
  if (const size_t nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
  return text;
}

const json* Step(const json& run, std::string_view id) {
  const auto steps = run.find("steps");
  if (steps == run.end() || !steps->is_array()) return nullptr;
  for (const json& step : *steps) {
    if (JsonText(step, "step") == id) return &step;
  }
  return nullptr;
}

// The version a run's register step made, 0 when none.
int64_t RegisteredVersion(const json& run) {
  const json* step = Step(run, "register");
  if (step == nullptr || JsonText(*step, "state") != "succeeded") return 0;
  const json outputs = step->value("outputs", json::object());
  if (!outputs.contains("model_version")) return 0;
  const std::string ref = JsonText(outputs["model_version"], "ref");  // "fraud@2"
  const size_t at = ref.find('@');
  return at == std::string::npos ? 0 : std::atoll(ref.c_str() + at + 1);
}

int64_t PromotedAt(const DemoRecord& record) {
  for (const json& e : record.rollout_events) {
    if (JsonText(e, "type") == "promoted") return JsonTime(e, "at");
  }
  return 0;
}

struct Period {
  std::string name;
  int64_t from = 0;
  int64_t to = 0;
};

struct PeriodFigures {
  uint64_t payments = 0;
  uint64_t fraud = 0;
  std::map<int32_t, uint64_t> versions;
  std::optional<double> auc;
  double p50 = 0;
  double p99 = 0;
};

PeriodFigures Figures(const std::vector<ServedPayment>& payments, int64_t from, int64_t to) {
  PeriodFigures f;
  std::vector<double> scores;
  std::vector<double> labels;
  std::vector<float> latencies;
  for (const ServedPayment& p : payments) {
    if (p.at < from || p.at >= to) continue;
    ++f.payments;
    f.fraud += p.fraud ? 1 : 0;
    ++f.versions[p.version];
    scores.push_back(p.score);
    labels.push_back(p.fraud ? 1.0 : 0.0);
    latencies.push_back(p.latency_ms);
  }
  if (!scores.empty()) {
    absl::StatusOr<std::optional<double>> auc = stats::Auc(scores, labels);
    if (auc.ok()) f.auc = *auc;
    std::sort(latencies.begin(), latencies.end());
    f.p50 = latencies[latencies.size() / 2];
    f.p99 = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  }
  return f;
}

std::vector<Period> Periods(const DemoRecord& record, const DemoFacts& facts) {
  const int64_t promoted = PromotedAt(record);
  std::vector<Period> periods = {{"before the change", facts.live_start, facts.change_at}};
  if (promoted > facts.change_at) {
    periods.push_back({"after it, until promotion", facts.change_at, promoted});
    periods.push_back({"after promotion", promoted, facts.live_end + 1});
  } else {
    periods.push_back({"after the change", facts.change_at, facts.live_end + 1});
  }
  periods.push_back({"all", facts.live_start, facts.live_end + 1});
  return periods;
}

std::string Auc(const std::optional<double>& auc) {
  return auc ? fmt::format("{:.3f}", *auc) : std::string("-");
}

}  // namespace

int64_t JsonInt(const json& object, const char* key, int64_t fallback) {
  if (!object.is_object()) return fallback;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return fallback;
  return it->get<int64_t>();
}

double JsonNumber(const json& object, const char* key, double fallback) {
  if (!object.is_object()) return fallback;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return fallback;
  return it->get<double>();
}

std::string JsonText(const json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

int64_t JsonTime(const json& object, const char* key) {
  return table::ParseTimestamp(JsonText(object, key)).value_or(0);
}

absl::StatusOr<DemoRecord> ReadDemoRecord(server::HttpConnection& api) {
  DemoRecord record;
  ASSIGN_OR_RETURN(json runs, Get(api, "/api/v1/pipelines/fraud_retrain/runs?limit=1000"));
  for (const json& run : SortedBy(runs["runs"], "number")) {
    ASSIGN_OR_RETURN(json full, Get(api, Cat("/api/v1/pipeline-runs/", JsonText(run, "id"))));
    record.runs.push_back(std::move(full));
  }
  ASSIGN_OR_RETURN(json history, Get(api, "/api/v1/alerts/history?limit=1000"));
  record.alert_history = SortedBy(history["history"], "id");
  ASSIGN_OR_RETURN(json rollout, Get(api, "/api/v1/endpoints/fraud/rollout", true));
  if (!rollout.is_null()) {
    record.rollout_events = SortedBy(rollout["events"], "seq");
    std::stable_sort(record.rollout_events.begin(), record.rollout_events.end(),
                     [](const json& a, const json& b) {
                       return JsonInt(a, "rollout_id") < JsonInt(b, "rollout_id");
                     });
  }
  ASSIGN_OR_RETURN(record.model, Get(api, "/api/v1/models/fraud"));
  ASSIGN_OR_RETURN(record.endpoint, Get(api, "/api/v1/endpoints/fraud"));
  ASSIGN_OR_RETURN(json versions, Get(api, "/api/v1/datasets/transactions/versions?limit=1000"));
  record.transactions = SortedBy(versions["versions"], "version");
  return record;
}

void PrintTimeline(std::ostream& out, const DemoRecord& record, const DemoFacts& facts) {
  std::vector<std::pair<int64_t, std::string>> events;
  events.push_back({facts.live_start, "live traffic starts (the demo's clock)"});
  events.push_back({facts.change_at,
                    "THE WORLD CHANGES (the demo's world): larger amounts, more online "
                    "payments, a new form of fraud"});
  if (!record.transactions.empty()) {
    const json& first = record.transactions.front();
    events.push_back(
        {JsonTime(first, "created_at"),
         fmt::format("dataset {}  {} rows  sha256:{}  ({})", JsonText(first, "ref"),
                     JsonInt(first, "rows"), JsonText(first, "content_sha256").substr(0, 12),
                     JsonText(first, "message"))});
  }
  for (const json& run : record.runs) {
    std::string inputs;
    const json run_inputs = run.value("inputs", json::object());
    for (const auto& [name, value] : run_inputs.items()) {
      inputs += Cat(inputs.empty() ? "" : ", ", JsonText(value, "ref"),
                    " (sha256:", JsonText(value, "sha256").substr(0, 12), ")");
    }
    events.push_back(
        {JsonTime(run, "started_at"),
         fmt::format("pipeline run {} starts (trigger: {} {}; actor {}), reads {}",
                     JsonInt(run, "number"), JsonText(run, "trigger"),
                     JsonText(run, "trigger_detail"), JsonText(run, "actor"), inputs)});
    for (const char* id : {"train", "evaluate", "register", "canary"}) {
      const json* step = Step(run, id);
      if (step == nullptr || JsonTime(*step, "ended_at") == 0) continue;
      const std::string error = FirstLine(JsonText(*step, "error"));
      events.push_back({JsonTime(*step, "ended_at"),
                        fmt::format("  step {} {}: {}", id, JsonText(*step, "state"),
                                    error.empty() ? FirstLine(JsonText(*step, "note")) : error)});
    }
    const int64_t seconds = (JsonTime(run, "ended_at") - JsonTime(run, "started_at")) / 1'000'000;
    events.push_back({JsonTime(run, "ended_at"),
                      fmt::format("pipeline run {} {} in {} s", JsonInt(run, "number"),
                                  JsonText(run, "state"), seconds)});
  }
  for (const json& change : record.model.value("alias_history", json::array())) {
    const int64_t version = JsonInt(change, "version");
    const int64_t previous = JsonInt(change, "previous_version");
    events.push_back(
        {JsonTime(change, "at"),
         fmt::format("alias fraud@{} {}{} by {}: {}", JsonText(change, "alias"),
                     version ? fmt::format("-> fraud@{}", version) : std::string("removed"),
                     previous ? fmt::format(" (was fraud@{})", previous) : std::string(),
                     JsonText(change, "actor"), JsonText(change, "reason"))});
  }
  for (const json& h : record.alert_history) {
    std::string labels;
    for (const char* key : {"version"}) {
      if (h["labels"].contains(key))
        labels = Cat(" (fraud@", h["labels"][key].get<std::string>(), ")");
    }
    events.push_back({JsonTime(h, "at"),
                      fmt::format("alert {}{} {} -> {}, value {:.4g}", JsonText(h, "rule"), labels,
                                  JsonText(h, "from"), JsonText(h, "to"), JsonNumber(h, "value"))});
  }
  for (const json& e : record.rollout_events) {
    events.push_back(
        {JsonTime(e, "at"), fmt::format("rollout {} {} at {}% by {}: {}", JsonInt(e, "rollout_id"),
                                        JsonText(e, "type"), JsonInt(e, "weight"),
                                        JsonText(e, "actor"), JsonText(e, "reason"))});
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [at, text] : events) out << When(at) << "  " << text << "\n";
  if (record.transactions.size() > 1) {
    out << fmt::format(
        "(and {} more versions of transactions exported every 6 h, the last "
        "{} with {} rows)\n",
        record.transactions.size() - 1, JsonText(record.transactions.back(), "ref"),
        JsonInt(record.transactions.back(), "rows"));
  }
}

absl::Status PrintProductionLineage(std::ostream& out, store::Workspace& workspace,
                                    pipeline::PipelineServices& services) {
  ASSIGN_OR_RETURN(registry::ModelRef ref, registry::ParseModelRef("fraud@production"));
  ASSIGN_OR_RETURN(registry::ModelVersion v, services.registry->Resolve(ref));
  ASSIGN_OR_RETURN(registry::LineageView view,
                   registry::BuildLineageView(workspace, *services.datasets, *services.tracking,
                                              *services.registry,
                                              {std::string(lineage::kind::kModelVersion), v.Ref()},
                                              lineage::Direction::kUpstream));
  out << "ferry models lineage fraud@production\n" << registry::LineageViewToText(view);
  return absl::OkStatus();
}

void PrintSummary(std::ostream& out, const DemoRecord& record, const DemoFacts& facts) {
  out << fmt::format("{:<27} {:>9} {:>6}  {:<24} {:>6}  {:>7} {:>7}\n", "PERIOD", "PAYMENTS",
                     "FRAUD", "SERVED BY", "AUC", "P50 MS", "P99 MS");
  for (const Period& p : Periods(record, facts)) {
    const PeriodFigures f = Figures(*facts.payments, p.from, p.to);
    std::string served;
    for (const auto& [version, n] : f.versions) {
      served += fmt::format("{}fraud@{} {:.0f}%", served.empty() ? "" : ", ", version,
                            100.0 * n / std::max<uint64_t>(f.payments, 1));
    }
    out << fmt::format("{:<27} {:>9} {:>5.1f}%  {:<24} {:>6}  {:>7.3f} {:>7.3f}\n", p.name,
                       f.payments, 100.0 * f.fraud / std::max<uint64_t>(f.payments, 1), served,
                       Auc(f.auc), f.p50, f.p99);
  }
  out << fmt::format(
      "requests {} ({} failed); AUC from the scores the clients received and "
      "the true labels; latency as the client measured it over HTTP\n",
      facts.counters.requests, facts.counters.failed_requests);
}

std::vector<LoopCheck> CheckLoop(const DemoRecord& record, const DemoFacts& facts) {
  std::vector<LoopCheck> checks;
  const auto check = [&](std::string name, bool passed, std::string detail) {
    checks.push_back({std::move(name), passed, std::move(detail)});
  };
  // 1. The first model.
  const json* first = record.runs.empty() ? nullptr : &record.runs.front();
  check("first model",
        first != nullptr && JsonText(*first, "state") == "succeeded" &&
            RegisteredVersion(*first) == 1,
        first == nullptr ? "no pipeline run"
                         : fmt::format("run 1 {}, registered fraud@{}", JsonText(*first, "state"),
                                       RegisteredVersion(*first)));
  // 2. Traffic served.
  const uint64_t requests = facts.counters.requests;
  const uint64_t failed = facts.counters.failed_requests;
  check("traffic", requests > 0 && failed * 1000 <= requests,
        fmt::format("{} requests, {} failed{}", requests, failed,
                    facts.counters.first_failure.empty()
                        ? ""
                        : Cat(" (first: ", facts.counters.first_failure.substr(0, 120), ")")));
  check("feedback", facts.counters.labels_sent > 0 && facts.counters.labels_unknown == 0,
        fmt::format("{} labels, {} not matched to a prediction", facts.counters.labels_sent,
                    facts.counters.labels_unknown));
  // 3. Alerts: none before the change, both after it.
  int64_t drift_fired = 0;
  int64_t quality_fired = 0;
  std::string early;
  for (const json& h : record.alert_history) {
    if (JsonText(h, "to") != "firing") continue;
    const int64_t at = JsonTime(h, "at");
    if (at < facts.change_at) {
      early += Cat(early.empty() ? "" : ", ", JsonText(h, "rule"), " at ", When(at));
    } else if (JsonText(h, "rule") == "FraudFeatureDrift" && drift_fired == 0) {
      drift_fired = at;
    } else if (JsonText(h, "rule") == "FraudModelDegraded" && quality_fired == 0) {
      quality_fired = at;
    }
  }
  check(
      "no false alarm", early.empty(),
      early.empty() ? "no alert fired before the change" : Cat("fired before the change: ", early));
  check("drift detected", drift_fired > 0,
        drift_fired ? fmt::format("FraudFeatureDrift fired {:.1f} h after the change",
                                  (drift_fired - facts.change_at) / 3.6e9)
                    : "FraudFeatureDrift never fired after the change");
  check("quality drop detected", quality_fired > 0,
        quality_fired ? fmt::format("FraudModelDegraded fired {:.1f} h after the change",
                                    (quality_fired - facts.change_at) / 3.6e9)
                      : "FraudModelDegraded never fired after the change");
  // 4. The retrain the alert triggered.
  const json* retrain = nullptr;
  for (const json& run : record.runs) {
    if (JsonText(run, "trigger") == "alert" && JsonTime(run, "started_at") >= quality_fired &&
        quality_fired > 0 && JsonText(run, "state") == "succeeded" && RegisteredVersion(run) > 1) {
      retrain = &run;
      break;
    }
  }
  const int64_t candidate = retrain ? RegisteredVersion(*retrain) : 0;
  std::string retrain_detail = "no alert-triggered run registered a new version";
  if (retrain != nullptr) {
    const json* evaluate = Step(*retrain, "evaluate");
    retrain_detail = fmt::format("run {} registered fraud@{}; {}", JsonInt(*retrain, "number"),
                                 candidate, evaluate ? FirstLine(JsonText(*evaluate, "note")) : "");
  }
  check("retrained and blessed", retrain != nullptr, retrain_detail);
  // 5. The canary, analysed and promoted by the controller.
  bool started = false;
  int advanced = 0;
  std::string promoted_by;
  for (const json& e : record.rollout_events) {
    const std::string type = JsonText(e, "type");
    if (type == "started") started = true;
    if (type == "advanced") ++advanced;
    if (type == "promoted") promoted_by = JsonText(e, "actor");
  }
  check("canary promoted", started && advanced > 0 && promoted_by == "rollout-controller",
        fmt::format("started: {}, advanced {} time(s), promoted by {}", started ? "yes" : "no",
                    advanced, promoted_by.empty() ? "nobody" : promoted_by));
  // 6. Production is the new version, and the endpoint serves it.
  const int64_t production =
      record.model.contains("aliases") && record.model["aliases"].contains("production")
          ? record.model["aliases"]["production"].get<int64_t>()
          : 0;
  check(
      "new production",
      candidate > 1 && production == candidate && JsonInt(record.endpoint, "version") == candidate,
      fmt::format("fraud@production -> {}, endpoint fraud serves version {}", production,
                  JsonInt(record.endpoint, "version")));
  // 7. Quality came back.
  const int64_t promoted = PromotedAt(record);
  if (promoted > 0) {
    const PeriodFigures before = Figures(*facts.payments, facts.change_at, promoted);
    const PeriodFigures after = Figures(*facts.payments, promoted, facts.live_end + 1);
    check("quality recovered", before.auc && after.auc && *after.auc >= *before.auc + 0.05,
          fmt::format("AUC {} after the change, {} after promotion", Auc(before.auc),
                      Auc(after.auc)));
  } else {
    check("quality recovered", false, "nothing was promoted");
  }
  return checks;
}

}  // namespace ferry::cli
