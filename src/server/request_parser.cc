#include "server/request_parser.h"

#include <algorithm>
#include <string_view>

namespace ferry::server {
namespace {

// Reserving the announced Content-Length saves regrowth, but a client could announce
// a large body and then send nothing; past this size the body grows as bytes arrive.
constexpr uint64_t kMaxBodyReserve = 1 << 20;

std::string_view View(beast::string_view text) { return {text.data(), text.size()}; }

Method ToMethod(beast::http::verb method) {
  using beast::http::verb;
  switch (method) {
    case verb::get:
      return Method::kGet;
    case verb::head:
      return Method::kHead;
    case verb::post:
      return Method::kPost;
    case verb::put:
      return Method::kPut;
    case verb::patch:
      return Method::kPatch;
    case verb::delete_:
      return Method::kDelete;
    case verb::options:
      return Method::kOptions;
    default:
      return Method::kOther;
  }
}

bool IsContinueExpectation(std::string_view value) {
  constexpr std::string_view kContinue = "100-continue";
  return value.size() == kContinue.size() &&
         std::equal(value.begin(), value.end(), kContinue.begin(),
                    [](char a, char b) { return (a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) == b; });
}

}  // namespace

RequestParser::RequestParser(Request& request, uint64_t max_body_bytes, uint32_t max_header_bytes)
    : request_(request), body_(&request.mutable_body()) {
  body_limit(max_body_bytes);
  header_limit(max_header_bytes);
  eager(true);
}

void RequestParser::on_request_impl(beast::http::verb method, StringView method_name,
                                    StringView target, int version, ErrorCode& /*ec*/) {
  request_.SetMethod(ToMethod(method), View(method_name));
  request_.SetTarget(View(target));
  request_.SetHttpVersion(version);
}

void RequestParser::on_response_impl(int /*status*/, StringView /*reason*/, int /*version*/,
                                     ErrorCode& ec) {
  ec = beast::http::error::bad_line_ending;  // a request parser never sees a status line
}

void RequestParser::on_field_impl(beast::http::field name, StringView name_text, StringView value,
                                  ErrorCode& /*ec*/) {
  if (name == beast::http::field::expect && IsContinueExpectation(View(value))) {
    expects_continue_ = true;
  }
  request_.AddHeader(View(name_text), View(value));
}

void RequestParser::on_header_impl(ErrorCode& /*ec*/) {
  boost::optional<uint64_t> length = content_length();
  request_.SetContentLength(length ? std::optional<uint64_t>(*length) : std::nullopt);
}

void RequestParser::on_body_init_impl(const boost::optional<uint64_t>& content_length,
                                      ErrorCode& /*ec*/) {
  if (content_length && body_ == &request_.mutable_body()) {
    body_->reserve(std::min(*content_length, kMaxBodyReserve));
  }
}

size_t RequestParser::on_body_impl(StringView body, ErrorCode& /*ec*/) {
  body_->append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_chunk_header_impl(uint64_t /*size*/, StringView /*extensions*/,
                                         ErrorCode& /*ec*/) {}

size_t RequestParser::on_chunk_body_impl(uint64_t /*remain*/, StringView body, ErrorCode& /*ec*/) {
  body_->append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_finish_impl(ErrorCode& /*ec*/) {}

}  // namespace ferry::server
