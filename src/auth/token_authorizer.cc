#include "auth/token_authorizer.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "auth/access_policy.h"
#include "core/clock.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::auth {
namespace {

constexpr auto kMissReloadGap = std::chrono::milliseconds(250);
constexpr size_t kMaxTargetBytes = 1000;

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// "ADDRESS:PORT" or "[V6]:PORT" -> the address: the anonymous rate-limit key.
std::string_view AddressOf(std::string_view peer) {
  size_t colon = peer.rfind(':');
  if (colon == std::string_view::npos) return peer;
  return peer.substr(0, colon);
}

// The message of an error response's JSON body; empty when it has none.
std::string ErrorMessage(const server::Response& response) {
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object()) return {};
  auto error = body.find("error");
  if (error == body.end() || !error->is_object()) return {};
  auto message = error->find("message");
  return message != error->end() && message->is_string() ? message->get<std::string>()
                                                         : std::string();
}

}  // namespace

absl::StatusOr<std::shared_ptr<TokenAuthorizer>> TokenAuthorizer::Open(
    store::MetadataStore& metadata, std::shared_ptr<AuditWriter> audit, const Options& options) {
  ASSIGN_OR_RETURN(TokenStore store,
                   TokenStore::Open(metadata, core::SystemClock::Shared()->NowMicros()));
  std::shared_ptr<TokenAuthorizer> authorizer(
      new TokenAuthorizer(store, std::move(audit), options));
  RETURN_IF_ERROR(authorizer->Reload());
  authorizer->reloader_ = std::thread([raw = authorizer.get()] { raw->ReloadLoop(); });
  return authorizer;
}

TokenAuthorizer::TokenAuthorizer(TokenStore store, std::shared_ptr<AuditWriter> audit,
                                 const Options& options)
    : store_(store), audit_(std::move(audit)), options_(options) {}

TokenAuthorizer::~TokenAuthorizer() {
  {
    std::lock_guard lock(stop_mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (reloader_.joinable()) reloader_.join();
}

absl::Status TokenAuthorizer::Reload() {
  std::lock_guard reload(reload_mutex_);
  ASSIGN_OR_RETURN(std::vector<TokenRecord> records, store_.List(/*include_revoked=*/false));
  auto tokens = std::make_shared<Tokens>();
  tokens->by_id.reserve(records.size());
  for (TokenRecord& record : records) {
    std::string id = record.id;
    tokens->by_id.emplace(std::move(id), std::move(record));
  }
  std::lock_guard lock(tokens_mutex_);
  tokens_ = std::move(tokens);
  return absl::OkStatus();
}

void TokenAuthorizer::ReloadLoop() {
  auto last_warning = std::chrono::steady_clock::time_point();
  std::unique_lock lock(stop_mutex_);
  while (!stop_cv_.wait_for(lock, options_.reload_interval, [this] { return stop_; })) {
    lock.unlock();
    if (absl::Status reloaded = Reload(); !reloaded.ok()) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_warning > std::chrono::seconds(30)) {
        last_warning = now;
        spdlog::warn("auth: cannot reload tokens (using those loaded before): {}",
                     core::View(reloaded.message()));
      }
    }
    lock.lock();
  }
}

std::shared_ptr<const TokenAuthorizer::Tokens> TokenAuthorizer::Current() const {
  std::lock_guard lock(tokens_mutex_);
  return tokens_;
}

size_t TokenAuthorizer::usable_tokens() const {
  const int64_t now = core::SystemClock::Shared()->NowMicros();
  size_t count = 0;
  for (const auto& [id, record] : Current()->by_id) count += record.Expired(now) ? 0 : 1;
  return count;
}

