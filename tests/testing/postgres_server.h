#pragma once

// PostgresServer: a real PostgreSQL server (Debian's, installed by scripts/bootstrap)
// for tests: a new cluster in a private folder (initdb, C locale, trust auth for the
// "ferry" role on loopback only), on a free loopback port, durability off (a test's
// data need not survive power loss), stopped by its pid when the object goes; it
// also dies with the test process (PR_SET_PDEATHSIG), so a crashed test leaves no
// server behind. PostgreSQL refuses to run as root: as root, the cluster belongs to
// the "postgres" account Debian's package creates (else "nobody").
//
// SharedPostgres() is one server per test process, started on first use, with a new
// empty schema per NewDatabase() call, so tests never see each other's tables.
// With FERRY_TEST_METADATA=postgresql in the environment, InitWorkspace() creates
// workspaces on such a database instead of SQLite: CTest runs the store-using test
// binaries a second time that way (tests/CMakeLists.txt), so the same suite checks
// both engines.

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/workspace.h"
#include "testing/server_process.h"

namespace ferry::testing {

// Where Debian puts the server's programs: /usr/lib/postgresql/VERSION/bin.
inline std::filesystem::path PostgresBinDir() {
  if (const char* dir = std::getenv("FERRY_TEST_PG_BINDIR")) return dir;
  std::filesystem::path best;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    if (std::filesystem::exists(entry.path() / "bin" / "initdb") && entry.path() > best) {
      best = entry.path();
    }
  }
  return best.empty() ? best : best / "bin";
}

