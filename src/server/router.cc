#include "server/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/strings.h"
#include "server/path_segments.h"

namespace ferry::server {
namespace {

constexpr size_t kMaxParams = 16;

uint8_t MethodBit(Method method) { return static_cast<uint8_t>(1u << static_cast<int>(method)); }

std::string AllowList(uint8_t mask) {
  std::string allow;
  for (int i = 0; i < kMethodCount; ++i) {
    if ((mask & (1u << i)) == 0) continue;
    if (!allow.empty()) allow += ", ";
    allow += MethodName(static_cast<Method>(i));
  }
  return allow;
}

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// One segment of a pattern: literal text, or a parameter with literal text around it.
struct PatternSegment {
  bool is_param = false;
  bool is_rest = false;      // "{name...}": the rest of the path
  std::string_view literal;  // the whole segment when !is_param
  std::string_view prefix;
  std::string_view name;
  std::string_view suffix;
};

absl::Status ParseSegment(std::string_view pattern, std::string_view text, PatternSegment& out) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(core::Cat("route pattern \"", pattern, "\": ", why));
  };
  if (text.empty()) return bad("empty segment (or trailing slash)");
  if (text.find('%') != std::string_view::npos) {
    return bad("'%' in literal text; write the decoded character instead");
  }
  size_t open = text.find('{');
  if (open == std::string_view::npos) {
    if (text.find('}') != std::string_view::npos) return bad("'}' without '{'");
    out = PatternSegment{};
    out.literal = text;
    return absl::OkStatus();
  }
  size_t close = text.find('}', open);
  if (close == std::string_view::npos) return bad("'{' without '}'");
  std::string_view name = text.substr(open + 1, close - open - 1);
  const bool is_rest = name.ends_with("...");
  if (is_rest) name.remove_suffix(3);
  if (name.empty() || !IsNameStart(name.front()) ||
      !std::all_of(name.begin(), name.end(), IsNameChar)) {
    return bad(core::Cat("parameter name \"", name, "\" is not [A-Za-z_][A-Za-z0-9_]*"));
  }
  std::string_view prefix = text.substr(0, open);
  std::string_view suffix = text.substr(close + 1);
  if (prefix.find('}') != std::string_view::npos ||
      suffix.find_first_of("{}") != std::string_view::npos) {
    return bad("at most one parameter per segment");
  }
  if (is_rest && (!prefix.empty() || !suffix.empty())) {
    return bad(core::Cat("{", name, "...} must be a whole segment"));
  }
  out = PatternSegment{};
  out.is_param = true;
  out.is_rest = is_rest;
  out.prefix = prefix;
  out.name = name;
  out.suffix = suffix;
  return absl::OkStatus();
}

void LogThrown(const Request& request, std::string_view pattern, std::string_view what) {
  spdlog::error("{} {} ({}): handler threw: {}", request.method_name(), request.path(), pattern,
                what);
}

// Per-thread scratch: reused, so routing allocates nothing once warm. It is only used
// before a handler runs, so a handler that dispatches again does not disturb it.
PathSegments& ScratchPath() {
  thread_local PathSegments path;
  return path;
}

// What a client sees of a handler's exception: its text goes to the log only.
absl::Status InternalError() { return absl::InternalError("internal error"); }

}  // namespace

// The answer to an Authorizer's refusal, with the header fields its kind calls for.
Response RefusalResponse(const absl::Status& refusal) {
  Response response = ErrorResponse(refusal);
  if (refusal.code() == absl::StatusCode::kUnauthenticated) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ferry\"");
  } else if (refusal.code() == absl::StatusCode::kResourceExhausted) {
    response.headers.emplace_back("Retry-After", "1");
  }
  return response;
}

struct Router::ParamEdge {
  std::string prefix;
  std::string suffix;
  std::string name;
  std::unique_ptr<Node> child;

  bool Matches(std::string_view segment) const {
    return segment.size() > prefix.size() + suffix.size() && segment.starts_with(prefix) &&
           segment.ends_with(suffix);
  }
  std::string_view Value(std::string_view segment) const {
    return segment.substr(prefix.size(), segment.size() - prefix.size() - suffix.size());
  }
};

