#pragma once

// PathSegments: a request path split on '/' and percent-decoded segment by segment,
// the form the Router matches against. Splitting before decoding keeps an encoded
// "%2F" inside one segment, where SplitPath then rejects it (see router.h for the
// full rules and why).
//
// Thread-safety: a value type; the Router keeps one per thread and reuses its storage.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace ferry::server {

struct PathSegments {
  // Views into the raw path (segments without '%') or into `decoded`.
  std::vector<std::string_view> segments;
  std::string decoded;
};

// Fills out from raw_path ("/a/b%20c" -> {"a", "b c"}; "/" -> {}; "/a/" -> {"a", ""}).
// The views stay valid while raw_path's storage and out are unchanged.
// InvalidArgument when raw_path does not start with '/', has a malformed escape, or a
// segment that is ".", "..", holds '/' or a control character once decoded, or is not
// UTF-8.
absl::Status SplitPath(std::string_view raw_path, PathSegments& out);

}  // namespace ferry::server
