// POST /api/v1/features/historical in-process: the training set as CSV or stored with
// its lineage, entity tables from the body (CSV, JSON Lines) or a dataset version, and
// every refusal, with nothing stored on error.

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "feature_routes_test_support.h"
#include "features/historical_retrieval.h"
#include "server/body_file.h"

namespace ferry::api {
namespace {

namespace fs = std::filesystem;

constexpr char kRoute[] = "/api/v1/features/historical";
constexpr char kEntities[] =
    "customer_id,merchant_id,event_timestamp\n"
    "c1,42,2026-01-31T13:00:00Z\n"
    "c2,42,2026-01-31T13:00:00Z\n"
    "c9,7,2026-01-31T13:00:00Z\n";

class HistoricalRouteTest : public FeatureRoutesTest {
 protected:
  // The training set the library writes for `entities` (a file written from this text)
  // and `features`: what the route must answer with, byte for byte.
  std::string Expected(const std::string& entities, const std::vector<std::string>& features,
                       bool full_feature_names = false) {
    const fs::path file = temp_ / "expected-entities.csv";
    EXPECT_TRUE(core::WriteFileAtomically(file, entities).ok());
    features::HistoricalOptions options;
    options.entities = file.string();
    options.selection = std::move(registry_->Select(features)).value();
    options.full_feature_names = full_feature_names;
    absl::StatusOr<features::TrainingSetFile> written =
        features::WriteTrainingSetFile(*workspace_, *datasets_, options, temp_ / "expected.csv");
    EXPECT_TRUE(written.ok()) << written.status();
    return std::move(core::ReadFileToString(temp_ / "expected.csv", 1 << 20)).value();
  }
  static std::string Body(const server::Response& response) {
    if (!response.body_file) return response.body;
    return std::move(response.body_file->ReadAll()).value();
  }
  std::vector<std::string> Datasets() {
    std::vector<std::string> names;
    absl::StatusOr<std::vector<dataset::DatasetSummary>> list = datasets_->List();
    EXPECT_TRUE(list.ok()) << list.status();
    if (list.ok()) {
      for (const auto& d : *list) names.push_back(d.name);
    }
    return names;
  }
  bool UploadsEmpty() const {
    const fs::path folder = workspace_->ferry_dir() / "uploads";
    return !fs::exists(folder) || fs::is_empty(folder);
  }
};

TEST_F(HistoricalRouteTest, ServiceToCsvAnswersTheTrainingSetAndStoresNothing) {
  const std::vector<std::string> before = Datasets();
  server::Response r = Post(std::string(kRoute) + "?service=fraud", kEntities);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, server::kCsvContentType);
  ASSERT_NE(r.body_file, nullptr);
  const std::string csv = Body(r);
  EXPECT_EQ(csv, Expected(kEntities, {"merchant_stats:risk", "customer_stats:amount"}));
  // c1 is within customer_stats' 1-day ttl, c2's row is older, c9 and merchant 7 are unknown.
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "customer_id,merchant_id,event_timestamp,risk,amount");
  EXPECT_NE(csv.find("c1,42,2026-01-31T13:00:00Z,0.9,12.5\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("c2,42,2026-01-31T13:00:00Z,0.9,\n"), std::string::npos) << csv;
  const auto rows = std::find_if(r.headers.begin(), r.headers.end(),
                                 [](const auto& h) { return h.first == "X-Ferry-Rows"; });
  ASSERT_NE(rows, r.headers.end());
  EXPECT_EQ(rows->second, "3");
  EXPECT_EQ(Datasets(), before);
  EXPECT_TRUE(UploadsEmpty());  // the upload and the answer's file are both unlinked
}

TEST_F(HistoricalRouteTest, FeaturesFromJsonLinesWithFullFeatureNames) {
  constexpr char kJsonLines[] =
      "{\"customer_id\": \"c1\", \"event_timestamp\": \"2026-01-31T13:00:00Z\"}\n"
      "{\"customer_id\": \"c3\", \"event_timestamp\": \"2026-01-31T13:00:00Z\"}\n";
  server::Response r = Post(std::string(kRoute) +
                                "?features=customer_stats:amount,customer_stats:label"
                                "&format=jsonl&full_feature_names=true",
                            kJsonLines);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string csv = Body(r);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "customer_id,event_timestamp,customer_stats__amount,customer_stats__label");
  EXPECT_EQ(csv, Expected("customer_id,event_timestamp\nc1,2026-01-31T13:00:00Z\n"
                          "c3,2026-01-31T13:00:00Z\n",
                          {"customer_stats:amount", "customer_stats:label"}, true));
}

TEST_F(HistoricalRouteTest, EntitiesFromADatasetStoredAsANewVersionWithLineage) {
  AddCsv("entities", kEntities);
  server::Response r = Post(std::string(kRoute) +
                                "?features=customer_stats:*&entities=entities@1"
                                "&out=training&tag=first&message=for%20the%20test",
                            "");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.content_type, server::kJsonContentType);
  const nlohmann::json j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["rows"], 3);
  EXPECT_EQ(j["created"], true);
  EXPECT_EQ(j["columns"], nlohmann::json({"customer_id", "merchant_id", "event_timestamp", "amount",
                                          "label", "flagged"}));
  ASSERT_EQ(j["views"].size(), 1u);
  EXPECT_EQ(j["views"][0]["view"], "customer_stats");
  EXPECT_EQ(j["views"][0]["source"], "customers@1");
  EXPECT_EQ(j["views"][0]["matched"], 1);
  EXPECT_EQ(j["views"][0]["expired"], 1);
  EXPECT_TRUE(j["views"][0]["table_built"].is_boolean());
  EXPECT_EQ(j["version"]["ref"], "training@1");
  EXPECT_EQ(j["version"]["message"], "for the test");
  EXPECT_EQ(j["version"]["tags"], nlohmann::json({"first"}));

  dataset::DatasetRef ref;
  ref.name = "training";
  const dataset::VersionRecord stored = std::move(datasets_->Resolve(ref)).value();
  const auto lineage = std::move(datasets_->Lineage(stored)).value();
  std::vector<std::string> inputs;
  for (const auto& edge : lineage.inputs) inputs.push_back(edge.relation + " " + edge.from.id);
  std::sort(inputs.begin(), inputs.end());
  EXPECT_EQ(inputs,
            (std::vector<std::string>{"entity_table entities@1", "feature_source customers@1",
                                      "feature_view customer_stats"}));
  // The view names the training set among its consumers.
  server::Response view = Get("/api/v1/features/views/customer_stats");
  ASSERT_EQ(view.status, 200) << view.body;
  EXPECT_EQ(nlohmann::json::parse(view.body)["consumers"],
            nlohmann::json::parse(R"([{"kind": "dataset_version", "id": "training@1"}])"));
  // The same bytes again: the version is unchanged, 200.
  server::Response again =
      Post(std::string(kRoute) + "?features=customer_stats:*&entities=entities@1&out=training", "");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(nlohmann::json::parse(again.body)["created"], false);
}

