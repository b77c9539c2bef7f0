// HTTPS: the TLS handshake and its versions, plain HTTP sent to a TLS port, and bad
// certificate settings. Certificates come from the openssl command (scripts/bootstrap
// installs it).

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdlib>
#include <fstream>

#include "server/asio.h"  // first: see asio.h
#include "server/http_server.h"
#include "test_client.h"
#include "test_server.h"
#include "testing/temp_dir.h"

namespace ferry::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A self-signed certificate for 127.0.0.1 and its key, made once per test.
struct CertFiles {
  fs::path cert;
  fs::path key;
};
CertFiles MakeCert(const fs::path& dir, const std::string& name = "server") {
  CertFiles files{dir / (name + ".crt"), dir / (name + ".key")};
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
      " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '" +
      files.key.string() + "' -out '" + files.cert.string() + "' 2>/dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return files;
}

struct TlsReply {
  std::string version;  // as OpenSSL names it, "TLSv1.3"
  std::string response;
};

// One GET /hello over TLS, with the client limited to [min, max] protocol versions and
// trusting `ca`. The handshake's error when it fails.
absl::StatusOr<TlsReply> FetchTls(uint16_t port, const fs::path& ca, int min_version,
                                  int max_version) {
  asio::io_context io;
  asio::ssl::context context(asio::ssl::context::tls_client);
  // Security level 0 lets this client offer old versions, so a refusal is the server's.
  SSL_CTX_set_security_level(context.native_handle(), 0);
  SSL_CTX_set_min_proto_version(context.native_handle(), min_version);
  SSL_CTX_set_max_proto_version(context.native_handle(), max_version);
  context.load_verify_file(ca.string());
  context.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<tcp::socket> stream(io, context);
  ErrorCode ec;
  stream.lowest_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return absl::UnavailableError(ec.message());
  stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return absl::PermissionDeniedError("handshake: " + ec.message());
  TlsReply reply;
  reply.version = SSL_get_version(stream.native_handle());
  const std::string request = "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  asio::write(stream, asio::buffer(request), ec);
  if (ec) return absl::UnavailableError("write: " + ec.message());
  char buffer[4096];
  while (true) {
    size_t n = stream.read_some(asio::buffer(buffer), ec);
    reply.response.append(buffer, n);
    if (ec) break;
  }
  return reply;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = MakeCert(temp_.path());
    config_ = testing::TestConfig();
    config_.tls_cert = cert_.cert.string();
    config_.tls_key = cert_.key.string();
  }
  ::ferry::testing::TempDir temp_;
  CertFiles cert_;
  core::ServerConfig config_;
};

TEST_F(TlsTest, ServesTls12And13AndRefusesOlderVersions) {
  auto server = testing::StartServer(config_);
  ASSERT_NE(server, nullptr);
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    absl::StatusOr<TlsReply> reply = FetchTls(server->port(), cert_.cert, version, version);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->version, version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2");
    EXPECT_TRUE(reply->response.starts_with("HTTP/1.1 200")) << reply->response;
    EXPECT_NE(reply->response.find(R"({"hello":"world"})"), std::string::npos);
  }
  for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    absl::StatusOr<TlsReply> reply = FetchTls(server->port(), cert_.cert, version, version);
    EXPECT_FALSE(reply.ok()) << "version " << version << " was accepted: " << reply->version;
  }
  // A client that does not trust the certificate gives up (it is not the server's).
  CertFiles other = MakeCert(temp_.path(), "other");
  EXPECT_FALSE(FetchTls(server->port(), other.cert, TLS1_2_VERSION, TLS1_3_VERSION).ok());
}

TEST_F(TlsTest, PlainHttpToTheTlsPortGetsNoHttpAnswerAndTheServerCarriesOn) {
  auto server = testing::StartServer(config_);
  ASSERT_NE(server, nullptr);
  testing::TestClient plain(server->port());
  ASSERT_TRUE(plain.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto reply = plain.ReadResponse(2s);
  EXPECT_FALSE(reply.has_value() && reply->status == 200);
  EXPECT_TRUE(plain.WaitForClose(3s));
  // A client that connects and never starts the handshake is dropped at request_timeout.
  testing::TestClient silent(server->port());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.WaitForClose(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  EXPECT_TRUE(FetchTls(server->port(), cert_.cert, TLS1_2_VERSION, TLS1_3_VERSION).ok());
}

TEST_F(TlsTest, FileBodyArrivesByteIdenticalAndTheConnectionStaysUsable) {
  const std::string content = testing::WriteRandomFile(temp_ / "body.bin", (6 << 20) + 777);
  auto router = testing::TestRouter();
  testing::AddFileRoute(*router, temp_ / "body.bin");
  auto server = testing::StartServer(config_, router);
  ASSERT_NE(server, nullptr);
  asio::io_context io;
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.load_verify_file(cert_.cert.string());
  context.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<tcp::socket> stream(io, context);
  stream.lowest_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server->port()));
  stream.handshake(asio::ssl::stream_base::client);
  beast::flat_buffer buffer;
  // One connection: the file, HEAD of it, the file again, then a small answer.
  for (std::string_view method : {"GET", "HEAD", "GET"}) {
    const std::string request = std::string(method) + " /file HTTP/1.1\r\nHost: t\r\n\r\n";
    asio::write(stream, asio::buffer(request));
    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(64 << 20);
    parser.skip(method == "HEAD");
    beast::http::read(stream, buffer, parser);
    auto& response = parser.get();
    EXPECT_EQ(response.result_int(), 200u);
    EXPECT_EQ(response[beast::http::field::content_length], std::to_string(content.size()));
    if (method == "GET") {
      EXPECT_TRUE(response.body() == content) << "got " << response.body().size() << " bytes";
    } else {
      EXPECT_TRUE(response.body().empty());
    }
  }
  asio::write(stream, asio::buffer(std::string_view("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")));
  beast::http::response<beast::http::string_body> hello;
  beast::http::read(stream, buffer, hello);
  EXPECT_EQ(hello.body(), R"({"hello":"world"})");
}

TEST_F(TlsTest, BadCertificateSettingsAreClearErrors) {
  auto expect_error = [&](core::ServerConfig config, std::string_view words) {
    auto server =
        HttpServer::Create(config, testing::TestRouter(), std::make_shared<AllowAllAuthorizer>());
    ASSERT_FALSE(server.ok());
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(server.status().message()).find(words), std::string::npos)
        << server.status();
  };
  core::ServerConfig missing = config_;
  missing.tls_cert = (temp_.path() / "nope.crt").string();
  expect_error(missing, "cannot read TLS certificate");
  EXPECT_FALSE(CheckTlsConfig(missing).ok());
  EXPECT_TRUE(CheckTlsConfig(config_).ok());
  core::ServerConfig half = config_;
  half.tls_key.clear();
  expect_error(half, "give both or neither");
  core::ServerConfig garbage = config_;
  std::ofstream(temp_.path() / "garbage.key") << "not a key\n";
  garbage.tls_key = (temp_.path() / "garbage.key").string();
  expect_error(garbage, "cannot use TLS key");
  core::ServerConfig mismatched = config_;
  mismatched.tls_key = MakeCert(temp_.path(), "other").key.string();
  expect_error(mismatched, "does not match");
}

}  // namespace
}  // namespace ferry::server
