#pragma once

// What the servers tests start (testing/redis_server.h, testing/postgres_server.h) share:
// FreeLoopbackPort, a TCP port on 127.0.0.1 that nothing listens on right now (the kernel
// picks it; a race with another process taking it in between is possible but has not
// been seen), and StopProcess, which ends a child by its pid.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace ferry::testing {

inline int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// Sends `first` to the child `pid` (SIGCONT too, so a paused one acts on it), waits up to
// `grace` for it to exit, then SIGKILLs it and reaps it. Sets `pid` to -1.
inline void StopProcess(pid_t& pid, int first, std::chrono::milliseconds grace) {
  if (pid <= 0) return;
  kill(pid, first);
  kill(pid, SIGCONT);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) {
      pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  pid = -1;
}

}  // namespace ferry::testing
