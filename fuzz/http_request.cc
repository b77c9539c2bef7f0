// Fuzzes the HTTP server's request handling without sockets: the bytes a client sends on
// one keep-alive connection go through RequestParser (server/request_parser.h) the way
// the connection feeds it (in reads of varying size, pipelined requests one after the
// other, streaming routes chosen once the header is in), each complete request through
// Router::Dispatch (server/router.h), and each response through AppendResponseHead
// (server/response_head.h).
//
// The router holds the health routes every server has (server/health_routes.h) and
// routes of the shapes the API registers (src/api/*_routes.cc): literal segments,
// parameters, a literal suffix ("{model}:predict"), patterns that share prefixes, a
// streaming upload, handlers that fail and throw. Building the API's own router
// (api::BuildRouter) needs a workspace and every subsystem, too much for this build;
// the router, not the handlers, is what turns raw targets into routes.
//
// Beyond "no crash" it checks: a matched route's parameters put back into its pattern
// give the request's decoded path; a header-time streaming match agrees with what
// Dispatch runs; every response has a status in 100..599 and, when JSON, a body that
// parses; the response head parses as HTTP with the body's length.

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>  // before any Boost.Asio / Boost.Beast header (see server/asio.h)
#include <vector>

#include "core/check.h"
#include "nlohmann/json.hpp"
#include "server/asio.h"  // first: see asio.h
#include "server/authorizer.h"
#include "server/health_routes.h"
#include "server/request_parser.h"
#include "server/response_head.h"
#include "server/router.h"

namespace {

using ferry::server::BodySink;
using ferry::server::BodySinkPtr;
using ferry::server::Method;
using ferry::server::Request;
using ferry::server::Response;
using ferry::server::Router;

constexpr uint64_t kMaxBodyBytes = 4096;
constexpr uint64_t kMaxUploadBytes = 16384;
constexpr uint32_t kMaxHeaderBytes = 2048;
constexpr std::string_view kUploadRoute = "/api/v1/datasets/{name}/files";

// What the last handler saw: its pattern and parameters, by parameter name.
struct Matched {
  std::string pattern;
  std::map<std::string, std::string> params;
};
std::optional<Matched> last_match;

// The parameter names of `pattern`, in order.
std::vector<std::string> ParamNames(std::string_view pattern) {
  std::vector<std::string> names;
  for (size_t open = pattern.find('{'); open != std::string_view::npos;
       open = pattern.find('{', open + 1)) {
    const size_t close = pattern.find('}', open);
    names.emplace_back(pattern.substr(open + 1, close - open - 1));
  }
  return names;
}

void Record(std::string_view pattern, const Request& request) {
  Matched m{std::string(pattern), {}};
  for (const std::string& name : ParamNames(pattern)) {
    m.params[name] = std::string(request.PathParam(name));
    FERRY_CHECK(!m.params[name].empty());  // a parameter matches at least one character
  }
  last_match = std::move(m);
}

ferry::server::Handler Echo(std::string_view pattern) {
  return [pattern = std::string(pattern)](Request& request) -> absl::StatusOr<Response> {
    Record(pattern, request);
    nlohmann::json body = {{"route", pattern}};
    return ferry::server::JsonResponse(body);
  };
}

// A streaming upload's sink: keeps the size, fails past a limit of its own.
class CountingSink final : public BodySink {
 public:
  absl::Status Append(std::string_view bytes) override {
    FERRY_CHECK(!bytes.empty() && !finished_);
    size_ += bytes.size();
    if (size_ > kMaxUploadBytes / 2) return absl::ResourceExhaustedError("upload too large");
    return absl::OkStatus();
  }
  absl::StatusOr<Response> Finish() override {
    finished_ = true;
    return ferry::server::JsonTextResponse("{\"bytes\":" + std::to_string(size_) + "}", 201);
  }
  void Abort(std::string_view) override { finished_ = true; }

