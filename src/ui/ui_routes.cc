#include "ui/ui_routes.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include "core/status.h"
#include "core/strings.h"
#include "ui/ui_assets.h"

namespace ferry::ui {
namespace {

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

void AddSecurityHeaders(server::Response& response) {
  response.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("X-Frame-Options", "DENY");
}

// Splits a comma-separated header value into its items, without surrounding spaces.
template <typename Fn>
void ForEachItem(std::string_view value, Fn fn) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// True when a coding's parameters (";q=0.0") refuse it.
bool RefusedByQuality(std::string_view params) {
  std::string compact;
  for (char c : params) {
    if (c != ' ' && c != '\t') compact += c;
  }
  return compact.starts_with(";q=0") && compact.find_first_not_of("0.", 4) == std::string::npos;
}

// True when Accept-Encoding accepts gzip: named without q=0, or else "*" without q=0.
bool AcceptsGzip(const server::Request& request) {
  std::optional<std::string_view> accept = request.Header("Accept-Encoding");
  if (!accept) return false;
  std::optional<bool> gzip;
  std::optional<bool> any;
  ForEachItem(*accept, [&](std::string_view item) {
    size_t semicolon = std::min(item.find(';'), item.size());
    std::string_view coding = item.substr(0, semicolon);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    const bool accepted = !RefusedByQuality(item.substr(semicolon));
    if (EqualsIgnoreCase(coding, "gzip")) gzip = accepted;
    if (coding == "*") any = accepted;
  });
  return gzip.value_or(any.value_or(false));
}

// True when If-None-Match names this ETag (or *); a weak comparison, as RFC 9110 asks.
bool Matches(const server::Request& request, std::string_view etag) {
  std::optional<std::string_view> header = request.Header("If-None-Match");
  if (!header) return false;
  bool match = false;
  ForEachItem(*header, [&](std::string_view item) {
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag || item == "*") match = true;
  });
  return match;
}

server::Response AssetResponse(const server::Request& request, const UiAsset& asset,
                               std::string_view cache_control) {
  const bool gzip = !asset.gzip_body.empty() && AcceptsGzip(request);
  // The gzip copy is a different representation, so it has an ETag of its own.
  const std::string etag = gzip ? core::Cat(asset.etag.substr(0, asset.etag.size() - 1), "-gzip\"")
                                : std::string(asset.etag);
  server::Response response;
  response.content_type = asset.content_type;
  response.headers.emplace_back("ETag", etag);
  response.headers.emplace_back("Cache-Control", cache_control);
  if (!asset.gzip_body.empty()) response.headers.emplace_back("Vary", "Accept-Encoding");
  AddSecurityHeaders(response);
  if (Matches(request, etag)) {
    response.status = 304;
    return response;
  }
  if (gzip) {
    response.headers.emplace_back("Content-Encoding", "gzip");
    response.body.assign(asset.gzip_body);
  } else {
    response.body.assign(asset.body);
  }
  return response;
}

server::Response NotFound(std::string_view what) {
  server::Response response = server::ErrorResponse(404, "not_found", what);
  AddSecurityHeaders(response);
  return response;
}

}  // namespace

const UiAsset* FindUiAsset(std::string_view path) {
  std::span<const UiAsset> assets = UiAssets();
  auto it = std::lower_bound(assets.begin(), assets.end(), path,
                             [](const UiAsset& a, std::string_view p) { return a.path < p; });
  return it != assets.end() && it->path == path ? &*it : nullptr;
}

absl::Status AddUiRoutes(server::Router& router) {
  RETURN_IF_ERROR(router.Get("/ui", [](server::Request&) -> absl::StatusOr<server::Response> {
    server::Response response;
    response.status = 301;
    response.content_type = server::kTextContentType;
    response.body = "/ui/\n";
    response.headers.emplace_back("Location", "/ui/");
    AddSecurityHeaders(response);
    return response;
  }));
  RETURN_IF_ERROR(router.Get(
      "/ui/assets/{file}", [](server::Request& request) -> absl::StatusOr<server::Response> {
        const UiAsset* asset = FindUiAsset(core::Cat("assets/", request.PathParam("file")));
        if (asset == nullptr) return NotFound(core::Cat("no dashboard asset ", request.path()));
        return AssetResponse(request, *asset, "public, max-age=31536000, immutable");
      }));
  RETURN_IF_ERROR(
      router.Get("/ui/{path...}", [](server::Request& request) -> absl::StatusOr<server::Response> {
        // A missing asset must not turn into the page: a stale index.html asking for an
        // old bundle would get HTML as its script.
        if (request.PathParam("path").starts_with("assets/")) {
          return NotFound(core::Cat("no dashboard asset ", request.path()));
        }
        const UiAsset* index = FindUiAsset("index.html");
        if (index == nullptr) {
          return NotFound("the dashboard is not built into this binary (FERRY_BUILD_UI=OFF)");
        }
        return AssetResponse(request, *index, "no-cache");
      }));
  return absl::OkStatus();
}

}  // namespace ferry::ui
