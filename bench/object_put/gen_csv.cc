// Writes a deterministic CSV of transactions to stdout until it reaches the requested size:
//   gen_csv BYTES SEED > file.csv
// Rows look like real feature-store input (ids, timestamps, amounts, scores, categories),
// so compression ratios resemble those of users' files. Same arguments, same bytes.

#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// SplitMix64: tiny, fast and fully specified, so the data never depends on the libstdc++
// version the way std::uniform_*_distribution would.
struct SplitMix64 {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

constexpr const char* kCategories[] = {
    "groceries", "electronics", "travel",   "restaurants", "fuel",      "clothing",
    "pharmacy",  "utilities",   "gaming",   "subscriptions", "insurance", "education",
    "transfer",  "cash_withdrawal", "home_improvement", "books", "music", "sports",
    "pets",      "charity"};
constexpr const char* kCountries[] = {"US", "DE", "FR", "GB", "IN", "BR", "JP", "ES", "IT", "NL",
                                      "SE", "PL", "CA", "MX", "AU", "KR"};

char* AppendInt(char* p, uint64_t v) { return std::to_chars(p, p + 24, v).ptr; }

// Writes v with exactly `digits` zero-padded decimal digits.
char* AppendPadded(char* p, uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + digits;
}

// Appends whole.frac with `decimals` fraction digits.
char* AppendFixed(char* p, uint64_t whole, uint64_t frac, int decimals) {
  p = AppendInt(p, whole);
  *p++ = '.';
  return AppendPadded(p, frac, decimals);
}

char* AppendString(char* p, const char* s) {
  size_t n = std::strlen(s);
  std::memcpy(p, s, n);
  return p + n;
}

bool WriteAll(const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(1, data, size);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: gen_csv BYTES SEED\n");
    return 2;
  }
  const uint64_t target = std::strtoull(argv[1], nullptr, 10);
  SplitMix64 rng{std::strtoull(argv[2], nullptr, 10)};

  static char buffer[1 << 20];
  char* p = buffer;
  p = AppendString(p,
                   "transaction_id,event_time,user_id,merchant_id,amount,fraud_score,category,"
                   "country,is_fraud\n");
  uint64_t written = 0;
  uint64_t millis = 0;  // since 2024-01-01T00:00:00Z
  for (uint64_t id = 1;; ++id) {
    if (p - buffer > static_cast<long>(sizeof(buffer)) - 256) {
      size_t n = static_cast<size_t>(p - buffer);
      if (written + n >= target) n = target - written;
      if (!WriteAll(buffer, n)) return 1;
      written += n;
      if (written >= target) return 0;
      p = buffer;
    }
    uint64_t r1 = rng.Next(), r2 = rng.Next();
    millis += r1 % 400;
    uint64_t secs = millis / 1000;
    uint64_t day = secs / 86400, sod = secs % 86400;
    // Written as if every month had 30 days: realistic enough for compression.
    p = AppendInt(p, id);
    *p++ = ',';
    p = AppendInt(p, 2024 + day / 360);
    *p++ = '-';
    p = AppendPadded(p, 1 + (day / 30) % 12, 2);
    *p++ = '-';
    p = AppendPadded(p, 1 + day % 30, 2);
    *p++ = 'T';
    p = AppendPadded(p, sod / 3600, 2);
    *p++ = ':';
    p = AppendPadded(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = AppendPadded(p, sod % 60, 2);
    *p++ = '.';
    p = AppendPadded(p, millis % 1000, 3);
    p = AppendString(p, "Z,");
    p = AppendInt(p, 100000 + (r1 >> 12) % 900000);
    *p++ = ',';
    p = AppendInt(p, 1000 + (r1 >> 32) % 9000);
    *p++ = ',';
    // Amounts skew small, like real spending.
    uint64_t cents = (r2 % 1000) * ((r2 >> 10) % 100 + 1) / 7;
    p = AppendFixed(p, cents / 100, cents % 100, 2);
    *p++ = ',';
    p = AppendFixed(p, 0, (r2 >> 20) % 1000000, 6);
    *p++ = ',';
    p = AppendString(p, kCategories[(r2 >> 40) % 20]);
    *p++ = ',';
    p = AppendString(p, kCountries[(r2 >> 48) % 16]);
    *p++ = ',';
    *p++ = ((r2 >> 56) % 97 == 0) ? '1' : '0';
    *p++ = '\n';
  }
}
