#pragma once

// TreeEnsemble: ferry's own evaluator of an additive ensemble of binary decision trees
// with numerical splits (XGBoost's gbtree; xgboost_trees.h builds one from a saved
// model). It exists for latency: libxgboost's in-place predict spends ~24 us on a
// single row whatever the model, while walking 100 trees of depth 6 takes about 1 us.
//
// Evaluation is XGBoost's, value for value: a row goes to the left child when
// value < threshold (float compare) and to the child its split marks as default when the
// value is NaN (missing); each output group's margin starts at base_margin and adds its
// trees' leaf values in float32, in tree order; then the output transform applies.
//
// Layout: every node of every tree in one contiguous array of 16-byte nodes, each tree's
// nodes in breadth-first order with the two children of a split side by side (right =
// left + 1). A leaf points at itself (its threshold is NaN and its default is right), so
// a walk takes a fixed number of steps per tree with no test for leaves, and several
// trees are walked at once for one row to overlap their memory loads.
//
// Thread-safety: immutable after Create; Predict may run from any number of threads.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::serving {

// What turns the per-group margins into Predict's outputs.
enum class OutputTransform {
  kIdentity,  // one output per group, the margin itself
  kSigmoid,   // 1 / (1 + exp(-margin)), one group
  kExp,       // exp(margin), one group (log-link objectives)
  kSoftmax,   // one probability per group
  kArgMax,    // one output: the index of the largest margin (first on ties), as a float
};

// One tree as XGBoost stores it: parallel arrays indexed by node id, root at 0,
// left[i] == right[i] == -1 for a leaf, whose value is in threshold[i].
struct TreeSpec {
  std::vector<int32_t> left;
  std::vector<int32_t> right;
  std::vector<int32_t> feature;
  std::vector<float> threshold;  // split condition, or the leaf value for a leaf
  std::vector<uint8_t> default_left;
  int32_t group = 0;  // the output group the tree adds to
};

struct EnsembleSpec {
  int64_t num_features = 0;
  int32_t num_groups = 1;
  float base_margin = 0.0f;  // already a margin (XGBoost's ProbToMargin applied)
  OutputTransform transform = OutputTransform::kIdentity;
  std::vector<TreeSpec> trees;
};

class TreeEnsemble {
 public:
  // Lays out spec's trees. Errors: InvalidArgument naming the tree and node when a
  // tree is not a well-formed binary tree (a child index out of range, a node reached
  // twice, a leaf with one child, a feature index outside [0, num_features), a group
  // outside [0, num_groups)), or the transform does not fit num_groups.
  static absl::StatusOr<TreeEnsemble> Create(const EnsembleSpec& spec);

  int64_t num_features() const { return num_features_; }
  // Values per row in Predict's output: num_groups, or 1 for kArgMax.
  int64_t num_outputs() const { return num_outputs_; }
  size_t num_trees() const { return roots_.size(); }

  // Predicts rows.size() / num_features rows into out. The caller guarantees the sizes
  // (rows a multiple of num_features, out exactly rows * num_outputs).
  void Predict(std::span<const float> rows, std::span<float> out) const;

  // `count` rows (count * num_features values) that exercise the trees' decisions, for
  // checking this evaluator against another: per feature, values at, just below and
  // just above the thresholds the trees split it on, NaN, +-infinity (libxgboost's
  // in-place predict takes them as values) and values spread over and beyond the
  // thresholds' range; the first row is all NaN. Deterministic in seed.
  std::vector<float> ProbeRows(int count, uint64_t seed) const;

 private:
  // 16 bytes, four to a cache line. For a leaf: threshold NaN, feature 0 with the
  // default bit clear and left == own index - 1, so every step stays on it.
  struct Node {
    float threshold;
    uint32_t feature;  // feature index; kDefaultLeft set when a missing value goes left
    uint32_t left;     // index of the left child in nodes_; the right one is left + 1
    float leaf_value;
  };
  static constexpr uint32_t kDefaultLeft = 0x80000000u;

  // Trees are walked kLanes at a time; steps_[c] is the largest depth in chunk c.
  static constexpr size_t kLanes = 8;

  TreeEnsemble() = default;
  // Appends one tree's nodes; returns its depth (the steps a walk takes to its leaves).
  absl::StatusOr<uint32_t> AddTree(const TreeSpec& tree, size_t index, int32_t num_groups);
  static uint32_t Next(const Node& node, const float* row);
  void PredictRow(const float* row, float* margins) const;
  void Transform(float* margins, float* out) const;

  int64_t num_features_ = 0;
  int64_t num_outputs_ = 1;
  int32_t num_groups_ = 1;
  float base_margin_ = 0.0f;
  OutputTransform transform_ = OutputTransform::kIdentity;
  std::vector<Node> nodes_;
  std::vector<uint32_t> roots_;   // per tree, its root's index in nodes_
  std::vector<uint32_t> groups_;  // per tree, its output group
  std::vector<uint32_t> steps_;   // per chunk of kLanes trees
  uint32_t idle_leaf_ = 0;        // a leaf of value 0 that pads the last chunk
};

}  // namespace ferry::serving