struct Router::Node {
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> literals;
  // Most literal text first, so "{model}:predict" is tried before "{model}".
  std::vector<std::unique_ptr<ParamEdge>> params;
  std::unique_ptr<ParamEdge> rest;  // "{name...}", tried last
  std::array<Handler, kMethodCount> handlers;
  std::array<StreamingHandler, kMethodCount> streaming;
  uint8_t method_mask = 0;  // MethodBit of each method served here (HEAD with GET)
  std::string allow;        // method_mask as an Allow header value
  std::string pattern;      // as first registered

  const Handler* HandlerFor(Method method) const {
    if (method == Method::kOther) return nullptr;
    const Handler& handler = handlers[static_cast<int>(method)];
    if (handler) return &handler;
    if (method == Method::kHead && handlers[static_cast<int>(Method::kGet)]) {
      return &handlers[static_cast<int>(Method::kGet)];
    }
    return nullptr;
  }
  const StreamingHandler* StreamingHandlerFor(Method method) const {
    if (method == Method::kOther) return nullptr;
    const StreamingHandler& handler = streaming[static_cast<int>(method)];
    return handler ? &handler : nullptr;
  }
  bool Serves(Method method) const {
    return handlers[static_cast<int>(method)] || streaming[static_cast<int>(method)];
  }
  void AddMethod(Method method, std::string_view route_pattern) {
    method_mask |= MethodBit(method);
    if (method == Method::kGet) method_mask |= MethodBit(Method::kHead);
    allow = AllowList(method_mask);
    if (pattern.empty()) pattern = std::string(route_pattern);
  }
};

struct Router::MatchState {
  MatchState(const std::vector<std::string_view>& path_segments, Method request_method)
      : segments(path_segments), method(request_method) {}

  const std::vector<std::string_view>& segments;
  Method method;
  // The parameters captured on the way down to the current node.
  std::array<std::pair<const ParamEdge*, std::string_view>, kMaxParams> captures;
  size_t capture_count = 0;
  // A "{name...}" parameter captured segments[rest_from, end) (joined with '/').
  const ParamEdge* rest = nullptr;
  size_t rest_from = 0;
  const Node* found = nullptr;  // the most specific node with routes for the path
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

absl::Status Router::Add(Method method, std::string_view pattern, Handler handler) {
  if (!handler) return absl::InvalidArgumentError(core::Cat("empty handler for ", pattern));
  ASSIGN_OR_RETURN(Node * node, NodeForNewRoute(method, pattern));
  node->handlers[static_cast<int>(method)] = std::move(handler);
  node->AddMethod(method, pattern);
  return absl::OkStatus();
}

absl::Status Router::AddStreaming(Method method, std::string_view pattern,
                                  StreamingHandler handler) {
  if (!handler) return absl::InvalidArgumentError(core::Cat("empty handler for ", pattern));
  ASSIGN_OR_RETURN(Node * node, NodeForNewRoute(method, pattern));
  node->streaming[static_cast<int>(method)] = std::move(handler);
  node->AddMethod(method, pattern);
  streaming_methods_ |= MethodBit(method);
  return absl::OkStatus();
}

absl::StatusOr<Router::Node*> Router::NodeForNewRoute(Method method, std::string_view pattern) {
  if (method == Method::kOther) return absl::InvalidArgumentError("cannot route method OTHER");
  if (pattern.empty() || pattern.front() != '/') {
    return absl::InvalidArgumentError(
        core::Cat("route pattern \"", pattern, "\" must start with '/'"));
  }
  std::vector<PatternSegment> segments;
  if (pattern.size() > 1) {
    size_t start = 1;
    while (true) {
      size_t end = std::min(pattern.find('/', start), pattern.size());
      PatternSegment segment;
      RETURN_IF_ERROR(ParseSegment(pattern, pattern.substr(start, end - start), segment));
      segments.push_back(segment);
      if (end == pattern.size()) break;
      start = end + 1;
    }
  }
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    if (segments[i].is_rest) {
      return absl::InvalidArgumentError(core::Cat(
          "route pattern \"", pattern, "\": {", segments[i].name, "...} must be the last segment"));
    }
  }
  std::vector<std::string_view> names;
  for (const PatternSegment& segment : segments) {
    if (!segment.is_param) continue;
    if (std::find(names.begin(), names.end(), segment.name) != names.end()) {
      return absl::InvalidArgumentError(
          core::Cat("route pattern \"", pattern, "\": parameter {", segment.name, "} twice"));
    }
    names.push_back(segment.name);
  }
  if (names.size() > kMaxParams) {
    return absl::InvalidArgumentError(
        core::Cat("route pattern \"", pattern, "\": more than ", kMaxParams, " parameters"));
  }

