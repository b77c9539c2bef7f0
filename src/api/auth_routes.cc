#include "api/auth_routes.h"

#include "alerts/duration.h"
#include "api/json_body.h"
#include "api/query_params.h"
#include "auth/audit_log.h"
#include "auth/token_store.h"
#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::api {
namespace {

using nlohmann::json;
using server::Request;
using server::Response;

absl::StatusOr<std::chrono::milliseconds> DurationParam(const std::string& text) {
  ASSIGN_OR_RETURN(std::chrono::milliseconds duration, alerts::ParseDuration(text));
  if (duration.count() <= 0) return absl::InvalidArgumentError("a duration must be positive");
  return duration;
}

absl::StatusOr<Response> CreateToken(auth::TokenStore& tokens, Request& request) {
  ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body()));
  RETURN_IF_ERROR(OnlyKeys(body, {"name", "scope", "expires_in", "rate_limit_per_second"}));
  const int64_t now = core::SystemClock::Shared()->NowMicros();
  auth::TokenSpec spec;
  ASSIGN_OR_RETURN(spec.name, StringField(body, "name"));
  ASSIGN_OR_RETURN(spec.scope, StringField(body, "scope"));
  ASSIGN_OR_RETURN(std::string expires, StringField(body, "expires_in"));
  if (!expires.empty()) {
    ASSIGN_OR_RETURN(std::chrono::milliseconds after, DurationParam(expires));
    spec.expires_at_micros = now + after.count() * 1000;
  }
  if (auto rate = body.find("rate_limit_per_second"); rate != body.end() && !rate->is_null()) {
    if (!rate->is_number()) {
      return absl::InvalidArgumentError("rate_limit_per_second must be a number");
    }
    spec.rate_limit_per_second = rate->get<double>();
  }
  spec.created_by = request.principal().empty() ? "anonymous" : std::string(request.principal());
  ASSIGN_OR_RETURN(auth::CreatedToken created, tokens.Create(spec, now));
  json out = auth::TokenJson(created.record);
  out["token"] = created.text;
  return server::JsonResponse(out, 201);
}

absl::StatusOr<Response> ListTokens(auth::TokenStore& tokens, Request& request) {
  ASSIGN_OR_RETURN(QueryParams params, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(params.OnlyThese({"all"}));
  ASSIGN_OR_RETURN(bool all, params.GetBool("all", false));
  ASSIGN_OR_RETURN(std::vector<auth::TokenRecord> records, tokens.List(all));
  json out = json::array();
  for (const auth::TokenRecord& record : records) out.push_back(auth::TokenJson(record));
  return server::JsonResponse(json{{"tokens", std::move(out)}});
}

absl::StatusOr<Response> ListAudit(store::MetadataStore& metadata, Request& request) {
  ASSIGN_OR_RETURN(QueryParams params, QueryParams::Parse(request.query()));
  RETURN_IF_ERROR(params.OnlyThese({"since", "actor", "outcome", "limit", "before_id"}));
  auth::AuditQuery query;
  if (std::optional<std::string> since = params.Get("since")) {
    ASSIGN_OR_RETURN(std::chrono::milliseconds ago, DurationParam(*since));
    query.since_micros = core::SystemClock::Shared()->NowMicros() - ago.count() * 1000;
  }
  query.actor = params.Get("actor").value_or("");
  query.outcome = params.Get("outcome").value_or("");
  ASSIGN_OR_RETURN(int64_t limit, params.GetInt("limit", 100, 1, 10'000));
  query.limit = static_cast<int>(limit);
  if (params.Get("before_id")) {
    ASSIGN_OR_RETURN(int64_t before, params.GetInt("before_id", 0, 1, INT64_MAX));
    query.before_id = before;
  }
  ASSIGN_OR_RETURN(std::vector<auth::AuditEntry> entries, auth::ListAudit(metadata, query));
  json out = json::array();
  for (const auth::AuditEntry& entry : entries) out.push_back(auth::AuditJson(entry));
  return server::JsonResponse(json{{"entries", std::move(out)}});
}

}  // namespace

absl::Status AddAuthRoutes(server::Router& router, store::Workspace& workspace) {
  ASSIGN_OR_RETURN(
      auth::TokenStore store,
      auth::TokenStore::Open(workspace.metadata(), core::SystemClock::Shared()->NowMicros()));
  auto tokens = std::make_shared<auth::TokenStore>(store);
  RETURN_IF_ERROR(router.Get("/api/v1/tokens",
                             [tokens](Request& request) { return ListTokens(*tokens, request); }));
  RETURN_IF_ERROR(router.Post(
      "/api/v1/tokens", [tokens](Request& request) { return CreateToken(*tokens, request); }));
  RETURN_IF_ERROR(router.Delete(
      "/api/v1/tokens/{name}", [tokens](Request& request) -> absl::StatusOr<Response> {
        ASSIGN_OR_RETURN(
            auth::TokenRecord revoked,
            tokens->Revoke(request.PathParam("name"), core::SystemClock::Shared()->NowMicros()));
        return server::JsonResponse(auth::TokenJson(revoked));
      }));
  store::MetadataStore* metadata = &workspace.metadata();
  return router.Get("/api/v1/audit",
                    [metadata](Request& request) { return ListAudit(*metadata, request); });
}

}  // namespace ferry::api
