#pragma once

// What `ferry demo` prints after its live period, from what the platform recorded (read
// back over the HTTP API and, for lineage, from the registry), not from what the demo
// saw on the way: the timeline of the loop, the production model's lineage, a summary
// table, and the checks that each stage of the loop happened.
//
// Thread-safety: functions of their arguments.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/demo_replay.h"
#include "pipeline/pipeline_services.h"
#include "server/http_client.h"
#include "store/workspace.h"

namespace ferry::cli {

// The demo's own knowledge: when things happened in the world, what the clients saw.
struct DemoFacts {
  int64_t live_start = 0;
  int64_t change_at = 0;  // when the world changed
  int64_t live_end = 0;
  ReplayCounters counters;
  const std::vector<ServedPayment>* payments = nullptr;
};

// What the platform recorded, as its API answers.
struct DemoRecord {
  std::vector<nlohmann::json> runs;            // pipeline runs with their steps, oldest first
  std::vector<nlohmann::json> alert_history;   // alert transitions, oldest first
  std::vector<nlohmann::json> rollout_events;  // the endpoint's rollout events, oldest first
  nlohmann::json model;                        // GET /api/v1/models/fraud
  nlohmann::json endpoint;                     // GET /api/v1/endpoints/fraud
  std::vector<nlohmann::json> transactions;    // versions of `transactions`, oldest first
};

absl::StatusOr<DemoRecord> ReadDemoRecord(server::HttpConnection& api);

void PrintTimeline(std::ostream& out, const DemoRecord& record, const DemoFacts& facts);
// The production model's lineage down to the data's hashes (`ferry models lineage`).
absl::Status PrintProductionLineage(std::ostream& out, store::Workspace& workspace,
                                    pipeline::PipelineServices& services);
void PrintSummary(std::ostream& out, const DemoRecord& record, const DemoFacts& facts);

struct LoopCheck {
  std::string name;
  bool passed = false;
  std::string detail;
};
// One check per stage of the loop, in order.
std::vector<LoopCheck> CheckLoop(const DemoRecord& record, const DemoFacts& facts);

// Tolerant readers of the API's JSON (a missing or null field gives the default).
int64_t JsonInt(const nlohmann::json& object, const char* key, int64_t fallback = 0);
double JsonNumber(const nlohmann::json& object, const char* key, double fallback = 0);
std::string JsonText(const nlohmann::json& object, const char* key);
// An RFC 3339 field as microseconds since the epoch; 0 when absent.
int64_t JsonTime(const nlohmann::json& object, const char* key);

}  // namespace ferry::cli
