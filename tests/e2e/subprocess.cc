#include "subprocess.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace ferry::e2e {
namespace {

std::vector<std::string> BuildEnv(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (const char* keep : {"PATH", "HOME", "TMPDIR", "LANG"}) {
    if (const char* v = std::getenv(keep)) env.push_back(std::string(keep) + "=" + v);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

// The command that runs `argv`: as given, or with the words of FERRY_E2E_WRAPPER (e.g.
// "/usr/bin/valgrind --leak-check=full ...") in front when argv runs the ferry binary.
// The wrapper's first word must be an absolute path (execve does not search PATH).
std::vector<std::string> WrapFerry(const std::vector<std::string>& argv) {
  const char* wrapper = std::getenv("FERRY_E2E_WRAPPER");
  if (wrapper == nullptr || *wrapper == '\0' || argv.empty() || argv[0] != FERRY_BINARY) {
    return argv;
  }
  std::vector<std::string> wrapped;
  std::istringstream words(wrapper);
  for (std::string word; words >> word;) wrapped.push_back(word);
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

// A wait for a child process, made FERRY_E2E_TIMEOUT_SCALE (a whole number, default 1)
// times longer: for runs under a tool that slows every ferry process down (valgrind).
std::chrono::milliseconds Scaled(std::chrono::milliseconds timeout) {
  const char* scale = std::getenv("FERRY_E2E_TIMEOUT_SCALE");
  return timeout * std::max(scale == nullptr ? 1 : std::atoi(scale), 1);
}

pid_t Spawn(const std::vector<std::string>& given_argv, const std::filesystem::path& cwd,
            const std::map<std::string, std::string>& extra_env, int* out_fd, int* err_fd) {
  const std::vector<std::string> argv = WrapFerry(given_argv);
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  std::vector<std::string> env = BuildEnv(extra_env);
  std::vector<char*> c_argv;
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  std::vector<char*> c_env;
  for (const auto& e : env) c_env.push_back(const_cast<char*>(e.c_str()));
  c_env.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // A test binary that crashes (its destructors never run) takes its servers with it
    // instead of leaving them running; the check covers a parent gone before prctl.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (chdir(cwd.c_str()) != 0) _exit(127);
    execve(c_argv[0], c_argv.data(), c_env.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  *out_fd = out_pipe[0];
  *err_fd = err_pipe[0];
  return pid;
}

// Drains both pipes until both reach end of file.
void DrainBoth(int out_fd, int err_fd, std::string* out, std::string* err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_count = 2;
  char buf[65536];
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      } else {
        (i == 0 ? out : err)->append(buf, static_cast<size_t>(n));
      }
    }
  }
}

int DecodeWait(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                         const std::map<std::string, std::string>& env) {
  CommandResult result;
  int out_fd = -1;
  int err_fd = -1;
  pid_t pid = Spawn(argv, cwd, env, &out_fd, &err_fd);
  DrainBoth(out_fd, err_fd, &result.out, &result.err);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = DecodeWait(status);
  return result;
}

Child::Child(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
             const std::map<std::string, std::string>& env) {
  pid_ = Spawn(argv, cwd, env, &out_fd_, &err_fd_);
  fcntl(err_fd_, F_SETFL, fcntl(err_fd_, F_GETFL) | O_NONBLOCK);
}

Child::~Child() {
  if (!exited_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

std::string Child::WaitForLine(const std::string& needle, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + Scaled(timeout);
  char buf[4096];
  while (true) {
    size_t newline;
    while ((newline = pending_.find('\n')) != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      if (line.find(needle) != std::string::npos) return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "";
    pollfd fd = {out_fd_, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = read(out_fd_, buf, sizeof(buf));
    if (n <= 0) return "";
    pending_.append(buf, static_cast<size_t>(n));
  }
}

void Child::Signal(int signal_number) {
  if (!exited_) kill(pid_, signal_number);
}

int Child::Wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + Scaled(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    Stderr();  // keep the pipe drained so the child never blocks on it
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      return DecodeWait(status);
    }
    usleep(10'000);
  }
  return -1;
}

std::string Child::Stderr() {
  char buf[4096];
  ssize_t n;
  while ((n = read(err_fd_, buf, sizeof(buf))) > 0) err_.append(buf, static_cast<size_t>(n));
  return err_;
}

std::string Child::Stdout() {
  char buf[4096];
  ssize_t n;
  while ((n = read(out_fd_, buf, sizeof(buf))) > 0) pending_.append(buf, static_cast<size_t>(n));
  return std::exchange(pending_, {});
}

int WaitForServerPort(Child& server) {
  std::string line = server.WaitForLine("listening on http://127.0.0.1:", std::chrono::seconds(10));
  if (line.empty()) {
    ADD_FAILURE() << "ferry server did not start: " << server.Stderr();
    return 0;
  }
  return std::atoi(line.c_str() + line.rfind(':', line.find(" (workspace")) + 1);
}

namespace {

// A connected loopback socket, or -1.
int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

// Reads until the server closes and parses what came; closes fd.
HttpResult ReadResponseAndClose(int fd) {
  HttpResult result;
  std::string response;
  char buf[65536];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, static_cast<size_t>(n));
  close(fd);
  // An interim 100 Continue precedes the real response.
  while (response.starts_with("HTTP/1.1 100")) {
    size_t end = response.find("\r\n\r\n");
    if (end == std::string::npos) break;
    response.erase(0, end + 4);
  }
  size_t header_end = response.find("\r\n\r\n");
  if (response.size() < 12 || header_end == std::string::npos) return result;
  result.status = std::atoi(response.c_str() + 9);
  result.headers = response.substr(0, header_end);
  result.body = response.substr(header_end + 4);
  return result;
}

std::string RequestHead(const std::string& method, const std::string& target) {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
}

}  // namespace

HttpResult HttpRequest(int port, const std::string& method, const std::string& target,
                       const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return {};
  std::string request =
      RequestHead(method, target) + "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (!body.empty()) request += "Content-Type: application/json\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n" + body;
  SendAll(fd, request);
  return ReadResponseAndClose(fd);
}

HttpResult HttpPostFile(int port, const std::string& target, const std::filesystem::path& file,
                        BodyEncoding encoding) {
  std::FILE* in = std::fopen(file.c_str(), "rb");
  if (in == nullptr) return {};
  int fd = ConnectLoopback(port);
  if (fd < 0) {
    std::fclose(in);
    return {};
  }
  std::string head = RequestHead("POST", target);
  head += encoding == BodyEncoding::kChunked
              ? std::string("Transfer-Encoding: chunked\r\n")
              : "Content-Length: " + std::to_string(std::filesystem::file_size(file)) + "\r\n";
  bool ok = SendAll(fd, head + "\r\n");
  std::string piece(1 << 20, '\0');
  size_t got;
  while (ok && (got = std::fread(piece.data(), 1, piece.size(), in)) > 0) {
    std::string_view bytes(piece.data(), got);
    if (encoding == BodyEncoding::kChunked) {
      char size_line[32];
      std::snprintf(size_line, sizeof(size_line), "%zx\r\n", got);
      ok = SendAll(fd, size_line) && SendAll(fd, bytes) && SendAll(fd, "\r\n");
    } else {
      ok = SendAll(fd, bytes);
    }
  }
  std::fclose(in);
  if (ok && encoding == BodyEncoding::kChunked) SendAll(fd, "0\r\n\r\n");
  return ReadResponseAndClose(fd);
}

bool HttpPostAndHangUp(int port, const std::string& target, uint64_t announced, uint64_t sent) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return false;
  bool ok = SendAll(fd, RequestHead("POST", target) +
                            "Content-Length: " + std::to_string(announced) + "\r\n\r\n");
  std::string piece(1 << 20, 'x');
  for (uint64_t done = 0; ok && done < sent; done += piece.size()) {
    ok = SendAll(fd,
                 std::string_view(piece).substr(0, std::min<uint64_t>(piece.size(), sent - done)));
  }
  close(fd);
  return ok;
}

}  // namespace ferry::e2e
