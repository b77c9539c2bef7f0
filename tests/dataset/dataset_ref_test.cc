#include "dataset/dataset_ref.h"

#include <gtest/gtest.h>

namespace ferry::dataset {
namespace {

TEST(DatasetRefTest, ParsesNamesVersionsTagsAndLatest) {
  struct Case {
    std::string text;
    std::string name;
    std::optional<int64_t> version;
    std::optional<std::string> tag;
  };
  const Case cases[] = {
      {"transactions", "transactions", std::nullopt, std::nullopt},
      {"transactions@3", "transactions", 3, std::nullopt},
      {"transactions@latest", "transactions", std::nullopt, std::nullopt},
      {"transactions@production", "transactions", std::nullopt, "production"},
      {"tx.v2_raw-1@v1.0", "tx.v2_raw-1", std::nullopt, "v1.0"},
      {"7days@12", "7days", 12, std::nullopt},
  };
  for (const Case& c : cases) {
    auto ref = ParseDatasetRef(c.text);
    ASSERT_TRUE(ref.ok()) << c.text << ": " << ref.status();
    EXPECT_EQ(ref->name, c.name) << c.text;
    EXPECT_EQ(ref->version, c.version) << c.text;
    EXPECT_EQ(ref->tag, c.tag) << c.text;
  }
  EXPECT_EQ(ParseDatasetRef("a@3")->ToString(), "a@3");
  EXPECT_EQ(ParseDatasetRef("a@prod")->ToString(), "a@prod");
}

TEST(DatasetRefTest, RejectsBadReferencesWithAReason) {
  struct Case {
    std::string text;
    std::string fragment;
  };
  const Case cases[] = {
      {"", "empty"},
      {"@3", "empty"},
      {"a@", "after '@'"},
      {"a@0", "numbered from 1"},
      {"a@99999999999999999999", "numbered from 1"},
      {"../etc", "must start with a letter or digit"},
      {"a/b", "may only contain"},
      {"a b", "may only contain"},
      {"a@b@c", "may only contain"},
      {"a@-x", "must start with a letter or digit"},
      {std::string(129, 'a'), "longer than 128"},
  };
  for (const Case& c : cases) {
    auto ref = ParseDatasetRef(c.text);
    ASSERT_FALSE(ref.ok()) << c.text;
    EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(std::string(ref.status().message()).find(c.fragment), std::string::npos)
        << c.text << " -> " << ref.status().message();
  }
}

TEST(DatasetRefTest, TagsCannotLookLikeVersionsOrLatest) {
  EXPECT_FALSE(ValidateTagName("42").ok());
  EXPECT_FALSE(ValidateTagName("latest").ok());
  EXPECT_TRUE(ValidateTagName("v42").ok());
}

}  // namespace
}  // namespace ferry::dataset
