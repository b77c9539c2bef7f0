// `ferry demo`: shows what ferry does today on the embedded default, with real
// components: a fresh workspace, synthetic data stored and verified in the object
// store, the HTTP server answering real requests, a graceful stop.
// `ferry demo generate`: the synthetic data generator on its own.

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>

#include "api/routes.h"
#include "cli/commands.h"
#include "cli/http_client.h"
#include "core/status.h"
#include "core/strings.h"
#include "demo/transactions.h"
#include "server/http_server.h"

namespace ferry::cli {
namespace {

namespace fs = std::filesystem;
using Stopwatch = std::chrono::steady_clock;

double SecondsSince(Stopwatch::time_point start) {
  return std::chrono::duration<double>(Stopwatch::now() - start).count();
}

std::string Mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

fs::path DefaultDemoFolder(const CliContext& context) {
  std::time_t now = static_cast<std::time_t>(context.env().clock->NowMicros() / 1'000'000);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return context.env().current_dir /
         fmt::format("ferry-demo-{:04d}{:02d}{:02d}-{:02d}{:02d}{:02d}", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

absl::Status RunDemo(CliContext& context, uint64_t rows) {
  std::ostream& out = context.out();
  const fs::path root = context.workspace_flag
                            ? context.env().current_dir / *context.workspace_flag
                            : DefaultDemoFolder(context);

  out << "== 1. workspace\n";
  ASSIGN_OR_RETURN(auto workspace, store::Workspace::Init(root, context.env().clock));
  out << "created " << workspace->ferry_dir().string() << " (metadata.db, objects/, config.yaml)\n";

  out << "\n== 2. synthetic data (seed 42)\n";
  demo::TransactionOptions options;
  options.rows = rows;
  const fs::path csv = root / "transactions.csv";
  auto start = Stopwatch::now();
  ASSIGN_OR_RETURN(demo::GeneratedFile generated, demo::WriteTransactionsCsv(csv, options));
  out << fmt::format("wrote {} ({} rows, {}, {} fraud) in {:.2f} s\n", csv.string(),
                     generated.rows, Mib(generated.bytes), generated.fraud_rows,
                     SecondsSince(start));

  out << "\n== 3. object store: content-addressed, compressed, verified\n";
  start = Stopwatch::now();
  ASSIGN_OR_RETURN(store::PutResult put, workspace->objects().PutFile(csv));
  out << fmt::format("stored  sha256:{}\n        {} -> {} on disk ({:.1f}x) in {:.2f} s\n",
                     put.digest.ToHex(), Mib(put.size), Mib(put.stored_size),
                     put.stored_size ? static_cast<double>(put.size) / put.stored_size : 0.0,
                     SecondsSince(start));
  ASSIGN_OR_RETURN(store::PutResult again, workspace->objects().PutFile(csv));
  out << "stored again: " << (again.already_existed ? "already present, nothing written" : "NEW")
      << "\n";
  const fs::path restored = root / "transactions.restored.csv";
  start = Stopwatch::now();
  RETURN_IF_ERROR(workspace->objects().GetToFile(put.digest, restored));
  out << fmt::format("read back and verified against its SHA-256 in {:.2f} s -> {}\n",
                     SecondsSince(start), restored.string());
  fs::remove(restored);

  out << "\n== 4. HTTP server (Open Inference Protocol health, JSON errors)\n";
  auto ready = std::make_shared<std::atomic<bool>>(false);
  ASSIGN_OR_RETURN(std::shared_ptr<server::Router> router, api::BuildRouter(*workspace, ready));
  core::ServerConfig config = workspace->config().server;
  config.listen = "127.0.0.1:0";
  config.access_log = false;
  ASSIGN_OR_RETURN(auto http, server::HttpServer::Create(
                                  config, router, std::make_shared<server::AllowAllAuthorizer>()));
  RETURN_IF_ERROR(http->Start());
  ready->store(true);
  out << "listening on http://127.0.0.1:" << http->port() << "\n";
  for (const char* target : {"/v2", "/v2/health/live", "/v2/health/ready", "/api/v1/workspace",
                             "/v2/models/fraud"}) {
    ASSIGN_OR_RETURN(HttpReply reply, HttpCall("127.0.0.1", http->port(), "GET", target));
    out << fmt::format("GET {:<20} -> {} {}\n", target, reply.status, reply.body);
  }
  http->Shutdown();
  http->Wait();
  out << "server stopped gracefully\n";

  out << "\n== not built yet\n"
         "data versioning (ferry data), feature store (ferry features), training pipelines,\n"
         "model registry, serving and canary deployments, monitoring: each comes with its own\n"
         "issue; this demo grows with them.\n"
      << "\nworkspace kept at " << root.string() << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddDemoCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* cmd = app.add_subcommand(
      "demo", "Run the end-to-end demo in a new workspace (--workspace DIR, or a new folder)");
  auto rows = std::make_shared<uint64_t>(200'000);
  cmd->add_option("--rows", *rows, "Transactions to generate")->check(CLI::Range(1, 100'000'000));

  CLI::App* generate = cmd->add_subcommand(
      "generate", "Write synthetic card transactions (CSV) with a fixed seed");
  auto options = std::make_shared<demo::TransactionOptions>();
  auto out_path = std::make_shared<std::string>();
  generate->add_option("--out,-o", *out_path, "CSV file to write")->required();
  generate->add_option("--rows", options->rows, "Rows")->capture_default_str();
  generate->add_option("--customers", options->customers, "Distinct customers")
      ->capture_default_str();
  generate->add_option("--merchants", options->merchants, "Distinct merchants")
      ->capture_default_str();
  generate->add_option("--days", options->days, "Simulated days")->capture_default_str();
  generate->add_option("--seed", options->seed, "Random seed")->capture_default_str();
  generate->add_option("--drift-at", options->drift_at,
                       "Fraction of the time range after which behaviour shifts (0: never)")
      ->capture_default_str();
  auto json = std::make_shared<bool>(false);
  generate->add_flag("--json", *json, "Print the result as JSON");
  generate->callback([&context, result, options, out_path, json] {
    auto file = demo::WriteTransactionsCsv(context.env().current_dir / *out_path, *options);
    if (!file.ok()) {
      *result = file.status();
      return;
    }
    if (*json) {
      context.out() << nlohmann::json{{"path", *out_path},
                                      {"rows", file->rows},
                                      {"bytes", file->bytes},
                                      {"fraud_rows", file->fraud_rows}}
                           .dump()
                    << "\n";
    } else {
      context.out() << "wrote " << *out_path << ": " << file->rows << " rows, " << file->bytes
                    << " bytes, " << file->fraud_rows << " fraudulent\n";
    }
  });

  cmd->callback([&context, result, rows, generate] {
    if (generate->parsed()) return;  // `ferry demo generate` ran instead
    *result = RunDemo(context, *rows);
  });
}

}  // namespace ferry::cli