absl::StatusOr<const TokenRecord*> TokenAuthorizer::Authenticate(
    server::Request& request, std::shared_ptr<const Tokens>& tokens) {
  std::optional<std::string_view> header = request.Header("Authorization");
  if (!header.has_value()) {
    return absl::UnauthenticatedError(
        "this server requires an API token: send \"Authorization: Bearer TOKEN\" (tokens come"
        " from `ferry token create`)");
  }
  std::optional<std::string_view> bearer = BearerToken(*header);
  if (!bearer.has_value()) {
    return absl::UnauthenticatedError("the Authorization header is not \"Bearer TOKEN\"");
  }
  std::optional<PresentedToken> presented = ParseToken(*bearer);
  if (!presented.has_value()) return absl::UnauthenticatedError("malformed API token");
  auto found = tokens->by_id.find(absl::string_view(presented->id.data(), presented->id.size()));
  if (found == tokens->by_id.end()) {
    // Perhaps made a moment ago by another process: look once more, but not for every
    // request with a wrong token.
    const int64_t now = SteadyNanos();
    int64_t last = last_miss_reload_.load(std::memory_order_relaxed);
    if (now - last > std::chrono::nanoseconds(kMissReloadGap).count() &&
        last_miss_reload_.compare_exchange_strong(last, now) && Reload().ok()) {
      tokens = Current();
      found = tokens->by_id.find(absl::string_view(presented->id.data(), presented->id.size()));
    }
  }
  if (found == tokens->by_id.end() ||
      !SecretMatches(presented->secret, found->second.salt_hex, found->second.digest_hex)) {
    // The id is public: naming it lets the audit log show which token was tried.
    request.SetPrincipal(core::Cat("unverified-token:", presented->id));
    return absl::UnauthenticatedError("unknown or revoked API token");
  }
  const TokenRecord& token = found->second;
  request.SetPrincipal(core::Cat("token:", token.name));
  if (token.Expired(core::SystemClock::Shared()->NowMicros())) {
    return absl::UnauthenticatedError(core::Cat("API token \"", token.name, "\" expired at ",
                                                core::FormatTimestamp(*token.expires_at_micros)));
  }
  return &token;
}

absl::Status TokenAuthorizer::CheckRate(const server::Request& request, const TokenRecord* token) {
  const double rate = token != nullptr && token->rate_limit_per_second > 0
                          ? token->rate_limit_per_second
                          : options_.rate_limit_per_second;
  if (rate <= 0) return absl::OkStatus();
  const std::string_view key =
      token != nullptr ? std::string_view(token->id) : AddressOf(request.remote_address());
  if (limiter_.Allow(key, rate, options_.rate_limit_burst)) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      token != nullptr
          ? core::Cat("API token \"", token->name, "\" is over its rate limit of ", rate,
                      " requests per second")
          : core::Cat("this client is over the rate limit of ", rate, " requests per second"));
}

absl::Status TokenAuthorizer::Authorize(server::Request& request, const server::RouteInfo& route) {
  const ScopeSet required = RequiredScopes(route.method, route.pattern);
  if (required == 0) return absl::OkStatus();  // health probes
  if (!options_.require_tokens) return CheckRate(request, nullptr);
  std::shared_ptr<const Tokens> tokens = Current();
  ASSIGN_OR_RETURN(const TokenRecord* token, Authenticate(request, tokens));
  if ((token->granted & required) == 0) {
    return absl::PermissionDeniedError(
        core::Cat("API token \"", token->name, "\" (scope ", token->scope, ") may not ",
                  server::MethodName(route.method), " ", route.pattern, ": that needs ",
                  ScopeSetNames(required)));
  }
  return CheckRate(request, token);
}

void TokenAuthorizer::OnResponse(const server::Request& request, const server::Response& response) {
  if (audit_ == nullptr) return;
  const int status = response.status;
  const bool refused = status == 401 || status == 403;
  if (!refused && !IsAudited(request.method(), request.route_pattern())) return;
  AuditEntry entry;
  entry.at_micros = core::SystemClock::Shared()->NowMicros();
  entry.actor = request.principal().empty() ? "anonymous" : std::string(request.principal());
  entry.source = request.remote_address().empty() ? "-" : std::string(request.remote_address());
  entry.action = core::Cat(request.method_name(), " ", request.route_pattern());
  entry.target = std::string(request.path().substr(0, kMaxTargetBytes));
  entry.status = status;
  entry.outcome = std::string(OutcomeOfStatus(status));
  if (status >= 400) entry.detail = ErrorMessage(response);
  audit_->Record(std::move(entry));
}

}  // namespace ferry::auth
