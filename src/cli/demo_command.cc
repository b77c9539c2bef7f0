// `ferry demo`: the closed loop on the embedded default (demo_loop.h): a new workspace,
// synthetic card payments, the training pipeline, a deployment, live traffic over HTTP, a
// change in the world that monitoring catches, a retrain the alert triggers, a canary
// promoted -- then the timeline, the lineage and the checks.
// `ferry demo generate`: the synthetic data generator on its own.

#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/commands.h"
#include "cli/demo_loop.h"
#include "core/status.h"
#include "demo/transactions.h"

namespace ferry::cli {
namespace {

namespace fs = std::filesystem;

fs::path DefaultDemoFolder(const CliContext& context) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return context.env().current_dir / fmt::format("ferry-demo-{:04d}{:02d}{:02d}-{:02d}{:02d}{:02d}",
                                                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                                 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace

void AddDemoCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "Run the closed loop end to end in a new workspace (--workspace DIR, or a new folder)");
  auto options = std::make_shared<DemoOptions>();
  cmd->add_option("--customers", options->customers, "Card holders in the world")
      ->check(CLI::Range(100, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--merchants", options->merchants, "Merchants in the world")
      ->check(CLI::Range(10, 100'000))
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "Random seed of the world")->capture_default_str();
  cmd->add_option("--history-days", options->history_days, "Days of history to train on")
      ->check(CLI::Range(7, 365))
      ->capture_default_str();
  cmd->add_option("--live-days", options->live_days, "Simulated days of live traffic")
      ->check(CLI::Range(3, 60))
      ->capture_default_str();
  cmd->add_option("--change-after", options->change_after_days,
                  "Live days before the world changes")
      ->check(CLI::Range(1, 30))
      ->capture_default_str();
  cmd->add_flag("--keep-serving", options->keep_serving,
                "Keep the server running on the demo's workspace afterwards (until Ctrl-C)");
  cmd->add_option("--listen", options->listen, "Address of the demo's server")
      ->type_name("HOST:PORT")
      ->capture_default_str();

  AddDemoGenerateCommand(*cmd, context, result);

  // One flat CSV of card transactions with an exact row count: the data of the
  // data-versioning benchmarks and tests (demo/transactions.h).
  CLI::App* flat = cmd->add_subcommand(
      "transactions", "Write N synthetic card transactions as one CSV (benchmark data)");
  auto gen = std::make_shared<demo::TransactionOptions>();
  auto out_path = std::make_shared<std::string>();
  flat->add_option("--out,-o", *out_path, "CSV file to write")->required();
  flat->add_option("--rows", gen->rows, "Rows")->capture_default_str();
  flat->add_option("--customers", gen->customers, "Distinct customers")->capture_default_str();
  flat->add_option("--merchants", gen->merchants, "Distinct merchants")->capture_default_str();
  flat->add_option("--days", gen->days, "Simulated days")->capture_default_str();
  flat->add_option("--seed", gen->seed, "Random seed")->capture_default_str();
  flat->add_option("--drift-at", gen->drift_at,
                   "Fraction of the time range after which behaviour shifts (0: never)")
      ->capture_default_str();
  auto json = std::make_shared<bool>(false);
  flat->add_flag("--json", *json, "Print the result as JSON");
  flat->callback([&context, result, gen, out_path, json] {
    auto file = demo::WriteTransactionsCsv(context.env().current_dir / *out_path, *gen);
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

  cmd->callback([&context, result, options, cmd] {
    // `ferry demo generate` or `ferry demo transactions` ran instead.
    if (cmd->got_subcommand("generate") || cmd->got_subcommand("transactions")) return;
    if (options->change_after_days >= options->live_days) {
      *result = absl::InvalidArgumentError("--change-after must be less than --live-days");
      return;
    }
    DemoOptions run = *options;
    run.root = context.workspace_flag ? context.env().current_dir / *context.workspace_flag
                                      : DefaultDemoFolder(context);
    *result = RunClosedLoopDemo(context, run);
  });
}

}  // namespace ferry::cli
