#include "core/config.h"

#include <gtest/gtest.h>

namespace ferry::core {
namespace {

TEST(WorkspaceConfigTest, EmptyDocumentGivesDefaults) {
  auto config = WorkspaceConfig::Parse("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metadata, "sqlite");
  EXPECT_EQ(config->online_store, "rocksdb");
  EXPECT_EQ(config->server.listen, "127.0.0.1:8080");
  EXPECT_EQ(config->server.max_upload_bytes, 64ull << 30);
}

TEST(WorkspaceConfigTest, ToYamlRoundTrips) {
  WorkspaceConfig config;
  config.server.listen = "[::1]:9000";
  config.server.threads = 3;
  config.server.access_log = false;
  config.server.max_upload_bytes = 5ull << 40;
  config.log_level = "debug";
  config.serving.prediction_log_sample_rate = 0.25;
  config.serving.batching_max_delay_us = 200;
  config.alerts.evaluation_interval_ms = 250;
  config.alerts.webhook_attempts = 3;
  config.pipelines.enabled = false;
  config.pipelines.trigger_interval_ms = 200;
  config.online_store = "redis://10.0.0.7:6380";
  auto parsed = WorkspaceConfig::Parse(config.ToYaml());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->server.listen, "[::1]:9000");
  EXPECT_EQ(parsed->server.threads, 3);
  EXPECT_FALSE(parsed->server.access_log);
  EXPECT_EQ(parsed->server.max_upload_bytes, 5ull << 40);
  EXPECT_EQ(parsed->log_level, "debug");
  EXPECT_EQ(parsed->serving.prediction_log_sample_rate, 0.25);
  EXPECT_EQ(parsed->serving.batching_max_delay_us, 200);
  EXPECT_EQ(parsed->serving.max_batch_rows, 10'000);
  EXPECT_EQ(parsed->alerts.evaluation_interval_ms, 250);
  EXPECT_EQ(parsed->alerts.webhook_attempts, 3);
  EXPECT_EQ(parsed->alerts.webhook_timeout_ms, 5'000);
  EXPECT_FALSE(parsed->pipelines.enabled);
  EXPECT_EQ(parsed->pipelines.trigger_interval_ms, 200);
  EXPECT_EQ(parsed->online_store, "redis://10.0.0.7:6380");
}

TEST(WorkspaceConfigTest, BadInputNamesTheKey) {
  struct Case {
    std::string yaml;
    std::string expected_fragment;
  };
  const Case cases[] = {
      {"servr: {}", "servr: unknown key"},
      {"server: {thread: 2}", "server.thread: unknown key"},
      {"server: {threads: many}", "server.threads: expected an integer"},
      {"serving: {max_batch_rows: 0}", "serving.max_batch_rows: expected 1..1000000"},
      {"serving: {prediction_log_sample_rate: 2}", "serving.prediction_log_sample_rate: expected 0..1"},
      {"serving: {batching: on}", "serving.batching: unknown key"},
      {"server: {threads: -1}", "server.threads"},
      {"server: {max_upload_bytes: 0}", "server.max_upload_bytes: expected > 0"},
      {"server: {max_upload_bytes: lots}", "server.max_upload_bytes: expected an integer"},
      {"server: {max_upload_byte: 1}", "server.max_upload_byte: unknown key"},
      {"server: {listen: nowhere}", "HOST:PORT"},
      {"server: {listen: \"h:99999\"}", "bad port"},
      {"log: {level: loud}", "log.level"},
      {"metadata: mysql://x", "metadata"},
      {"metadata: \"postgresql://me:secret@db/ferry\"", "holds a password"},
      {"metadata: \"postgres://db/ferry?sslmode=require&password=x\"", "holds a password"},
      {"metadata: \"postgres://db/ferry?%70assword=x\"", "holds a password"},
      {"metadata: \"postgres://db/ferry?sslmode=require&pass%77ord=x\"", "holds a password"},
      {"metadata: \"postgresql:///ferry\"", "names no host"},
      {"online_store: memcached://x:1", "online_store: \"memcached://x:1\" is neither"},
      {"online_store: \"redis://nohost\"", "redis://HOST:PORT"},
      {"version: 7", "version"},
      {"server: [1, 2", "config.yaml"},
      {"- a\n- b", "expected a mapping"},
      {"alerts: {evaluation_interval_ms: 0}", "alerts.evaluation_interval_ms: expected 10..86400000"},
      {"alerts: {webhook_retries: 3}", "alerts.webhook_retries: unknown key"},
      {"alerts: [1]", "alerts: expected a mapping"},
      {"pipelines: {trigger_interval_ms: 5}", "pipelines.trigger_interval_ms: expected 10..3600000"},
      {"pipelines: {enabled: maybe}", "pipelines.enabled: expected true or false"},
      {"pipelines: {interval: 1}", "pipelines.interval: unknown key"},
  };
  for (const Case& c : cases) {
    auto parsed = WorkspaceConfig::Parse(c.yaml);
    ASSERT_FALSE(parsed.ok()) << c.yaml;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_NE(parsed.status().message().find(c.expected_fragment), std::string::npos)
        << c.yaml << " -> " << parsed.status().message();
  }
}

TEST(WorkspaceConfigTest, ARefusedUrlIsEchoedWithoutItsCredentials) {
  for (const char* yaml :
       {"metadata: \"mysql://me:s3cret@db/ferry\"", "metadata: \"pg://db/ferry?password=s3cret\"",
        "online_store: \"redis://:s3cret@cache:6379\"", "online_store: \"redis://u:s3cret@c:1\"",
        "online_store: \"redis://cache/?auth=s3cret\""}) {
    auto parsed = WorkspaceConfig::Parse(yaml);
    ASSERT_FALSE(parsed.ok()) << yaml;
    EXPECT_EQ(parsed.status().message().find("s3cret"), std::string::npos)
        << yaml << " -> " << parsed.status().message();
    EXPECT_TRUE(parsed.status().message().find("is neither") != std::string::npos ||
                parsed.status().message().find("holds credentials") != std::string::npos)
        << parsed.status().message();
  }
}

TEST(WorkspaceConfigTest, PostgresqlMetadataUrlsRoundTrip) {
  for (const char* url : {"postgresql://ferry@db.internal:5432/ferry",
                          "postgres://db/ferry?sslmode=verify-full&connect_timeout=3",
                          "postgresql://[::1]:6432/ferry"}) {
    auto parsed = WorkspaceConfig::Parse(std::string("metadata: \"") + url + "\"");
    ASSERT_TRUE(parsed.ok()) << url << ": " << parsed.status();
    EXPECT_EQ(parsed->metadata, url);
    auto again = WorkspaceConfig::Parse(parsed->ToYaml());
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->metadata, url);
  }
}

TEST(HostPortTest, ParsesIpv4Ipv6AndNames) {
  auto a = ParseHostPort("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto b = ParseHostPort("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  EXPECT_FALSE(ParseHostPort(":80").ok());
  EXPECT_FALSE(ParseHostPort("host:").ok());
  EXPECT_FALSE(ParseHostPort("host:80x").ok());
}

}  // namespace
}  // namespace ferry::core

namespace ferry::core {
namespace {

TEST(WorkspaceConfigTest, SecurityKeysRoundTripAndAreChecked) {
  WorkspaceConfig config;
  config.server.auth = "on";
  config.server.max_connections = 500;
  config.server.rate_limit_per_second = 2.5;
  config.server.rate_limit_burst = 10;
  config.server.tls_cert = "certs/server.crt";
  config.server.tls_key = "certs/server.key";
  config.server.audit_log_file = "audit.jsonl";
  auto parsed = WorkspaceConfig::Parse(config.ToYaml());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->server.auth, "on");
  EXPECT_EQ(parsed->server.max_connections, 500);
  EXPECT_EQ(parsed->server.rate_limit_per_second, 2.5);
  EXPECT_EQ(parsed->server.rate_limit_burst, 10);
  EXPECT_EQ(parsed->server.tls_cert, "certs/server.crt");
  EXPECT_EQ(parsed->server.tls_key, "certs/server.key");
  EXPECT_EQ(parsed->server.audit_log_file, "audit.jsonl");
  EXPECT_EQ(WorkspaceConfig().server.auth, "auto");

  struct Bad {
    const char* yaml;
    const char* message;
  };
  for (const Bad& bad : {Bad{"server:\n  auth: maybe\n", "server.auth: expected auto, on or off"},
                         Bad{"server:\n  max_connections: 0\n", "server.max_connections"},
                         Bad{"server:\n  rate_limit_per_second: -1\n", "rate_limit_per_second"},
                         Bad{"server:\n  rate_limit_burst: -2\n", "rate_limit_burst"},
                         Bad{"server:\n  tls_cert: a.crt\n", "give both or neither"}}) {
    auto result = WorkspaceConfig::Parse(bad.yaml);
    ASSERT_FALSE(result.ok()) << bad.yaml;
    EXPECT_NE(result.status().message().find(bad.message), std::string::npos) << result.status();
  }
}

}  // namespace
}  // namespace ferry::core
