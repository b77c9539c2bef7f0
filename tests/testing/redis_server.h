#pragma once

// RedisServer: a real redis-server (Debian's, installed by scripts/bootstrap) for a test,
// on loopback, on a free port, with its folder in the test's temporary folder, nothing
// saved to disk unless asked (durable); stopped (SIGTERM, then SIGKILL) by its pid when
// the object goes. Start again after Stop() to simulate a restart on the same port;
// Pause() (SIGSTOP) leaves it accepting connections but answering nothing, as a hung
// server does.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "testing/server_process.h"

extern char** environ;

namespace ferry::testing {

inline constexpr char kRedisServerBinary[] = "/usr/bin/redis-server";

class RedisServer {
 public:
  // `durable`: an append-only file fsynced before every reply (appendfsync always), so a
  // restart keeps every acknowledged write; otherwise nothing is saved.
  explicit RedisServer(std::filesystem::path dir, bool durable = false)
      : dir_(std::move(dir)), port_(FreeLoopbackPort()), durable_(durable) {}
  ~RedisServer() { Stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts it and waits (up to 10 s) until it accepts connections; false if it did not.
  bool Start() {
    std::filesystem::create_directories(dir_);
    const std::string port = std::to_string(port_);
    std::vector<std::string> args = {"redis-server",
                                     "--port",
                                     port,
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     durable_ ? "yes" : "no",
                                     "--appendfsync",
                                     "always",
                                     "--dir",
                                     dir_.string(),
                                     "--logfile",
                                     (dir_ / "redis.log").string()};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, kRedisServerBinary, nullptr, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
      return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Accepts()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  void Pause() {
    if (pid_ > 0) kill(pid_, SIGSTOP);
  }
  void Resume() {
    if (pid_ > 0) kill(pid_, SIGCONT);
  }

  void Stop() { StopProcess(pid_, SIGTERM, std::chrono::seconds(2)); }

  int port() const { return port_; }

 private:
  bool Accepts() const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port_));
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    close(fd);
    return ok;
  }

  std::filesystem::path dir_;
  int port_;
  bool durable_;
  pid_t pid_ = -1;
};

}  // namespace ferry::testing