 private:
  uint64_t size_ = 0;
  bool finished_ = false;
};

const Router& TheRouter() {
  static const Router* router = [] {
    auto* r = new Router();
    FERRY_CHECK(
        ferry::server::AddHealthRoutes(*r, [] { return true; }, {"binary_tensor_data"}).ok());
    const std::pair<Method, const char*> routes[] = {
        {Method::kGet, "/api/v1/workspace"},
        {Method::kGet, "/api/v1/datasets"},
        {Method::kGet, "/api/v1/datasets/{name}"},
        {Method::kGet, "/api/v1/datasets/{name}/versions/{version}"},
        {Method::kGet, "/api/v1/datasets/{name}/versions/{version}/profile"},
        {Method::kGet, "/v2/models/{model}"},
        {Method::kGet, "/v2/models/{model}/ready"},
        {Method::kGet, "/v2/models/{model}/versions/{version}"},
        {Method::kPost, "/v2/models/{model}/infer"},
        {Method::kPost, "/v2/models/{model}/versions/{version}/infer"},
        {Method::kGet, "/v1/models/{model}"},
        {Method::kPost, "/v1/models/{model}:predict"},
        {Method::kGet, "/api/v1/endpoints/{endpoint}"},
        {Method::kPut, "/api/v1/endpoints/{endpoint}"},
        {Method::kDelete, "/api/v1/endpoints/{endpoint}"},
        {Method::kGet, "/api/v1/endpoints/{endpoint}/predictions"},
        {Method::kPost, "/api/v1/features/online"},
        {Method::kGet, "/api/v1/runs/stats"},
        {Method::kGet, "/api/v1/runs/{run}/metrics/{key}"},
        {Method::kPost, "/api/v1/pipelines/{name}/runs"},
        {Method::kGet, "/api/v1/alerts/{alert}:history"},
    };
    for (const auto& [method, pattern] : routes)
      FERRY_CHECK(r->Add(method, pattern, Echo(pattern)).ok());
    FERRY_CHECK(r->Get("/api/v1/fail/{code}", [](Request& request) -> absl::StatusOr<Response> {
                   Record("/api/v1/fail/{code}", request);
                   if (request.PathParam("code") == "throw")
                     throw std::runtime_error("handler threw");
                   return absl::NotFoundError(std::string("no ") +
                                              std::string(request.PathParam("code")));
                 }).ok());
    FERRY_CHECK(r->PostStreaming(kUploadRoute, [](Request& request) -> absl::StatusOr<BodySinkPtr> {
                   Record(kUploadRoute, request);
                   if (request.PathParam("name") == "refused")
                     return absl::PermissionDeniedError("no");
                   return std::make_unique<CountingSink>();
                 }).ok());
    return r;
  }();
  return *router;
}

// The one authorizer the harness uses (the server's default).
ferry::server::Authorizer& TheAuthorizer() {
  static ferry::server::AllowAllAuthorizer authorizer;
  return authorizer;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a path the router accepted (its escapes are well formed).
std::string Decoded(std::string_view path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() && HexValue(path[i + 1]) >= 0 &&
        HexValue(path[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(path[i + 1]) * 16 + HexValue(path[i + 2])));
      i += 2;
    } else {
      out.push_back(path[i]);
    }
  }
  return out;
}

// The pattern with its parameters filled in.
std::string Expand(const Matched& m) {
  std::string out;
  std::string_view pattern = m.pattern;
  for (size_t open; (open = pattern.find('{')) != std::string_view::npos;) {
    const size_t close = pattern.find('}', open);
    out += pattern.substr(0, open);
    out += m.params.at(std::string(pattern.substr(open + 1, close - open - 1)));
    pattern.remove_prefix(close + 1);
  }
  out += pattern;
  return out;
}

void CheckResponse(const Request& request, const Response& response) {
  FERRY_CHECK(response.status >= 100 && response.status <= 599);
  if (response.content_type == ferry::server::kJsonContentType) {
    FERRY_CHECK(nlohmann::json::accept(response.body));
  }
  if (response.status == 405) {
    bool allow = false;
    for (const auto& [name, value] : response.headers) allow = allow || name == "Allow";
    FERRY_CHECK(allow);
  }
  if (last_match) {
    // Only a route that matched runs a handler; its parameters rebuild the path.
    FERRY_CHECK(Expand(*last_match) == Decoded(request.path()));
  }
  // The head the connection writes parses back with the body's length.
  std::string head;
  const size_t body_bytes = ferry::server::AppendResponseHead(
      response, {.keep_alive = true, .request_version = request.http_version()}, head);
  FERRY_CHECK(body_bytes == response.body.size() || body_bytes == 0);
  namespace http = boost::beast::http;
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // the head only
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(head), ec);
  FERRY_CHECK(!ec && parser.is_header_done());
  FERRY_CHECK(parser.get().result_int() == static_cast<unsigned>(response.status));
  if (body_bytes > 0)
    FERRY_CHECK(parser.content_length() && *parser.content_length() == body_bytes);
}

