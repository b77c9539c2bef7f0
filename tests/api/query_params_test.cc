#include "api/query_params.h"

#include <gtest/gtest.h>

namespace ferry::api {
namespace {

TEST(QueryParamsTest, DecodesPairsAndBareNames) {
  auto q = QueryParams::Parse("filename=a%20b.csv&message=one+two&lenient&&tag=x%2Fy");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->Get("filename"), "a b.csv");
  EXPECT_EQ(q->Get("message"), "one two");
  EXPECT_EQ(q->Get("lenient"), "");
  EXPECT_EQ(q->Get("tag"), "x/y");
  EXPECT_EQ(q->Get("missing"), std::nullopt);
  EXPECT_TRUE(*q->GetBool("lenient", false));
  EXPECT_FALSE(*q->GetBool("missing", false));
  EXPECT_TRUE(q->OnlyThese({"filename", "message", "lenient", "tag"}).ok());
  EXPECT_EQ(q->OnlyThese({"filename"}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(QueryParamsTest, RejectsMalformedInput) {
  for (const char* bad : {"a=%", "a=%4", "a=%zz", "a=%00"}) {
    EXPECT_EQ(QueryParams::Parse(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  std::string many;
  for (int i = 0; i < 65; ++i) many += "p" + std::to_string(i) + "=1&";
  EXPECT_EQ(QueryParams::Parse(many).status().code(), absl::StatusCode::kInvalidArgument);
  auto q = QueryParams::Parse("flag=maybe");
  EXPECT_EQ(q->GetBool("flag", false).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(QueryParamsTest, IntegersAreCheckedAgainstTheirRange) {
  auto q = QueryParams::Parse("limit=20&big=5000&word=ten&half=1.5");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(*q->GetInt("limit", 50, 1, 1000), 20);
  EXPECT_EQ(*q->GetInt("missing", 50, 1, 1000), 50);
  for (const char* bad : {"big", "word", "half"}) {
    absl::StatusOr<int64_t> value = q->GetInt(bad, 50, 1, 1000);
    EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(q->GetInt("big", 50, 1, 1000).status().message(),
            "big must be 1..1000, got \"5000\"");
}

}  // namespace
}  // namespace ferry::api
