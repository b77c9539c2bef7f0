// End-to-end: API tokens through the real `ferry` binary and server (each scope, a token
// made and revoked over HTTP, the audit log), the refusal to serve a public address
// without authentication, and HTTPS.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "subprocess.h"
#include "testing/temp_dir.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

class SecurityE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CommandResult init = RunCommand({FERRY_BINARY, "init"}, dir_);
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }

  CommandResult Ferry(std::vector<std::string> args) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, dir_);
  }

  // `ferry token create NAME --scope SCOPE`; returns the token it printed.
  std::string CreateToken(const std::string& name, const std::string& scope) {
    CommandResult created = Ferry({"token", "create", name, "--scope", scope});
    EXPECT_EQ(created.exit_code, 0) << created.err;
    std::smatch match;
    static const std::regex kToken("ferry_[0-9a-f]{12}_[0-9a-f]{64}");
    EXPECT_TRUE(std::regex_search(created.out, match, kToken)) << created.out;
    return match.empty() ? "" : match.str();
  }

  void SetConfig(const std::string& key, const std::string& value) {
    fs::path config = dir_ / ".ferry" / "config.yaml";
    std::ifstream in(config);
    std::stringstream text;
    text << in.rdbuf();
    std::string yaml = text.str();
    const std::regex line("\n  " + key + ":[^\n]*");
    ASSERT_TRUE(std::regex_search(yaml, line)) << key;
    yaml = std::regex_replace(yaml, line, "\n  " + key + ": " + value);
    std::ofstream(config) << yaml;
  }

  static std::vector<std::pair<std::string, std::string>> Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }

  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
  const std::string hostname_ = [] {
    char name[256] = {};
    return gethostname(name, sizeof(name) - 1) == 0 ? std::string(name) : std::string("unknown");
  }();
};