// Reads of these sizes in turn, as a socket might deliver the bytes.
constexpr size_t kReads[] = {4096, 1, 7, 64, 3, 512};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Router& router = TheRouter();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t delivered = 0;  // bytes of input "read" so far
  size_t begin = 0;      // the first byte not yet parsed
  size_t read = 0;
  Request request;
  for (int requests = 0; requests < 16 && begin < input.size(); ++requests) {
    request.Reset();
    last_match.reset();
    ferry::server::RequestParser parser(request, kMaxBodyBytes, kMaxHeaderBytes);
    // The connection's settings when the router has streaming routes (connection.cc).
    parser.eager(false);
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    bool header_routed = false;
    std::optional<ferry::server::StreamingMatch> streaming;
    std::string staging;
    BodySinkPtr sink;
    absl::Status sink_status;
    absl::Status refused;
    boost::system::error_code ec;
    while (true) {
      if (begin == delivered) {
        if (delivered == input.size()) break;  // the client sent nothing more
        delivered = std::min(input.size(), delivered + kReads[read++ % std::size(kReads)]);
      }
      const size_t used =
          parser.put(boost::asio::buffer(input.data() + begin, delivered - begin), ec);
      begin += used;
      if (ec == boost::beast::http::error::need_more) {
        ec = {};
        if (delivered == input.size()) break;
        delivered = std::min(input.size(), delivered + kReads[read++ % std::size(kReads)]);
        continue;
      }
      if (ec) break;
      if (!header_routed && parser.is_header_done()) {
        header_routed = true;
        parser.eager(true);
        streaming = router.MatchStreaming(request);
        const uint64_t limit = streaming ? kMaxUploadBytes : kMaxBodyBytes;
        if (parser.content_length() && *parser.content_length() > limit) {
          ec = boost::beast::http::error::body_limit;
          break;
        }
        parser.body_limit(limit);
        if (streaming) {
          auto opened = router.OpenBodySink(*streaming, request, TheAuthorizer());
          FERRY_CHECK(last_match && last_match->pattern == streaming->pattern);
          FERRY_CHECK(Expand(*last_match) == Decoded(request.path()));
          if (!opened.ok()) {
            // Refused before the body: the connection answers and closes.
            refused = opened.status();
            break;
          }
          sink = *std::move(opened);
          parser.SetBodyDestination(staging);
        }
      }
      if (sink && !staging.empty()) {
        if (sink_status.ok()) sink_status = sink->Append(staging);
        staging.clear();
      }
      if (parser.is_done()) break;
    }
    if (!refused.ok()) {
      CheckResponse(request, ferry::server::ErrorResponse(refused));
      break;
    }
    if (ec || !parser.is_done()) {
      if (sink) sink->Abort("the request was not complete");
      // A malformed, too large or unfinished request: the connection answers with an
      // error and closes, so nothing after it is read.
      break;
    }
    if (sink) {
      if (sink_status.ok()) {
        auto finished = sink->Finish();
        CheckResponse(request,
                      finished.ok() ? *finished : ferry::server::ErrorResponse(finished.status()));
      } else {
        sink->Abort("append failed");
      }
      if (!sink_status.ok() || !parser.keep_alive()) break;
      continue;
    }
    const bool keep_alive = parser.keep_alive();
    const Response response = router.Dispatch(request, TheAuthorizer());
    // A request the header stage did not stream never reaches the streaming route.
    FERRY_CHECK(!last_match || last_match->pattern != kUploadRoute);
    CheckResponse(request, response);
    if (!keep_alive) break;
  }
  return 0;
}
