// End-to-end tests of rollouts through the `ferry` binary: start a canary (flags over a
// policy file), status with the rollout, pause, resume, manual promote (the production
// alias moves, the canary alias goes), instant rollback, a shadow, and the refusals with
// their messages and exit codes.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "serving_workspace.h"
#include "subprocess.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class RolloutCliE2eTest : public ServingWorkspaceTest {
 protected:
  void SetUp() override {
    ServingWorkspaceTest::SetUp();
    testing::WriteXGBoostModel(dir_ / "model.json", 2, {"avg_amount", "txn_count"});
    for (const char* model : {"fraud-model", "fraud-model", "fraud-model", "other-model"}) {
      CommandResult reg = Ferry({"models", "register", model, "--artifact", "model.json"});
      ASSERT_EQ(reg.exit_code, 0) << reg.err;
    }
    ASSERT_EQ(Ferry({"models", "alias", "fraud-model@1", "production"}).exit_code, 0);
    ASSERT_EQ(Ferry({"deploy", "fraud", "--model", "fraud-model@production"}).exit_code, 0);
  }
  // The version fraud-model@ALIAS resolves to; 0 when the alias does not exist.
  int64_t AliasVersion(const std::string& alias) {
    CommandResult shown = Ferry({"models", "show", "fraud-model@" + alias, "--json"});
    if (shown.exit_code != 0) return 0;
    return json::parse(shown.out, nullptr, false).value("version", int64_t{0});
  }

};

