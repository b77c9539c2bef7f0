#include "auth/token.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <chrono>

#include "absl/strings/ascii.h"
#include "core/sha256.h"
#include "core/strings.h"

namespace ferry::auth {
namespace {

constexpr std::string_view kPrefix = "ferry_";
constexpr size_t kIdBytes = 6;
constexpr size_t kSecretBytes = 32;
constexpr size_t kSaltBytes = 16;
constexpr char kHexDigits[] = "0123456789abcdef";

std::string Hex(const uint8_t* bytes, size_t size) {
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 15];
  }
  return out;
}

bool IsLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Lower-case hex to bytes; false when malformed or not exactly out.size() bytes.
template <size_t N>
bool Unhex(std::string_view hex, std::array<uint8_t, N>& out) {
  if (hex.size() != 2 * N || !IsLowerHex(hex)) return false;
  auto nibble = [](char c) { return static_cast<uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (size_t i = 0; i < N; ++i)
    out[i] = static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  return true;
}

core::Digest SaltedDigest(const std::array<uint8_t, kSaltBytes>& salt, std::string_view secret) {
  core::Sha256 hasher;
  hasher.Update(salt.data(), salt.size());
  hasher.Update(secret);
  return hasher.Finish();
}

}  // namespace

absl::StatusOr<ScopeSet> GrantedBy(std::string_view level) {
  if (level == "read") return ScopeSet{kScopeRead};
  if (level == "predict") return ScopeSet{kScopePredict};
  if (level == "write") return ScopeSet{kScopeRead | kScopePredict | kScopeWrite};
  if (level == "admin") return ScopeSet{kScopeRead | kScopePredict | kScopeWrite | kScopeAdmin};
  return absl::InvalidArgumentError(
      core::Cat("unknown scope \"", level, "\"; expected read, predict, write or admin"));
}

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case kScopeRead:
      return "read";
    case kScopePredict:
      return "predict";
    case kScopeWrite:
      return "write";
    case kScopeAdmin:
      return "admin";
  }
  return "?";
}

std::string ScopeSetNames(ScopeSet scopes) {
  std::string out;
  for (Scope scope : {kScopeRead, kScopePredict, kScopeWrite, kScopeAdmin}) {
    if ((scopes & scope) == 0) continue;
    if (!out.empty()) out += '|';
    out += ScopeName(scope);
  }
  return out;
}

absl::StatusOr<NewToken> GenerateToken() {
  std::array<uint8_t, kIdBytes + kSecretBytes + kSaltBytes> random;
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return absl::InternalError("OpenSSL's random generator failed; no token was made");
  }
  std::array<uint8_t, kSaltBytes> salt;
  std::copy_n(random.begin() + kIdBytes + kSecretBytes, kSaltBytes, salt.begin());
  NewToken token;
  token.id = Hex(random.data(), kIdBytes);
  const std::string secret = Hex(random.data() + kIdBytes, kSecretBytes);
  token.text = core::Cat(kPrefix, token.id, "_", secret);
  token.salt_hex = Hex(salt.data(), salt.size());
  token.digest_hex = SaltedDigest(salt, secret).ToHex();
  OPENSSL_cleanse(random.data(), random.size());
  return token;
}

std::optional<PresentedToken> ParseToken(std::string_view text) {
  if (!text.starts_with(kPrefix)) return std::nullopt;
  text.remove_prefix(kPrefix.size());
  if (text.size() != 2 * kIdBytes + 1 + 2 * kSecretBytes || text[2 * kIdBytes] != '_') {
    return std::nullopt;
  }
  PresentedToken token{text.substr(0, 2 * kIdBytes), text.substr(2 * kIdBytes + 1)};
  if (!IsLowerHex(token.id) || !IsLowerHex(token.secret)) return std::nullopt;
  return token;
}

bool SecretMatches(std::string_view secret, std::string_view salt_hex,
                   std::string_view digest_hex) {
  std::array<uint8_t, kSaltBytes> salt;
  std::array<uint8_t, core::Digest::kSize> stored;
  if (!Unhex(salt_hex, salt) || !Unhex(digest_hex, stored)) return false;
  const core::Digest presented = SaltedDigest(salt, secret);
  return CRYPTO_memcmp(presented.bytes().data(), stored.data(), stored.size()) == 0;
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() || authorization[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

}  // namespace ferry::auth
