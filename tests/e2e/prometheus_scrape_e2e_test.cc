// End-to-end test that a real Prometheus server scrapes `ferry server`'s GET /metrics:
// ferry serves a model on a loopback port, a `prometheus` (Debian's package, installed
// by scripts/bootstrap) started on another loopback port scrapes it every second, and
// Prometheus's HTTP API shows the target up and returns ferry's request counter with
// its labels and the count of requests sent.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "serving_workspace.h"
#include "subprocess.h"
#include "testing/xgboost_model.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The executable `name` found on PATH, or "" when there is none.
fs::path FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream folders(path != nullptr ? path : "");
  std::string folder;
  while (std::getline(folders, folder, ':')) {
    const fs::path candidate = fs::path(folder.empty() ? "." : folder) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// A loopback port free a moment ago (the kernel's pick for port 0), for a server that
// takes its port as a flag.
int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), length) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

class PrometheusScrapeE2eTest : public ServingWorkspaceTest {
 protected:
  // GETs `target` from Prometheus every 200 ms until `done` holds for the parsed JSON
  // answer or `deadline` passes; returns the last answer's body. Keeps Prometheus's
  // stderr drained meanwhile.
  std::string PollPrometheus(Child& prometheus, int port, const std::string& target,
                             std::chrono::steady_clock::time_point deadline,
                             const std::function<bool(const json&)>& done) {
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      prometheus.Stderr();
      HttpResult r = HttpRequest(port, "GET", target);
      last = r.status == 0 ? "(no connection)" : r.body;
      if (r.status == 200) {
        const json answer = json::parse(r.body, nullptr, false);
        if (!answer.is_discarded() && done(answer)) return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return last;
  }
};

TEST_F(PrometheusScrapeE2eTest, PrometheusScrapesTheRequestCounterWithFerrysLabels) {
  const fs::path prometheus_binary = FindOnPath("prometheus");
  ASSERT_FALSE(prometheus_binary.empty())
      << "prometheus is not installed (Debian package prometheus): run scripts/bootstrap";

  Write(".ferry/config.yaml", "server:\n  access_log: false\n");
  testing::WriteXGBoostModel(dir_ / "model.json", 2, {"x", "y"});
  CommandResult registered = Ferry({"models", "register", "fraud", "--artifact", "model.json"});
  ASSERT_EQ(registered.exit_code, 0) << registered.err;
  StartServer();
  Deploy("scoring", "fraud@1");
  constexpr int kRequests = 7;
  for (int i = 0; i < kRequests; ++i) {
    Infer("scoring",
          {{"inputs",
            {{{"name", "x"}, {"shape", {1, 2}}, {"datatype", "FP32"}, {"data", {i, 2 * i}}}}}});
  }

  const int prometheus_port = FreeLoopbackPort();
  ASSERT_GT(prometheus_port, 0);
  const std::string ferry_target = "127.0.0.1:" + std::to_string(port_);
  Write("prometheus.yml",
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: ferry\n    metrics_path: /metrics\n"
        "    static_configs:\n      - targets: ['" +
            ferry_target + "']\n");
  Child prometheus(
      {prometheus_binary.string(), "--config.file=" + (dir_ / "prometheus.yml").string(),
       "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port), "--log.level=warn"},
      dir_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);

  // The target is up once Prometheus has scraped it without an error.
  std::string health;
  const std::string targets =
      PollPrometheus(prometheus, prometheus_port, "/api/v1/targets", deadline, [&](const json& a) {
        for (const json& target : a["data"]["activeTargets"]) {
          if (target["labels"]["instance"] == ferry_target) {
            health = target.value("health", "");
          }
        }
        return health == "up";
      });
  ASSERT_EQ(health, "up") << "Prometheus on port " << prometheus_port
                          << " did not report the ferry target up within 20 s; last answer: "
                          << targets << "\nprometheus stderr: " << prometheus.Stderr();

  // The counter as Prometheus stored it: ferry's labels, Prometheus's job and instance,
  // and the number of requests sent.
  json sample;
  const std::string query = PollPrometheus(prometheus, prometheus_port,
                                           "/api/v1/query?query=ferry_inference_requests_total",
                                           deadline, [&](const json& a) {
                                             for (const json& s : a["data"]["result"]) {
                                               if (s["metric"].value("endpoint", "") == "scoring")
                                                 sample = s;
                                             }
                                             return !sample.is_null();
                                           });
  ASSERT_FALSE(sample.is_null()) << "no ferry_inference_requests_total{endpoint=\"scoring\"} "
                                    "sample within 20 s; last answer: "
                                 << query;
  EXPECT_EQ(sample["metric"], json({{"__name__", "ferry_inference_requests_total"},
                                    {"endpoint", "scoring"},
                                    {"model", "fraud"},
                                    {"version", "1"},
                                    {"code", "200"},
                                    {"job", "ferry"},
                                    {"instance", ferry_target}}))
      << query;
  EXPECT_EQ(sample["value"][1], std::to_string(kRequests)) << query;

  prometheus.Signal(SIGTERM);
  EXPECT_EQ(prometheus.Wait(std::chrono::milliseconds(10'000)), 0) << prometheus.Stderr();
  StopServer();
}

}  // namespace
}  // namespace ferry::e2e
