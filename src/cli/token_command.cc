// `ferry token create|list|revoke` and `ferry audit list`: API tokens for `ferry server`
// and the audit log of what was done with them. Running these needs access to the
// workspace itself (its folder and metadata store), which is what an administrator has.

#include <nlohmann/json.hpp>
#include <ostream>

#include "alerts/duration.h"
#include "auth/audit_log.h"
#include "auth/token_store.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "core/clock.h"
#include "core/host.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::cli {
namespace {

using core::Cat;
using nlohmann::json;

std::string Actor(const CliContext& context) {
  return Cat("cli:", context.env().user.value_or("unknown"), "@", core::HostName());
}

std::string Time(std::optional<int64_t> micros) {
  return micros ? core::FormatTimestamp(*micros).substr(0, 19) + "Z" : "-";
}

struct CreateArgs {
  std::string name;
  std::string scope;
  std::string expires;
  double rate_limit = 0;
  bool json = false;
};

absl::Status Create(CliContext& context, const CreateArgs& args) {
  const int64_t now = core::SystemClock::Shared()->NowMicros();
  auth::TokenSpec spec;
  spec.name = args.name;
  spec.scope = args.scope;
  spec.rate_limit_per_second = args.rate_limit;
  spec.created_by = Actor(context);
  if (!args.expires.empty()) {
    ASSIGN_OR_RETURN(std::chrono::milliseconds after, alerts::ParseDuration(args.expires));
    if (after.count() <= 0) return absl::InvalidArgumentError("--expires must be after now");
    spec.expires_at_micros = now + after.count() * 1000;
  }
  ASSIGN_OR_RETURN(auto workspace, context.OpenWorkspace());
  ASSIGN_OR_RETURN(auth::TokenStore tokens, auth::TokenStore::Open(workspace->metadata(), now));
  ASSIGN_OR_RETURN(auth::CreatedToken created, tokens.Create(spec, now));
  if (args.json) {
    json out = auth::TokenJson(created.record);
    out["token"] = created.text;
    context.out() << out.dump(2) << "\n";
    return absl::OkStatus();
  }
  context.out() << "created token \"" << created.record.name << "\" (id " << created.record.id
                << ", scope " << created.record.scope
                << (created.record.expires_at_micros
                        ? ", expires " + Time(created.record.expires_at_micros)
                        : std::string(", no expiry"))
                << ")\n"
                << created.text << "\n"
                << "This is the only time the token is shown: store it now (ferry keeps only a"
                   " salted hash).\n";
  return absl::OkStatus();
}

absl::Status List(CliContext& context, bool all, bool as_json) {
  ASSIGN_OR_RETURN(auto workspace, context.OpenWorkspace());
  const int64_t now = core::SystemClock::Shared()->NowMicros();
  ASSIGN_OR_RETURN(auth::TokenStore tokens, auth::TokenStore::Open(workspace->metadata(), now));
  ASSIGN_OR_RETURN(std::vector<auth::TokenRecord> records, tokens.List(all));
  if (as_json) {
    json out = json::array();
    for (const auth::TokenRecord& record : records) out.push_back(auth::TokenJson(record));
    context.out() << out.dump(2) << "\n";
    return absl::OkStatus();
  }
  if (records.empty()) {
    context.out() << "no tokens (`ferry token create NAME --scope read|predict|write|admin`)\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> table = {
      {"NAME", "ID", "SCOPE", "CREATED", "EXPIRES", "STATE", "RATE/S", "CREATED BY"}};
  for (const auth::TokenRecord& record : records) {
    const char* state = record.revoked_at_micros ? "revoked"
                        : record.Expired(now)    ? "expired"
                                                 : "active";
    table.push_back({record.name, record.id, record.scope, Time(record.created_at_micros),
                     Time(record.expires_at_micros), state,
                     record.rate_limit_per_second > 0 ? Cat(record.rate_limit_per_second) : "-",
                     record.created_by});
  }
  PrintTable(context.out(), table);
  return absl::OkStatus();
}

absl::Status Revoke(CliContext& context, const std::string& name) {
  ASSIGN_OR_RETURN(auto workspace, context.OpenWorkspace());
  const int64_t now = core::SystemClock::Shared()->NowMicros();
  ASSIGN_OR_RETURN(auth::TokenStore tokens, auth::TokenStore::Open(workspace->metadata(), now));
  ASSIGN_OR_RETURN(auth::TokenRecord revoked, tokens.Revoke(name, now));
  context.out() << "revoked token \"" << revoked.name << "\" (id " << revoked.id
                << "); servers refuse it within a second\n";
  return absl::OkStatus();
}

struct AuditArgs {
  std::string since;
  std::string actor;
  std::string outcome;
  int limit = 50;
  bool json = false;
};

absl::Status ListAuditEntries(CliContext& context, const AuditArgs& args) {
  auth::AuditQuery query;
  query.actor = args.actor;
  query.outcome = args.outcome;
  query.limit = args.limit;
  if (!args.since.empty()) {
    ASSIGN_OR_RETURN(std::chrono::milliseconds ago, alerts::ParseDuration(args.since));
    query.since_micros = core::SystemClock::Shared()->NowMicros() - ago.count() * 1000;
  }
  ASSIGN_OR_RETURN(auto workspace, context.OpenWorkspace());
  RETURN_IF_ERROR(
      auth::ApplyAuthMigrations(workspace->metadata(), core::SystemClock::Shared()->NowMicros()));
  ASSIGN_OR_RETURN(std::vector<auth::AuditEntry> entries,
                   auth::ListAudit(workspace->metadata(), query));
  if (args.json) {
    json out = json::array();
    for (const auth::AuditEntry& entry : entries) out.push_back(auth::AuditJson(entry));
    context.out() << out.dump(2) << "\n";
    return absl::OkStatus();
  }
  if (entries.empty()) {
    context.out() << "no audit entries\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> table = {
      {"ID", "AT", "ACTOR", "SOURCE", "ACTION", "TARGET", "STATUS", "OUTCOME"}};
  for (const auth::AuditEntry& entry : entries) {
    table.push_back({Cat(entry.id), Time(entry.at_micros), entry.actor, entry.source, entry.action,
                     entry.target, Cat(entry.status), entry.outcome});
  }
  PrintTable(context.out(), table);
  return absl::OkStatus();
}

}  // namespace

