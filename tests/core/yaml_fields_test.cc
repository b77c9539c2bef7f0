#include "core/yaml_fields.h"

#include <gtest/gtest.h>

#include <string>

#include "core/utf8.h"

namespace ferry::core {
namespace {

TEST(Utf8Test, AcceptsWellFormedTextOnly) {
  for (std::string ok : {"", "plain ascii, longer than eight bytes", "caf\xc3\xa9", "\xe6\x97\xa5",
                         "\xf0\x9f\x98\x80 emoji"}) {
    EXPECT_TRUE(IsValidUtf8(ok.data(), ok.size())) << ok;
  }
  for (std::string bad : {"caf\xe9", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "abc\xc3",
                          "\x80", "eight ok\xff"}) {
    EXPECT_FALSE(IsValidUtf8(bad.data(), bad.size())) << bad;
  }
}

TEST(YamlFieldsTest, TextThatIsNotUtf8IsRefusedNamingTheLine) {
  EXPECT_TRUE(CheckYamlUtf8("name: caf\xc3\xa9\n", "f.yaml").ok());
  const absl::Status status = CheckYamlUtf8("a: 1\nb: caf\xe9\nc: 3\n", "f.yaml");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "f.yaml:2: not valid UTF-8");
  EXPECT_EQ(LoadYaml("a: \"\xff\"", "g.yaml").status().message(), "g.yaml:1: not valid UTF-8");
}

}  // namespace
}  // namespace ferry::core
