// `ferry demo generate`: the synthetic world of the demo (demo/world.h) written as three
// CSV files, transactions.csv, customer_daily.csv and merchant_daily.csv.

#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/status.h"
#include "demo/world.h"

namespace ferry::cli {
namespace {

namespace fs = std::filesystem;

struct GenerateArgs {
  demo::WorldOptions options;
  std::string out;
  int64_t days = 28;
  bool json = false;
};

absl::Status RunGenerate(CliContext& context, const GenerateArgs& args) {
  const fs::path folder = context.env().current_dir / args.out;
  ASSIGN_OR_RETURN(demo::GeneratedWorld written, demo::WriteWorld(folder, args.options, args.days));
  struct File {
    const char* name;
    uint64_t rows;
    uint64_t bytes;
  };
  File files[] = {{"transactions.csv", written.transactions, 0},
                  {"customer_daily.csv", written.customer_rows, 0},
                  {"merchant_daily.csv", written.merchant_rows, 0}};
  for (File& file : files) {
    std::error_code error;
    file.bytes = fs::file_size(folder / file.name, error);
    if (error) return core::ErrnoToStatus(error.value(), (folder / file.name).string());
  }
  std::ostream& out = context.out();
  if (args.json) {
    nlohmann::json listed = nlohmann::json::array();
    for (const File& file : files) {
      listed.push_back({{"name", file.name}, {"rows", file.rows}, {"bytes", file.bytes}});
    }
    out << nlohmann::json{{"folder", args.out},        {"days", args.days},
                          {"seed", args.options.seed}, {"drift_day", args.options.drift_day},
                          {"files", listed},           {"transactions", written.transactions},
                          {"fraud", written.fraud},    {"bytes", written.bytes}}
               .dump()
        << "\n";
    return absl::OkStatus();
  }
  out << "wrote " << args.days << " days of " << args.options.customers << " customers and "
      << args.options.merchants << " merchants (seed " << args.options.seed
      << (args.options.drift_day >= 0
              ? fmt::format(", the world changes on day {}", args.options.drift_day)
              : std::string())
      << ") to " << args.out << "\n";
  for (const File& file : files) {
    out << fmt::format("  {:<20} {:>10} rows  {:>10}", file.name, file.rows,
                       HumanBytes(file.bytes));
    if (&file == &files[0]) {
      out << fmt::format(
          "  {} fraud ({:.2f}%)", written.fraud,
          written.transactions > 0 ? 100.0 * written.fraud / written.transactions : 0.0);
    }
    out << "\n";
  }
  out << "  " << HumanBytes(written.bytes) << " in all\n";
  return absl::OkStatus();
}

}  // namespace

void AddDemoGenerateCommand(CLI::App& demo, CliContext& context, absl::Status* result) {
  CLI::App* generate = demo.add_subcommand(
      "generate",
      "Write the synthetic world (transactions.csv, customer_daily.csv, merchant_daily.csv) "
      "with a fixed seed");
  auto args = std::make_shared<GenerateArgs>();
  demo::WorldOptions& options = args->options;
  generate->add_option("--out,-o", args->out, "Folder to write into (created if needed)")
      ->required();
  generate->add_option("--customers", options.customers, "Customers")->capture_default_str();
  generate->add_option("--merchants", options.merchants, "Merchants")->capture_default_str();
  generate->add_option("--days", args->days, "Simulated days, from 2026-01-01")
      ->capture_default_str();
  generate->add_option("--seed", options.seed, "Random seed")->capture_default_str();
  generate
      ->add_option("--rate", options.transactions_per_customer_day,
                   "Mean transactions per customer and day")
      ->capture_default_str();
  generate
      ->add_option("--drift-day", options.drift_day,
                   "First day (0-based) of the changed world: larger amounts, more online "
                   "payments, a new form of fraud (negative: never)")
      ->capture_default_str();
  generate->add_flag("--json", args->json, "Print the result as JSON");
  generate->callback([&context, result, args] { *result = RunGenerate(context, *args); });
}

}  // namespace ferry::cli
