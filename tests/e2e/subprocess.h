#pragma once

// Test helpers for end-to-end tests: run the real `ferry` binary as a child
// process (with its own environment and folder) and talk HTTP to a server it
// started. Loopback only.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ferry::e2e {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` to completion in `cwd` with `env` added to a minimal environment
// (PATH and HOME kept, FERRY_HOME removed unless given), and stdin closed.
// When the environment variable FERRY_E2E_WRAPPER is set, a command that runs the ferry
// binary runs under it: its words (an absolute path first) go in front of argv. Child too.
// FERRY_E2E_TIMEOUT_SCALE (a whole number) multiplies Child's timeouts for such runs.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                         const std::map<std::string, std::string>& env = {});

// A child process left running (e.g. `ferry server`); its stdout is readable
// line by line. The destructor kills it (SIGKILL) if it is still running.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
        const std::map<std::string, std::string>& env = {});
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads stdout until a line contains `needle` or the timeout passes; returns the
  // line, or "" on timeout or end of output.
  std::string WaitForLine(const std::string& needle, std::chrono::milliseconds timeout);
  void Signal(int signal_number);
  // Waits for exit; returns the exit code, or -1 on timeout, 128+N if killed by signal N.
  int Wait(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }
  // Everything the child wrote to stderr so far (available after Wait).
  std::string Stderr();
  // What the child wrote to stdout that WaitForLine has not consumed; after Wait, all of
  // it (reads to the end of the pipe, so call it only once the child has exited).
  std::string Stdout();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string pending_;
  std::string err_;
  bool exited_ = false;
};

// Waits for `ferry server`'s "listening on http://127.0.0.1:PORT" line and returns the
// port, or 0 (with the server's stderr in a test failure) when it does not come.
int WaitForServerPort(Child& server);

struct HttpResult {
  int status = 0;  // 0 when the connection failed
  std::string headers;
  std::string body;
};

// One HTTP/1.1 request with "Connection: close" to 127.0.0.1:port.
// `headers` are added to the request's own.
HttpResult HttpRequest(int port, const std::string& method, const std::string& target,
                       const std::string& body = "",
                       const std::vector<std::pair<std::string, std::string>>& headers = {});

enum class BodyEncoding { kContentLength, kChunked };
// POSTs `file` as the body, read and sent 1 MiB at a time (never whole in memory), with
// Content-Length or chunked transfer encoding; "Connection: close".
HttpResult HttpPostFile(int port, const std::string& target, const std::filesystem::path& file,
                        BodyEncoding encoding = BodyEncoding::kContentLength);
// A client that gives up mid-upload: POSTs a header announcing `announced` body bytes,
// sends `sent` of them, and closes the connection. False when sending failed.
bool HttpPostAndHangUp(int port, const std::string& target, uint64_t announced, uint64_t sent);

}  // namespace ferry::e2e
