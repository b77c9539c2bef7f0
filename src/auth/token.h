#pragma once

// API tokens: their scopes, their text form, and how a presented token is checked
// against what is stored.
//
// A token reads "ferry_<id>_<secret>": the id (12 hex digits) names the stored record
// and may be shown and logged; the secret (64 hex digits, 256 random bits from OpenSSL's
// generator) is shown once, when the token is created, and is stored only as
// SHA-256(salt || secret) with a 16-byte random salt of its own. Secrets of 256 random
// bits cannot be guessed, so a fast hash is enough (a slow password hash guards
// low-entropy secrets, which these are not); the salt keeps two stores' hashes of the
// same secret apart. Comparison is constant-time (CRYPTO_memcmp).
//
// Thread-safety: functions are stateless.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ferry::auth {

// What a route needs and what a token grants, as bits.
enum Scope : uint8_t {
  kScopeRead = 1,     // GET routes: registry, runs, datasets, metrics
  kScopePredict = 2,  // inference, online feature lookups, feedback
  kScopeWrite = 4,    // every other mutation
  kScopeAdmin = 8,    // tokens, the audit log, deletions
};
using ScopeSet = uint8_t;

// A token's scope names one level; each level grants the bits of those below it except
// that read and predict are separate: "read" {read}, "predict" {predict}, "write"
// {read, predict, write}, "admin" everything.
absl::StatusOr<ScopeSet> GrantedBy(std::string_view level);
// "read", "predict", "write" or "admin" for the bit (one bit only).
std::string_view ScopeName(Scope scope);
// The names of a set's bits, "read|predict" style (for messages).
std::string ScopeSetNames(ScopeSet scopes);

struct NewToken {
  std::string id;          // 12 hex digits
  std::string text;        // the whole token; shown once
  std::string salt_hex;    // 32 hex digits
  std::string digest_hex;  // SHA-256(salt || secret), 64 hex digits
};
// A fresh token from OpenSSL's random generator. Internal if it fails.
absl::StatusOr<NewToken> GenerateToken();

struct PresentedToken {
  std::string_view id;
  std::string_view secret;
};
// Splits a token's text; nullopt unless it has the form above exactly.
std::optional<PresentedToken> ParseToken(std::string_view text);

// Whether `secret` hashes, with `salt_hex`, to `digest_hex`, compared in constant time.
// False also when the stored values are malformed.
bool SecretMatches(std::string_view secret, std::string_view salt_hex, std::string_view digest_hex);

// The token in an "Authorization: Bearer TOKEN" header value (case-insensitive scheme,
// one or more spaces); nullopt when the value is not of that form.
std::optional<std::string_view> BearerToken(std::string_view authorization);

}  // namespace ferry::auth