TEST_F(HistoricalRouteTest, BadRequestsAreRefusedAndStoreNothing) {
  AddCsv("entities", kEntities);
  const std::vector<std::string> before = Datasets();
  struct Case {
    std::string query;
    std::string body;
    int status;
    std::string message;
  };
  const std::string ok_body = kEntities;
  const Case cases[] = {
      {"", ok_body, 400, "give either features=view:f,... or service=NAME"},
      {"?service=fraud&features=customer_stats:amount", ok_body, 400, "give either"},
      {"?service=fraud&nope=1", ok_body, 400, "nope"},
      {"?service=nope", ok_body, 404, "nope"},
      {"?features=nope:amount", ok_body, 404, "no feature view named \"nope\""},
      {"?features=customer_stats:nope", ok_body, 404, "has no feature \"nope\""},
      {"?features=customer_stats", ok_body, 400, ""},
      {"?service=fraud&entities=entities@1", ok_body, 400, "send no body"},
      {"?service=fraud&entities=bad%20name", "", 400, "dataset reference"},
      {"?service=fraud&entities=missing@1", "", 404, "missing"},
      {"?service=fraud&entities=entities@9", "", 404, "entities"},
      {"?service=fraud&entities=entities@1&format=csv", "", 400, "format="},
      {"?service=fraud", "", 400, "the request body must be the entity table"},
      {"?service=fraud&format=xml", ok_body, 400, "unknown format \"xml\""},
      {"?service=fraud&full_feature_names=maybe", ok_body, 400, "full_feature_names"},
      {"?service=fraud&tag=t", ok_body, 400, "give out=DATASET"},
      {"?service=fraud&message=m", ok_body, 400, "give out=DATASET"},
      {"?service=fraud&out=bad%20name", ok_body, 400, ""},
      {"?service=fraud&out=training&tag=a%20b", ok_body, 400, ""},
      {"?service=fraud&out=training", "customer_id,merchant_id\nc1,42\n", 400,
       "(request body) has no \"event_timestamp\""},
      {"?service=fraud&out=training", "customer_id,event_timestamp\nc1,2026-01-31T13:00:00Z\n", 400,
       "merchant_id"},
      {"?service=fraud&out=training", "customer_id,merchant_id,event_timestamp\nc1,42,soon\n", 400,
       "event_timestamp"},
      {"?service=fraud&out=training&format=jsonl", ok_body, 400, "(request body)"},
      {"?features=customer_stats:amount&out=training&entities=customers@1", "", 400,
       "\"amount\" comes from both the entity table and feature view \"customer_stats\"; use"
       " full_feature_names=true"},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    server::Response r = Post(std::string(kRoute) + cases[i].query, cases[i].body);
    EXPECT_EQ(r.status, cases[i].status) << i << ": " << r.body;
    const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.contains("error")) << i << ": " << r.body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(cases[i].message), std::string::npos)
        << i << ": " << r.body;
  }
  EXPECT_EQ(Datasets(), before);
  EXPECT_TRUE(UploadsEmpty());
}

}  // namespace
}  // namespace ferry::api
