// TokenStore on the workspace's metadata store (both engines: see tests/CMakeLists.txt).

#include "auth/token_store.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "core/clock.h"
#include "testing/postgres_server.h"
#include "testing/temp_dir.h"

namespace ferry::auth {
namespace {

namespace fs = std::filesystem;

TokenSpec Spec(std::string name, std::string scope) {
  TokenSpec spec;
  spec.name = std::move(name);
  spec.scope = std::move(scope);
  return spec;
}

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ =
        std::move(testing::InitWorkspace(temp_ / "ws", core::SystemClock::Shared())).value();
    tokens_.emplace(TokenStore::Open(workspace_->metadata(), kNow).value());
  }
  static constexpr int64_t kNow = 1'800'000'000'000'000;

  testing::TempDir temp_;
  std::unique_ptr<store::Workspace> workspace_;
  std::optional<TokenStore> tokens_;
};

TEST_F(TokenStoreTest, CreateListRevoke) {
  TokenSpec ci_spec = Spec("ci", "write");
  ci_spec.created_by = "cli:alice";
  absl::StatusOr<CreatedToken> ci = tokens_->Create(ci_spec, kNow);
  ASSERT_TRUE(ci.ok()) << ci.status();
  TokenSpec app_spec = Spec("app", "predict");
  app_spec.expires_at_micros = kNow + 10;
  app_spec.rate_limit_per_second = 5;
  absl::StatusOr<CreatedToken> app = tokens_->Create(app_spec, kNow + 1);
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_EQ(ci->record.granted, kScopeRead | kScopePredict | kScopeWrite);

  absl::StatusOr<std::vector<TokenRecord>> listed = tokens_->List(false);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "app");  // newest first
  EXPECT_EQ((*listed)[0].expires_at_micros, kNow + 10);
  EXPECT_EQ((*listed)[0].rate_limit_per_second, 5);
  EXPECT_EQ((*listed)[1].created_by, "cli:alice");
  EXPECT_TRUE((*listed)[0].Expired(kNow + 10));
  EXPECT_FALSE((*listed)[0].Expired(kNow + 9));
  // What is stored checks the token, and is not the token.
  std::optional<PresentedToken> presented = ParseToken(ci->text);
  ASSERT_TRUE(presented.has_value());
  EXPECT_TRUE(SecretMatches(presented->secret, (*listed)[1].salt_hex, (*listed)[1].digest_hex));
  nlohmann::json shown = TokenJson((*listed)[1]);
  EXPECT_FALSE(shown.contains("digest"));
  EXPECT_FALSE(shown.contains("salt"));
  EXPECT_EQ(shown.dump().find(std::string(presented->secret)), std::string::npos);

  // Revoke by name, then by id; revoked tokens show with --all only.
  absl::StatusOr<TokenRecord> revoked = tokens_->Revoke("ci", kNow + 2);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->revoked_at_micros, kNow + 2);
  EXPECT_EQ(tokens_->Revoke("ci", kNow + 3).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(tokens_->Revoke(app->record.id, kNow + 3).ok());
  EXPECT_TRUE(tokens_->List(false)->empty());
  EXPECT_EQ(tokens_->List(true)->size(), 2u);
  // A revoked token's name may be used again.
  EXPECT_TRUE(tokens_->Create(Spec("ci", "read"), kNow + 4).ok());
}

TEST_F(TokenStoreTest, BadSpecsAreRefusedAndNothingIsStored) {
  ASSERT_TRUE(tokens_->Create(Spec("ci", "admin"), kNow).ok());
  EXPECT_EQ(tokens_->Create(Spec("ci", "read"), kNow).status().code(),
            absl::StatusCode::kAlreadyExists);
  for (const std::string& name :
       std::vector<std::string>{"", "../x", "a/b", ".hidden", "-x", std::string(65, 'a'), "a b",
                                std::string("a\0b", 3), "tok\n"}) {
    absl::Status status = tokens_->Create(Spec(name, "read"), kNow).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
  }
  EXPECT_EQ(tokens_->Create(Spec("x", "root"), kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
  TokenSpec past = Spec("x", "read");
  past.expires_at_micros = kNow;
  EXPECT_EQ(tokens_->Create(past, kNow).status().code(), absl::StatusCode::kInvalidArgument);
  TokenSpec negative = Spec("x", "read");
  negative.rate_limit_per_second = -1;
  EXPECT_EQ(tokens_->Create(negative, kNow).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tokens_->List(true)->size(), 1u);
}

TEST_F(TokenStoreTest, TheSecretIsNowhereInTheEmbeddedStoreFiles) {
  if (testing::TestsUsePostgres()) GTEST_SKIP() << "reads the embedded store's files";
  absl::StatusOr<CreatedToken> token = tokens_->Create(Spec("ci", "read"), kNow);
  ASSERT_TRUE(token.ok());
  const std::string secret(ParseToken(token->text)->secret);
  std::string everything;
  for (const auto& entry : fs::recursive_directory_iterator(workspace_->ferry_dir())) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    everything.append(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_NE(everything.find(token->record.digest_hex), std::string::npos);  // the search works
  EXPECT_EQ(everything.find(secret), std::string::npos);
}

}  // namespace
}  // namespace ferry::auth
