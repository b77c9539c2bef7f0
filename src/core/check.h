#pragma once

// CHECK for states that cannot happen after start-up (a failed allocation of an
// OpenSSL context, a broken invariant). Never for user input: that gets a Status.
// Debian's Abseil (20220623) predates absl/log, hence this small macro.

#include <cstdio>
#include <cstdlib>

#define FERRY_CHECK(cond)                                                              \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "ferry: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)
