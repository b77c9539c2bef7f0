// `ferry pipeline run|show|logs|list|cancel|reproduce` through the real binary: a Python
// command step, the run cache across invocations, failures' exit status and message,
// cancellation from another process and by SIGINT, and bad input refused.

#include <gtest/gtest.h>
#include <signal.h>

#include "serving_workspace.h"

namespace ferry::e2e {
namespace {

using nlohmann::json;

class PipelineCliTest : public ServingWorkspaceTest {
 protected:
  void SetUp() override {
    ServingWorkspaceTest::SetUp();
    Write("d.csv", "a,y\n1,0\n2,1\n3,1\n");
    ASSERT_EQ(Ferry({"data", "add", "d", "d.csv"}).exit_code, 0);
    Write("prep.py", R"(import csv, json, os
rows = list(csv.DictReader(open(os.environ["FERRY_INPUT_DATA"])))
with open(os.environ["FERRY_OUTPUT_ROWS_CSV"], "w") as out:
    out.write("a,y\n" + "".join(f"{r['a']},{r['y']}\n" for r in rows))
json.dump({"rows": len(rows)}, open(os.environ["FERRY_METRICS_FILE"], "w"))
print("prepared", len(rows), "rows")
)");
    Write("p.yaml", R"(name: p
params: {note: x}
steps:
  - {id: prep, run: python3 prep.py, inputs: {data: d@latest}, outputs: [rows.csv]}
  - {id: count, run: "grep -c , $FERRY_INPUT_ROWS > $FERRY_OUTPUT_N", inputs: {rows: steps.prep.rows.csv}, outputs: [n]}
)");
  }

  std::string LatestRunId() {
    json list = Json({"pipeline", "list", "--json"});
    if (!list.contains("runs") || list["runs"].empty()) return "";
    return list["runs"][0]["id"].get<std::string>();
  }
};

TEST_F(PipelineCliTest, RunsAPythonStepThenReusesItFromTheCache) {
  CommandResult first = Ferry({"pipeline", "run", "p.yaml"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("input d = d@1"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("succeeded in"), std::string::npos) << first.out;
  CommandResult second = Ferry({"pipeline", "run", "p.yaml"});
  ASSERT_EQ(second.exit_code, 0);
  EXPECT_NE(second.out.find("2 cached"), std::string::npos) << second.out;

  const std::string id = LatestRunId();
  json shown = Json({"pipeline", "show", id.substr(0, 8), "--json"});
  EXPECT_EQ(shown["state"], "succeeded");
  EXPECT_EQ(shown["number"], 2);
  EXPECT_EQ(shown["steps"][0]["state"], "cached");
  EXPECT_EQ(shown["inputs"]["d"]["ref"], "d@1");

  json list = Json({"pipeline", "list", "--json"});
  const std::string first_id = list["runs"][1]["id"];
  CommandResult logs = Ferry({"pipeline", "logs", first_id, "prep", "--stdout"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_EQ(logs.out, "prepared 3 rows\n");
  json runs = Json({"runs", "list", "--experiment", "p", "--json"});
  EXPECT_FALSE(runs.empty());

  CommandResult reproduced = Ferry({"pipeline", "reproduce", first_id});
  EXPECT_EQ(reproduced.exit_code, 0) << reproduced.out << reproduced.err;
  EXPECT_NE(reproduced.out.find("2 outputs match, 0 differ"), std::string::npos) << reproduced.out;
}

TEST_F(PipelineCliTest, AFailedRunExitsNonZeroNamingTheStep) {
  Write("bad.yaml", "name: bad\nsteps:\n  - {id: boom, run: \"echo no such thing >&2; exit 4\"}\n");
  CommandResult r = Ferry({"pipeline", "run", "bad.yaml"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("failed: step boom: the command exited with status 4"), std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("no such thing"), std::string::npos) << r.out;
}

TEST_F(PipelineCliTest, BadInputIsRefusedAndStartsNothing) {
  CommandResult param = Ferry({"pipeline", "run", "p.yaml", "--param", "rounds=3"});
  EXPECT_NE(param.exit_code, 0);
  EXPECT_NE(param.err.find("declares no param \"rounds\" (its params: note)"), std::string::npos)
      << param.err;
  CommandResult nothing = Ferry({"pipeline", "run", "nope"});
  EXPECT_NE(nothing.exit_code, 0);
  EXPECT_NE(nothing.err.find("neither a pipeline file nor a pipeline applied"), std::string::npos)
      << nothing.err;
  CommandResult show = Ferry({"pipeline", "show", "abcd"});
  EXPECT_NE(show.exit_code, 0);
  EXPECT_NE(show.err.find("no pipeline run \"abcd\""), std::string::npos) << show.err;
  EXPECT_EQ(Json({"pipeline", "list", "--json"})["runs"].size(), 0u);
}

TEST_F(PipelineCliTest, CancelFromAnotherProcessAndCtrlCStopARun) {
  Write("slow.yaml",
        "name: slow\nsteps:\n  - {id: wait, run: \"sleep 60\", outputs: [out]}\n"
        "  - {id: after, run: \"true\", inputs: {x: steps.wait.out}}\n");
  {
    Child run({FERRY_BINARY, "pipeline", "run", "slow.yaml"}, dir_, {{"USER", "ada"}});
    ASSERT_NE(run.WaitForLine("wait", std::chrono::seconds(10)), "");
    const std::string id = LatestRunId();
    CommandResult cancel = Ferry({"pipeline", "cancel", id.substr(0, 6)});
    EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
    EXPECT_NE(cancel.out.find("cancelled"), std::string::npos) << cancel.out;
    EXPECT_NE(run.Wait(std::chrono::seconds(10)), 0);
    EXPECT_EQ(Json({"pipeline", "show", id, "--json"})["steps"][1]["state"], "cancelled");
  }
  {
    Child run({FERRY_BINARY, "pipeline", "run", "slow.yaml"}, dir_, {{"USER", "ada"}});
    ASSERT_NE(run.WaitForLine("wait", std::chrono::seconds(10)), "");
    run.Signal(SIGINT);
    EXPECT_NE(run.Wait(std::chrono::seconds(10)), 0);
    EXPECT_EQ(Json({"pipeline", "show", LatestRunId(), "--json"})["state"], "cancelled");
  }
  CommandResult again = Ferry({"pipeline", "cancel", LatestRunId()});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already cancelled"), std::string::npos) << again.err;
}

}  // namespace
}  // namespace ferry::e2e