TEST_F(RolloutCliE2eTest, StartStatusPauseResumePromoteAndInstantRollback) {
  std::ofstream(dir_ / "policy.yaml") << "steps: [10, 50, 100]\ninterval: 5m\nmin_requests: 50\n";
  CommandResult started = Ferry({"deploy", "fraud", "--canary", "fraud-model@2", "--policy",
                                 "policy.yaml", "--interval", "90s", "--failure-limit", "3",
                                 "--progress-deadline", "30m"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  EXPECT_EQ(started.out,
            "canary rollout 1 on endpoint fraud: fraud-model@2 at 10%, fraud-model@1 at 90%\n"
            "  steps 10,50,100; analysis every 90s; rolls back after 3 failed analyses or 30m"
            " without progress\n");
  EXPECT_EQ(AliasVersion("canary"), 2);

  json status = Json({"deploy", "status", "fraud", "--json"});
  EXPECT_EQ(status["rollout"]["phase"], "progressing");
  EXPECT_EQ(status["rollout"]["weight"], 10);
  EXPECT_EQ(status["rollout"]["policy"]["min_requests"], 50) << "from the file";
  EXPECT_EQ(status["rollout"]["policy"]["interval"], "90s") << "the flag wins";
  EXPECT_EQ(status["rollout_events"].size(), 1u);

  CommandResult paused = Ferry({"deploy", "pause", "fraud", "--reason", "ticket 42"});
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  EXPECT_EQ(paused.out, "endpoint fraud: paused -> paused, candidate 10%: ticket 42\n");
  CommandResult resumed = Ferry({"deploy", "resume", "fraud", "--actor", "bob"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(resumed.out,
            "endpoint fraud: resumed -> progressing, candidate 10%: resumed by hand at 10%\n");

  CommandResult text = Ferry({"deploy", "status", "fraud"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  for (const char* part : {"rollout 1: canary of fraud-model@2 against fraud-model@1",
                           "  phase             progressing", "  step              1/3",
                           "  weights           stable 90% / candidate 10%",
                           "  failures          0/3", "history", "started", "paused", "resumed",
                           "ticket 42"}) {
    EXPECT_NE(text.out.find(part), std::string::npos) << part << "\n" << text.out;
  }

  CommandResult promoted = Ferry({"deploy", "promote", "fraud", "--reason", "looks good"});
  ASSERT_EQ(promoted.exit_code, 0) << promoted.err;
  EXPECT_EQ(promoted.out, "endpoint fraud: manual_promote -> promoted, candidate 100%: looks good\n");
  EXPECT_EQ(AliasVersion("production"), 2);
  EXPECT_EQ(AliasVersion("canary"), 0) << "the canary alias is gone";
  EXPECT_EQ(Json({"deploy", "status", "fraud", "--json"})["resolved_version"], 2);

  CommandResult rolled_back = Ferry({"deploy", "rollback", "fraud"});
  ASSERT_EQ(rolled_back.exit_code, 0) << rolled_back.err;
  EXPECT_EQ(rolled_back.out, "endpoint fraud: manual_rollback -> rolled_back, candidate 0%:"
                             " instant rollback to fraud-model@1\n");
  EXPECT_EQ(AliasVersion("production"), 1);
  CommandResult again = Ferry({"deploy", "rollback", "fraud"});
  EXPECT_EQ(again.exit_code, 4);
  EXPECT_NE(again.err.find("it is rolled_back"), std::string::npos) << again.err;
}

TEST_F(RolloutCliE2eTest, AShadowStartsAtWeightZero) {
  CommandResult started = Ferry({"deploy", "fraud", "--shadow", "fraud-model@3", "--json"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  json rollout = json::parse(started.out, nullptr, false);
  EXPECT_EQ(rollout["kind"], "shadow");
  EXPECT_EQ(rollout["weight"], 0);
  EXPECT_EQ(AliasVersion("shadow"), 3);
}

struct Refusal {
  std::vector<std::string> args;
  int exit_code;
  std::string message;
};

TEST_F(RolloutCliE2eTest, RefusalsSayWhatIsWrong) {
  ASSERT_EQ(Ferry({"deploy", "fraud", "--canary", "fraud-model@2"}).exit_code, 0);
  const Refusal refusals[] = {
      {{"deploy", "nowhere", "--canary", "fraud-model@2"}, 3,
       "ferry: error: no endpoint named \"nowhere\"; deploy it first (`ferry deploy nowhere"
       " --model NAME@production`)\n"},
      {{"deploy", "fraud", "--canary", "other-model@1"}, 4,
       "ferry: error: endpoint fraud serves model fraud-model; other-model@1 is a version of"
       " another model\n"},
      {{"deploy", "fraud", "--canary", "fraud-model@3"}, 4,
       "ferry: error: endpoint fraud already has a canary rollout of fraud-model@2"
       " (progressing); promote it, roll it back or wait for it to finish first\n"},
      {{"deploy", "fraud", "--canary", "fraud-model@2", "--steps", "50,20,100"}, 2,
       "ferry: error: rollout policy: steps: steps must increase strictly, got 50 then 20\n"},
      {{"deploy", "fraud", "--canary", "fraud-model@2", "--webhook", "https://x/"}, 2,
       "ferry: error: rollout policy: webhooks: \"https://x/\": only http:// URLs are"
       " supported\n"},
      {{"deploy", "resume", "fraud"}, 4,
       "ferry: error: cannot resume the canary rollout of fraud-model@2 on endpoint fraud: it"
       " is progressing (resume applies to a paused rollout)\n"},
      {{"deploy", "pause", "nowhere"}, 3,
       "ferry: error: endpoint \"nowhere\" has no rollout; start one with `ferry deploy nowhere"
       " --canary NAME@V`\n"},
  };
  for (const Refusal& r : refusals) {
    CommandResult result = Ferry(r.args);
    EXPECT_EQ(result.exit_code, r.exit_code) << r.args[1] << " " << result.err;
    EXPECT_EQ(result.err, r.message);
  }
  ASSERT_EQ(Ferry({"deploy", "rollback", "fraud"}).exit_code, 0);
  CommandResult same = Ferry({"deploy", "fraud", "--canary", "fraud-model@1"});
  EXPECT_EQ(same.exit_code, 4);
  EXPECT_EQ(same.err, "ferry: error: fraud-model@1 is what endpoint fraud serves now; a rollout"
                      " needs another version\n");
}

}  // namespace
}  // namespace ferry::e2e
