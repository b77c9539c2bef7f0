#pragma once

// TestClient: a small blocking HTTP/1.1 client over a raw loopback socket, for tests
// that must send exactly the bytes they choose (malformed, truncated, trickled,
// pipelined) and observe exactly what the server does. Every read has a timeout, so a
// misbehaving server fails a test instead of hanging it.
//
// Thread-safety: none; one client per thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::server::testing {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class TestClient {
 public:
  // Connects to 127.0.0.1:port; connected() says whether that worked.
  explicit TestClient(uint16_t port);
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  // False when the bytes could not all be sent (e.g. the server closed).
  bool Send(std::string_view bytes);
  // Reads one response; a body is read by Content-Length or chunked encoding, or, for
  // responses with neither (HEAD excepted), not at all. nullopt on close, error or
  // timeout. head_only: a response to HEAD (no body follows the header).
  std::optional<HttpReply> ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                        bool head_only = false);
  // Sends `head` (a request header asking for "Expect: 100-continue"), waits for the
  // server's 100 Continue, sends `body` and returns the final response; nullopt when
  // no 100 Continue comes first.
  std::optional<HttpReply> SendAfterContinue(std::string_view head, std::string_view body);
  // True when the server closes the connection (end of stream or reset) within timeout;
  // bytes received meanwhile are discarded.
  bool WaitForClose(std::chrono::milliseconds timeout);
  void ShutdownWrite();
  void Close();

 private:
  // Appends at least one byte to buffer_; false on close, error or deadline.
  bool Fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
};

// True when a TCP connection to 127.0.0.1:port is accepted by the kernel.
bool CanConnect(uint16_t port);

// One request on a fresh connection ("Connection: close" not added).
std::optional<HttpReply> Fetch(uint16_t port, std::string_view method, std::string_view target,
                               std::string_view body = {}, std::string_view extra_headers = {});

}  // namespace ferry::server::testing
