// `ferry monitor ENDPOINT [--server URL] [--json]`: what a running server's monitoring
// says about an endpoint now -- drift per feature and of the prediction against the
// training reference, data quality, live quality from feedback, latency and throughput
// (GET /api/v1/deployments/{endpoint}/monitoring, docs/monitoring.md). The server's
// address defaults to the workspace's server.listen.

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/server_client.h"
#include "core/config.h"
#include "core/status.h"
#include "core/strings.h"
#include "store/workspace.h"

namespace ferry::cli {
namespace {

using core::Cat;
using nlohmann::json;

constexpr std::chrono::seconds kTimeout{10};

std::string Number(const json& value, const char* format = "{:.4g}") {
  if (value.is_number()) return fmt::format(fmt::runtime(format), value.get<double>());
  if (value.is_string()) return value.get<std::string>();
  return "-";
}

std::string Percent(const json& value) {
  return value.is_number() ? fmt::format("{:.1f}%", 100 * value.get<double>()) : "-";
}

std::string Milliseconds(const json& seconds) {
  return seconds.is_number() ? fmt::format("{:.3f} ms", 1000 * seconds.get<double>()) : "-";
}

std::string Verdict(const json& drift) {
  if (!drift["drifted"].is_boolean()) return "-";
  return drift["drifted"].get<bool>() ? "DRIFT" : "ok";
}

void PrintModel(std::ostream& out, const json& m) {
  const json& window = m["window"];
  out << m["model"].get<std::string>() << "@" << m["version"].get<int64_t>() << " ("
      << m["role"].get<std::string>() << "), window "
      << (window.contains("duration") ? window["duration"].get<std::string>()
                                      : Cat(window["rows"].get<int64_t>(), " rows"))
      << " from " << window["from"].get<std::string>().substr(0, 19) << ": "
      << m["requests"].get<int64_t>() << " requests, " << m["rows"].get<int64_t>() << " rows ("
      << m["monitored_rows"].get<int64_t>() << " monitored)\n";
  const json& reference = m["reference"];
  out << "  reference   "
      << (reference["dataset"].is_string() ? reference["dataset"].get<std::string>() : "none")
      << (reference.contains("note") ? Cat(" (", reference["note"].get<std::string>(), ")") : "")
      << "\n";
  const json& latency = m["latency_seconds"];
  if (latency.is_object()) {
    out << "  latency     p50 " << Milliseconds(latency["p50"]) << ", p90 "
        << Milliseconds(latency["p90"]) << ", p99 " << Milliseconds(latency["p99"]);
    if (m["throughput"].is_object()) {
      out << "; " << Number(m["throughput"]["requests_per_second"], "{:.1f}") << " requests/s";
    }
    out << "\n";
  }
  const json& drift = m["drift"];
  out << "  drift       ";
  if (drift["drifted_share"].is_number()) {
    out << drift["features_drifted"].get<int64_t>() << " of "
        << drift["features_with_verdict"].get<int64_t>() << " features drifted ("
        << Percent(drift["drifted_share"]) << "): "
        << (drift["dataset_drift"].get<bool>() ? "DATASET DRIFT" : "no dataset drift") << "\n";
  } else {
    out << "no verdict yet\n";
  }
  std::vector<std::vector<std::string>> rows = {
      {"", "FEATURE", "METHOD", "STATISTIC", "P-VALUE", "THRESHOLD", "DRIFT", "MISSING",
       "OUT OF RANGE", "NOTE"}};
  std::map<std::string, const json*> quality;
  for (const json& q : drift["data_quality"]) quality[q["name"].get<std::string>()] = &q;
  const auto add = [&](const json& d) {
    const std::string name = d["name"].get<std::string>();
    const json* q = quality.count(name) ? quality[name] : nullptr;
    std::string note = d.value("note", "");
    if (d.contains("psi_level")) note = Cat(d["psi_level"].get<std::string>(), note.empty() ? "" : "; ", note);
    rows.push_back({"", name, d["method"].get<std::string>(), Number(d["statistic"]),
                    Number(d["p_value"]), Number(d["threshold"]), Verdict(d),
                    q ? Percent((*q)["missing_rate"]) : "-",
                    q ? Percent((*q)["out_of_range_rate"]) : "-", note});
  };
  for (const json& d : drift["features"]) add(d);
  if (drift["prediction"].is_object()) add(drift["prediction"]);
  PrintTable(out, rows);
  const json& q = m["quality"];
  out << "  quality     " << q["labeled"].get<int64_t>() << " labeled";
  if (q["label_delay_seconds"]["p50"].is_number()) {
    out << " (label delay p50 " << Number(q["label_delay_seconds"]["p50"], "{:.3g}") << " s, p95 "
        << Number(q["label_delay_seconds"]["p95"], "{:.3g}") << " s)";
  }
  for (const auto& [name, value] : q["metrics"].items()) out << ", " << name << " " << Number(value);
  if (q.contains("note")) out << " (" << q["note"].get<std::string>() << ")";
  out << "\n";
}

absl::Status RunMonitor(CliContext& context, const std::string& endpoint, std::string url,
                        bool as_json) {
  if (url.empty()) {
    ASSIGN_OR_RETURN(auto workspace, context.OpenWorkspace());
    url = Cat("http://", workspace->config().server.listen);
  }
  ASSIGN_OR_RETURN(json answer,
                   GetFromServer(url, Cat("/api/v1/deployments/", endpoint, "/monitoring"),
                                 kTimeout, context.env().token));
  if (answer.contains("reachable")) {
    return absl::UnavailableError(Cat("no server answers at ", url, " (",
                                      answer["error"].get<std::string>(),
                                      "); start one with `ferry server` or give --server URL"));
  }
  if (answer.contains("http_status")) {
    const int status = answer["http_status"].get<int>();
    const std::string message = answer["error"].get<std::string>();
    if (status == 404) return absl::NotFoundError(message);
    if (status == 400) return absl::InvalidArgumentError(message);
    return absl::UnavailableError(Cat("the server answered ", status, ": ", message));
  }
  if (as_json) {
    context.out() << answer.dump() << "\n";
    return absl::OkStatus();
  }
  context.out() << "endpoint " << endpoint << " (" << url << ")\n";
  for (const json& model : answer["models"]) PrintModel(context.out(), model);
  return absl::OkStatus();
}

}  // namespace

void AddMonitorCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* cmd = app.add_subcommand(
      "monitor", "Show an endpoint's live drift, data quality and quality from a running server");
  auto endpoint = std::make_shared<std::string>();
  auto server = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("ENDPOINT", *endpoint, "Endpoint name")->required();
  cmd->add_option("--server", *server,
                  "URL of the running `ferry server` (default: the workspace's server.listen)");
  cmd->add_flag("--json", *as_json, "Print the server's JSON");
  cmd->callback([&context, result, endpoint, server, as_json] {
    *result = RunMonitor(context, *endpoint, *server, *as_json);
  });
}

}  // namespace ferry::cli
