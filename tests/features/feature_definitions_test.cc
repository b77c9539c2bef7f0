#include "features/feature_definitions.h"

#include <gtest/gtest.h>

namespace ferry::features {
namespace {

constexpr char kValid[] = R"(
entities:
  - name: customer
    join_keys: [{name: customer_id, type: string}]
    description: a card holder
feature_views:
  - name: customer_stats
    entities: [customer]
    source: customer_daily@3
    timestamp_field: event_timestamp
    created_timestamp_field: created
    ttl: 30d
    online: false
    features:
      - {name: avg_amount, type: float64}
      - {name: segment, type: string}
feature_services:
  - name: fraud
    features: [customer_stats:avg_amount, "customer_stats:*"]
)";

TEST(FeatureDefinitionsTest, ParsesEveryField) {
  auto defs = ParseFeatureDefinitions(kValid, "f.yaml");
  ASSERT_TRUE(defs.ok()) << defs.status();
  ASSERT_EQ(defs->entities.size(), 1u);
  EXPECT_EQ(defs->entities[0].join_keys[0], (JoinKey{"customer_id", table::ColumnType::kString}));
  EXPECT_EQ(defs->entities[0].description, "a card holder");
  ASSERT_EQ(defs->views.size(), 1u);
  const FeatureView& v = defs->views[0];
  EXPECT_EQ(v.source, "customer_daily@3");
  EXPECT_EQ(v.created_timestamp_field, "created");
  EXPECT_EQ(v.ttl_seconds, 30 * 86400);
  EXPECT_FALSE(v.online);
  ASSERT_EQ(v.features.size(), 2u);
  EXPECT_EQ(v.features[1], (Feature{"segment", table::ColumnType::kString}));
  EXPECT_EQ(defs->services[0].features[1], "customer_stats:*");
}

TEST(FeatureDefinitionsTest, JsonRoundTripIsCanonical) {
  auto defs = ParseFeatureDefinitions(kValid, "f.yaml");
  ASSERT_TRUE(defs.ok());
  auto view = FeatureViewFromJson(ToJson(defs->views[0]));
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*view, defs->views[0]);
  EXPECT_EQ(ToJson(*view), ToJson(defs->views[0]));
  auto entity = EntityFromJson(ToJson(defs->entities[0]));
  ASSERT_TRUE(entity.ok());
  EXPECT_EQ(*entity, defs->entities[0]);
  auto service = FeatureServiceFromJson(ToJson(defs->services[0]));
  ASSERT_TRUE(service.ok());
  EXPECT_EQ(*service, defs->services[0]);
  EXPECT_EQ(FeatureViewFromJson("{\"name\": 1}").status().code(), absl::StatusCode::kDataLoss);
}

TEST(FeatureDefinitionsTest, EmptyFileDefinesNothing) {
  auto defs = ParseFeatureDefinitions("", "f.yaml");
  ASSERT_TRUE(defs.ok());
  EXPECT_TRUE(defs->entities.empty() && defs->views.empty() && defs->services.empty());
}

struct BadCase {
  const char* yaml;
  const char* message;  // a substring of the error
};

class BadDefinitionsTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadDefinitionsTest, NamesTheProblem) {
  auto defs = ParseFeatureDefinitions(GetParam().yaml, "f.yaml");
  ASSERT_FALSE(defs.ok());
  EXPECT_EQ(defs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(defs.status().message().find(GetParam().message), std::string::npos)
      << defs.status().message();
}

constexpr char kView[] =
    "feature_views:\n"
    "  - name: v\n"
    "    entities: [e]\n"
    "    source: d\n"
    "    timestamp_field: ts\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, BadDefinitionsTest,
    ::testing::Values(
        BadCase{"entities: [", "f.yaml: "},
        // Found by fuzz/yaml_specs: a description that was not UTF-8 parsed, and turning
        // the entity into the JSON the registry stores threw.
        BadCase{"entities:\n  - name: e\n    join_keys: [{name: k, type: string}]\n"
                "    description: caf\xe9\n",
                "f.yaml:4: not valid UTF-8"},
        BadCase{"entity: []", "f.yaml:1: (top level).entity: unknown key"},
        BadCase{"entities:\n  - name: e\n", "f.yaml:2: entities[0].join_keys: required"},
        BadCase{"entities:\n  - name: e\n    join_keys: [{name: k, type: float64}]\n",
                "entities[0].join_keys[0].type: a join key must be int64 or string"},
        BadCase{"entities:\n  - name: e\n    join_keys: [{name: k, type: text}]\n",
                "unknown type \"text\""},
        BadCase{"entities:\n  - name: 9e\n    join_keys: [{name: k, type: string}]\n",
                "entity name \"9e\" must be letters, digits and '_'"},
        BadCase{"entities:\n  - name: e\n    join_keys: [{name: k, type: string}]\n"
                "  - name: e\n    join_keys: [{name: k, type: string}]\n",
                "f.yaml:4: entities[1]: duplicate entity \"e\" (also entities[0])"},
        BadCase{"entities:\n  - name: e\n    join_keys: [{name: k, type: string}, {name: k,"
                " type: int64}]\n",
                "join key \"k\" is listed twice"},
        BadCase{"entities:\n  - name: e\n    join_keys: [{name: k, type: string, extra: 1}]\n",
                "entities[0].join_keys[0].extra: unknown key"},
        BadCase{"feature_views:\n  - name: v\n    entities: [e]\n    timestamp_field: ts\n"
                "    features: [{name: f, type: int64}]\n",
                "feature_views[0].source: required"},
        BadCase{"feature_views:\n  - name: v\n    entities: [e]\n    source: \"bad name!\"\n"
                "    timestamp_field: ts\n    features: [{name: f, type: int64}]\n",
                "feature_views[0].source: "},
        BadCase{"feature_views:\n  - name: v\n    entities: [e]\n    source: d\n"
                "    timestamp_field: ts\n    ttl: 3 days\n    features: [{name: f, type: int64}]\n",
                "feature_views[0].ttl: duration \"3 days\""},
        BadCase{"feature_views:\n  - name: v\n    entities: [e]\n    source: d\n"
                "    timestamp_field: ts\n    features: []\n",
                "feature_views[0].features: must not be empty"},
        BadCase{"feature_views:\n  - name: v\n    entities: [e]\n    source: d\n"
                "    timestamp_field: ts\n    features: [{name: f, type: int64}, {name: f, type:"
                " int64}]\n",
                "feature \"f\" is listed twice"},
        BadCase{"feature_views:\n  - name: v\n    entities: [e]\n    source: d\n"
                "    timestamp_field: ts\n    features: [{name: ts, type: timestamp}]\n",
                "feature \"ts\" is the view's timestamp field"},
        BadCase{"feature_views:\n  - name: v\n    entities: [e]\n    source: d\n"
                "    timestamp_field: ts\n    created_timestamp_field: ts\n"
                "    features: [{name: f, type: int64}]\n",
                "must differ from timestamp_field"},
        BadCase{"entities:\n  - name: e\n    join_keys: [{name: k, type: string}]\n"
                "feature_views:\n  - name: v\n    entities: [e]\n    source: d\n"
                "    timestamp_field: ts\n    features: [{name: k, type: int64}]\n",
                "\"k\" is a join key of entity \"e\""},
        BadCase{"feature_views:\n  - name: v\n    entities: [e]\n    source: d\n"
                "    timestamp_field: ts\n    online: maybe\n    features: [{name: f, type: int64}]\n",
                "online: expected true or false"},
        BadCase{"feature_services:\n  - name: s\n    features: [nocolon]\n",
                "feature reference \"nocolon\" must be \"view:feature\""},
        BadCase{"feature_services:\n  - name: s\n    features: [v:f, v:f]\n",
                "\"v:f\" is listed twice"}));

TEST(DurationTest, ParsesAndFormats) {
  EXPECT_EQ(*ParseDurationSeconds("0"), 0);
  EXPECT_EQ(*ParseDurationSeconds("90s"), 90);
  EXPECT_EQ(*ParseDurationSeconds("15m"), 900);
  EXPECT_EQ(*ParseDurationSeconds("12h"), 43200);
  EXPECT_EQ(*ParseDurationSeconds("2w"), 14 * 86400);
  EXPECT_EQ(*ParseDurationSeconds("3600"), 3600);
  EXPECT_FALSE(ParseDurationSeconds("-1d").ok());
  EXPECT_FALSE(ParseDurationSeconds("d").ok());
  EXPECT_FALSE(ParseDurationSeconds("1y").ok());
  EXPECT_FALSE(ParseDurationSeconds("999999999999d").ok());
  EXPECT_EQ(FormatDuration(30 * 86400), "30d");
  EXPECT_EQ(FormatDuration(14 * 86400), "2w");
  EXPECT_EQ(FormatDuration(5400), "90m");
  EXPECT_EQ(FormatDuration(61), "61s");
  EXPECT_EQ(FormatDuration(0), "0");
}

TEST(FeatureRefTest, Parses) {
  EXPECT_EQ(*ParseFeatureRef("v:f", false), (FeatureRef{"v", "f"}));
  EXPECT_TRUE(ParseFeatureRef("v:*", true).ok());
  EXPECT_FALSE(ParseFeatureRef("v:*", false).ok());
  EXPECT_FALSE(ParseFeatureRef("v:", false).ok());
  EXPECT_FALSE(ParseFeatureRef(":f", false).ok());
}

}  // namespace
}  // namespace ferry::features
