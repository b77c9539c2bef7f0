// End-to-end tests of tracking and the model registry: `ferry runs|experiments|models`,
// `ferry data show --used-by`, the HTTP API, and four processes logging into one run.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "subprocess.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"

namespace ferry::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono_literals::operator""s;

class RegistryE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Ferry({"init"}).exit_code, 0);
    WriteFile("daily.csv",
              "customer_id,event_timestamp,avg_amount,txn_count\n"
              "c1,2026-01-01T00:00:00Z,10.5,3\n"
              "c2,2026-01-02T00:00:00Z,7.25,1\n");
    WriteFile("entities.csv",
              "customer_id,event_timestamp,label\n"
              "c1,2026-01-02T00:00:00Z,0\n"
              "c2,2026-01-05T00:00:00Z,1\n");
    WriteFile("features.yaml",
              "entities:\n"
              "  - {name: customer, join_keys: [{name: customer_id, type: string}]}\n"
              "feature_views:\n"
              "  - name: customer_stats\n"
              "    entities: [customer]\n"
              "    source: customer_daily\n"
              "    timestamp_field: event_timestamp\n"
              "    features: [{name: avg_amount, type: float64}, {name: txn_count, type: int64}]\n"
              "feature_services:\n"
              "  - {name: fraud, features: [\"customer_stats:*\"]}\n");
    WriteFile("signature.json", R"({"feature_service": "fraud"})");
    testing::WriteXGBoostModel(dir_ / "model.json", 2, {"avg_amount", "txn_count"});
    ASSERT_EQ(Ferry({"data", "add", "customer_daily", "daily.csv"}).exit_code, 0);
    ASSERT_EQ(Ferry({"features", "apply", "features.yaml"}).exit_code, 0);
    CommandResult train = Ferry({"features", "historical", "--entities", "entities.csv",
                                 "--service", "fraud", "--out", "train"});
    ASSERT_EQ(train.exit_code, 0) << train.err;
  }
  CommandResult Ferry(std::vector<std::string> args) {
    args.insert(args.begin(), FERRY_BINARY);
    return RunCommand(args, dir_, {{"USER", "ada"}});
  }
  void WriteFile(const std::string& name, const std::string& contents) {
    std::FILE* f = std::fopen((dir_ / name).c_str(), "wb");
    std::fwrite(contents.data(), 1, contents.size(), f);
    std::fclose(f);
  }
  std::string NewRun() {
    CommandResult run = Ferry({"runs", "create", "-e", "fraud", "-n", "xgb", "--source",
                               "features.yaml", "--input", "train=train", "-p", "max_depth=6"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return run.out.substr(0, run.out.find('\n'));
  }

  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
};

TEST_F(RegistryE2eTest, RunToModelWithAliasesLineageAndClearErrors) {
  const std::string run = NewRun();
  ASSERT_EQ(run.size(), 32u);
  EXPECT_EQ(Ferry({"runs", "log", run, "-m", "auc=0.93@1", "-m", "loss=nan", "-m", "gap=-inf",
                   "-a", "model.json"})
                .exit_code,
            0);
  CommandResult changed = Ferry({"runs", "log", run, "-p", "max_depth=7"});
  EXPECT_EQ(changed.exit_code, 4);
  EXPECT_NE(changed.err.find("params cannot change"), std::string::npos) << changed.err;
  EXPECT_EQ(Ferry({"runs", "log", "nosuchrun", "-m", "a=1"}).exit_code, 3);
  EXPECT_EQ(Ferry({"runs", "log", run, "-m", "a=high"}).exit_code, 2);
  ASSERT_EQ(Ferry({"runs", "finish", run}).exit_code, 0);
  CommandResult late = Ferry({"runs", "log", run, "-m", "auc=1"});
  EXPECT_EQ(late.exit_code, 4);
  EXPECT_NE(late.err.find("is FINISHED"), std::string::npos) << late.err;

  json shown = json::parse(Ferry({"runs", "show", run, "--json"}).out);
  EXPECT_EQ(shown["metrics"]["loss"]["value"], "NaN");
  EXPECT_EQ(shown["metrics"]["gap"]["value"], "-Infinity");
  EXPECT_EQ(shown["info"]["user"], "ada");
  EXPECT_EQ(shown["inputs"][0]["dataset_version"], "train@1");
  json listed = json::parse(Ferry({"runs", "list", "-f", "metrics.auc > 0.9 and params.max_depth = '6'",
                                   "-o", "metrics.auc DESC", "--json"})
                                .out);
  ASSERT_EQ(listed["runs"].size(), 1u);
  EXPECT_TRUE(listed["next_page_token"].is_null());
  CommandResult bad_filter = Ferry({"runs", "list", "-f", "metrics.auc > 'x'"});
  EXPECT_EQ(bad_filter.exit_code, 2);
  EXPECT_NE(bad_filter.err.find("expected a number"), std::string::npos) << bad_filter.err;

  CommandResult reg = Ferry({"models", "register", "fraud", "--artifact", "model.json", "--flavor",
                             "xgboost", "--run", run, "--signature", "signature.json", "--json"});
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  json version = json::parse(reg.out);
  EXPECT_EQ(version["feature_names"], json({"avg_amount", "txn_count"}));
  EXPECT_EQ(version["metrics"]["auc"], 0.93);
  EXPECT_EQ(version["created_by"], "ada");
  CommandResult not_model = Ferry({"models", "register", "fraud", "--artifact", "daily.csv"});
  EXPECT_EQ(not_model.exit_code, 2);
  EXPECT_NE(not_model.err.find("daily.csv: not a loadable XGBoost model"), std::string::npos)
      << not_model.err;

  ASSERT_EQ(Ferry({"models", "alias", "fraud@1", "production", "-r", "first"}).exit_code, 0);
  CommandResult refused = Ferry({"models", "delete", "fraud@1"});
  EXPECT_EQ(refused.exit_code, 4);
  EXPECT_NE(refused.err.find("alias production"), std::string::npos) << refused.err;
  json model = json::parse(Ferry({"models", "show", "fraud", "--json"}).out);
  EXPECT_EQ(model["aliases"]["production"], 1);
  EXPECT_EQ(model["alias_history"][0]["actor"], "ada");
  EXPECT_EQ(model["alias_history"][0]["reason"], "first");

  CommandResult lineage = Ferry({"models", "lineage", "fraud@production", "--json"});
  ASSERT_EQ(lineage.exit_code, 0) << lineage.err;
  json graph = json::parse(lineage.out);
  bool source_found = false;
  for (const json& node : graph["nodes"]) {
    if (node["id"] == "customer_daily@1") source_found = node["details"]["sha256"].get<std::string>().size() == 64;
  }
  EXPECT_TRUE(source_found) << graph.dump(2);
  CommandResult text = Ferry({"models", "lineage", "fraud@1"});
  EXPECT_NE(text.out.find("feature_view customer_stats"), std::string::npos) << text.out;

  json used = json::parse(Ferry({"data", "show", "customer_daily@1", "--used-by", "--json"}).out);
  bool model_found = false;
  for (const json& node : used["downstream"]["nodes"]) model_found |= node["id"] == "fraud@1";
  EXPECT_TRUE(model_found) << used["downstream"].dump(2);
  CommandResult tree = Ferry({"data", "show", "customer_daily@1", "--used-by"});
  EXPECT_NE(tree.out.find("model_version fraud@1"), std::string::npos) << tree.out;
}

TEST_F(RegistryE2eTest, FourProcessesLoggingIntoOneRunLoseNothing) {
  const std::string run = NewRun();
  constexpr int kProcesses = 4;
  constexpr int kRounds = 25;
  std::vector<std::unique_ptr<Child>> children;
  for (int p = 0; p < kProcesses; ++p) {
    // Each round is one `ferry runs log` process: one batch, one transaction.
    const std::string script =
        "for i in $(seq 0 " + std::to_string(kRounds - 1) + "); do \"" FERRY_BINARY
        "\" runs log " + run + " -m w" + std::to_string(p) + "=$i@$i -m shared=$i@$((" +
        std::to_string(p * 1000) + " + i)) -p p" + std::to_string(p) +
        "_$i=$i || exit 1; done";
    children.push_back(std::make_unique<Child>(std::vector<std::string>{"/bin/sh", "-c", script},
                                               dir_));
  }
  for (auto& child : children) {
    EXPECT_EQ(child->Wait(240s), 0) << child->Stderr();
  }
  json shown = json::parse(Ferry({"runs", "show", run, "--json"}).out);
  for (int p = 0; p < kProcesses; ++p) {
    EXPECT_EQ(shown["metric_points"]["w" + std::to_string(p)], kRounds);
  }
  EXPECT_EQ(shown["metric_points"]["shared"], kProcesses * kRounds);
  EXPECT_EQ(shown["params"].size(), 1u + kProcesses * kRounds);
  EXPECT_EQ(shown["metrics"]["shared"]["step"], (kProcesses - 1) * 1000 + kRounds - 1);
}

TEST_F(RegistryE2eTest, HttpApiTracksRunsAndRegistersModels) {
  Child server({FERRY_BINARY, "server", "--listen", "127.0.0.1:0"}, dir_);
  const int port = WaitForServerPort(server);
  ASSERT_GT(port, 0);
  HttpResult created = HttpRequest(port, "POST", "/api/v1/runs",
                                   R"({"experiment": "api", "params": {"lr": "0.1"},
                                       "inputs": [{"dataset": "train", "role": "train"}]})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string run = json::parse(created.body)["run"]["run_id"];
  HttpResult logged = HttpRequest(port, "POST", "/api/v1/runs/" + run + "/log-batch",
                                  R"({"metrics": [{"key": "auc", "value": 0.8, "step": 1},
                                                  {"key": "loss", "value": "NaN"},
                                                  {"key": "gap", "value": "Infinity"}]})");
  EXPECT_EQ(logged.status, 200) << logged.body;
  EXPECT_EQ(HttpRequest(port, "POST", "/api/v1/runs/" + run + "/log-batch",
                        R"({"params": {"lr": "0.2"}})")
                .status,
            409);
  EXPECT_EQ(HttpRequest(port, "POST", "/api/v1/runs/nope/log-batch", R"({"params": {}})").status,
            404);
  EXPECT_EQ(HttpRequest(port, "POST", "/api/v1/runs/" + run + "/log-batch", "{bad").status, 400);
  HttpResult searched = HttpRequest(port, "POST", "/api/v1/runs/search",
                                    R"({"filter": "metrics.auc > 0.5", "order_by": "metrics.auc DESC"})");
  ASSERT_EQ(searched.status, 200) << searched.body;
  json page = json::parse(searched.body);
  ASSERT_EQ(page["runs"].size(), 1u);
  EXPECT_EQ(page["runs"][0]["metrics"]["loss"]["value"], "NaN");
  EXPECT_EQ(page["runs"][0]["metrics"]["gap"]["value"], "Infinity");
  EXPECT_EQ(HttpRequest(port, "GET", "/api/v1/runs?filter=metrics.auc%20%3E%200.5").status, 200);
  EXPECT_EQ(HttpRequest(port, "POST", "/api/v1/runs/" + run + "/status", R"({"status": "FINISHED"})")
                .status,
            200);
  EXPECT_EQ(HttpRequest(port, "POST", "/api/v1/runs/" + run + "/log-batch",
                        R"({"metrics": [{"key": "auc", "value": 1}]})")
                .status,
            409);

  HttpResult registered = HttpPostFile(
      port, "/api/v1/models/fraud/versions?run=" + run +
                "&signature=%7B%22feature_service%22%3A%22fraud%22%7D&actor=ci",
      dir_ / "model.json");
  ASSERT_EQ(registered.status, 201) << registered.body;
  EXPECT_EQ(json::parse(registered.body)["num_features"], 2);
  HttpResult rejected = HttpPostFile(port, "/api/v1/models/fraud/versions", dir_ / "daily.csv");
  EXPECT_EQ(rejected.status, 400);
  EXPECT_NE(rejected.body.find("not a loadable XGBoost model"), std::string::npos);
  EXPECT_EQ(HttpRequest(port, "PUT", "/api/v1/models/fraud/aliases/production",
                        R"({"version": 1, "reason": "ship"})")
                .status,
            200);
  EXPECT_EQ(HttpRequest(port, "DELETE", "/api/v1/models/fraud/versions/1").status, 409);
  HttpResult lineage = HttpRequest(port, "GET", "/api/v1/models/fraud/versions/production/lineage");
  ASSERT_EQ(lineage.status, 200);
  EXPECT_NE(lineage.body.find("customer_daily@1"), std::string::npos);
  HttpResult version = HttpRequest(port, "GET", "/api/v1/models/fraud/versions/latest");
  EXPECT_EQ(json::parse(version.body)["aliases"], json({"production"}));
}

}  // namespace
}  // namespace ferry::e2e
