#pragma once

// Pieces shared by the v1 and v2 decoders (inference_codec*.cc); not for other callers.
//
// Thread-safety: ParseJson keeps one parser and one padded copy of the input per thread;
// the element it returns is valid until the thread's next ParseJson.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "serving/inference_codec.h"
#include "simdjson.h"

namespace ferry::serving::codec_internal {

// Parses `json` with the thread's reused parser (copying it into a reused padded buffer).
// Errors: InvalidArgument with simdjson's error text and, where it can be found, the byte
// offset of the error.
absl::StatusOr<simdjson::dom::element> ParseJson(std::string_view json);

// A short rendering of a JSON value for messages.
std::string Shown(simdjson::dom::element value);

// One tensor element, whichever way it came.
struct Scalar {
  double number = 0;           // every non-BYTES type
  int64_t integer = 0;         // when has_integer
  bool has_integer = false;    // integral datatypes and BOOL, when the value fits int64
  std::string_view text;       // BYTES
};

// key == want, for a literal `want`: the fixed-size comparison compiles to a load or two
// instead of a call to memcmp (keys are compared for every field of every input).
template <size_t N>
bool KeyIs(std::string_view key, const char (&want)[N]) {
  return key.size() == N - 1 && std::memcmp(key.data(), want, N - 1) == 0;
}

bool IsIntegral(DataType type);  // BOOL, INT*, UINT*
// Bytes per element in the binary extension; 0 for BYTES (length-prefixed).
size_t ElementSize(DataType type);

// Checks one JSON value of a v2 tensor against `type` and fills `out`. Returns what is
// wrong ("expected an integer", ...), or nullptr.
const char* ReadJsonValue(simdjson::dom::element value, DataType type, Scalar& out);

// Reads one fixed-size element of a binary tensor (little-endian) starting at `bytes`.
Scalar ReadBinaryValue(const char* bytes, DataType type);

}  // namespace ferry::serving::codec_internal
