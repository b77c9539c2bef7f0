#include "core/sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>

#include <cerrno>
#include <vector>

#include "core/check.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::core {
absl::StatusOr<Digest> Digest::FromHex(std::string_view hex) {
  if (hex.size() != 2 * kSize) {
    return absl::InvalidArgumentError(
        Cat("a SHA-256 digest is 64 hex characters, got ", hex.size()));
  }
  std::array<uint8_t, kSize> bytes{};
  for (size_t i = 0; i < kSize; ++i) {
    int hi = HexDigitValue(hex[2 * i]);
    int lo = HexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(Cat("not a hex digest: \"", hex, "\""));
    }
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return Digest(bytes);
}

std::string Digest::ToHex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * kSize, '0');
  for (size_t i = 0; i < kSize; ++i) {
    out[2 * i] = kHex[bytes_[i] >> 4];
    out[2 * i + 1] = kHex[bytes_[i] & 0xf];
  }
  return out;
}

struct Sha256::Context {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  context_->ctx = EVP_MD_CTX_new();
  // Allocation failure of a 200-byte context is not a recoverable state.
  FERRY_CHECK(context_->ctx != nullptr);
  FERRY_CHECK(EVP_DigestInit_ex(context_->ctx, EVP_sha256(), nullptr) == 1);
}

Sha256::~Sha256() { EVP_MD_CTX_free(context_->ctx); }

void Sha256::Update(const void* data, size_t size) {
  FERRY_CHECK(EVP_DigestUpdate(context_->ctx, data, size) == 1);
}

Digest Sha256::Finish() {
  std::array<uint8_t, Digest::kSize> bytes{};
  unsigned int len = 0;
  FERRY_CHECK(EVP_DigestFinal_ex(context_->ctx, bytes.data(), &len) == 1);
  FERRY_CHECK(EVP_DigestInit_ex(context_->ctx, EVP_sha256(), nullptr) == 1);
  return Digest(bytes);
}

absl::StatusOr<Digest> Sha256::OfFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, path.string());
  UniqueFd file(fd);
  Sha256 hasher;
  std::vector<char> buffer(size_t{1} << 20);
  while (true) {
    ASSIGN_OR_RETURN(const size_t n, ReadSome(file.get(), buffer.data(), buffer.size()));
    if (n == 0) break;
    hasher.Update(buffer.data(), n);
  }
  return hasher.Finish();
}

Digest Sha256::Of(std::string_view data) {
  Sha256 hasher;
  hasher.Update(data);
  return hasher.Finish();
}

}  // namespace ferry::core
