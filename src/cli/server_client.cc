#include "cli/server_client.h"

#include "core/config.h"
#include "core/status.h"
#include "core/strings.h"
#include "server/http_client.h"

namespace ferry::cli {

using core::Cat;
using nlohmann::json;

std::string BearerOf(const std::optional<std::string>& token) {
  return token && !token->empty() ? Cat("Bearer ", *token) : std::string();
}

absl::StatusOr<json> GetFromServer(const std::string& url, std::string_view target,
                                   std::chrono::milliseconds timeout,
                                   const std::optional<std::string>& token) {
  std::string_view address = url;
  if (address.starts_with("https://")) {
    return absl::InvalidArgumentError(Cat("--server ", url, ": only http:// is supported"));
  }
  if (address.starts_with("http://")) address.remove_prefix(7);
  while (address.ends_with('/')) address.remove_suffix(1);
  ASSIGN_OR_RETURN(core::HostPort server, core::ParseHostPort(address));
  if (server.host == "localhost") server.host = "127.0.0.1";
  absl::StatusOr<server::HttpReply> reply =
      server::HttpCall(server.host, server.port, "GET", target, {}, timeout, BearerOf(token));
  if (!reply.ok()) {
    if (reply.status().code() == absl::StatusCode::kInvalidArgument) return reply.status();
    return json{{"reachable", false}, {"error", std::string(core::View(reply.status().message()))}};
  }
  json body = json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  if (reply->status == 200 && body.is_object()) return body;
  std::string message = reply->body;
  if (body.is_object() && body.contains("error")) {
    if (body["error"].is_object()) {
      message = body["error"].value("message", reply->body);
    } else if (body["error"].is_string()) {
      message = body["error"].get<std::string>();
    }
  }
  return json{{"http_status", reply->status}, {"error", message}};
}

}  // namespace ferry::cli
