#pragma once

// Request and Response: the HTTP messages handlers see and return, independent of the
// wire library underneath. The server reuses one Request per connection, so its
// storage (target, header fields, body, path parameters) keeps its capacity from one
// request to the next and a steady stream of small requests allocates nothing.
//
// Thread-safety: value types with no synchronization; a Request is handled by one
// thread at a time (the thread that owns its connection).

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json_fwd.hpp"

namespace ferry::server {

class BodyFile;
class Router;

enum class Method : uint8_t {
  kGet,
  kHead,
  kPost,
  kPut,
  kPatch,
  kDelete,
  kOptions,
  kOther,  // any other method; never routable
};
inline constexpr int kMethodCount = 7;  // routable methods: kGet .. kOptions

// "GET", "POST", ...; "OTHER" for kOther.
std::string_view MethodName(Method method);
// POST, PUT, PATCH and DELETE: the methods that may change something.
bool IsMutating(Method method);

class Request {
 public:
  Request() = default;

  // A request as if it had arrived from the network, for tests and in-process callers.
  // The target is taken as is (origin form, "/path?query"); the body's size is its
  // Content-Length.
  static Request Make(Method method, std::string_view target, std::string body = {});

  Method method() const { return method_; }
  // The method as received: "GET", or e.g. "BREW" when method() is kOther.
  std::string_view method_name() const { return method_name_; }
  // The request target as received, e.g. "/v2/models/m%201/infer?x=1".
  std::string_view target() const { return target_; }
  // The target up to '?', still percent-encoded.
  std::string_view path() const { return std::string_view(target_).substr(0, path_size_); }
  // The target after '?', still percent-encoded; empty when there is none.
  std::string_view query() const;
  // 10 for HTTP/1.0, 11 for HTTP/1.1.
  int http_version() const { return http_version_; }
  // The value of the first header field with this name (compared case-insensitively),
  // or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
  // The percent-decoded value of a path parameter of the matched route pattern
  // ("{model}" -> PathParam("model")); empty when the pattern has no such parameter.
  std::string_view PathParam(std::string_view name) const;
  // The body's length as announced by Content-Length; nullopt for a chunked body or
  // none. Known before the body is read, so a streaming route can judge it early.
  std::optional<uint64_t> content_length() const { return content_length_; }
  // Empty for a streaming route, whose body goes to its BodySink instead.
  const std::string& body() const { return body_; }
  // Handlers may take the body (std::move) instead of copying it.
  std::string& mutable_body() { return body_; }
  // "ADDRESS:PORT" of the peer; empty for requests made in-process.
  std::string_view remote_address() const { return remote_address_; }
  // The pattern of the route the request matched, as registered; empty before routing
  // and when no route matched.
  std::string_view route_pattern() const { return route_pattern_; }
  // Who made the request, as the Authorizer named them (a token's name); empty when it
  // named no one.
  std::string_view principal() const { return principal_; }
  void SetPrincipal(std::string_view principal) { principal_.assign(principal); }

  // Building a request (the server's parser and tests). Reset keeps capacity.
  void Reset();
  void SetMethod(Method method, std::string_view name);
  void SetTarget(std::string_view target);
  void SetHttpVersion(int version) { http_version_ = version; }
  void SetContentLength(std::optional<uint64_t> length) { content_length_ = length; }
  void AddHeader(std::string_view name, std::string_view value);
  void SetRemoteAddress(std::string_view address) { remote_address_.assign(address); }

 private:
  friend class Router;

  struct Field {
    std::string name;
    std::string value;
  };
  struct Param {
    std::string_view name;  // points into the Router's pattern storage
    std::string value;
  };

  // Router-only: path parameters and pattern of the matched route.
  void ClearPathParams() {
    param_count_ = 0;
    route_pattern_ = {};
  }
  void SetRoutePattern(std::string_view pattern) { route_pattern_ = pattern; }
  void AddPathParam(std::string_view name, std::string_view value);

  Method method_ = Method::kGet;
  int http_version_ = 11;
  size_t path_size_ = 0;
  std::optional<uint64_t> content_length_;
  std::string method_name_ = "GET";
  std::string target_;
  // fields_[0, field_count_) are live; entries beyond keep their capacity for reuse.
  std::vector<Field> fields_;
  size_t field_count_ = 0;
  std::vector<Param> params_;
  size_t param_count_ = 0;
  std::string body_;
  std::string remote_address_;
  std::string_view route_pattern_;  // points into the Router's pattern storage
  std::string principal_;
};

inline constexpr std::string_view kJsonContentType = "application/json";
inline constexpr std::string_view kTextContentType = "text/plain; charset=utf-8";
inline constexpr std::string_view kCsvContentType = "text/csv; charset=utf-8";

struct Response {
  int status = 200;
  std::string body;
  // Not owned: a string literal or other storage that outlives the response (e.g.
  // kJsonContentType). Handlers that compute a media type keep it in static storage.
  std::string_view content_type = kJsonContentType;
  // Extra header fields. Content-Type, Content-Length, Connection, Date and Server are
  // written by the server and must not appear here; a field whose name or value holds
  // CR or LF is dropped (and logged) rather than written.
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is this file's content (body_file.h), streamed with bounded
  // memory, and `body` is not sent. Content-Length is the file's size; HEAD gets the
  // header only.
  std::shared_ptr<BodyFile> body_file;
};

// A response whose body is already JSON text (e.g. a precomputed constant).
Response JsonTextResponse(std::string json_text, int status = 200);
// Serializes a JSON value; invalid UTF-8 in strings is replaced rather than thrown on.
Response JsonResponse(const nlohmann::json& value, int status = 200);
// {"error": {"code": CODE, "message": MESSAGE}} with the given HTTP status.
Response ErrorResponse(int http_status, std::string_view code, std::string_view message);
// The error body of a non-OK status, with the HTTP status and code of core::MapStatusCode.
Response ErrorResponse(const absl::Status& status);

}  // namespace ferry::server
