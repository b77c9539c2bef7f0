#pragma once

// How the built-in steps name themselves in errors: every error a step returns starts
// with "step ID: ", whether it made the error itself or passes on a store's. (The
// context's own errors and the param readers' already do; they are left as they are.)
//
// Thread-safety: pure functions.

#include <string_view>

#include "absl/status/status.h"
#include "core/status.h"
#include "core/strings.h"
#include "pipeline/step_context.h"

namespace ferry::pipeline {

// `status` with "step ID: " before its message unless it starts so already; OK stays OK.
inline absl::Status NameStep(const StepContext& context, const absl::Status& status) {
  if (status.ok()) return status;
  const std::string prefix = core::Cat("step ", context.step().id, ": ");
  const std::string_view message = core::View(status.message());
  if (message.starts_with(prefix)) return status;
  return absl::Status(status.code(), core::Cat(prefix, message));
}

// InvalidArgument "step ID: <what>".
template <typename... Args>
absl::Status StepInvalid(const StepContext& context, const Args&... what) {
  return absl::InvalidArgumentError(core::Cat("step ", context.step().id, ": ", what...));
}

}  // namespace ferry::pipeline

// ASSIGN_OR_RETURN / RETURN_IF_ERROR for a step: the error named by NameStep. `context`
// must be a StepContext in scope.
#define STEP_RETURN_IF_ERROR(context, expr)                              \
  do {                                                                   \
    ::absl::Status ferry_step_status_ = (expr);                          \
    if (!ferry_step_status_.ok()) {                                      \
      return ::ferry::pipeline::NameStep((context), ferry_step_status_); \
    }                                                                    \
  } while (0)

#define FERRY_STEP_ASSIGN_OR_RETURN_IMPL(tmp, context, lhs, expr)             \
  auto tmp = (expr);                                                          \
  if (!tmp.ok()) return ::ferry::pipeline::NameStep((context), tmp.status()); \
  lhs = std::move(tmp).value()

#define STEP_ASSIGN_OR_RETURN(context, lhs, expr)                                                \
  FERRY_STEP_ASSIGN_OR_RETURN_IMPL(FERRY_STATUS_CONCAT(ferry_step_statusor_, __LINE__), context, \
                                   lhs, expr)
