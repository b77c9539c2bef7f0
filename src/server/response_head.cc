#include "server/response_head.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <ctime>
#include <string_view>

#include "server/asio.h"  // first: see asio.h
#include "server/body_file.h"

namespace ferry::server {
namespace {

// The Date header value ("Sun, 06 Nov 1994 08:49:37 GMT"), formatted at most once a
// second per thread.
std::string_view HttpDate() {
  thread_local std::time_t cached_second = -1;
  thread_local char text[40];
  thread_local size_t size = 0;
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  if (now != cached_second) {
    std::tm parts;
    gmtime_r(&now, &parts);
    size = std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &parts);
    cached_second = now;
  }
  return std::string_view(text, size);
}

std::string_view ReasonPhrase(int status) {
  beast::string_view beast_reason =
      beast::http::obsolete_reason(beast::http::int_to_status(static_cast<unsigned>(status)));
  std::string_view reason(beast_reason.data(), beast_reason.size());
  return reason.starts_with('<') ? std::string_view("Unknown") : reason;
}

void AppendNumber(std::string& out, uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  out.append(digits, end);
}

bool HasLineBreak(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

}  // namespace

size_t AppendResponseHead(const Response& response, const HeadOptions& options, std::string& out) {
  int status = response.status >= 100 && response.status <= 599 ? response.status : 500;
  bool has_body = status >= 200 && status != 204 && status != 304;
  const uint64_t body_size = response.body_file ? response.body_file->size() : response.body.size();
  out.append("HTTP/1.1 ");
  AppendNumber(out, static_cast<uint64_t>(status));
  out.push_back(' ');
  out.append(ReasonPhrase(status));
  out.append("\r\nServer: ferry\r\nDate: ");
  out.append(HttpDate());
  if (has_body) {
    out.append("\r\nContent-Type: ");
    out.append(HasLineBreak(response.content_type) ? kTextContentType : response.content_type);
    out.append("\r\nContent-Length: ");
    AppendNumber(out, body_size);
  }
  out.append("\r\n");
  for (const auto& [name, value] : response.headers) {
    if (HasLineBreak(name) || HasLineBreak(value) || name.empty()) {
      spdlog::error("dropping a response header with a line break in its name or value");
      continue;
    }
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
  }
  if (!options.keep_alive) {
    out.append("Connection: close\r\n");
  } else if (options.request_version < 11) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  return has_body ? body_size : 0;
}

}  // namespace ferry::server