void AddTokenCommand(CLI::App& app, CliContext& context, absl::Status* result) {
  CLI::App* token = app.add_subcommand("token", "API tokens for `ferry server` (admin)");
  token->require_subcommand(1);

  auto create = std::make_shared<CreateArgs>();
  CLI::App* create_cmd = token->add_subcommand("create", "Make a token; it is shown once");
  create_cmd->add_option("name", create->name, "Token name (unique among unrevoked tokens)")
      ->required();
  create_cmd
      ->add_option("--scope", create->scope,
                   "read (GET routes), predict (inference, lookups, feedback), write (read,"
                   " predict and changes) or admin (everything, incl. tokens and deletions)")
      ->required()
      ->check(CLI::IsMember({"read", "predict", "write", "admin"}));
  create_cmd->add_option("--expires", create->expires, "Lifetime, e.g. 30d, 12h (default: none)")
      ->type_name("DURATION");
  create_cmd
      ->add_option("--rate-limit", create->rate_limit,
                   "Requests per second for this token (default: server.rate_limit_per_second)")
      ->check(CLI::Range(0.0, 1e9));
  create_cmd->add_flag("--json", create->json, "Print JSON");
  create_cmd->callback([&context, result, create] { *result = Create(context, *create); });

  auto all = std::make_shared<bool>(false);
  auto list_json = std::make_shared<bool>(false);
  CLI::App* list_cmd = token->add_subcommand("list", "List tokens (never their secrets)");
  list_cmd->add_flag("--all", *all, "Include revoked tokens");
  list_cmd->add_flag("--json", *list_json, "Print JSON");
  list_cmd->callback(
      [&context, result, all, list_json] { *result = List(context, *all, *list_json); });

  auto name = std::make_shared<std::string>();
  CLI::App* revoke_cmd = token->add_subcommand("revoke", "Revoke a token by name or id");
  revoke_cmd->add_option("name", *name, "Token name or id")->required();
  revoke_cmd->callback([&context, result, name] { *result = Revoke(context, *name); });

  CLI::App* audit = app.add_subcommand("audit", "The audit log of changes and refusals (admin)");
  audit->require_subcommand(1);
  auto audit_args = std::make_shared<AuditArgs>();
  CLI::App* audit_list = audit->add_subcommand("list", "Newest entries first");
  audit_list->add_option("--since", audit_args->since, "Only this recent, e.g. 1h, 7d")
      ->type_name("DURATION");
  audit_list->add_option("--actor", audit_args->actor, "Only this actor, e.g. token:ci");
  audit_list->add_option("--outcome", audit_args->outcome, "Only ok, denied or error")
      ->check(CLI::IsMember({"ok", "denied", "error"}));
  audit_list->add_option("--limit", audit_args->limit, "At most this many (default 50)")
      ->check(CLI::Range(1, 10000));
  audit_list->add_flag("--json", audit_args->json, "Print JSON");
  audit_list->callback(
      [&context, result, audit_args] { *result = ListAuditEntries(context, *audit_args); });
}

}  // namespace ferry::cli
