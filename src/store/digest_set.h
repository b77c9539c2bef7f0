#pragma once

// DigestSet: a hash set of object names. A SHA-256 is already uniformly distributed,
// so its first eight bytes are the hash.

#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "core/sha256.h"

namespace ferry::store {

struct DigestHash {
  size_t operator()(const core::Digest& digest) const {
    size_t hash;
    std::memcpy(&hash, digest.bytes().data(), sizeof(hash));
    return hash;
  }
};

using DigestSet = absl::flat_hash_set<core::Digest, DigestHash>;

}  // namespace ferry::store
