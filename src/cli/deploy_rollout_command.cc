// `ferry deploy ENDPOINT --canary|--shadow NAME@V`, `ferry deploy promote|rollback|pause|
// resume ENDPOINT`, and the rollout section of `ferry deploy status`
// (serving::RolloutStore).

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli/deploy_rollout.h"
#include "cli/output.h"
#include "cli/registry_commands.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "features/feature_definitions.h"
#include "serving/rollout_store.h"

namespace ferry::cli {
namespace {

using core::Cat;
using nlohmann::json;
using serving::Rollout;
using serving::RolloutEvent;
using serving::RolloutKind;

constexpr size_t kMaxPolicyFileBytes = 1 << 20;
constexpr int64_t kStatusEvents = 20;

std::string FlagOf(std::string_view key) {
  std::string flag = Cat("--", key);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

std::string Time(int64_t micros) { return core::FormatTimestamp(micros).substr(0, 19); }

std::string Percent(int weight) { return Cat(weight, "%"); }

std::string Number(const json& value) {
  if (!value.is_number()) return "-";
  return fmt::format("{:.4g}", value.get<double>());
}

absl::StatusOr<std::unique_ptr<serving::RolloutStore>> OpenRollouts(store::Workspace& workspace) {
  return serving::RolloutStore::Open(workspace);
}

absl::StatusOr<serving::RolloutPolicy> PolicyFromFlags(CliContext& context, CLI::App& deploy,
                                                       const RolloutFlags& flags) {
  serving::RolloutPolicy policy;
  if (!flags.policy_file.empty()) {
    ASSIGN_OR_RETURN(std::string yaml,
                     core::ReadFileToString(context.env().current_dir / flags.policy_file,
                                            kMaxPolicyFileBytes));
    ASSIGN_OR_RETURN(policy, serving::ParseRolloutPolicyYaml(yaml, flags.policy_file));
  }
  for (const auto& [key, text] : flags.values) {
    if (deploy.get_option(FlagOf(key))->count() == 0) continue;
    RETURN_IF_ERROR(serving::SetRolloutPolicyField(policy, key, text));
  }
  if (!flags.webhooks.empty()) policy.webhooks = flags.webhooks;
  RETURN_IF_ERROR(serving::ValidateRolloutPolicy(policy));
  return policy;
}

void PrintEvent(std::ostream& out, const RolloutEvent& e) {
  out << "endpoint " << e.endpoint << ": " << e.type << " -> "
      << serving::RolloutPhaseName(e.phase) << ", candidate " << Percent(e.weight) << ": "
      << e.reason << "\n";
}

// The last analysis' checks: NAME, OUTCOME, VALUE, THRESHOLD, DETAIL.
void PrintChecks(std::ostream& out, const RolloutEvent& e) {
  out << "  last analysis     " << Time(e.at) << ", decision "
      << e.figures.value("decision", std::string("-")) << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"    CHECK", "OUTCOME", "VALUE", "THRESHOLD", "DETAIL"}};
  for (const json& c : e.figures["checks"]) {
    rows.push_back({Cat("    ", c.value("name", "")), c.value("outcome", ""), Number(c["value"]),
                    Number(c["threshold"]), c.value("detail", "")});
  }
  PrintTable(out, rows);
}

absl::Status RunVerb(CliContext& context, const std::string& verb, const std::string& endpoint,
                     const std::string& actor_flag, const std::string& reason, bool as_json) {
  ASSIGN_OR_RETURN(auto workspace, context.OpenWorkspace());
  ASSIGN_OR_RETURN(auto rollouts, OpenRollouts(*workspace));
  const std::string actor = Actor(context, actor_flag);
  absl::StatusOr<RolloutEvent> event;
  if (verb == "promote") {
    event = rollouts->Promote(endpoint, actor, reason);
  } else if (verb == "rollback") {
    event = rollouts->Rollback(endpoint, actor, reason);
  } else if (verb == "pause") {
    event = rollouts->Pause(endpoint, actor, reason);
  } else {
    event = rollouts->Resume(endpoint, actor, reason);
  }
  RETURN_IF_ERROR(event.status());
  if (as_json) {
    context.out() << serving::RolloutEventToJson(*event).dump() << "\n";
  } else {
    PrintEvent(context.out(), *event);
  }
  return absl::OkStatus();
}

}  // namespace

