// Traversal attempts through every way a name reaches ferry in-process: the stores' and
// registries' APIs, the YAML specs (feature definitions, pipelines), a pipeline run's
// params, and the HTTP API (api::BuildRouter + Router::Dispatch). Each attempt is refused
// as InvalidArgument (HTTP 400) naming the field; nothing appears outside the workspace
// and the stored data stays as it was.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "features/feature_definitions.h"
#include "pipeline/pipeline_executor.h"
#include "pipeline/pipeline_spec.h"
#include "security/security_fixture.h"

namespace ferry::security {
namespace {

namespace fs = std::filesystem;
using absl::StatusCode;

// Names no store may take as a dataset, model, alias, tag or endpoint name.
std::vector<std::string> HostileNames() {
  const std::string t = SecurityFixture::Token();
  return {"../" + t,
          "..",
          ".",
          "a/../../" + t,
          "/tmp/" + t,
          "a\\..\\" + t,
          "a/" + t,
          std::string("a\0b", 3),
          "a\nb",
          "",
          std::string(300, 'a'),
          "..." + t,
          "-" + t,
          t + "%2F.."};
}

// As YAML writes a string (double-quoted, with escapes), so any name fits a spec.
std::string YamlQuoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A printable form of a name for failure messages.
std::string Shown(const std::string& name) {
  return nlohmann::json(name).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

using PathTraversalTest = SecurityFixture;

TEST_F(PathTraversalTest, StoresAndRegistriesRefuseHostileNames) {
  const dataset::DatasetRef good_data{"good", 1, std::nullopt};
  const registry::ModelRef good_model{"good", 1, std::nullopt};
  for (const std::string& name : HostileNames()) {
    SCOPED_TRACE(Shown(name));
    EXPECT_EQ(datasets_->Add(name, data_file(), {}).status().code(), StatusCode::kInvalidArgument);
    dataset::AddOptions tagged;
    tagged.tag = name;
    EXPECT_EQ(datasets_->Add("good", data_file(), tagged).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(dataset::ParseDatasetRef(name).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(dataset::ParseDatasetRef("good@" + name).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(datasets_->Log(name).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(datasets_->Tag(good_data, name, false).status().code(), StatusCode::kInvalidArgument);

    EXPECT_EQ(models_->Register(name, model_file(), {}).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(models_->GetModel(name).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(models_->ListVersions(name).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(registry::ParseModelRef(name).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(models_->SetAlias(good_model, name, "test", "").status().code(),
              StatusCode::kInvalidArgument);

    auto deployments = serving::DeploymentStore::Open(*workspace_);
    ASSERT_TRUE(deployments.ok()) << deployments.status();
    serving::DeployOptions deploy;
    deploy.endpoint = name;
    deploy.model = good_model;
    EXPECT_EQ((*deployments)->Put(deploy).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ((*deployments)->Get(name).status().code(), StatusCode::kInvalidArgument);
  }
  ExpectNothingEscapedAndDataIntact();
}

TEST_F(PathTraversalTest, RunArtifactPathsStayRelativeAndInside) {
  const std::string t = Token();
  for (const std::string& path : std::vector<std::string>{
           "../" + t, "..", ".", "./" + t, "a/../../" + t, "a/./b", "a//b", "a/", "/tmp/" + t,
           "a\\..\\" + t, std::string("a\0b", 3), "a\nb", std::string(300, 'a')}) {
    SCOPED_TRACE(Shown(path));
    EXPECT_EQ(tracking_->LogArtifact(run_id_, data_file(), path).status().code(),
              StatusCode::kInvalidArgument);
  }
  // A file whose own name is all there is to go by is refused the same way.
  EXPECT_EQ(tracking_->LogArtifact(run_id_, temp_ / "..", "").status().code(),
            StatusCode::kInvalidArgument);
  // Experiment and run names are labels in the metadata, never paths: control
  // characters and over-long ones are refused all the same.
  for (const std::string& name :
       {std::string("a\0b", 3), std::string("a\nb"), std::string(), std::string(300, 'e')}) {
    SCOPED_TRACE(Shown(name));
    EXPECT_EQ(tracking_->CreateExperiment(name, "").status().code(), StatusCode::kInvalidArgument);
    tracking::CreateRunOptions options;
    options.name = name.empty() ? std::string("\t") : name;
    EXPECT_EQ(tracking_->CreateRun(options).status().code(), StatusCode::kInvalidArgument);
  }
  ExpectNothingEscapedAndDataIntact();
}

TEST_F(PathTraversalTest, FeatureDefinitionsAndPipelineSpecsRefuseHostileNames) {
  for (const std::string& name : HostileNames()) {
    SCOPED_TRACE(Shown(name));
    const std::string q = YamlQuoted(name);
    for (const std::string& yaml :
         {"entities: [{name: " + q + ", join_keys: [{name: id, type: string}]}]\n",
          "entities: [{name: c, join_keys: [{name: " + q + ", type: string}]}]\n",
          "entities: [{name: c, join_keys: [{name: id, type: string}]}]\n"
          "feature_views: [{name: " +
              q +
              ", entities: [c], source: good,"
              " timestamp_field: ts, features: [{name: f, type: float64}]}]\n",
          "entities: [{name: c, join_keys: [{name: id, type: string}]}]\n"
          "feature_views: [{name: v, entities: [c], source: " +
              q +
              ","
              " timestamp_field: ts, features: [{name: f, type: float64}]}]\n"}) {
      EXPECT_EQ(features::ParseFeatureDefinitions(yaml, "f.yaml").status().code(),
                StatusCode::kInvalidArgument)
          << yaml;
    }
    for (const std::string& yaml :
         {"name: " + q + "\nsteps:\n  - {id: a, run: \"true\"}\n",
          "name: p\nsteps:\n  - {id: " + q + ", run: \"true\"}\n",
          "name: p\nsteps:\n  - {id: a, run: \"true\", outputs: [" + q + "]}\n",
          "name: p\nsteps:\n  - {id: a, run: \"true\", inputs: {data: " + q + "}}\n",
          "name: p\nsteps:\n  - {id: a, run: \"true\", inputs: {" + q + ": good}}\n",
          "name: p\nsteps:\n  - {id: a, run: \"true\", deps: [" + q + "]}\n",
          "name: p\ntriggers: [{dataset: " + q + "}]\nsteps:\n  - {id: a, run: \"true\"}\n"}) {
      // Legal file names for a dep (relative, inside the folder), never for a name.
      const bool plain_file = name == "a/" + Token() || name == "-" + Token() ||
                              name == "..." + Token() || name == Token() + "%2F..";
      if (plain_file && yaml.find("deps:") != std::string::npos) continue;
      EXPECT_EQ(pipeline::ParsePipelineSpec(yaml, "p.yaml").status().code(),
                StatusCode::kInvalidArgument)
          << yaml;
    }
  }
  ExpectNothingEscapedAndDataIntact();
}

TEST_F(PathTraversalTest, RunParamsCannotAddCommandsToAShellStep) {
  auto spec = pipeline::ParsePipelineSpec(
      "name: p\n"
      "params: {rounds: 3, flags: \"--a 1 --b 2\", note: x}\n"
      "steps:\n"
      "  - {id: train, run: \"echo ${params.rounds} ${params.flags}\", params: {note: "
      "\"${params.note}\"}}\n",
      "p.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  const std::string target = (temp_ / Token()).string();
  for (const std::string& value : std::vector<std::string>{
           "1; touch " + target, "$(touch " + target + ")", "`touch " + target + "`",
           "1 && touch " + target, "1 | tee " + target, "1 > " + target, "1\ntouch " + target,
           "'1'", "1 2", std::string("1\0", 2)}) {
    SCOPED_TRACE(Shown(value));
    auto params = pipeline::RunParams(*spec, {{"rounds", value}});
    ASSERT_EQ(params.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(params.status().message().find("param rounds"), std::string::npos) << params.status();
    EXPECT_NE(params.status().message().find("step train"), std::string::npos);
  }
  // Plain words pass; the spec's own default passes as written; a param that reaches the
  // command only as $FERRY_PARAM_NOTE may hold any text.
  for (const char* value : {"200", "0.1", "data/train.csv", "a=b,c:d@e%f+g-h_i", ""}) {
    EXPECT_TRUE(pipeline::RunParams(*spec, {{"rounds", value}}).ok()) << value;
  }
  EXPECT_TRUE(pipeline::RunParams(*spec, {{"flags", "--a 1 --b 2"}}).ok());
  EXPECT_EQ(pipeline::RunParams(*spec, {{"flags", "--a 1; rm x"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(pipeline::RunParams(*spec, {{"note", "a b; $(c)"}}).ok());
  ExpectNothingEscapedAndDataIntact();
}

using HttpPathTraversalTest = ApiFixture;

TEST_F(HttpPathTraversalTest, PathParamsQueriesAndBodiesWithHostileNamesAre400) {
  using server::Method;
  const std::string t = Token();
  // As they arrive in a request path or query: percent-encoded slashes, dots,
  // backslashes, NUL and newline, double encoding, over-long names.
  const std::vector<std::string> encoded = {
      "..%2F" + t, "%2E%2E", "%2e",         "a%2F..%2F..%2F" + t,  "%2Ftmp%2F" + t, "a%5C..%5C" + t,
      "a%00b",     "a%0Ab",  "..%252F" + t, std::string(300, 'a'), "-" + t};
  struct Attempt {
    Method method;
    std::string target;
    std::string body;
  };
  for (const std::string& e : encoded) {
    const std::vector<Attempt> attempts = {
        {Method::kGet, "/api/v1/datasets/" + e + "/versions", ""},
        {Method::kGet, "/api/v1/datasets/good/versions/" + e, ""},
        {Method::kPost, "/api/v1/datasets/" + e + "/versions?filename=a.csv", "id\n1\n"},
        {Method::kPost, "/api/v1/datasets/good/versions?filename=" + e, "id\n1\n"},
        {Method::kPost, "/api/v1/datasets/good/versions?tag=" + e, "id\n1\n"},
        {Method::kGet, "/api/v1/models/" + e, ""},
        {Method::kGet, "/api/v1/models/" + e + "/versions/1", ""},
        {Method::kPost, "/api/v1/models/" + e + "/versions", "{}"},
        {Method::kPut, "/api/v1/models/good/aliases/" + e, R"({"version": 1})"},
        {Method::kPost, "/api/v1/runs/" + run_id_ + "/artifacts?path=" + e, "bytes"},
        {Method::kGet, "/api/v1/runs/" + run_id_ + "/artifacts?path=" + e, ""},
        {Method::kGet, "/api/v1/datasets/" + e + "/versions/1/profile", ""},
        {Method::kGet, "/api/v1/datasets/good/versions/1/diff?to=" + e, ""},
        {Method::kPut, "/api/v1/endpoints/" + e, R"({"model": "good@1"})"},
        {Method::kGet, "/api/v1/endpoints/" + e, ""},
        {Method::kPut, "/api/v1/endpoints/x", R"({"model": ")" + e + R"(@1"})"},
        {Method::kGet, "/api/v1/features/views/" + e, ""},
        {Method::kGet, "/api/v1/pipelines/" + e + "/runs", ""},
        {Method::kDelete, "/api/v1/endpoints/" + e, ""},
        {Method::kGet, "/api/v1/endpoints/" + e + "/rollout", ""},
        {Method::kGet, "/api/v1/deployments/" + e + "/monitoring", ""},
        {Method::kDelete, "/api/v1/models/good/aliases/" + e, ""},
        {Method::kPut, "/api/v1/models/good/versions/1/tags/" + e, R"({"value": "v"})"},
        {Method::kPost, "/api/v1/features/push", R"({"view": ")" + e + R"(", "rows": []})"},
        {Method::kPost, "/api/v1/features/online",
         R"({"features": [")" + e + R"(:f"], "entities": {"id": ["1"]}})"},
    };
    for (const Attempt& a : attempts) {
      // A file name, an artifact path or a tag key may begin with '-'; an upload's file name may
      // hold
      // '%' ("..%2Fx" once decoded): as labels, never joined to a folder, they are fine.
      const bool plain_name =
          e == "-" + t || (e == "..%252F" + t && a.target.find("filename=") != std::string::npos);
      if (plain_name && (a.target.find("filename=") != std::string::npos ||
                         a.target.find("artifacts?path=") != std::string::npos ||
                         a.target.find("/tags/") != std::string::npos)) {
        continue;
      }
      server::Response response = Call(a.method, a.target, a.body);
      EXPECT_EQ(response.status, 400)
          << server::MethodName(a.method) << " " << a.target << " -> " << response.body;
      EXPECT_NE(response.body.find("invalid_argument"), std::string::npos) << response.body;
    }
  }
  // The JSON bodies that name things.
  for (const std::string& name : HostileNames()) {
    const std::string quoted = nlohmann::json(name).dump();
    server::Response response =
        Call(Method::kPut, "/api/v1/endpoints/x", R"({"model": )" + quoted + "}");
    EXPECT_EQ(response.status, 400) << Shown(name) << " -> " << response.body;
  }
  // Experiment names are labels (MLflow's: '/' allowed), never paths; control characters
  // and over-long ones are refused.
  for (const std::string& name :
       {std::string("a\0b", 3), std::string("a\nb"), std::string(), std::string(300, 'e')}) {
    const std::string body = R"({"name": )" + nlohmann::json(name).dump() + "}";
    server::Response response = Call(Method::kPost, "/api/v1/experiments", body);
    EXPECT_EQ(response.status, 400) << body << " -> " << response.body;
  }
  ExpectNothingEscapedAndDataIntact();
  EXPECT_FALSE(fs::exists(workspace_->ferry_dir() / "uploads") &&
               !fs::is_empty(workspace_->ferry_dir() / "uploads"));
}

}  // namespace
}  // namespace ferry::security
