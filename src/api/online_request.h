#pragma once

// OnlineRequest: the body of POST /api/v1/features/online (Feast's get-online-features
// request), parsed and checked, and its entities converted to typed join key columns.
// Parsing uses simdjson's DOM parser, one per thread, reused: a steady stream of requests
// parses without allocating.
//
// Thread-safety: ParseOnlineRequest uses the calling thread's parser; the request it
// returns refers into it and is valid until that thread parses again.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "features/online_features.h"
#include "simdjson.h"

namespace ferry::api {

struct OnlineRequest {
  std::vector<std::string_view> features;  // "view:feature"; empty when a service is named
  std::string_view feature_service;
  bool full_feature_names = false;
  simdjson::dom::object entities;  // an object of arrays, in the request's order

  // The features asked for, as a cache key for the resolved query.
  std::string CacheKey() const;
};

// Parses `body`, which must have room for simdjson::SIMDJSON_PADDING bytes after its end
// (reserve them: the server keeps a body's capacity across requests). Errors:
// InvalidArgument naming the field for a body that is not a JSON object, an unknown field,
// both or neither of "features" and "feature_service", fields of the wrong JSON type, or
// "entities" missing or not an object of arrays.
absl::StatusOr<OnlineRequest> ParseOnlineRequest(std::string& body);

// Converts the entities to one column per join key, in the request's order, into `out`
// (reused). Errors: InvalidArgument naming the key for a key the query does not need, a
// missing join key, a value whose JSON type does not match the key's type (with its
// index), or lists of different lengths; ResourceExhausted when a list is longer than
// `max_rows`.
absl::Status ConvertEntities(const simdjson::dom::object& entities,
                             const features::OnlineQuery& query, size_t max_rows,
                             std::vector<features::EntityKeyValues>& out);

}  // namespace ferry::api