  // Check everything before changing the tree, so a failed Add leaves no trace.
  Node* node = root_.get();
  std::vector<PatternSegment> pending;  // segments below the last existing node
  size_t i = 0;
  for (; i < segments.size(); ++i) {
    const PatternSegment& segment = segments[i];
    Node* next = nullptr;
    if (!segment.is_param) {
      for (auto& [literal, child] : node->literals) {
        if (literal == segment.literal) next = child.get();
      }
    } else if (segment.is_rest) {
      if (node->rest != nullptr && node->rest->name != segment.name) {
        return absl::InvalidArgumentError(
            core::Cat("route pattern \"", pattern, "\": parameter {", segment.name,
                      "...} where an earlier pattern has {", node->rest->name, "...}"));
      }
      if (node->rest != nullptr) next = node->rest->child.get();
    } else {
      for (auto& edge : node->params) {
        if (edge->prefix != segment.prefix || edge->suffix != segment.suffix) continue;
        if (edge->name != segment.name) {
          return absl::InvalidArgumentError(
              core::Cat("route pattern \"", pattern, "\": parameter {", segment.name,
                        "} where an earlier pattern has {", edge->name, "}"));
        }
        next = edge->child.get();
      }
    }
    if (next == nullptr) break;
    node = next;
  }
  if (i == segments.size() && node->Serves(method)) {
    return absl::AlreadyExistsError(
        core::Cat("route ", MethodName(method), " ", pattern, " is already registered"));
  }
  for (; i < segments.size(); ++i) {
    const PatternSegment& segment = segments[i];
    auto child = std::make_unique<Node>();
    Node* next = child.get();
    if (!segment.is_param) {
      node->literals.emplace_back(std::string(segment.literal), std::move(child));
    } else if (segment.is_rest) {
      node->rest = std::make_unique<ParamEdge>();
      node->rest->name = segment.name;
      node->rest->child = std::move(child);
    } else {
      auto edge = std::make_unique<ParamEdge>();
      edge->prefix = segment.prefix;
      edge->suffix = segment.suffix;
      edge->name = segment.name;
      edge->child = std::move(child);
      node->params.push_back(std::move(edge));
      std::stable_sort(node->params.begin(), node->params.end(), [](auto& a, auto& b) {
        return a->prefix.size() + a->suffix.size() > b->prefix.size() + b->suffix.size();
      });
    }
    node = next;
  }
  return node;
}

bool Router::Search(const Node& node, size_t index, MatchState& state) {
  if (index == state.segments.size()) {
    if (node.method_mask == 0) return false;  // only an inner node of longer patterns
    state.found = &node;
    return true;
  }
  std::string_view segment = state.segments[index];
  for (const auto& [literal, child] : node.literals) {
    if (literal != segment) continue;
    if (Search(*child, index + 1, state)) return true;
    break;  // literals are unique within a node
  }
  for (const auto& edge : node.params) {
    if (!edge->Matches(segment)) continue;
    state.captures[state.capture_count++] = {edge.get(), edge->Value(segment)};
    if (Search(*edge->child, index + 1, state)) return true;
    --state.capture_count;
  }
  // The rest of the path, even a single empty segment ("/ui/"), if the route serves any.
  if (node.rest != nullptr && node.rest->child->method_mask != 0) {
    state.rest = node.rest.get();
    state.rest_from = index;
    state.found = node.rest->child.get();
    return true;
  }
  return false;
}

void Router::SetPathParams(const MatchState& state, Request& request) {
  for (size_t i = 0; i < state.capture_count; ++i) {
    request.AddPathParam(state.captures[i].first->name, state.captures[i].second);
  }
  if (state.rest != nullptr) {
    std::string rest;
    for (size_t i = state.rest_from; i < state.segments.size(); ++i) {
      if (i > state.rest_from) rest += '/';
      rest += state.segments[i];
    }
    request.AddPathParam(state.rest->name, rest);
  }
  request.SetRoutePattern(state.found->pattern);
}

void Router::ForEachRoute(const std::function<void(Method, std::string_view)>& fn) const {
  Visit(*root_, fn);
}

void Router::Visit(const Node& node, const std::function<void(Method, std::string_view)>& fn) {
  for (int i = 0; i < kMethodCount; ++i) {
    if (node.Serves(static_cast<Method>(i))) fn(static_cast<Method>(i), node.pattern);
  }
  for (const auto& [literal, child] : node.literals) Visit(*child, fn);
  for (const auto& edge : node.params) Visit(*edge->child, fn);
  if (node.rest != nullptr) Visit(*node.rest->child, fn);
}

