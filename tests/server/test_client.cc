#include "test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace ferry::server::testing {
namespace {

int ConnectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

TestClient::TestClient(uint16_t port) : fd_(ConnectLoopback(port)) {}

TestClient::~TestClient() { Close(); }

void TestClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void TestClient::ShutdownWrite() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool TestClient::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

bool TestClient::Fill(std::chrono::steady_clock::time_point deadline) {
  if (fd_ < 0) return false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd poll_fd{fd_, POLLIN, 0};
    int ready = ::poll(&poll_fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    char chunk[16384];
    ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(got));
    return true;
  }
}

std::optional<HttpReply> TestClient::ReadResponse(std::chrono::milliseconds timeout,
                                                  bool head_only) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) return std::nullopt;
  }
  std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);

  HttpReply reply;
  size_t line_end = head.find("\r\n");
  std::string_view status_line = std::string_view(head).substr(0, line_end);
  if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.")) return std::nullopt;
  reply.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t next = head.find("\r\n", pos);
    if (next == std::string::npos) next = head.size();
    std::string_view line = std::string_view(head).substr(pos, next - pos);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      reply.headers[Lower(line.substr(0, colon))] = std::string(Trim(line.substr(colon + 1)));
    }
    pos = next + 2;
  }
  if (head_only || reply.status < 200 || reply.status == 204 || reply.status == 304) {
    return reply;
  }

  if (Lower(reply.Header("transfer-encoding")) == "chunked") {
    while (true) {
      size_t size_end;
      while ((size_end = buffer_.find("\r\n")) == std::string::npos) {
        if (!Fill(deadline)) return std::nullopt;
      }
      size_t size = std::strtoul(buffer_.substr(0, size_end).c_str(), nullptr, 16);
      while (buffer_.size() < size_end + 2 + size + 2) {
        if (!Fill(deadline)) return std::nullopt;
      }
      reply.body.append(buffer_, size_end + 2, size);
      buffer_.erase(0, size_end + 2 + size + 2);
      if (size == 0) return reply;
    }
  }
  std::string length = reply.Header("content-length");
  if (length.empty()) return reply;
  size_t size = std::strtoul(length.c_str(), nullptr, 10);
  while (buffer_.size() < size) {
    if (!Fill(deadline)) return std::nullopt;
  }
  reply.body = buffer_.substr(0, size);
  buffer_.erase(0, size);
  return reply;
}

std::optional<HttpReply> TestClient::SendAfterContinue(std::string_view head,
                                                       std::string_view body) {
  if (!Send(head)) return std::nullopt;
  std::optional<HttpReply> interim = ReadResponse();
  if (!interim || interim->status != 100 || !Send(body)) return std::nullopt;
  return ReadResponse();
}

bool TestClient::WaitForClose(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd poll_fd{fd_, POLLIN, 0};
    int ready = ::poll(&poll_fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    char chunk[4096];
    ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return true;  // end of stream or reset
  }
  return true;
}

bool CanConnect(uint16_t port) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::optional<HttpReply> Fetch(uint16_t port, std::string_view method, std::string_view target,
                               std::string_view body, std::string_view extra_headers) {
  TestClient client(port);
  if (!client.connected()) return std::nullopt;
  std::string request = std::string(method) + " " + std::string(target) +
                        " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n";
  request += body;
  if (!client.Send(request)) return std::nullopt;
  return client.ReadResponse(std::chrono::seconds(5), method == "HEAD");
}

}  // namespace ferry::server::testing
