#include "core/sha256.h"

#include <gtest/gtest.h>

namespace ferry::core {
namespace {

TEST(Sha256Test, MatchesKnownVectors) {
  struct Case {
    std::string input;
    std::string hex;
  };
  const Case cases[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  for (const Case& c : cases) EXPECT_EQ(Sha256::Of(c.input).ToHex(), c.hex) << c.input;
}

TEST(Sha256Test, IncrementalUpdatesEqualOneShot) {
  std::string data(100'000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 % 251);
  Sha256 hasher;
  for (size_t off = 0; off < data.size(); off += 777) {
    hasher.Update(std::string_view(data).substr(off, 777));
  }
  EXPECT_EQ(hasher.Finish(), Sha256::Of(data));
  // Finish resets, so the hasher can be reused.
  hasher.Update("abc");
  EXPECT_EQ(hasher.Finish(), Sha256::Of("abc"));
}

TEST(DigestTest, HexRoundTripAndRejectsBadInput) {
  Digest d = Sha256::Of("ferry");
  auto parsed = Digest::FromHex(d.ToHex());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, d);
  EXPECT_EQ(Digest::FromHex("abc").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Digest::FromHex(std::string(64, 'g')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Digest::FromHex("../" + std::string(61, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry::core
