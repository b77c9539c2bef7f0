#pragma once

// The built-in steps' catalog: for each `uses:` step, the inputs it reads (required or
// optional), the outputs it makes (and what kind of value each is), the params it takes
// with their defaults, and whether its result may come from the run cache. The spec
// parser checks steps against it (an unknown param or input is an error naming the
// step); the executor uses it to know what each output is. The steps themselves are in
// builtin_steps.h; docs/pipelines.md describes each.
//
// Thread-safety: constant data.

#include <map>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "pipeline/pipeline_spec.h"

namespace ferry::pipeline {

// What flows along a DAG edge.
enum class ValueKind : uint8_t {
  kDataset,  // a dataset version, "NAME@N"
  kFile,     // a file stored in the object store as an artifact of the producing run
  kModel,    // a registered model version, "NAME@V"
};
std::string_view ValueKindName(ValueKind kind);

struct BuiltinInput {
  std::string_view name;
  bool required = true;
  std::string_view what;  // one line for messages and docs
};

struct BuiltinOutput {
  std::string_view name;
  ValueKind kind = ValueKind::kFile;
  std::string_view what;
};

struct BuiltinParam {
  std::string_view name;
  std::string_view default_value;  // "" with required false: no default (absent)
  bool required = false;
  std::string_view what;
};

struct BuiltinDefinition {
  BuiltinStep step;
  std::span<const BuiltinInput> inputs;
  std::span<const BuiltinOutput> outputs;
  std::span<const BuiltinParam> params;
  // Whether an unchanged definition, params and inputs may reuse recorded outputs.
  // False for steps whose point is a side effect each time (deploy-canary) or whose
  // result depends on state no input names (evaluate's production baseline).
  bool cacheable = true;
  // Params whose names start with one of these are accepted too (evaluate's "min_" and
  // "max_" floors, deploy-canary's "policy." keys).
  std::span<const std::string_view> param_prefixes;
};

const BuiltinDefinition& BuiltinDefinitionOf(BuiltinStep step);

// The built-in's params that have a default, with it: what a step's params start from.
std::map<std::string, std::string> BuiltinDefaultParams(BuiltinStep step);

// Checks a `uses:` step against its definition and fills in what the spec may leave
// out: with no `outputs:` the step declares all of the built-in's outputs. Errors
// (InvalidArgument, without the file/line prefix, which the parser adds): an input or
// param the built-in does not take, a missing required input or param, an output it
// does not make.
absl::Status CheckBuiltinStep(StepSpec& step);

}  // namespace ferry::pipeline
