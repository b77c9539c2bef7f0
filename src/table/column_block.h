#pragma once

// Column blocks: a set of ColumnArrays (each of its own length) as one flat byte string, for
// storing columnar data in the object store (the feature store's join-ready tables).
// The layout (docs/column-block-format.md) is little-endian and copy-friendly: each
// column's validity bytes, values and string offsets lie contiguous, so reading is a
// bounds check and a memcpy per array.
//
// Thread-safety: pure functions.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "table/record_batch.h"

namespace ferry::table {

// Serializes `columns`. InvalidArgument if a column's arrays do not match its type and
// size. A column of nulls only is stored as a flag.
absl::StatusOr<std::string> EncodeColumnBlock(const std::vector<ColumnArray>& columns);

// Parses a block. DataLoss naming what is wrong when the bytes are not a well-formed
// block (truncated, bad magic, offsets out of range).
absl::StatusOr<std::vector<ColumnArray>> DecodeColumnBlock(std::string_view bytes);

}  // namespace ferry::table
