#include "serving/rollout_policy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace ferry::serving {
namespace {

std::string MessageOf(const absl::Status& status) { return std::string(core::View(status.message())); }

TEST(RolloutPolicyTest, DefaultsAreValid) {
  EXPECT_TRUE(ValidateRolloutPolicy(RolloutPolicy{}).ok());
}

TEST(RolloutPolicyTest, YamlSetsEveryKeyAndKeepsDefaultsForTheRest) {
  auto policy = ParseRolloutPolicyYaml(R"(
steps: [10, 50, 100]
interval: 5m
min_requests: 500
failure_limit: 3
max_error_rate_delta: 0.02
max_p99_ratio: 1.5
max_prediction_shift: 0.2
min_quality_delta: 0
min_labels: 50
sticky_key: customer_id
progress_deadline: 1h
webhooks: [http://127.0.0.1:9000/hook, http://hooks.example.com/ferry]
)",
                                       "policy.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->steps, (std::vector<int>{10, 50, 100}));
  EXPECT_EQ(policy->interval, std::chrono::minutes(5));
  EXPECT_EQ(policy->min_requests, 500);
  EXPECT_EQ(policy->failure_limit, 3);
  EXPECT_DOUBLE_EQ(policy->max_error_rate_delta, 0.02);
  EXPECT_DOUBLE_EQ(policy->max_p99_ratio, 1.5);
  EXPECT_DOUBLE_EQ(policy->max_prediction_shift, 0.2);
  EXPECT_DOUBLE_EQ(policy->min_quality_delta, 0);
  EXPECT_EQ(policy->min_labels, 50);
  EXPECT_EQ(policy->sticky_key, "customer_id");
  EXPECT_EQ(policy->progress_deadline, std::chrono::hours(1));
  EXPECT_EQ(policy->webhooks.size(), 2u);

  auto partial = ParseRolloutPolicyYaml("interval: 90s\n", "p.yaml");
  ASSERT_TRUE(partial.ok()) << partial.status();
  RolloutPolicy expected;
  expected.interval = std::chrono::seconds(90);
  EXPECT_EQ(*partial, expected);
  EXPECT_EQ(*ParseRolloutPolicyYaml("", "empty.yaml"), RolloutPolicy{});
}

TEST(RolloutPolicyTest, JsonRoundTrips) {
  RolloutPolicy policy;
  policy.steps = {1, 2, 100};
  policy.interval = std::chrono::seconds(90);
  policy.min_quality_delta = -0.00001;
  policy.sticky_key = "customer_id";
  policy.webhooks = {"http://[::1]:8080/x"};
  const nlohmann::json json = RolloutPolicyToJson(policy);
  EXPECT_EQ(json["interval"], "90s");
  auto back = RolloutPolicyFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, policy);
  EXPECT_EQ(*RolloutPolicyFromJson(RolloutPolicyToJson(RolloutPolicy{})), RolloutPolicy{});
}

TEST(RolloutPolicyTest, FlagsSetFieldsFromText) {
  RolloutPolicy policy;
  ASSERT_TRUE(SetRolloutPolicyField(policy, "steps", "20, 60,100").ok());
  ASSERT_TRUE(SetRolloutPolicyField(policy, "progress-deadline", "2h").ok());
  ASSERT_TRUE(SetRolloutPolicyField(policy, "webhooks", "http://a:1/").ok());
  ASSERT_TRUE(SetRolloutPolicyField(policy, "webhooks", "http://b/").ok());
  EXPECT_EQ(policy.steps, (std::vector<int>{20, 60, 100}));
  EXPECT_EQ(policy.progress_deadline, std::chrono::hours(2));
  EXPECT_EQ(policy.webhooks, (std::vector<std::string>{"http://a:1/", "http://b/"}));
  EXPECT_TRUE(ValidateRolloutPolicy(policy).ok());
  absl::Status bad = SetRolloutPolicyField(policy, "min-requests", "many");
  EXPECT_EQ(MessageOf(bad), "rollout policy: min_requests: expected an integer, got \"many\"");
}

struct BadPolicyCase {
  std::string yaml;
  std::string message_part;
};

class BadPolicyTest : public ::testing::TestWithParam<BadPolicyCase> {};

TEST_P(BadPolicyTest, IsRefusedNamingTheKey) {
  auto policy = ParseRolloutPolicyYaml(GetParam().yaml, "policy.yaml");
  ASSERT_FALSE(policy.ok()) << GetParam().yaml;
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(MessageOf(policy.status()).find(GetParam().message_part), std::string::npos)
      << policy.status();
  EXPECT_TRUE(MessageOf(policy.status()).starts_with("policy.yaml: ")) << policy.status();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadPolicyTest,
    ::testing::Values(
        BadPolicyCase{"stepz: [100]", "unknown key \"stepz\""},
        BadPolicyCase{"steps: [10, 10, 100]", "steps: steps must increase strictly"},
        BadPolicyCase{"steps: [10, 50]", "the last step must be 100"},
        BadPolicyCase{"steps: [100]", "need a step below 100"},
        BadPolicyCase{"steps: [0, 100]", "1..100"},
        BadPolicyCase{"steps: [50, 101]", "1..100"},
        BadPolicyCase{"steps: []", "at least one step"},
        BadPolicyCase{"interval: 0", "interval: must be positive"},
        BadPolicyCase{"interval: soon", "interval: expected a duration"},
        BadPolicyCase{"interval: 20m", "progress_deadline: must be at least the interval"},
        BadPolicyCase{"min_requests: 0", "min_requests: must be 1 or more"},
        BadPolicyCase{"failure_limit: 0", "failure_limit: must be 1 or more"},
        BadPolicyCase{"max_error_rate_delta: 1.5", "max_error_rate_delta: must be in 0..1"},
        BadPolicyCase{"max_p99_ratio: -1", "max_p99_ratio"},
        BadPolicyCase{"max_prediction_shift: 2", "max_prediction_shift: must be in 0..1"},
        BadPolicyCase{"min_labels: 0", "min_labels"},
        BadPolicyCase{"sticky_key: 'customer id'", "sticky_key"},
        BadPolicyCase{"webhooks: [https://example.com/]", "only http:// URLs are supported"},
        BadPolicyCase{"webhooks: [ftp://example.com/]", "expected http://HOST[:PORT][/PATH]"},
        BadPolicyCase{"webhooks: ['http://:80/']", "webhooks"},
        // Found by fuzz/yaml_specs: a URL that was not UTF-8 passed, and the policy's JSON
        // (what the rollout store keeps) could not be written; bytes that are not UTF-8 are
        // now refused for the whole document (core::CheckYamlUtf8), and a URL must be
        // printable ASCII besides, so it cannot split the webhook's request line.
        BadPolicyCase{"webhooks: [\"http://a/x\\r\\nX: y\"]", "URLs must be printable ASCII"},
        BadPolicyCase{"min_requests: {a: 1}", "min_requests: expected a single value"},
        BadPolicyCase{"[1, 2]", "a rollout policy is a mapping"},
        BadPolicyCase{"steps: [10, 100", "policy.yaml"}));

}  // namespace
}  // namespace ferry::serving
