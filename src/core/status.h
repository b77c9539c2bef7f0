#pragma once

// ferry's one error model: absl::Status and absl::StatusOr<T> everywhere, with two
// macros that let fallible code read in straight lines.
//
//   RETURN_IF_ERROR(store.Put(...));
//   ASSIGN_OR_RETURN(auto rows, tx.Query(sql, params));
//
// Libraries that throw (yaml-cpp, nlohmann-json) are caught in their adapter and
// turned into a Status there; exceptions never cross a subsystem boundary.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FERRY_STATUS_CONCAT_INNER(a, b) a##b
#define FERRY_STATUS_CONCAT(a, b) FERRY_STATUS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    ::absl::Status ferry_status_ = (expr);                     \
    if (!ferry_status_.ok()) return ferry_status_;             \
  } while (0)

#define FERRY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).status();    \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  FERRY_ASSIGN_OR_RETURN_IMPL(FERRY_STATUS_CONCAT(ferry_statusor_, __LINE__), lhs, expr)
