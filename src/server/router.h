#pragma once

// Router: maps a method and a request path to the handler registered for a route
// pattern, and turns everything that can go wrong on the way (no route, wrong method,
// a malformed path, an authorizer's refusal, a handler's error Status or exception)
// into a JSON error Response. Dispatch never throws.
//
// Patterns are split into segments once, at registration, into a tree; a request is
// matched by walking it segment by segment (no regular expressions). A segment is
// literal text or one parameter, optionally with literal text around it:
//
//   /v2/models/{model}/versions/{version}/infer
//   /v1/models/{model}:predict          (TF-Serving style: a literal suffix)
//   /ui/{path...}                       (the rest of the path: a whole last segment)
//
// Matching rules, in the order a request sees them:
//   - The path is split on '/' and each segment is percent-decoded before matching, so
//     literals and parameters see the same decoded text. A path whose decoding would be
//     ambiguous or unsafe -- a malformed escape ("%4", "%zz"), an encoded '/' ("%2F"),
//     a NUL or other control character, a "." or ".." segment, or bytes that are not
//     UTF-8 -- is rejected with 400 (code "invalid_argument") before any route is tried.
//   - Trailing slashes are significant: "/healthz/" does not match "/healthz" (404).
//   - A literal segment beats a parameter; among parameters, the one with more literal
//     text around it ("{model}:predict") beats a bare "{model}". A parameter matches at
//     least one character. When a preferred branch leads nowhere further down, the
//     next one is tried ("/m/stats/x" can still match "/m/{id}/x" next to "/m/stats").
//   - A rest parameter "{name...}" is tried last and takes every remaining segment,
//     joined with '/', at least one of them but possibly empty: "/ui/{path...}" matches
//     "/ui/" (path "") and "/ui/runs/7" (path "runs/7"), not "/ui". The single-page
//     dashboard uses it so any client-side route reloads.
//   - No pattern matches the path: 404 (code "not_found").
//   - The most specific pattern that matches the path owns it. If it has no handler
//     for the method: 405 (code "method_not_allowed") with an Allow header listing the
//     methods it has -- even when a less specific pattern has one (GET
//     "/v1/models/m:predict" is 405 next to POST "{model}:predict" and GET "{model}").
//     HEAD is served by the GET handler when no HEAD handler is registered (the server
//     then sends no body).
//   - Every matched request, whatever its method, passes through the Authorizer before
//     its handler; a refusal becomes the error body (with WWW-Authenticate for 401 and
//     Retry-After for 429) and the handler never runs. Request::route_pattern() is set.
//
// Streaming routes (AddStreaming, PostStreaming) receive their body through a BodySink
// as it arrives (body_sink.h) instead of whole in Request::body(). They share the tree
// and the rules above with ordinary routes; a pattern has at most one handler of
// either kind per method. The server routes a request as soon as its header has
// arrived when the router has streaming routes (MatchStreaming, OpenBodySink), and
// reads the body whole and calls Dispatch otherwise.
//
// Thread-safety: Add is not thread-safe and happens before serving; a Router that is
// no longer modified (the server holds a shared_ptr<const Router>) may Dispatch from
// any number of threads at once. Handlers are called concurrently and must be
// thread-safe.

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/authorizer.h"
#include "server/body_sink.h"
#include "server/http_message.h"

namespace ferry::server {

// A handler may return a Response with any status, or a non-OK Status which the Router
// turns into the JSON error body with core::MapStatusCode's HTTP status and code.
// Exceptions are caught and become 500 (code "internal"); their text is logged, not
// sent.
using Handler = std::function<absl::StatusOr<Response>(Request&)>;

// A streaming route's handler: called once the request's header has arrived, before
// any of its body is read (Request::body() is empty), after the Authorizer, on the
// connection's IO thread -- so it must be quick: check the request and create the
// sink (open a file, say); long work belongs in the sink. It returns the sink that
// receives the body, or a non-OK Status to refuse the request before its body is sent
// (a client that asked for "Expect: 100-continue" is never told to continue).
// Exceptions are caught and become 500 (code "internal").
using StreamingHandler = std::function<absl::StatusOr<BodySinkPtr>(Request&)>;

// A request matched to a streaming route by Router::MatchStreaming; points into the
// Router, so it is valid as long as the Router is.
struct StreamingMatch {
  const StreamingHandler* handler = nullptr;
  std::string_view pattern;  // as registered
};

// The error response for an Authorizer's refusal (or a streaming handler's error):
// ErrorResponse, plus "WWW-Authenticate: Bearer" for Unauthenticated and
// "Retry-After: 1" for ResourceExhausted.
Response RefusalResponse(const absl::Status& refusal);

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Registers handler for method on pattern. Errors:
  //   InvalidArgument: the pattern does not start with '/', has an empty segment or a
  //     trailing slash (other than "/" itself), a parameter name that is not
  //     [A-Za-z_][A-Za-z0-9_]*, two parameters in one segment or two with the same
  //     name, '%' in literal text, more than 16 parameters, or a parameter whose name
  //     differs from one an earlier pattern declared at the same place
  //     ("/m/{a}" then "/m/{b}/x"); or the method is kOther or the handler is empty.
  //   AlreadyExists: a handler is already registered for this method and pattern.
  absl::Status Add(Method method, std::string_view pattern, Handler handler);

