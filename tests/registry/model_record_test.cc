#include "registry/model_record.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "registry/xgboost_model.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"
#include "core/file.h"

namespace ferry::registry {
namespace {

TEST(ModelRefTest, ParsesVersionsAliasesAndLatest) {
  EXPECT_EQ(ParseModelRef("fraud@3")->version, 3);
  EXPECT_EQ(ParseModelRef("fraud@production")->alias, "production");
  auto latest = ParseModelRef("fraud");
  EXPECT_FALSE(latest->version || latest->alias);
  EXPECT_FALSE(ParseModelRef("fraud@latest")->version);
  for (const char* bad : {"", "@3", "fraud@0", "fraud@", "fr aud", "fraud@a b", "-x"}) {
    EXPECT_EQ(ParseModelRef(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ValidateAlias("123").ok());
  EXPECT_FALSE(ValidateAlias("latest").ok());
}

TEST(SignatureTest, ParsesAndRejectsWithTheKeyNamed) {
  auto s = ParseSignature(R"({"feature_service": "fraud",
      "inputs": [{"name": "amount", "type": "float64"}, {"name": "n", "type": "int64"}],
      "outputs": [{"name": "score"}]})");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->feature_service, "fraud");
  EXPECT_EQ(s->inputs[1].type, table::ColumnType::kInt64);
  EXPECT_EQ(s->outputs[0].type, table::ColumnType::kFloat64);
  EXPECT_EQ(*ParseSignature(SignatureToJson(*s).dump()), *s);
  const struct {
    const char* text;
    const char* contains;
  } cases[] = {
      {"[1]", "not a JSON object"},
      {R"({"input": []})", "unknown key \"input\""},
      {R"({"inputs": [{"name": "a", "type": "float128"}]})", "inputs[0]: unknown type"},
      {R"({"inputs": [{"name": "a"}, {"name": "a"}]})", "inputs[1]: \"a\" appears twice"},
      {R"({"inputs": [{"type": "int64"}]})", "inputs[0]: expected"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseSignature(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_NE(parsed.status().message().find(c.contains), std::string::npos) << parsed.status();
  }
}

TEST(XGBoostModelTest, ReadsFeatureNamesAndCountFromJsonAndUbjson) {
  testing::TempDir temp;
  for (const char* file : {"m.json", "m.ubj"}) {
    testing::WriteXGBoostModel(temp / file, 3, {"amount", "hour", "foreign"});
    auto info = InspectXGBoostModelFile(temp / file, 1 << 20);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->num_features, 3);
    EXPECT_EQ(info->feature_names, (std::vector<std::string>{"amount", "hour", "foreign"}));
  }
  testing::WriteXGBoostModel(temp / "anon.json", 4);
  auto anon = InspectXGBoostModelFile(temp / "anon.json", 1 << 20);
  ASSERT_TRUE(anon.ok()) << anon.status();
  EXPECT_EQ(anon->num_features, 4);
  EXPECT_TRUE(anon->feature_names.empty());
}

TEST(XGBoostModelTest, WhatIsNotAModelIsInvalidArgument) {
  for (const std::string& bytes : {std::string(""), std::string("id,amount\n1,2\n"),
                                  std::string("{\"learner\": 1}"), std::string(4096, '\x07'),
                                  std::string("\x00\x00\x00\x3f\xff\xff\xff\x7f", 8)}) {
    auto info = InspectXGBoostModel(bytes);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(info.status().message().find("not a loadable XGBoost model"), std::string::npos)
        << info.status();
  }
}

}  // namespace
}  // namespace ferry::registry
