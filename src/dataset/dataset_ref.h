#pragma once

// DatasetRef: how users name a dataset version: `NAME` (the latest version),
// `NAME@3` (version 3), `NAME@latest`, or `NAME@TAG` (a tag set with
// `ferry data tag`). Names and tags are validated here, once, so no user string
// reaches SQL or a path unchecked.
//
// Thread-safety: a value type.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ferry::dataset {

struct DatasetRef {
  std::string name;
  std::optional<int64_t> version;  // NAME@3
  std::optional<std::string> tag;  // NAME@production
  // Neither: the latest version.

  // "NAME@3", "NAME@tag" or "NAME" as the user wrote it (normalised).
  std::string ToString() const;
};

// Parses a reference. InvalidArgument naming the problem: an empty or too long
// name, characters outside [A-Za-z0-9._-], a name not starting with a letter or
// digit, a version that is not a positive integer, an empty or invalid tag.
absl::StatusOr<DatasetRef> ParseDatasetRef(std::string_view text);

// A dataset name: 1-128 characters of [A-Za-z0-9._-], starting with a letter or
// digit. InvalidArgument otherwise.
absl::Status ValidateDatasetName(std::string_view name);

// A tag: like a name, but not all digits (those are versions) and not "latest".
absl::Status ValidateTagName(std::string_view tag);

}  // namespace ferry::dataset
