// DDSketch's byte format (docs/ddsketch-format.md) and its JSON summary.

#include <bit>
#include <limits>

#include "core/status.h"
#include "core/strings.h"
#include "stats/ddsketch.h"

namespace ferry::stats {
namespace {

constexpr char kMagic = 'D';
constexpr uint8_t kVersion = 1;
constexpr uint8_t kFlagCollapsed = 1;
// Bytes come from storage and may be damaged: refuse bucket limits that would make a
// reader allocate more than this (8 MiB of counts).
constexpr uint64_t kMaxSerializedBuckets = uint64_t{1} << 20;
// |key| stays below ~7.4e6 for any accepted accuracy (see kMinRelativeAccuracy).
constexpr int64_t kMaxAbsKey = int64_t{1} << 30;

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutDouble(std::string& out, double d) {
  const uint64_t bits = std::bit_cast<uint64_t>(d);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

// Reads the format's fields in order; every read fails cleanly on truncated input.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  absl::StatusOr<uint8_t> Byte() {
    if (pos_ >= bytes_.size()) return Truncated();
    return static_cast<uint8_t>(bytes_[pos_++]);
  }
  absl::StatusOr<uint64_t> Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      ASSIGN_OR_RETURN(const uint8_t b, Byte());
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    return absl::InvalidArgumentError("DDSketch bytes: varint longer than 64 bits");
  }
  absl::StatusOr<double> Double() {
    if (bytes_.size() - pos_ < 8) return Truncated();
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) {
      bits |= uint64_t{static_cast<uint8_t>(bytes_[pos_ + i])} << (8 * i);
    }
    pos_ += 8;
    return std::bit_cast<double>(bits);
  }
  bool done() const { return pos_ == bytes_.size(); }

 private:
  static absl::Status Truncated() {
    return absl::InvalidArgumentError("DDSketch bytes: truncated");
  }
  std::string_view bytes_;
  size_t pos_ = 0;
};

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(core::Cat("DDSketch bytes: ", what));
}

nlohmann::json OrNull(std::optional<double> v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

std::string DDSketch::ToBytes() const {
  std::string out;
  out.push_back(kMagic);
  out.push_back(static_cast<char>(kVersion));
  PutDouble(out, alpha_);
  PutVarint(out, static_cast<uint64_t>(max_buckets_));
  out.push_back(static_cast<char>(collapsed_ ? kFlagCollapsed : 0));
  PutVarint(out, zero_count_);
  PutVarint(out, rejected_count_);
  PutDouble(out, sum_);
  PutDouble(out, min_);
  PutDouble(out, max_);
  const int span = bucket_span();
  PutVarint(out, static_cast<uint64_t>(span));
  if (span > 0) {
    // Zigzag, so small negative keys (values below 1) stay short.
    const int64_t key = min_key_;
    PutVarint(out, (static_cast<uint64_t>(key) << 1) ^ static_cast<uint64_t>(key >> 63));
    for (int32_t k = min_key_; k <= max_key_; ++k) PutVarint(out, counts_[k - offset_]);
  }
  return out;
}

absl::StatusOr<DDSketch> DDSketch::FromBytes(std::string_view bytes) {
  Reader in(bytes);
  ASSIGN_OR_RETURN(const uint8_t magic, in.Byte());
  ASSIGN_OR_RETURN(const uint8_t version, in.Byte());
  if (magic != static_cast<uint8_t>(kMagic)) return Malformed("not a DDSketch");
  if (version != kVersion) return Malformed(core::Cat("unknown version ", int{version}));
  ASSIGN_OR_RETURN(const double alpha, in.Double());
  ASSIGN_OR_RETURN(const uint64_t max_buckets, in.Varint());
  if (max_buckets > kMaxSerializedBuckets) return Malformed("too many buckets");
  ASSIGN_OR_RETURN(DDSketch sketch, Create(alpha, static_cast<int>(max_buckets)));
  ASSIGN_OR_RETURN(const uint8_t flags, in.Byte());
  if ((flags & ~kFlagCollapsed) != 0) return Malformed("unknown flags");
  sketch.collapsed_ = (flags & kFlagCollapsed) != 0;
  ASSIGN_OR_RETURN(sketch.zero_count_, in.Varint());
  ASSIGN_OR_RETURN(sketch.rejected_count_, in.Varint());
  ASSIGN_OR_RETURN(sketch.sum_, in.Double());
  ASSIGN_OR_RETURN(sketch.min_, in.Double());
  ASSIGN_OR_RETURN(sketch.max_, in.Double());
  ASSIGN_OR_RETURN(const uint64_t span, in.Varint());
  if (span > max_buckets) return Malformed("more buckets than its limit");
  uint64_t count = sketch.zero_count_;
  if (span > 0) {
    ASSIGN_OR_RETURN(const uint64_t zigzag, in.Varint());
    const int64_t min_key = static_cast<int64_t>(zigzag >> 1) ^ -static_cast<int64_t>(zigzag & 1);
    if (min_key < -kMaxAbsKey || min_key > kMaxAbsKey) return Malformed("key out of range");
    sketch.counts_.assign(span, 0);
    sketch.offset_ = static_cast<int32_t>(min_key);
    sketch.min_key_ = sketch.offset_;
    sketch.max_key_ = static_cast<int32_t>(min_key + static_cast<int64_t>(span) - 1);
    for (uint64_t i = 0; i < span; ++i) {
      ASSIGN_OR_RETURN(sketch.counts_[i], in.Varint());
      if (__builtin_add_overflow(count, sketch.counts_[i], &count)) {
        return Malformed("counts overflow");
      }
    }
    if (sketch.counts_.front() == 0 || sketch.counts_.back() == 0) {
      return Malformed("bucket range does not start and end with a non-empty bucket");
    }
  }
  if (!in.done()) return Malformed("trailing bytes");
  sketch.count_ = count;
  if (count == 0 ? sketch.sum_ != 0 || sketch.min_ != std::numeric_limits<double>::infinity() ||
                       sketch.max_ != -std::numeric_limits<double>::infinity()
                 : !(sketch.min_ >= 0 && sketch.min_ <= sketch.max_ &&
                     sketch.max_ <= sketch.max_indexable_ && sketch.sum_ >= 0)) {
    return Malformed("sum, min and max do not match the counts");
  }
  return sketch;
}

nlohmann::json DDSketch::ToJson() const {
  return {
      {"relative_accuracy", alpha_},
      {"count", count_},
      {"sum", sum_},
      {"min", OrNull(min())},
      {"max", OrNull(max())},
      {"zero_count", zero_count_},
      {"rejected_count", rejected_count_},
      {"collapsed", collapsed_},
      {"quantiles",
       {{"p50", OrNull(Quantile(0.5))},
        {"p90", OrNull(Quantile(0.9))},
        {"p95", OrNull(Quantile(0.95))},
        {"p99", OrNull(Quantile(0.99))},
        {"p999", OrNull(Quantile(0.999))}}},
  };
}

}  // namespace ferry::stats
