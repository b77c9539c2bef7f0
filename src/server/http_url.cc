#include "server/http_url.h"

#include <algorithm>

#include "core/config.h"
#include "core/strings.h"

namespace ferry::server {

absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.starts_with("https://")) {
    return absl::InvalidArgumentError("only http:// URLs are supported");
  }
  if (!url.starts_with(kScheme)) {
    return absl::InvalidArgumentError("expected http://HOST[:PORT][/PATH]");
  }
  // The URL becomes a request line and a Host field as it is: a space or CR/LF there
  // would split them, and bytes beyond ASCII are not URL text (nor JSON, where a policy
  // or rule keeps its URLs, when they are not UTF-8).
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= ' ' || c >= 0x7f; })) {
    return absl::InvalidArgumentError(
        "URLs must be printable ASCII without spaces (percent-encode anything else)");
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  if (authority.empty()) return absl::InvalidArgumentError("no host");
  if (authority.find('@') != std::string_view::npos) {
    return absl::InvalidArgumentError("credentials in URLs are not supported");
  }
  // The port is optional; ParseHostPort wants one.
  const bool has_port = authority.front() == '[' ? !authority.ends_with("]")
                                                 : authority.find(':') != std::string_view::npos;
  absl::StatusOr<core::HostPort> parsed =
      core::ParseHostPort(has_port ? std::string(authority) : core::Cat(authority, ":80"));
  if (!parsed.ok()) return parsed.status();
  if (parsed->host.empty()) return absl::InvalidArgumentError("no host");
  if (parsed->port == 0) return absl::InvalidArgumentError("port 0");
  HttpUrl out;
  out.host = std::move(parsed->host);
  out.port = parsed->port;
  if (slash != std::string_view::npos) out.target = std::string(rest.substr(slash));
  return out;
}

}  // namespace ferry::server