Response Router::Dispatch(Request& request, Authorizer& authorizer) const {
  PathSegments& path = ScratchPath();
  request.ClearPathParams();
  if (absl::Status split = SplitPath(request.path(), path); !split.ok()) {
    return ErrorResponse(split);
  }
  MatchState state(path.segments, request.method());
  if (!Search(*root_, 0, state)) {
    return ErrorResponse(404, "not_found", core::Cat("no route for ", request.path()));
  }
  const Handler* handler = state.found->HandlerFor(request.method());
  const StreamingHandler* streaming = state.found->StreamingHandlerFor(request.method());
  if (handler == nullptr && streaming == nullptr) {
    Response response = ErrorResponse(
        405, "method_not_allowed",
        core::Cat("method ", request.method_name(), " is not allowed on ", request.path()));
    response.headers.emplace_back("Allow", state.found->allow);
    return response;
  }
  SetPathParams(state, request);
  if (streaming != nullptr) {
    return DispatchStreaming(StreamingMatch{streaming, state.found->pattern}, request, authorizer);
  }

  // Exceptions stop here: a throwing handler (or authorizer) costs one 500, never the
  // server. What they say goes to the log, not to the client.
  try {
    RouteInfo route{.method = request.method(), .pattern = state.found->pattern};
    absl::Status allowed = authorizer.Authorize(request, route);
    if (!allowed.ok()) return RefusalResponse(allowed);
    absl::StatusOr<Response> response = (*handler)(request);
    if (!response.ok()) return ErrorResponse(response.status());
    return *std::move(response);
  } catch (const std::exception& e) {
    LogThrown(request, state.found->pattern, e.what());
  } catch (...) {
    LogThrown(request, state.found->pattern, "a non-exception");
  }
  return ErrorResponse(InternalError());
}

std::optional<StreamingMatch> Router::MatchStreaming(Request& request) const {
  if ((streaming_methods_ & MethodBit(request.method())) == 0) return std::nullopt;
  PathSegments& path = ScratchPath();
  request.ClearPathParams();
  if (!SplitPath(request.path(), path).ok()) return std::nullopt;
  MatchState state(path.segments, request.method());
  if (!Search(*root_, 0, state)) return std::nullopt;
  const StreamingHandler* handler = state.found->StreamingHandlerFor(request.method());
  if (handler == nullptr) return std::nullopt;
  SetPathParams(state, request);
  return StreamingMatch{handler, state.found->pattern};
}

absl::StatusOr<BodySinkPtr> Router::OpenBodySink(const StreamingMatch& match, Request& request,
                                                 Authorizer& authorizer) const {
  try {
    RETURN_IF_ERROR(authorizer.Authorize(
        request, RouteInfo{.method = request.method(), .pattern = match.pattern}));
    absl::StatusOr<BodySinkPtr> sink = (*match.handler)(request);
    if (sink.ok() && *sink == nullptr) {
      spdlog::error("{} {} ({}): streaming handler returned no sink", request.method_name(),
                    request.path(), match.pattern);
      return InternalError();
    }
    return sink;
  } catch (const std::exception& e) {
    LogThrown(request, match.pattern, e.what());
  } catch (...) {
    LogThrown(request, match.pattern, "a non-exception");
  }
  return InternalError();
}

Response Router::DispatchStreaming(const StreamingMatch& match, Request& request,
                                   Authorizer& authorizer) const {
  absl::StatusOr<BodySinkPtr> sink = OpenBodySink(match, request, authorizer);
  if (!sink.ok()) return RefusalResponse(sink.status());
  try {
    if (!request.body().empty()) {
      if (absl::Status appended = (*sink)->Append(request.body()); !appended.ok()) {
        (*sink)->Abort(core::View(appended.message()));
        return ErrorResponse(appended);
      }
    }
    absl::StatusOr<Response> response = (*sink)->Finish();
    if (!response.ok()) return ErrorResponse(response.status());
    return *std::move(response);
  } catch (const std::exception& e) {
    LogThrown(request, match.pattern, e.what());
  } catch (...) {
    LogThrown(request, match.pattern, "a non-exception");
  }
  return ErrorResponse(InternalError());
}

}  // namespace ferry::server