class PostgresServer {
 public:
  explicit PostgresServer(std::filesystem::path dir)
      : dir_(std::move(dir)), port_(FreeLoopbackPort()) {}
  ~PostgresServer() { Stop(); }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // initdb (once) and start; waits (up to 30 s) until it answers. False, with the
  // reason in error(), when it did not.
  bool Start() {
    const std::filesystem::path bin = PostgresBinDir();
    if (bin.empty()) return Fail("no PostgreSQL server programs (run scripts/bootstrap)");
    std::filesystem::create_directories(dir_);
    OwnForServer(dir_);
    const std::string data = (dir_ / "data").string();
    if (!std::filesystem::exists(dir_ / "data" / "PG_VERSION")) {
      const int rc = RunAsServerUser({(bin / "initdb").string(), "-D", data, "-U", "ferry",
                                      "--auth=trust", "--no-sync", "--locale=C", "-E", "UTF8"},
                                     dir_ / "initdb.log", /*wait=*/true);
      if (rc != 0) return Fail("initdb failed: " + Tail(dir_ / "initdb.log"));
    }
    pid_ =
        RunAsServerUser({(bin / "postgres").string(), "-D", data, "-p", std::to_string(port_), "-c",
                         "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c",
                         "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                         "-c", "max_connections=300", "-c", "shared_buffers=32MB"},
                        dir_ / "postgres.log", /*wait=*/false);
    if (pid_ <= 0) return Fail("cannot start postgres");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (PQping(Url("postgres").c_str()) == PQPING_OK) return true;
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return Fail("postgres exited: " + Tail(dir_ / "postgres.log"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Fail("postgres did not answer within 30 s");
  }

  // Stops it: SIGKILL when `crash`, else a fast shutdown (SIGINT); waits for it.
  void Stop(bool crash = false) {
    StopProcess(pid_, crash ? SIGKILL : SIGINT, std::chrono::seconds(10));
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& error() const { return error_; }

  std::string Url(std::string_view database) const {
    return "postgresql://ferry@127.0.0.1:" + std::to_string(port_) + "/" + std::string(database);
  }

  // A new empty database for one test; returns its URL ("" on failure). A schema of
  // its own in the "postgres" database, named first in the URL's search_path: as
  // separate as a database for ferry's tables, and ~10x quicker to create.
  std::string NewDatabase() {
    const std::string name = "t" + std::to_string(++databases_);
    if (!Exec("postgres", "CREATE SCHEMA " + name)) return "";
    return Url("postgres") + "?options=-csearch_path%3D" + name;
  }

  // Runs one statement on `database` as the superuser; true if it succeeded.
  bool Exec(const std::string& database, const std::string& sql) {
    PGconn* conn = PQconnectdb(Url(database).c_str());
    bool ok = PQstatus(conn) == CONNECTION_OK;
    if (ok) {
      PGresult* result = PQexec(conn, sql.c_str());
      ok = PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK;
      PQclear(result);
    }
    PQfinish(conn);
    return ok;
  }

 private:
  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  // The last lines of a log, for a failure message (the folder goes with the test).
  static std::string Tail(const std::filesystem::path& log) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    constexpr size_t kMax = 2000;
    return text.size() > kMax ? text.substr(text.size() - kMax) : text;
  }

  static const passwd* ServerUser() {
    if (geteuid() != 0) return nullptr;
    if (const passwd* pw = getpwnam("postgres")) return pw;
    return getpwnam("nobody");
  }

  static void OwnForServer(const std::filesystem::path& dir) {
    if (const passwd* pw = ServerUser()) {
      // The folders above must be passable too (temporary folders are private).
      for (std::filesystem::path p = dir; p.has_parent_path() && p != p.root_path();
           p = p.parent_path()) {
        struct stat st {};
        if (stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
          chmod(p.c_str(), st.st_mode | S_IXOTH);
        }
      }
      if (chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) return;
    }
  }

  // fork + exec as the server user with output to `log`; returns the exit code when
  // `wait`, else the child's pid.
  static int RunAsServerUser(std::vector<std::string> args, const std::filesystem::path& log,
                             bool wait) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const passwd* pw = ServerUser();
    const uid_t uid = pw != nullptr ? pw->pw_uid : 0;
    const gid_t gid = pw != nullptr ? pw->pw_gid : 0;
    const std::string log_path = log.string();
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      // Only async-signal-safe calls until exec.
      prctl(PR_SET_PDEATHSIG, SIGQUIT);
      if (getppid() != parent) _exit(127);
      const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        if (pw != nullptr && fchown(fd, uid, gid) != 0) _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
      if (pw != nullptr && (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) {
        _exit(127);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    if (pid < 0 || !wait) return pid;
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::filesystem::path dir_;
  int port_;
  pid_t pid_ = -1;
  int databases_ = 0;
  std::string error_;
};

// One server for the whole test process, started on first use (aborts the test
// process with the reason if it cannot start: every PostgreSQL test would fail).
inline PostgresServer& SharedPostgres() {
  static const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("ferry_test_postgres_" + std::to_string(getpid()));
  static PostgresServer* server = [] {
    std::filesystem::remove_all(dir);
    auto* s = new PostgresServer(dir);
    if (!s->Start()) {
      fprintf(stderr, "test PostgreSQL server: %s\n", s->error().c_str());
      std::abort();
    }
    // Stopped at exit; PR_SET_PDEATHSIG covers a crash.
    std::atexit([] {
      server->Stop();
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return s;
  }();
  return *server;
}

inline bool TestsUsePostgres() {
  const char* v = std::getenv("FERRY_TEST_METADATA");
  return v != nullptr && std::string_view(v) == "postgresql";
}

// Workspace::Init for tests: on SQLite, or on a new PostgreSQL database when the
// suite runs with FERRY_TEST_METADATA=postgresql.
inline absl::StatusOr<std::unique_ptr<store::Workspace>> InitWorkspace(
    const std::filesystem::path& root, core::ClockPtr clock,
    core::WorkspaceConfig config = core::WorkspaceConfig()) {
  if (TestsUsePostgres()) config.metadata = SharedPostgres().NewDatabase();
  return store::Workspace::Init(root, std::move(clock), config);
}

}  // namespace ferry::testing
