#include "server/http_client.h"

#include <algorithm>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/strings.h"
#include "server/asio.h"  // first: the Boost 1.74 include-order fix

namespace ferry::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

absl::StatusOr<HttpReply> HttpCall(std::string_view host, uint16_t port, std::string_view method,
                                   std::string_view target, std::string_view body,
                                   std::chrono::milliseconds timeout,
                                   std::string_view authorization) {
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    boost::system::error_code ec;
    stream.expires_after(timeout);
    asio::ip::address address = asio::ip::make_address(std::string(host), ec);
    if (!ec) {
      stream.connect(asio::ip::tcp::endpoint(address, port), ec);
    } else {
      // A name: resolved now (blocking, bounded by the system resolver's own timeout).
      asio::ip::tcp::resolver resolver(io);
      auto results = resolver.resolve(std::string(host), std::to_string(port), ec);
      if (ec) {
        return absl::UnavailableError(core::Cat("cannot resolve ", host, ": ", ec.message()));
      }
      stream.connect(results, ec);
    }
    if (ec) {
      return absl::UnavailableError(
          core::Cat("cannot connect to ", host, ":", port, ": ", ec.message()));
    }
    http::request<http::string_body> request;
    request.method_string(beast::string_view(method.data(), method.size()));
    request.target(beast::string_view(target.data(), target.size()));
    request.version(11);
    request.set(http::field::host, core::Cat(host, ":", port));
    request.set(http::field::connection, "close");
    if (!authorization.empty()) {
      request.set(http::field::authorization,
                  beast::string_view(authorization.data(), authorization.size()));
    }
    if (!body.empty()) {
      request.set(http::field::content_type, "application/json");
      request.body() = std::string(body);
    }
    request.prepare_payload();
    http::write(stream, request, ec);
    if (ec)
      return absl::UnavailableError(core::Cat("sending to ", host, ":", port, ": ", ec.message()));
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(stream, buffer, parser, ec);
    if (ec == beast::error::timeout) {
      return absl::DeadlineExceededError(core::Cat("no answer from ", host, ":", port));
    }
    if (ec)
      return absl::UnavailableError(
          core::Cat("reading from ", host, ":", port, ": ", ec.message()));
    HttpReply reply;
    reply.status = static_cast<int>(parser.get().result_int());
    reply.content_type = std::string(parser.get()[http::field::content_type]);
    reply.body = std::move(parser.get().body());
    return reply;
  } catch (const std::exception& e) {  // Asio may throw on resource exhaustion
    return absl::InternalError(core::Cat("HTTP client: ", e.what()));
  }
}

struct HttpConnection::Stream {
  asio::io_context io;
  beast::tcp_stream tcp{io};
  beast::flat_buffer buffer;
};

HttpConnection::HttpConnection(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

HttpConnection::~HttpConnection() = default;

absl::StatusOr<HttpReply> HttpConnection::Call(std::string_view method, std::string_view target,
                                               std::string_view body,
                                               std::string_view content_type) {
  // A kept connection the server has closed since fails on first use: one fresh try then.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = stream_ != nullptr;
    try {
      boost::system::error_code ec;
      if (!stream_) {
        auto fresh = std::make_unique<Stream>();
        const asio::ip::address address = asio::ip::make_address(host_, ec);
        if (ec) return absl::InvalidArgumentError(core::Cat("not an IP address: ", host_));
        fresh->tcp.expires_after(timeout_);
        fresh->tcp.connect(asio::ip::tcp::endpoint(address, port_), ec);
        if (ec) {
          return absl::UnavailableError(
              core::Cat("cannot connect to ", host_, ":", port_, ": ", ec.message()));
        }
        fresh->tcp.socket().set_option(asio::ip::tcp::no_delay(true), ec);
        stream_ = std::move(fresh);
      }
      http::request<http::string_body> request;
      request.method_string(beast::string_view(method.data(), method.size()));
      request.target(beast::string_view(target.data(), target.size()));
      request.version(11);
      request.set(http::field::host, core::Cat(host_, ":", port_));
      if (!body.empty()) {
        request.set(http::field::content_type,
                    beast::string_view(content_type.data(), content_type.size()));
        request.body() = std::string(body);
      }
      request.prepare_payload();
      stream_->tcp.expires_after(timeout_);
      http::write(stream_->tcp, request, ec);
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 << 20);
      if (!ec) http::read(stream_->tcp, stream_->buffer, parser, ec);
      if (ec) {
        stream_.reset();
        if (reused && ec != beast::error::timeout) continue;
        if (ec == beast::error::timeout) {
          return absl::DeadlineExceededError(core::Cat("no answer from ", host_, ":", port_));
        }
        return absl::UnavailableError(
            core::Cat("talking to ", host_, ":", port_, ": ", ec.message()));
      }
      HttpReply reply;
      reply.status = static_cast<int>(parser.get().result_int());
      reply.content_type = std::string(parser.get()[http::field::content_type]);
      const bool keep = parser.get().keep_alive();
      reply.body = std::move(parser.get().body());
      if (!keep) stream_.reset();
      return reply;
    } catch (const std::exception& e) {  // Asio may throw on resource exhaustion
      stream_.reset();
      return absl::InternalError(core::Cat("HTTP client: ", e.what()));
    }
  }
  return absl::UnavailableError(core::Cat("talking to ", host_, ":", port_, ": connection lost"));
}

}  // namespace ferry::server
