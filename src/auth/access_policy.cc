#include "auth/access_policy.h"

#include <array>

namespace ferry::auth {
namespace {

using server::Method;

struct Rule {
  Method method;
  std::string_view pattern;
  ScopeSet scopes;
};

constexpr ScopeSet kOpen = 0;
constexpr ScopeSet kModelProtocol = kScopeRead | kScopePredict;

// Linear search: 21 entries compared by length first are cheaper than hashing the
// pattern, and this runs on every request.
constexpr std::array kRules = {
    Rule{Method::kGet, "/healthz", kOpen},
    Rule{Method::kGet, "/readyz", kOpen},
    Rule{Method::kGet, "/v2/health/live", kOpen},
    Rule{Method::kGet, "/v2/health/ready", kOpen},
    // The dashboard's files hold no data (each datum comes from the API with the user's
    // token), and a browser cannot send a token with a page load.
    Rule{Method::kGet, "/ui", kOpen},
    Rule{Method::kGet, "/ui/{path...}", kOpen},
    Rule{Method::kGet, "/ui/assets/{file}", kOpen},
    Rule{Method::kGet, "/v2", kModelProtocol},
    Rule{Method::kGet, "/v2/models/{model}", kModelProtocol},
    Rule{Method::kGet, "/v2/models/{model}/ready", kModelProtocol},
    Rule{Method::kGet, "/v2/models/{model}/versions/{version}", kModelProtocol},
    Rule{Method::kGet, "/v2/models/{model}/versions/{version}/ready", kModelProtocol},
    Rule{Method::kPost, "/v2/models/{model}/infer", kScopePredict},
    Rule{Method::kPost, "/v2/models/{model}/versions/{version}/infer", kScopePredict},
    Rule{Method::kPost, "/v1/models/{model}:predict", kScopePredict},
    Rule{Method::kPost, "/api/v1/features/online", kScopePredict},
    Rule{Method::kPost, "/api/v1/feedback", kScopePredict},
    Rule{Method::kPost, "/api/v1/runs/search", kScopeRead},
    Rule{Method::kGet, "/api/v1/tokens", kScopeAdmin},
    Rule{Method::kPost, "/api/v1/tokens", kScopeAdmin},
    Rule{Method::kGet, "/api/v1/audit", kScopeAdmin},
};

ScopeSet DefaultFor(Method method) {
  switch (method) {
    case Method::kGet:
    case Method::kHead:
    case Method::kOptions:
      return kScopeRead;
    case Method::kDelete:
      return kScopeAdmin;
    default:
      return kScopeWrite;
  }
}

}  // namespace

ScopeSet RequiredScopes(Method method, std::string_view pattern) {
  // HEAD is served by GET's handler and follows GET's rule.
  const Method as = method == Method::kHead ? Method::kGet : method;
  for (const Rule& rule : kRules) {
    if (rule.method == as && rule.pattern.size() == pattern.size() && rule.pattern == pattern) {
      return rule.scopes;
    }
  }
  return DefaultFor(method);
}

bool IsAudited(Method method, std::string_view pattern) {
  return (RequiredScopes(method, pattern) & (kScopeWrite | kScopeAdmin)) != 0 &&
         method != Method::kGet && method != Method::kHead && method != Method::kOptions;
}

void ForEachPolicyRoute(const std::function<void(Method, std::string_view)>& fn) {
  for (const Rule& rule : kRules) fn(rule.method, rule.pattern);
}

}  // namespace ferry::auth
