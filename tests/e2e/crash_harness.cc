#include "crash_harness.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "testing/postgres_server.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;
using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

constexpr uint64_t kDefaultSeed = 20261127;
// A killed writer's temporary files are removed by the next command that opens the
// workspace once they are older than this (store/temporary_files.h: one second).
constexpr auto kTemporaryGrace = 1200ms;

uint64_t CrashSeed() {
  if (const char* text = std::getenv("FERRY_CRASH_SEED")) return std::strtoull(text, nullptr, 10);
  return kDefaultSeed;
}

}  // namespace

void CrashHarness::SetUp() {
  seed_ = CrashSeed();
  // Each test its own stream, the same for a given seed whatever runs before it.
  const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  rng_.seed(seed_ ^ std::hash<std::string>{}(name));
  std::vector<std::string> init = {"init"};
  if (testing::TestsUsePostgres()) {
    const std::string url = testing::SharedPostgres().NewDatabase();
    ASSERT_FALSE(url.empty());
    init.insert(init.end(), {"--metadata", url});
  }
  CommandResult created = Ferry(init);
  ASSERT_EQ(created.exit_code, 0) << created.err;
}

void CrashHarness::TearDown() {
  if (HasFailure()) {
    std::cerr << "crash test seed " << seed_ << " (rerun with FERRY_CRASH_SEED=" << seed_ << ")\n";
  }
}

CommandResult CrashHarness::Ferry(std::vector<std::string> args) {
  args.insert(args.begin(), FERRY_BINARY);
  return RunCommand(args, dir());
}

nlohmann::json CrashHarness::FerryJson(std::vector<std::string> args) {
  CommandResult result = Ferry(args);
  if (result.exit_code != 0) {
    ADD_FAILURE() << "ferry " << args[0] << " " << (args.size() > 1 ? args[1] : "") << " exited "
                  << result.exit_code << ": " << result.err;
    return nullptr;
  }
  nlohmann::json parsed = nlohmann::json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) ADD_FAILURE() << "not JSON: " << result.out;
  return parsed;
}

Attempt CrashHarness::RunAndKill(std::vector<std::string> args, microseconds delay) {
  args.insert(args.begin(), FERRY_BINARY);
  Child child(args, dir());
  std::this_thread::sleep_for(delay);
  child.Signal(SIGKILL);  // a no-op when it has already exited (it is not reaped yet)
  Attempt attempt;
  attempt.exit_code = child.Wait(30s);
  attempt.out = child.Stdout();
  attempt.err = child.Stderr();
  last_kill_ = Clock::now();
  return attempt;
}

Attempt CrashHarness::RunTimed(std::vector<std::string> args, microseconds& took) {
  const auto start = Clock::now();
  CommandResult result = Ferry(std::move(args));
  took = std::chrono::duration_cast<microseconds>(Clock::now() - start);
  return Attempt{result.exit_code, std::move(result.out), std::move(result.err)};
}

std::vector<microseconds> CrashHarness::KillDelays(int count, microseconds duration) {
  const double span = 1.5 * static_cast<double>(duration.count());
  std::uniform_real_distribution<double> within(0.0, 1.0);
  std::vector<microseconds> delays;
  for (int i = 0; i < count; ++i) {
    delays.emplace_back(static_cast<int64_t>(span * (i + within(rng_)) / count));
  }
  std::shuffle(delays.begin(), delays.end(), rng_);
  return delays;
}