TEST_F(SecurityE2eTest, TokensScopesRevocationAndTheAuditLog) {
  const std::string admin = CreateToken("root", "admin");
  const std::string reader = CreateToken("dashboards", "read");
  const std::string app = CreateToken("app", "predict");
  // The token is shown once: neither list nor its JSON holds it.
  CommandResult listed = Ferry({"token", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(json::parse(listed.out).size(), 3u);
  for (const std::string& token : {admin, reader, app}) {
    EXPECT_EQ(listed.out.find(token.substr(19)), std::string::npos);
  }
  EXPECT_NE(Ferry({"token", "create", "root", "--scope", "read"}).exit_code, 0);  // name taken
  CommandResult bad_scope = Ferry({"token", "create", "x", "--scope", "root"});
  EXPECT_NE(bad_scope.exit_code, 0);

  SetConfig("auth", "on");
  Child server({FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir_);
  const int port = WaitForServerPort(server);
  ASSERT_GT(port, 0);
  EXPECT_NE(server.WaitForLine("auth: API tokens required", 5s), "");

  EXPECT_EQ(HttpRequest(port, "GET", "/healthz").status, 200);  // liveness is open
  HttpResult anonymous = HttpRequest(port, "GET", "/api/v1/models");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_NE(anonymous.headers.find("WWW-Authenticate: Bearer"), std::string::npos)
      << anonymous.headers;
  EXPECT_EQ(HttpRequest(port, "GET", "/api/v1/models", "", Bearer(reader)).status, 200);
  EXPECT_EQ(HttpRequest(port, "GET", "/api/v1/models", "", Bearer(app)).status, 403);
  EXPECT_EQ(HttpRequest(port, "GET", "/metrics", "", Bearer(reader)).status, 200);
  EXPECT_EQ(HttpRequest(port, "GET", "/metrics").status, 401);
  // Inference needs predict: a read token is refused before the request is even read; a
  // predict token gets as far as the request's own faults (no inputs: 400).
  EXPECT_EQ(HttpRequest(port, "POST", "/v2/models/none/infer", "{}", Bearer(reader)).status, 403);
  EXPECT_EQ(HttpRequest(port, "POST", "/v2/models/none/infer", "{}", Bearer(app)).status, 400);

  // Tokens over HTTP: admin only; a new token works at once; revoked, it stops.
  const std::string spec = R"({"name": "ci", "scope": "write", "expires_in": "1h"})";
  EXPECT_EQ(HttpRequest(port, "POST", "/api/v1/tokens", spec, Bearer(reader)).status, 403);
  HttpResult made = HttpRequest(port, "POST", "/api/v1/tokens", spec, Bearer(admin));
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string ci = json::parse(made.body)["token"];
  EXPECT_EQ(
      HttpRequest(port, "POST", "/api/v1/experiments", R"({"name": "churn"})", Bearer(ci)).status,
      201);
  EXPECT_EQ(HttpRequest(port, "DELETE", "/api/v1/tokens/root", "", Bearer(ci)).status, 403);
  EXPECT_EQ(HttpRequest(port, "DELETE", "/api/v1/tokens/ci", "", Bearer(admin)).status, 200);
  int status = 0;
  for (int i = 0; i < 40 && status != 401; ++i) {
    std::this_thread::sleep_for(50ms);
    status = HttpRequest(port, "GET", "/api/v1/models", "", Bearer(ci)).status;
  }
  EXPECT_EQ(status, 401);
  // Revoked from the CLI, seen by the running server.
  ASSERT_EQ(Ferry({"token", "revoke", "dashboards"}).exit_code, 0);
  status = 0;
  for (int i = 0; i < 40 && status != 401; ++i) {
    std::this_thread::sleep_for(50ms);
    status = HttpRequest(port, "GET", "/api/v1/models", "", Bearer(reader)).status;
  }
  EXPECT_EQ(status, 401);

  server.Signal(SIGTERM);
  ASSERT_EQ(server.Wait(10s), 0);
  CommandResult audit = Ferry({"audit", "list", "--json", "--limit", "1000"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  json entries = json::parse(audit.out);
  auto count = [&](const std::string& actor, const std::string& action, int http_status) {
    int n = 0;
    for (const json& entry : entries) {
      n += entry["actor"] == actor && entry["action"] == action && entry["status"] == http_status;
    }
    return n;
  };
  EXPECT_EQ(count("token:root", "POST /api/v1/tokens", 201), 1) << audit.out;
  EXPECT_EQ(count("token:dashboards", "POST /api/v1/tokens", 403), 1);
  EXPECT_EQ(count("token:ci", "POST /api/v1/experiments", 201), 1);
  // The CLI's changes too (the test runs ferry without $USER).
  EXPECT_EQ(count("cli:unknown@" + hostname_, "cli: token revoke", 0), 1);
  EXPECT_EQ(count("cli:unknown@" + hostname_, "cli: token create", 4), 1);  // the taken name
  EXPECT_EQ(count("token:ci", "DELETE /api/v1/tokens/{name}", 403), 1);
  EXPECT_EQ(count("token:root", "DELETE /api/v1/tokens/{name}", 200), 1);
  EXPECT_GE(count("anonymous", "GET /api/v1/models", 401), 1);
  for (const json& entry : entries) {
    const bool cli = entry["actor"].get<std::string>().starts_with("cli:");
    EXPECT_TRUE(entry["source"].get<std::string>().starts_with(cli ? "cli pid " : "127.0.0.1:"))
        << entry;
    EXPECT_EQ(entry.dump().find(admin.substr(19)), std::string::npos);
  }
  EXPECT_EQ(Ferry({"audit", "list", "--outcome", "maybe"}).exit_code, 2);
}

TEST_F(SecurityE2eTest, RefusesToServeAPublicAddressWithoutAuthentication) {
  SetConfig("auth", "off");
  CommandResult refused = Ferry({"server", "--listen", "0.0.0.0:0"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("refusing to serve 0.0.0.0:0 without authentication"),
            std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("--insecure-no-auth"), std::string::npos);
}

TEST_F(SecurityE2eTest, ServesHttpsWithTheGivenCertificate) {
  const fs::path cert = dir_ / "server.crt";
  const fs::path key = dir_ / "server.key";
  CommandResult made = RunCommand(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
       "subjectAltName=IP:127.0.0.1", "-keyout", key.string(), "-out", cert.string()},
      dir_);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  Child server({FERRY_BINARY, "server", "--listen", "127.0.0.1:0", "--tls-cert", cert.string(),
                "--tls-key", key.string()},
               dir_);
  const std::string line = server.WaitForLine("listening on https://127.0.0.1:", 10s);
  ASSERT_NE(line, "") << server.Stderr();
  const std::string port =
      line.substr(line.find("127.0.0.1:") + 10,
                  line.find(' ', line.find("127.0.0.1:")) - line.find("127.0.0.1:") - 10);
  const std::string url = "https://127.0.0.1:" + port + "/healthz";
  CommandResult ok =
      RunCommand({"/usr/bin/curl", "-sS", "--cacert", cert.string(), "--tlsv1.2", url}, dir_);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("ok"), std::string::npos) << ok.out;
  // TLS 1.1 and plain HTTP get nothing.
  CommandResult old = RunCommand(
      {"/usr/bin/curl", "-sS", "--cacert", cert.string(), "--tlsv1.1", "--tls-max", "1.1", url},
      dir_);
  EXPECT_NE(old.exit_code, 0);
  CommandResult plain = RunCommand(
      {"/usr/bin/curl", "-sS", "--max-time", "5", "http://127.0.0.1:" + port + "/healthz"}, dir_);
  EXPECT_NE(plain.exit_code, 0);
  // A key that does not match is a clear error before anything is served.
  const fs::path other = dir_ / "other.key";
  ASSERT_EQ(RunCommand({"/usr/bin/openssl", "genpkey", "-algorithm", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-out", other.string()},
                       dir_)
                .exit_code,
            0);
  CommandResult mismatched = Ferry({"server", "--listen", "127.0.0.1:0", "--tls-cert",
                                    cert.string(), "--tls-key", other.string()});
  EXPECT_NE(mismatched.exit_code, 0);
  EXPECT_NE(mismatched.err.find("does not match"), std::string::npos) << mismatched.err;
}

}  // namespace
}  // namespace ferry::e2e
