#include "cli/command_audit.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <set>

#include "auth/audit_log.h"
#include "auth/token.h"
#include "auth/token_store.h"
#include "core/clock.h"
#include "core/error_mapping.h"
#include "core/host.h"
#include "core/strings.h"

namespace ferry::cli {
namespace {

constexpr size_t kMaxArgumentsBytes = 1000;

}  // namespace

std::vector<std::string> CommandPath(const CLI::App& app) {
  std::vector<std::string> path;
  const CLI::App* at = &app;
  while (true) {
    std::vector<CLI::App*> ran = at->get_subcommands();
    if (ran.empty()) break;
    at = ran.front();
    path.push_back(at->get_name());
  }
  return path;
}

bool IsMutatingCommand(const std::vector<std::string>& path) {
  if (path.empty()) return false;
  // Whole commands that change nothing recorded here: they create the workspace, serve
  // it (the server audits its own requests), or only look.
  static const std::set<std::string> kNotAudited = {"init",    "server",  "demo", "fsck",
                                                    "version", "monitor", "audit"};
  if (kNotAudited.contains(path.front())) return false;
  // Leaves that only read or write files outside the workspace.
  static const std::set<std::string> kReading = {
      "list",   "show", "status", "history", "diff",       "lineage", "check",    "verify",
      "export", "logs", "get",    "search",  "historical", "online",  "triggers", "compare"};
  return !kReading.contains(path.back());
}

void AuditCommand(CliContext& context, const std::vector<std::string>& path, int argc,
                  const char* const* argv, const absl::Status& result) {
  if (!IsMutatingCommand(path)) return;
  absl::StatusOr<std::unique_ptr<store::Workspace>> workspace = context.OpenWorkspace();
  if (!workspace.ok()) return;  // nothing was changed where there is no workspace
  auth::AuditEntry entry;
  entry.at_micros = core::SystemClock::Shared()->NowMicros();
  entry.actor = core::Cat("cli:", context.env().user.value_or("unknown"), "@", core::HostName());
  entry.source = core::Cat("cli pid ", ::getpid());
  entry.action = "cli:";
  for (const std::string& name : path) entry.action += " " + name;
  for (int i = 1; i < argc && entry.target.size() < kMaxArgumentsBytes; ++i) {
    if (i > 1) entry.target += ' ';
    entry.target += argv[i];
  }
  if (entry.target.size() > kMaxArgumentsBytes) entry.target.resize(kMaxArgumentsBytes);
  entry.status = result.ok() ? 0 : core::MapStatusCode(result.code()).exit_code;
  entry.outcome = result.ok() ? "ok" : "error";
  if (!result.ok()) entry.detail = std::string(core::View(result.message()));
  std::vector<auth::AuditEntry> entries{std::move(entry)};
  absl::Status stored =
      auth::ApplyAuthMigrations((*workspace)->metadata(), core::SystemClock::Shared()->NowMicros());
  if (stored.ok()) stored = auth::AppendAudit((*workspace)->metadata(), entries);
  if (!stored.ok()) {
    spdlog::warn("audit: cannot record the command: {}", core::View(stored.message()));
  }
}

}  // namespace ferry::cli