RunningServer::RunningServer(const fs::path& dir)
    : child_({FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir) {
  port_ = WaitForServerPort(child_);
  drain_ = std::thread([this] {
    while (draining_) {
      child_.Stderr();
      std::this_thread::sleep_for(10ms);
    }
  });
}

RunningServer::~RunningServer() { StopDraining(); }

void RunningServer::StopDraining() {
  draining_ = false;
  if (drain_.joinable()) drain_.join();
}

int RunningServer::Stop(int signal) {
  StopDraining();
  child_.Signal(signal);
  return child_.Wait(30s);
}

std::string RunningServer::Stderr() {
  StopDraining();
  return child_.Stderr();
}

std::unique_ptr<RunningServer> CrashHarness::StartServer() {
  return std::make_unique<RunningServer>(dir());
}

std::vector<HttpAttempt> CrashHarness::ServerLifeUnderLoad(const HttpWrite& request, int first,
                                                           std::optional<microseconds> kill_delay,
                                                           int idle_requests) {
  std::unique_ptr<RunningServer> server = StartServer();
  const int port = server->port();
  if (port == 0) return {};
  std::vector<HttpAttempt> attempts;
  const auto started = Clock::now();
  std::thread client([&] {
    int answered = 0;
    for (int index = first;; ++index) {
      attempts.push_back({index, request(port, index)});
      if (attempts.back().unanswered()) return;
      if (!kill_delay && ++answered == idle_requests) return;
    }
  });
  if (kill_delay) {
    std::this_thread::sleep_until(started + *kill_delay);
  } else {
    client.join();
  }
  EXPECT_EQ(server->Stop(SIGKILL), 128 + SIGKILL);
  last_kill_ = Clock::now();
  if (client.joinable()) client.join();
  return attempts;
}

std::vector<HttpAttempt> CrashHarness::ServerLivesUnderLoad(const HttpWrite& request, int first,
                                                            int lives, microseconds span,
                                                            int idle_requests) {
  std::vector<HttpAttempt> all;
  const std::vector<microseconds> delays = KillDelays(lives, span);
  for (int life = 0; life < lives; ++life) {
    const bool idle = life % 3 == 2;
    for (HttpAttempt& a :
         ServerLifeUnderLoad(request, all.empty() ? first : all.back().index + 1,
                             idle ? std::nullopt : std::optional(delays[life]), idle_requests)) {
      EXPECT_TRUE(a.acked() || a.unanswered())
          << "request " << a.index << ": " << a.result.status << " " << a.result.body;
      all.push_back(std::move(a));
    }
  }
  return all;
}

CommandResult CrashHarness::Fsck() { return Ferry({"fsck", "--json"}); }

nlohmann::json CrashHarness::ExpectFsckClean() {
  CommandResult fsck = Fsck();
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  nlohmann::json report = nlohmann::json::parse(fsck.out, nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded()) {
    ADD_FAILURE() << "fsck printed no JSON: " << fsck.out << fsck.err;
    return nullptr;
  }
  EXPECT_EQ(report["metadata"], "ok") << fsck.out;
  EXPECT_EQ(report["damaged_objects"].size(), 0u) << fsck.out;
  EXPECT_EQ(report["dataset_problems"].size(), 0u) << fsck.out;
  EXPECT_EQ(report["object_root_problems"].size(), 0u) << fsck.out;
  EXPECT_EQ(report["online"]["problems"].size(), 0u) << fsck.out;
  return report;
}

void CrashHarness::ExpectNoTemporaryFilesLeft() {
  std::this_thread::sleep_until(last_kill_ + kTemporaryGrace);
  // Any command that opens the workspace removes what dead writers left.
  CommandResult list = Ferry({"data", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  for (const fs::path& folder : {dir() / ".ferry/objects/tmp", dir() / ".ferry/uploads"}) {
    std::error_code ec;
    std::vector<std::string> left;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      left.push_back(it->path().filename().string());
    }
    EXPECT_TRUE(left.empty()) << folder << " still holds " << left.size()
                              << " temporary files, e.g. " << left.front();
  }
}

void CrashHarness::WriteFile(const std::string& name, const std::string& contents) {
  std::ofstream(dir() / name, std::ios::binary) << contents;
}

std::string CrashHarness::ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void CrashHarness::Report(const std::string& line) { std::cout << "[crash] " << line << std::endl; }

char FlipByte(const fs::path& path, int64_t offset) {
  // Object files are read-only (0444): the damage is done as their owner would.
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(offset, offset < 0 ? std::ios::end : std::ios::beg);
  const std::streampos at = file.tellg();
  char byte = 0;
  file.read(&byte, 1);
  file.seekp(at);
  file.put(static_cast<char>(~byte));
  return byte;
}

void RestoreByte(const fs::path& path, int64_t offset, char original) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(offset, offset < 0 ? std::ios::end : std::ios::beg);
  file.put(original);
}

}  // namespace ferry::e2e