void AddRolloutFlags(CLI::App& deploy, RolloutFlags& flags) {
  deploy.add_option("--canary", flags.canary,
                    "Start a canary rollout of NAME@V: a growing share of traffic, analysed"
                    " against the version the endpoint serves");
  deploy.add_option("--shadow", flags.shadow,
                    "Start a shadow rollout of NAME@V: a copy of every request, its answers"
                    " compared, never returned");
  deploy.add_option("--policy", flags.policy_file,
                    "A YAML rollout policy (flags override it; docs/rollouts.md)");
  const std::map<std::string_view, std::string_view> help = {
      {"steps", "Candidate traffic percent per step (default 5,10,25,50,100)"},
      {"interval", "Analysis interval (default 60s)"},
      {"min_requests", "Requests per side before traffic checks count (default 200)"},
      {"failure_limit", "Failed analyses that roll back (default 2)"},
      {"max_error_rate_delta", "Allowed error rate increase (default 0.01)"},
      {"max_p99_ratio", "Allowed p99 latency ratio (default 1.2)"},
      {"max_prediction_shift", "Allowed Jensen-Shannon distance of scores (default 0.1)"},
      {"min_quality_delta", "Minimum quality improvement, negative allows worse (default -0.01)"},
      {"min_labels", "Labels per side before quality counts (default 100)"},
      {"sticky_key", "Request field whose hash keeps an entity on one model"},
      {"progress_deadline", "A step not advancing this long rolls back (default 10m)"}};
  for (const auto& [key, text] : help) {
    deploy.add_option(FlagOf(key), flags.values[std::string(key)], std::string(text));
  }
  deploy.add_option("--webhook", flags.webhooks,
                    "http:// URL that receives each transition as a JSON POST (repeatable)");
}

absl::Status RunStartRollout(CliContext& context, CLI::App& deploy, const std::string& endpoint,
                             const RolloutFlags& flags, const std::string& actor, bool as_json) {
  if (!flags.canary.empty() && !flags.shadow.empty()) {
    return absl::InvalidArgumentError("give one of --canary and --shadow, not both");
  }
  serving::StartRolloutOptions options;
  options.endpoint = endpoint;
  options.kind = flags.canary.empty() ? RolloutKind::kShadow : RolloutKind::kCanary;
  ASSIGN_OR_RETURN(options.candidate,
                   registry::ParseModelRef(flags.canary.empty() ? flags.shadow : flags.canary));
  ASSIGN_OR_RETURN(options.policy, PolicyFromFlags(context, deploy, flags));
  options.actor = actor;
  ASSIGN_OR_RETURN(auto workspace, context.OpenWorkspace());
  ASSIGN_OR_RETURN(auto rollouts, OpenRollouts(*workspace));
  ASSIGN_OR_RETURN(Rollout r, rollouts->Start(options));
  if (as_json) {
    context.out() << serving::RolloutToJson(r).dump() << "\n";
    return absl::OkStatus();
  }
  const serving::RolloutPolicy& p = r.policy;
  std::string steps;
  for (int step : p.steps) steps += Cat(steps.empty() ? "" : ",", step);
  std::ostream& out = context.out();
  if (r.kind == RolloutKind::kShadow) {
    out << "shadow rollout " << r.id << " on endpoint " << endpoint << ": " << r.CandidateRef()
        << " gets a copy of every request; " << r.model_name << "@" << r.stable_version
        << " answers\n";
  } else {
    out << "canary rollout " << r.id << " on endpoint " << endpoint << ": " << r.CandidateRef()
        << " at " << Percent(r.state.weight) << ", " << r.model_name << "@" << r.stable_version
        << " at " << Percent(100 - r.state.weight) << "\n";
    out << "  steps " << steps << ";";
  }
  out << (r.kind == RolloutKind::kShadow ? "  " : " ") << "analysis every " << features::FormatDuration(p.interval.count())
      << "; rolls back after " << p.failure_limit << " failed analyses";
  if (r.kind == RolloutKind::kCanary) {
    out << " or " << features::FormatDuration(p.progress_deadline.count())
        << " without progress";
  }
  out << "\n";
  return absl::OkStatus();
}

