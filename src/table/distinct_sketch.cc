#include "table/distinct_sketch.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/strings.h"

namespace ferry::table {
namespace {

constexpr int kMaxRank = 64 - DistinctSketch::kPrecision + 1;

// sigma and tau from Ertl (2017), section 4: corrections for registers at 0 and at the
// maximum rank, evaluated as series until they stop changing.
double Sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0;
  double z = x;
  double previous;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (z != previous);
  return z;
}

double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  double previous;
  do {
    x = std::sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
  } while (z != previous);
  return z / 3.0;
}

}  // namespace

void DistinctSketch::AddExact(uint64_t hash) {
  if (hash == kEmpty) {
    if (!has_zero_) {
      has_zero_ = true;
      ++exact_count_;
    }
  } else {
    if (table_.empty()) table_.assign(32, kEmpty);
    const size_t mask = table_.size() - 1;
    const uint64_t* const table = table_.data();
    size_t slot = hash & mask;
    // Four slots per step: nearly every lookup of a value already there ends within
    // four, in one well-predicted test (a probe of uncertain length mispredicts its
    // exit; the table may be half full).
    while (true) {
      const uint64_t s0 = table[slot];
      const uint64_t s1 = table[(slot + 1) & mask];
      const uint64_t s2 = table[(slot + 2) & mask];
      const uint64_t s3 = table[(slot + 3) & mask];
      // Never past an empty slot: a value sits before the first empty one after its own.
      if ((s0 == hash) | (s1 == hash) | (s2 == hash) | (s3 == hash)) return;
      if (s0 == kEmpty) break;
      slot = (slot + 1) & mask;
      if (s1 == kEmpty) break;
      slot = (slot + 1) & mask;
      if (s2 == kEmpty) break;
      slot = (slot + 1) & mask;
      if (s3 == kEmpty) break;
      slot = (slot + 1) & mask;
    }
    table_[slot] = hash;
    ++exact_count_;
    if (exact_count_ * 2 > table_.size() && exact_count_ <= kExactLimit) {
      std::vector<uint64_t> old;
      old.swap(table_);
      table_.assign(old.size() * 2, kEmpty);
      for (uint64_t h : old) {
        if (h != kEmpty) InsertIntoTable(h);
      }
    }
  }
  if (exact_count_ > kExactLimit) SwitchToRegisters();
}

void DistinctSketch::InsertIntoTable(uint64_t hash) {
  const size_t mask = table_.size() - 1;
  size_t slot = hash & mask;
  while (table_[slot] != kEmpty) slot = (slot + 1) & mask;
  table_[slot] = hash;
}

void DistinctSketch::SwitchToRegisters() {
  registers_.assign(kRegisters, 0);
  for (uint64_t h : table_) {
    if (h != kEmpty) AddToRegisters(h);
  }
  if (has_zero_) AddToRegisters(0);
  std::vector<uint64_t>().swap(table_);
  exact_count_ = 0;
  has_zero_ = false;
}

void DistinctSketch::Merge(const DistinctSketch& other) {
  if (other.registers_.empty()) {
    for (uint64_t h : other.ExactHashes()) Add(h);
    return;
  }
  if (registers_.empty()) SwitchToRegisters();
  for (size_t i = 0; i < kRegisters; ++i) {
    registers_[i] = std::max(registers_[i], other.registers_[i]);
  }
}

double DistinctSketch::Estimate() const {
  if (registers_.empty()) return static_cast<double>(exact_count_);
  int histogram[kMaxRank + 1] = {};
  for (uint8_t r : registers_) ++histogram[r];
  const double m = static_cast<double>(kRegisters);
  double z = m * Tau(1.0 - histogram[kMaxRank] / m);
  for (int k = kMaxRank - 1; k >= 1; --k) z = 0.5 * (z + histogram[k]);
  z += m * Sigma(histogram[0] / m);
  constexpr double kAlphaInfinity = 0.5 / 0.69314718055994530942;  // 1 / (2 ln 2)
  return kAlphaInfinity * m * m / z;
}

std::vector<uint64_t> DistinctSketch::ExactHashes() const {
  std::vector<uint64_t> hashes;
  if (!registers_.empty()) return hashes;
  hashes.reserve(exact_count_);
  if (has_zero_) hashes.push_back(0);
  for (uint64_t h : table_) {
    if (h != kEmpty) hashes.push_back(h);
  }
  std::sort(hashes.begin(), hashes.end());
  return hashes;
}

absl::StatusOr<DistinctSketch> DistinctSketch::FromExactHashes(
    const std::vector<uint64_t>& hashes) {
  if (hashes.size() > kExactLimit) {
    return absl::InvalidArgumentError(
        core::Cat("distinct: ", hashes.size(), " exact hashes, more than ", kExactLimit));
  }
  DistinctSketch sketch;
  for (uint64_t h : hashes) sketch.Add(h);
  return sketch;
}

absl::StatusOr<DistinctSketch> DistinctSketch::FromRegisters(std::vector<uint8_t> registers) {
  if (registers.size() != kRegisters) {
    return absl::InvalidArgumentError(core::Cat("distinct: ", registers.size(),
                                                " registers, expected ", kRegisters));
  }
  for (uint8_t r : registers) {
    if (r > kMaxRank) return absl::InvalidArgumentError("distinct: register out of range");
  }
  DistinctSketch sketch;
  sketch.registers_ = std::move(registers);
  return sketch;
}

bool operator==(const DistinctSketch& a, const DistinctSketch& b) {
  if (a.registers_.empty() != b.registers_.empty()) return false;
  if (!a.registers_.empty()) return a.registers_ == b.registers_;
  return a.ExactHashes() == b.ExactHashes();
}

}  // namespace ferry::table
