// `ferry features materialize|materialize-incremental|online`: the online store.

#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <ostream>

#include "api/feature_json.h"
#include "cli/features_commands.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/server_client.h"
#include "core/config.h"
#include "core/status.h"
#include "core/strings.h"
#include "features/materialization.h"
#include "features/online_features.h"
#include "features/rocksdb_online_store.h"
#include "features/shared_online_store.h"
#include "server/http_client.h"
#include "table/csv_writer.h"
#include "table/value_parse.h"

namespace ferry::cli {
namespace {

using server::HttpCall;
using server::HttpReply;

using core::Cat;
using nlohmann::json;
using table::ColumnType;

// A materialization through a running server may take long.
constexpr std::chrono::hours kServerTimeout{6};

struct MaterializeArgs {
  std::string start;
  std::string end = "now";
  std::vector<std::string> views;
  std::string server;  // HOST:PORT of a running `ferry server`
  bool incremental = false;
  bool json = false;
};

std::string Time(const json& value) {
  return value.is_string() ? value.get<std::string>() : std::string("the beginning");
}

// Prints a MaterializationJson document as a table (local runs and server answers alike).
absl::Status PrintMaterialization(CliContext& context, const json& result, bool as_json) {
  if (as_json) {
    context.out() << result.dump() << "\n";
    return absl::OkStatus();
  }
  const json& views = result.at("views");
  if (views.empty()) {
    context.out() << "no feature views with online: true; nothing to materialize\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows = {
      {"VIEW", "SOURCE", "WINDOW", "ROWS IN WINDOW", "KEYS WRITTEN", "KEYS KEPT", "TIME"}};
  for (const json& v : views) {
    const std::string window = Cat(Time(v.at("start")), " .. ", Time(v.at("end")));
    if (v.at("up_to_date").get<bool>()) {
      rows.push_back({v.at("view").get<std::string>(), v.at("source").get<std::string>(), window,
                      "up to date", "-", "-", "-"});
      continue;
    }
    rows.push_back({v.at("view").get<std::string>(), v.at("source").get<std::string>(), window,
                    Cat(v.at("rows_in_window").get<int64_t>()),
                    Cat(v.at("keys_written").get<int64_t>()), Cat(v.at("keys_kept").get<int64_t>()),
                    fmt::format("{:.2f} s", v.at("seconds").get<double>())});
  }
  PrintTable(context.out(), rows);
  return absl::OkStatus();
}

absl::Status MaterializeThroughServer(CliContext& context, const MaterializeArgs& args) {
  ASSIGN_OR_RETURN(core::HostPort server, core::ParseHostPort(args.server));
  if (server.host == "localhost") server.host = "127.0.0.1";
  json body = {{"end", args.end}};
  if (args.incremental) body["incremental"] = true;
  if (!args.start.empty()) body["start"] = args.start;
  if (!args.views.empty()) body["views"] = args.views;
  ASSIGN_OR_RETURN(HttpReply reply,
                   HttpCall(server.host, server.port, "POST", "/api/v1/features/materialize",
                            body.dump(), kServerTimeout, BearerOf(context.env().token)));
  json answer = json::parse(reply.body, nullptr, false);
  if (reply.status != 200) {
    const std::string message = answer.is_object() && answer.contains("error")
                                    ? answer["error"].value("message", reply.body)
                                    : reply.body;
    return absl::UnavailableError(
        Cat("the server at ", args.server, " answered ", reply.status, ": ", message));
  }
  if (answer.is_discarded() || !answer.contains("views")) {
    return absl::InternalError(Cat("unexpected answer from ", args.server, ": ", reply.body));
  }
  return PrintMaterialization(context, answer, args.json);
}

absl::Status RunMaterialize(CliContext& context, const MaterializeArgs& args) {
  if (args.incremental && !args.start.empty()) {
    return absl::InvalidArgumentError(
        "materialize-incremental starts where the last run ended;"
        " it takes --end only");
  }
  if (!args.server.empty()) return MaterializeThroughServer(context, args);
  ASSIGN_OR_RETURN(OpenedFeatures opened, OpenFeatures(context));
  const int64_t now = opened.workspace->clock().NowMicros();
  features::MaterializeOptions options;
  options.views = args.views;
  options.incremental = args.incremental;
  ASSIGN_OR_RETURN(options.end, api::ParseTimeArgument("--end", args.end, now));
  if (!args.start.empty()) {
    ASSIGN_OR_RETURN(options.start, api::ParseTimeArgument("--start", args.start, now));
  }
  absl::StatusOr<features::OnlineStorePtr> online = features::OpenOnlineStore(*opened.workspace);
  if (absl::IsUnavailable(online.status()) &&
      opened.workspace->config().online_store == "rocksdb") {
    return absl::UnavailableError(
        Cat(core::View(online.status().message()),
            ". A running `ferry server` keeps it open: materialize through it with --server"
            " HOST:PORT (its --listen address), or POST /api/v1/features/materialize; or stop"
            " the other process and run this again. Nothing was written."));
  }
  RETURN_IF_ERROR(online.status());
  Progress progress(context.err(), "materializing", !args.json && ::isatty(2));
  options.progress = [&progress](std::string_view, int64_t done, int64_t total) {
    progress.Update(static_cast<uint64_t>(done), static_cast<uint64_t>(total));
  };
  ASSIGN_OR_RETURN(auto runs, features::Materialize(*opened.workspace, *opened.datasets,
                                                    *opened.registry, **online, options));
  progress.Done();
  return PrintMaterialization(context, api::MaterializationJson(runs), args.json);
}

struct OnlineArgs {
  std::vector<std::string> entities;  // key=value
  std::vector<std::string> features;  // view:feature
  std::string service;
  bool full_feature_names = false;
  bool json = false;
};

// `--entity key=value` flags as join key columns: values of one key in the order given.
absl::StatusOr<std::vector<features::EntityKeyValues>> EntityColumns(
    const std::vector<std::string>& flags, const features::OnlineQuery& query) {
  std::vector<features::EntityKeyValues> columns;
  for (const std::string& flag : flags) {
    const size_t eq = flag.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(Cat("--entity ", flag, ": expected KEY=VALUE"));
    }
    const std::string name = flag.substr(0, eq);
    const std::string value = flag.substr(eq + 1);
    const features::JoinKey* key = nullptr;
    for (const features::JoinKey& k : query.join_keys()) {
      if (k.name == name) key = &k;
    }
    if (key == nullptr) {
      std::string wanted;
      for (const auto& k : query.join_keys()) wanted += Cat(wanted.empty() ? "" : ", ", k.name);
      return absl::InvalidArgumentError(Cat("--entity ", flag, ": ", name,
                                            " is not a join key of the requested features"
                                            " (they need: ",
                                            wanted, ")"));
    }
    auto column =
        std::find_if(columns.begin(), columns.end(), [&](const auto& c) { return c.name == name; });
    if (column == columns.end()) {
      columns.push_back({name, key->type, {}, {}});
      column = columns.end() - 1;
    }
    if (key->type == ColumnType::kInt64) {
      std::optional<int64_t> parsed = table::ParseInt64(value);
      if (!parsed) {
        return absl::InvalidArgumentError(Cat("--entity ", flag, ": join key ", name,
                                              " is int64; \"", value, "\" is not an integer"));
      }
      column->int64_values.push_back(*parsed);
    } else {
      column->string_values.push_back(value);
    }
  }
  return columns;
}

std::string ValueText(const features::OnlineColumn& c, size_t row) {
  if (c.statuses[row] != features::FeatureStatus::kPresent) return "-";
  switch (c.type) {
    case ColumnType::kInt64:
      return Cat(c.Int64(row));
    case ColumnType::kFloat64:
      return Cat(c.Float64(row));
    case ColumnType::kBool:
      return c.Bool(row) ? "true" : "false";
    case ColumnType::kTimestamp: {
      std::string s;
      table::AppendIsoTimestamp(s, c.Int64(row));
      return s;
    }
    case ColumnType::kString:
      return std::string(c.String(row));
  }
  return "";
}

absl::Status RunOnline(CliContext& context, const OnlineArgs& args) {
  if (args.features.empty() == args.service.empty()) {
    return absl::InvalidArgumentError("give either --features view:f,... or --service NAME");
  }
  if (args.entities.empty()) {
    return absl::InvalidArgumentError("give the entity keys: --entity KEY=VALUE (repeatable)");
  }
  ASSIGN_OR_RETURN(OpenedFeatures opened, OpenFeatures(context));
  ASSIGN_OR_RETURN(features::FeatureSelection selection,
                   args.service.empty() ? opened.registry->Select(args.features)
                                        : opened.registry->SelectService(args.service));
  ASSIGN_OR_RETURN(features::OnlineQuery query,
                   features::OnlineQuery::Prepare(selection, {args.full_feature_names}));
  ASSIGN_OR_RETURN(std::vector<features::EntityKeyValues> entities,
                   EntityColumns(args.entities, query));
  // Read-only beside a server that may hold the store for writing.
  ASSIGN_OR_RETURN(auto store, features::OpenOnlineStoreForReading(*opened.workspace));
  const features::OnlineFeatures online(*store, opened.workspace->clock_ptr());
  features::OnlineResult result;
  RETURN_IF_ERROR(online.Get(query, entities, result));
  if (args.json) {
    std::string out;
    api::AppendOnlineResponse(out, entities, result);
    context.out() << out << "\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows = {
      {"ENTITY", "FEATURE", "VALUE", "STATUS", "EVENT TIME"}};
  for (size_t r = 0; r < result.rows; ++r) {
    std::string entity;
    for (const auto& e : entities) {
      entity += Cat(entity.empty() ? "" : ",", e.name, "=",
                    e.type == ColumnType::kInt64 ? Cat(e.int64_values[r]) : e.string_values[r]);
    }
    for (const features::OnlineColumn& c : result.columns) {
      std::string time = "-";
      if (c.statuses[r] != features::FeatureStatus::kNotFound) {
        time.clear();
        table::AppendIsoTimestamp(time, c.event_timestamps[r]);
      }
      rows.push_back({entity, c.name, ValueText(c, r),
                      std::string(features::FeatureStatusName(c.statuses[r])), time});
    }
  }
  PrintTable(context.out(), rows);
  return absl::OkStatus();
}

void AddMaterialize(CLI::App& features, CliContext& context, absl::Status* result,
                    bool incremental) {
  CLI::App* cmd =
      incremental
          ? features.add_subcommand("materialize-incremental",
                                    "Materialize each online view from where its last run ended")
          : features.add_subcommand(
                "materialize", "Copy each key's latest row in a time window to the online store");
  auto args = std::make_shared<MaterializeArgs>();
  args->incremental = incremental;
  if (!incremental) {
    cmd->add_option("--start", args->start,
                    "Window start, inclusive (RFC 3339 or a date; default: the beginning)");
  }
  cmd->add_option("--end", args->end, "Window end, inclusive (RFC 3339, a date or now)")
      ->capture_default_str();
  cmd->add_option("--views", args->views, "Only these views (comma-separated)")->delimiter(',');
  cmd->add_option("--server", args->server,
                  "Materialize through a running `ferry server` at HOST:PORT (it holds the"
                  " online store)");
  cmd->add_flag("--json", args->json, "Print JSON");
  cmd->callback([&context, result, args] { *result = RunMaterialize(context, *args); });
}

}  // namespace