void AddRolloutVerbs(CLI::App& deploy, CliContext& context, absl::Status* result) {
  const std::pair<const char*, const char*> verbs[] = {
      {"promote", "Promote the endpoint's rollout now: its alias (or pinned version) moves to"
                  " the candidate"},
      {"rollback", "Roll the endpoint's rollout back; after a promotion, move production back"
                   " to the previous version (instant rollback)"},
      {"pause", "Pause the endpoint's rollout: the weight stays, no analysis runs"},
      {"resume", "Resume the endpoint's paused rollout"}};
  for (const auto& [name, description] : verbs) {
    CLI::App* verb = deploy.add_subcommand(name, description);
    struct Args {
      std::string endpoint, actor, reason;
      bool json = false;
    };
    auto args = std::make_shared<Args>();
    verb->add_option("ENDPOINT", args->endpoint, "Endpoint name")->required();
    verb->add_option("--actor", args->actor, "Who acts (default: $USER)");
    verb->add_option("--reason", args->reason, "Why (recorded with the event)");
    verb->add_flag("--json", args->json, "Print the event as JSON");
    verb->callback([&context, result, args, verb_name = std::string(name)] {
      *result = RunVerb(context, verb_name, args->endpoint, args->actor, args->reason, args->json);
    });
  }
}

absl::Status PrintRolloutStatus(store::Workspace& workspace, const std::string& endpoint,
                                std::ostream* text, json* out_json) {
  ASSIGN_OR_RETURN(auto rollouts, OpenRollouts(workspace));
  absl::StatusOr<Rollout> found = rollouts->Get(endpoint);
  if (found.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  RETURN_IF_ERROR(found.status());
  const Rollout& r = *found;
  ASSIGN_OR_RETURN(std::vector<RolloutEvent> events, rollouts->Events(endpoint, kStatusEvents));
  if (out_json) {
    (*out_json)["rollout"] = serving::RolloutToJson(r);
    json list = json::array();
    for (const RolloutEvent& e : events) {
      if (e.rollout_id == r.id) list.push_back(serving::RolloutEventToJson(e));
    }
    (*out_json)["rollout_events"] = std::move(list);
    return absl::OkStatus();
  }
  std::ostream& out = *text;
  const bool shadow = r.kind == RolloutKind::kShadow;
  out << "rollout " << r.id << ": " << serving::RolloutKindName(r.kind) << " of "
      << r.CandidateRef() << " against " << r.model_name << "@" << r.stable_version << "\n";
  out << "  phase             " << serving::RolloutPhaseName(r.state.phase) << "\n";
  if (!shadow) {
    out << "  step              " << r.state.step + 1 << "/" << r.policy.steps.size() << "\n";
  }
  if (serving::IsActive(r.state.phase)) {
    out << "  weights           stable "
        << (shadow ? std::string("100% / shadow gets a copy of every request")
                   : Cat(Percent(100 - r.state.weight), " / candidate ", Percent(r.state.weight)))
        << "\n";
  }
  out << "  failures          " << r.state.failures << "/" << r.policy.failure_limit << "\n";
  if (r.previous_version) {
    out << "  previous version  " << *r.previous_version << " (`ferry deploy rollback "
        << endpoint << "` restores it)\n";
  }
  const RolloutEvent* last = nullptr;
  for (const RolloutEvent& e : events) {
    if (e.rollout_id == r.id && e.figures.contains("checks")) last = &e;
  }
  if (last) PrintChecks(out, *last);
  out << "history\n";
  std::vector<std::vector<std::string>> rows = {{"  TIME", "TYPE", "WEIGHT", "BY", "REASON"}};
  for (const RolloutEvent& e : events) {
    if (e.rollout_id != r.id) continue;
    rows.push_back({Cat("  ", Time(e.at)), e.type, Percent(e.weight), e.actor, e.reason});
  }
  PrintTable(out, rows);
  return absl::OkStatus();
}

}  // namespace ferry::cli
