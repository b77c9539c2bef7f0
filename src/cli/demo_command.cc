// `ferry demo`: shows what ferry does today on the embedded default, with real
// components: a fresh workspace, synthetic data stored and verified in the object
// store, the HTTP server answering real requests, a graceful stop.
// `ferry demo generate`: the synthetic data generator on its own.

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>

#include "api/routes.h"
#include "cli/commands.h"
#include "server/http_client.h"
#include "core/status.h"
#include "core/strings.h"
#include "core/file.h"
#include "dataset/dataset_store.h"
#include "demo/transactions.h"
#include "server/http_server.h"

namespace ferry::cli {
namespace {

using server::HttpCall;
using server::HttpReply;

namespace fs = std::filesystem;
using Stopwatch = std::chrono::steady_clock;

double SecondsSince(Stopwatch::time_point start) {
  return std::chrono::duration<double>(Stopwatch::now() - start).count();
}

std::string Mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

absl::Status AppendFile(const fs::path& path, std::string_view bytes) {
  core::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!fd.valid()) return core::ErrnoToStatus(errno, core::Cat("open ", path.string()));
  RETURN_IF_ERROR(core::WriteAll(fd.get(), bytes.data(), bytes.size()));
  if (::fsync(fd.get()) != 0) return core::ErrnoToStatus(errno, core::Cat("fsync ", path.string()));
  return absl::OkStatus();
}

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

  out << "\n== 3. data versioning: chunked, deduplicated, profiled\n";
  ASSIGN_OR_RETURN(auto datasets, dataset::DatasetStore::Open(*workspace));
  dataset::AddOptions add_options;
  add_options.message = "four weeks of card transactions";
  start = Stopwatch::now();
  ASSIGN_OR_RETURN(dataset::AddResult first, datasets->Add("transactions", csv, add_options));
  out << fmt::format("ferry data add transactions transactions.csv -> {} in {:.2f} s\n",
                     first.version.Ref(), SecondsSince(start));
  out << fmt::format("  sha256:{}\n  {} rows, {} in {} chunks ({} on disk)\n",
                     first.version.content_sha256, first.version.rows.value_or(0),
                     Mib(first.version.size), first.version.chunks, Mib(first.stored_bytes));
  out << "  schema: " << first.version.schema_json << "\n";

  // One more simulated day appended: only the chunks at the end are new.
  demo::TransactionOptions next_day = options;
  next_day.rows = std::max<uint64_t>(rows / 28, 1);
  next_day.days = 1;
  next_day.seed = options.seed + 1;
  next_day.start_micros = options.start_micros + options.days * 86'400'000'000;
  const fs::path extra = root / "next-day.csv";
  RETURN_IF_ERROR(demo::WriteTransactionsCsv(extra, next_day).status());
  ASSIGN_OR_RETURN(std::string extra_text, core::ReadFileToString(extra, 1ull << 32));
  RETURN_IF_ERROR(AppendFile(csv, std::string_view(extra_text).substr(extra_text.find('\n') + 1)));
  fs::remove(extra);
  add_options.message = "one more day";
  ASSIGN_OR_RETURN(dataset::AddResult second, datasets->Add("transactions", csv, add_options));
  out << fmt::format("appended a day ({} rows) and added again -> {}: {} new chunks ({}), {} "
                     "already stored\n",
                     next_day.rows, second.version.Ref(), second.new_chunks,
                     Mib(second.new_bytes), second.reused_chunks);
  ASSIGN_OR_RETURN(dataset::VersionDiff diff,
                   datasets->Diff(*dataset::ParseDatasetRef("transactions@1"),
                                  *dataset::ParseDatasetRef("transactions@2")));
  out << "ferry data diff transactions@1 transactions@2\n";
  if (diff.profile) {
    std::string text = diff.profile->ToText();
    size_t lines = 0;
    for (size_t pos = 0; pos < text.size() && lines < 6; ++lines) {
      size_t end_of_line = text.find('\n', pos);
      out << "  " << text.substr(pos, end_of_line - pos) << "\n";
      pos = end_of_line == std::string::npos ? text.size() : end_of_line + 1;
    }
  }
  ASSIGN_OR_RETURN(auto again, datasets->Add("transactions", csv, {}));
  out << "added the same file again: " << (again.created ? "NEW VERSION" : "unchanged, no new version")
      << (again.from_cache ? " (recognised without reading it)" : "") << "\n";
  const fs::path restored = root / "transactions.v1.csv";
  start = Stopwatch::now();
  ASSIGN_OR_RETURN(dataset::VersionRecord exported,
                   datasets->Export(*dataset::ParseDatasetRef("transactions@1"), restored));
  out << fmt::format("ferry data export transactions@1: rebuilt byte-identical and verified "
                     "(sha256:{}...) in {:.2f} s\n",
                     exported.content_sha256.substr(0, 16), SecondsSince(start));
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
  for (const char* target : {"/v2", "/v2/health/live", "/v2/health/ready",
                             "/api/v1/datasets/transactions/versions/latest", "/v2/models/fraud"}) {
    ASSIGN_OR_RETURN(HttpReply reply, HttpCall("127.0.0.1", http->port(), "GET", target));
    constexpr size_t kShown = 160;
    out << fmt::format("GET {:<20} -> {} {}{}\n", target, reply.status, reply.body.substr(0, kShown),
                       reply.body.size() > kShown ? "..." : "");
  }
  http->Shutdown();
  http->Wait();
  out << "server stopped gracefully\n";

  out << "\n== not in this demo yet\n"
         "the feature store, the model registry and serving work today (README.md, the\n"
         "walkthrough) but are not part of this demo yet; training pipelines, canary\n"
         "deployments and monitoring each come with their own issue; the demo grows into\n"
         "the closed loop with them.\n"
      << "\nworkspace kept at " << root.string() << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddDemoCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* cmd = app.add_subcommand(
      "demo", "Run the end-to-end demo in a new workspace (--workspace DIR, or a new folder)");
  auto rows = std::make_shared<uint64_t>(200'000);
  cmd->add_option("--rows", *rows, "Transactions to generate")->check(CLI::Range(1, 100'000'000));

  AddDemoGenerateCommand(*cmd, context, result);

  cmd->callback([&context, result, rows, cmd] {
    if (cmd->got_subcommand("generate")) return;  // `ferry demo generate` ran instead
    *result = RunDemo(context, *rows);
  });
}

}  // namespace ferry::cli