  absl::Status Get(std::string_view pattern, Handler handler) {
    return Add(Method::kGet, pattern, std::move(handler));
  }
  absl::Status Post(std::string_view pattern, Handler handler) {
    return Add(Method::kPost, pattern, std::move(handler));
  }
  absl::Status Put(std::string_view pattern, Handler handler) {
    return Add(Method::kPut, pattern, std::move(handler));
  }
  absl::Status Delete(std::string_view pattern, Handler handler) {
    return Add(Method::kDelete, pattern, std::move(handler));
  }

  // Registers a streaming route (see body_sink.h): its body goes to the sink the
  // handler returns, piece by piece, and is bounded by server.max_upload_bytes instead
  // of max_body_bytes. Errors as for Add; AlreadyExists also when the method and
  // pattern have an ordinary handler (and Add says so for a streaming one).
  absl::Status AddStreaming(Method method, std::string_view pattern, StreamingHandler handler);
  absl::Status PostStreaming(std::string_view pattern, StreamingHandler handler) {
    return AddStreaming(Method::kPost, pattern, std::move(handler));
  }

  // Routes request as described at the top of this file and returns the response to
  // send. Sets the request's path parameters when a route matches. A streaming route
  // dispatched this way (tests, in-process callers) gets the whole of request.body()
  // in one Append, then Finish (or Abort when Append fails), on the calling thread.
  Response Dispatch(Request& request, Authorizer& authorizer) const;

  // Calls fn(method, pattern) for every registered route (GET's implied HEAD not
  // included), in no particular order: for checks over the whole route table.
  void ForEachRoute(const std::function<void(Method, std::string_view)>& fn) const;

  // True when some route streams its body.
  bool has_streaming_routes() const { return streaming_methods_ != 0; }

  // For the server, once a request's header has arrived: the streaming route the
  // request goes to, with its path parameters set; nullopt when it goes anywhere else
  // (an ordinary handler, or a 400, 404 or 405 answer), and is then read whole and
  // dispatched. Never fails.
  std::optional<StreamingMatch> MatchStreaming(Request& request) const;

  // Runs the Authorizer and then the matched streaming route's
  // handler. Returns the sink, or the status to answer with instead: the Authorizer's
  // refusal, the handler's error, or Internal ("internal error", the exception logged)
  // when either throws.
  absl::StatusOr<BodySinkPtr> OpenBodySink(const StreamingMatch& match, Request& request,
                                           Authorizer& authorizer) const;

 private:
  struct Node;
  struct ParamEdge;
  struct MatchState;

  static bool Search(const Node& node, size_t index, MatchState& state);
  static void Visit(const Node& node, const std::function<void(Method, std::string_view)>& fn);
  static void SetPathParams(const MatchState& state, Request& request);
  // Validates pattern, checks that method is free there, and returns its node,
  // creating it (and those above it) if needed. Errors as listed at Add.
  absl::StatusOr<Node*> NodeForNewRoute(Method method, std::string_view pattern);
  // Runs a matched streaming route in-process (see Dispatch).
  Response DispatchStreaming(const StreamingMatch& match, Request& request,
                             Authorizer& authorizer) const;

  std::unique_ptr<Node> root_;
  uint8_t streaming_methods_ = 0;  // bit per method some streaming route serves
};

}  // namespace ferry::server
