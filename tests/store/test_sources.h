#pragma once

// Deterministic byte sources and sinks for the chunked-storage tests: they stream
// hundreds of MiB without holding them, and hash what they produce or receive.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "core/file.h"
#include "core/sha256.h"
#include "store/object_store.h"

namespace ferry::store::testing_sources {

// Every object in `store`, in digest order; a listing error fails the test.
inline std::set<core::Digest> AllObjects(const ObjectStore& store) {
  std::set<core::Digest> digests;
  absl::Status status = store.ForEachObject([&](const core::Digest& d) {
    digests.insert(d);
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  return digests;
}

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

inline constexpr uint64_t kMiB = uint64_t{1} << 20;

inline uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Bytes zstd cannot compress (xorshift64).
inline std::string Noise(size_t size, uint64_t seed) {
  std::string out(size, '\0');
  uint64_t x = seed | 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

// Serves the text of consecutive "lines" made by `make_line(index, out)`, hashing what
// it serves; optionally fails or blocks once `limit` bytes were served.
class LineSource : public ByteSource {
 public:
  using LineMaker = std::function<void(uint64_t index, std::string& out)>;
  LineSource(uint64_t lines, LineMaker make_line)
      : lines_(lines), make_line_(std::move(make_line)) {}

  // After `bytes`, Read returns `error`.
  void FailAfter(uint64_t bytes, absl::Status error) {
    limit_ = bytes;
    error_ = std::move(error);
  }
  // After `bytes`, Read calls `hook` (e.g. to block forever) before returning 0.
  void StallAfter(uint64_t bytes, std::function<void()> hook) {
    limit_ = bytes;
    stall_ = std::move(hook);
  }

  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    if (limit_ && produced_ >= *limit_) {
      if (stall_) stall_();
      if (!error_.ok()) return error_;
    }
    if (limit_) size = static_cast<size_t>(std::min<uint64_t>(size, *limit_ - produced_));
    size_t done = 0;
    while (done < size) {
      if (pos_ == line_.size()) {
        if (next_line_ == lines_) break;
        line_.clear();
        make_line_(next_line_++, line_);
        pos_ = 0;
      }
      const size_t n = std::min(size - done, line_.size() - pos_);
      std::memcpy(buffer + done, line_.data() + pos_, n);
      pos_ += n;
      done += n;
    }
    hasher_.Update(buffer, done);
    produced_ += done;
    return done;
  }

  core::Digest Finish() { return hasher_.Finish(); }
  uint64_t produced() const { return produced_; }

 private:
  const uint64_t lines_;
  LineMaker make_line_;
  uint64_t next_line_ = 0;
  std::string line_;
  size_t pos_ = 0;
  uint64_t produced_ = 0;
  core::Sha256 hasher_;
  std::optional<uint64_t> limit_;
  absl::Status error_;
  std::function<void()> stall_;
};

inline char* AppendUint(char* p, uint64_t v) { return std::to_chars(p, p + 24, v).ptr; }

// One row of a transactions CSV; every field derives from (seed, row), so a file is
// any range of rows and an edit is a different `variant` of some rows. About 70 bytes.
inline void CsvRow(uint64_t seed, uint64_t row, uint64_t variant, std::string& out) {
  static constexpr const char* kCategories[] = {"groceries", "travel", "fuel",  "restaurants",
                                                "pharmacy",  "gaming", "books", "utilities"};
  const uint64_t r = Mix(seed * 0x100000001b3ULL ^ row ^ (variant << 56));
  char buffer[160];
  char* p = buffer;
  p = AppendUint(p, row);
  *p++ = ',';
  p = AppendUint(p, 1767225600 + row * 7 + (r & 7));  // a timestamp
  std::memcpy(p, ",c", 2);
  p = AppendUint(p + 2, 100000 + (r >> 8) % 900000);
  *p++ = ',';
  p = AppendUint(p, (r >> 28) % 5000);
  *p++ = '.';
  const uint64_t cents = (r >> 40) % 100;
  *p++ = static_cast<char>('0' + cents / 10);
  *p++ = static_cast<char>('0' + cents % 10);
  *p++ = ',';
  const char* category = kCategories[(r >> 47) & 7];
  const size_t n = std::strlen(category);
  std::memcpy(p, category, n);
  p += n;
  std::memcpy(p, ",0.", 3);
  p = AppendUint(p + 3, 1000 + (r >> 50) % 9000);
  *p++ = '\n';
  out.append(buffer, p);
}

// A CSV of `rows` rows; rows in [edit_begin, edit_end) take another variant.
inline LineSource CsvSource(uint64_t rows, uint64_t seed, uint64_t edit_begin = 0,
                            uint64_t edit_end = 0) {
  return LineSource(rows + 1, [=](uint64_t index, std::string& out) {
    if (index == 0) {
      out += "row_id,ts,customer,amount,category,score\n";
      return;
    }
    const uint64_t row = index - 1;
    CsvRow(seed, row, row >= edit_begin && row < edit_end ? 1 : 0, out);
  });
}

// Log-like lines: compressible but not trivially so.
inline LineSource PatternSource(uint64_t lines, uint64_t seed) {
  return LineSource(lines, [seed](uint64_t index, std::string& out) {
    static constexpr const char* kTokens[] = {
        "alpha", "beta",  "gamma",  "delta", "epsilon", "zeta", "eta",     "theta",
        "iota",  "kappa", "lambda", "mu",    "nu",      "xi",   "omicron", "pi"};
    uint64_t r = Mix(seed ^ index * 0x9e3779b97f4a7c15ULL);
    char buffer[32];
    out.append(buffer, AppendUint(buffer, index));
    out += ',';
    out.append(buffer, AppendUint(buffer, r % 100000));
    for (int i = 0; i < 8; ++i, r >>= 4) {
      out += ' ';
      out += kTokens[r & 15];
    }
    out += '\n';
  });
}

// `size` bytes of 79-character lines of random letters from a 16-letter alphabet
// (compressible about 1.7x), generated at ~1 GB/s and hashed as they are served.
class LetterSource : public ByteSource {
 public:
  LetterSource(uint64_t size, uint64_t seed) : remaining_(size), state_(seed | 1) {}

  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(size, remaining_));
    for (size_t i = 0; i < n; ++i, ++position_) {
      if (position_ % 80 == 79) {
        buffer[i] = '\n';
        continue;
      }
      if (bits_ == 0) {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 7;
        state_ ^= state_ << 17;
        word_ = state_;
        bits_ = 16;
      }
      buffer[i] = static_cast<char>('a' + (word_ & 15));
      word_ >>= 4;
      --bits_;
    }
    hasher_.Update(buffer, n);
    remaining_ -= n;
    produced_ += n;
    return n;
  }

  core::Digest Finish() { return hasher_.Finish(); }
  uint64_t produced() const { return produced_; }

 private:
  uint64_t remaining_;
  uint64_t state_;
  uint64_t word_ = 0;
  int bits_ = 0;
  uint64_t position_ = 0;
  uint64_t produced_ = 0;
  core::Sha256 hasher_;
};

class HashingSink : public ByteSink {
 public:
  absl::Status Write(std::string_view data) override {
    hasher_.Update(data);
    size_ += data.size();
    return absl::OkStatus();
  }
  core::Digest Finish() { return hasher_.Finish(); }
  uint64_t size() const { return size_; }

 private:
  core::Sha256 hasher_;
  uint64_t size_ = 0;
};

// SHA-256 and size of a file, streamed.
inline std::pair<core::Digest, uint64_t> HashFile(const std::filesystem::path& path) {
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  core::Sha256 hasher;
  uint64_t size = 0;
  std::string buffer(4 * kMiB, '\0');
  while (fd.valid()) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n <= 0) break;
    hasher.Update(buffer.data(), static_cast<size_t>(n));
    size += static_cast<uint64_t>(n);
  }
  return {hasher.Finish(), size};
}

}  // namespace ferry::store::testing_sources
