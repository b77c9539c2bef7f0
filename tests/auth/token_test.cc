// Tokens' text form, hashing, and Bearer headers.

#include "auth/token.h"

#include <gtest/gtest.h>

#include <set>

namespace ferry::auth {
namespace {

TEST(TokenTest, GeneratedTokensParseAndMatchOnlyTheirOwnDigest) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<NewToken> token = GenerateToken();
    ASSERT_TRUE(token.ok()) << token.status();
    EXPECT_TRUE(seen.insert(token->text).second);
    std::optional<PresentedToken> parsed = ParseToken(token->text);
    ASSERT_TRUE(parsed.has_value()) << token->text;
    EXPECT_EQ(parsed->id, token->id);
    EXPECT_EQ(token->text.size(), 6u + 12 + 1 + 64);
    EXPECT_TRUE(SecretMatches(parsed->secret, token->salt_hex, token->digest_hex));
    // The digest is not the secret, and another salt gives another digest.
    EXPECT_EQ(token->text.find(token->digest_hex), std::string::npos);
    std::string wrong = std::string(parsed->secret);
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(SecretMatches(wrong, token->salt_hex, token->digest_hex));
  }
  absl::StatusOr<NewToken> a = GenerateToken();
  absl::StatusOr<NewToken> b = GenerateToken();
  ASSERT_TRUE(a.ok() && b.ok());
  std::optional<PresentedToken> pa = ParseToken(a->text);
  EXPECT_FALSE(SecretMatches(pa->secret, b->salt_hex, a->digest_hex));
  EXPECT_FALSE(SecretMatches(pa->secret, a->salt_hex, b->digest_hex));
}

TEST(TokenTest, MalformedTokensAndStoredValuesAreRefused) {
  const std::string good = GenerateToken()->text;
  EXPECT_TRUE(ParseToken(good).has_value());
  for (const std::string& bad : std::vector<std::string>{
           std::string(), std::string("ferry_"), good.substr(1), good.substr(0, good.size() - 1),
           good + "0", "FERRY" + good.substr(5), good.substr(0, 18) + "-" + good.substr(19)}) {
    EXPECT_FALSE(ParseToken(bad).has_value()) << bad;
  }
  std::string upper = good;
  upper[10] = 'G';  // not hex
  EXPECT_FALSE(ParseToken(upper).has_value());
  NewToken token = *GenerateToken();
  std::string_view secret = ParseToken(token.text)->secret;
  EXPECT_FALSE(SecretMatches(secret, "zz", token.digest_hex));
  EXPECT_FALSE(SecretMatches(secret, token.salt_hex, token.digest_hex.substr(2)));
  EXPECT_FALSE(SecretMatches(secret, token.salt_hex, ""));
}

TEST(TokenTest, BearerHeaders) {
  EXPECT_EQ(BearerToken("Bearer abc").value_or(""), "abc");
  EXPECT_EQ(BearerToken("bearer   abc  ").value_or(""), "abc");
  EXPECT_EQ(BearerToken("BEARER abc").value_or(""), "abc");
  EXPECT_FALSE(BearerToken("Basic abc").has_value());
  EXPECT_FALSE(BearerToken("Bearer").has_value());
  EXPECT_FALSE(BearerToken("Bearer ").has_value());
  EXPECT_FALSE(BearerToken("Bearerabc").has_value());
  EXPECT_FALSE(BearerToken("").has_value());
}

TEST(TokenTest, ScopeLevels) {
  EXPECT_EQ(*GrantedBy("read"), kScopeRead);
  EXPECT_EQ(*GrantedBy("predict"), kScopePredict);
  EXPECT_EQ(*GrantedBy("write"), kScopeRead | kScopePredict | kScopeWrite);
  EXPECT_EQ(*GrantedBy("admin"), kScopeRead | kScopePredict | kScopeWrite | kScopeAdmin);
  EXPECT_FALSE(GrantedBy("root").ok());
  EXPECT_FALSE(GrantedBy("").ok());
  EXPECT_EQ(ScopeSetNames(kScopeRead | kScopePredict), "read|predict");
}

}  // namespace
}  // namespace ferry::auth