std::string MaterializationText(const std::optional<features::MaterializationRecord>& record,
                                std::string_view current_layout_sha256) {
  if (!record) return "never";
  std::string text = core::FormatTimestamp(record->finished_at).substr(0, 19);
  std::string end;
  table::AppendIsoTimestamp(end, record->window_end);
  text += Cat(" (up to ", end, ")");
  if (!current_layout_sha256.empty() && current_layout_sha256 != record->layout_sha256) {
    text += "; the features changed since: run `ferry features materialize` again";
  }
  return text;
}

void AddFeaturesOnlineCommands(CLI::App& features, CliContext& context, absl::Status* result) {
  AddMaterialize(features, context, result, /*incremental=*/false);
  AddMaterialize(features, context, result, /*incremental=*/true);

  CLI::App* cmd = features.add_subcommand("online", "Look up online feature values");
  auto args = std::make_shared<OnlineArgs>();
  cmd->add_option("--entity", args->entities,
                  "Join key value KEY=VALUE; repeat for more keys or more rows")
      ->required();
  cmd->add_option("--features", args->features, "Features: view:feature,... (view:* for all)")
      ->delimiter(',');
  cmd->add_option("--service", args->service, "A feature service instead of --features");
  cmd->add_flag("--full-feature-names", args->full_feature_names,
                "Name features view__feature instead of feature");
  cmd->add_flag("--json", args->json, "Print the HTTP API's JSON response");
  cmd->callback([&context, result, args] { *result = RunOnline(context, *args); });
}

}  // namespace ferry::cli
