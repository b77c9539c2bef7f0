#include "serving/tree_ensemble.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::serving {
namespace {

using core::Cat;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
// Margins of up to this many groups live on the stack during Predict.
constexpr int32_t kStackGroups = 64;

// XGBoost 1.7's common::Sigmoid: the exponent is capped so that expf cannot overflow
// (which makes very negative margins give ~3e-39 rather than 0, as libxgboost does).
float Sigmoid(float margin) {
  const float exponent = std::min(-margin, 88.7f);
  return 1.0f / (std::exp(exponent) + 1.0f + 1e-16f);
}

}  // namespace

absl::StatusOr<TreeEnsemble> TreeEnsemble::Create(const EnsembleSpec& spec) {
  if (spec.num_features <= 0 || spec.num_features >= int64_t{kDefaultLeft}) {
    return absl::InvalidArgumentError(Cat("tree ensemble: bad feature count ", spec.num_features));
  }
  if (spec.num_groups < 1) {
    return absl::InvalidArgumentError(Cat("tree ensemble: bad group count ", spec.num_groups));
  }
  const bool one_group =
      spec.transform == OutputTransform::kSigmoid || spec.transform == OutputTransform::kExp;
  if (one_group && spec.num_groups != 1) {
    return absl::InvalidArgumentError(
        Cat("tree ensemble: a sigmoid or exp output needs one group, not ", spec.num_groups));
  }
  TreeEnsemble ensemble;
  ensemble.num_features_ = spec.num_features;
  ensemble.num_groups_ = spec.num_groups;
  ensemble.num_outputs_ = spec.transform == OutputTransform::kArgMax ? 1 : spec.num_groups;
  ensemble.base_margin_ = spec.base_margin;
  ensemble.transform_ = spec.transform;
  // The idle leaf comes first: index 0, so its "left" wraps to UINT32_MAX and its right
  // child (left + 1) is itself, like every other leaf's.
  ensemble.idle_leaf_ = 0;
  ensemble.nodes_.push_back(Node{kNaN, 0, std::numeric_limits<uint32_t>::max(), 0.0f});
  std::vector<uint32_t> depths;
  for (size_t t = 0; t < spec.trees.size(); ++t) {
    ASSIGN_OR_RETURN(const uint32_t depth, ensemble.AddTree(spec.trees[t], t, spec.num_groups));
    depths.push_back(depth);
  }
  for (size_t first = 0; first < depths.size(); first += kLanes) {
    const size_t last = std::min(depths.size(), first + kLanes);
    ensemble.steps_.push_back(*std::max_element(depths.begin() + first, depths.begin() + last));
  }
  return ensemble;
}

absl::StatusOr<uint32_t> TreeEnsemble::AddTree(const TreeSpec& tree, size_t index,
                                               int32_t num_groups) {
  const size_t size = tree.left.size();
  if (size == 0 || tree.right.size() != size || tree.feature.size() != size ||
      tree.threshold.size() != size || tree.default_left.size() != size) {
    return absl::InvalidArgumentError(
        Cat("tree ", index, ": node arrays are empty or of different lengths"));
  }
  if (tree.group < 0 || tree.group >= num_groups) {
    return absl::InvalidArgumentError(Cat("tree ", index, ": output group ", tree.group,
                                          " is not below the group count ", num_groups));
  }
  if (nodes_.size() + size >= std::numeric_limits<uint32_t>::max() / 2) {
    return absl::InvalidArgumentError("tree ensemble: too many nodes");
  }
  roots_.push_back(static_cast<uint32_t>(nodes_.size()));
  groups_.push_back(static_cast<uint32_t>(tree.group));
  // Breadth-first from the root: each node's children are given two adjacent slots at
  // the end of nodes_ and queued with their depth.
  struct Pending {
    int32_t id;
    uint32_t slot;
    uint32_t depth;
  };
  std::vector<Pending> queue = {{0, roots_.back(), 0}};
  std::vector<bool> seen(size, false);
  seen[0] = true;
  nodes_.emplace_back();
  uint32_t depth = 0;
  for (size_t next = 0; next < queue.size(); ++next) {
    const Pending at = queue[next];
    const int32_t left = tree.left[at.id];
    const int32_t right = tree.right[at.id];
    if (left == -1 && right == -1) {
      nodes_[at.slot] = Node{kNaN, 0, at.slot - 1, tree.threshold[at.id]};
      depth = std::max(depth, at.depth);
      continue;
    }
    const auto valid = [&](int32_t child) {
      return child >= 0 && static_cast<size_t>(child) < size && !seen[child];
    };
    if (!valid(left) || !valid(right) || left == right) {
      return absl::InvalidArgumentError(Cat("tree ", index, ", node ", at.id, ": children ", left,
                                            " and ", right, " do not form a tree"));
    }
    const int32_t feature = tree.feature[at.id];
    if (feature < 0 || feature >= num_features_) {
      return absl::InvalidArgumentError(Cat("tree ", index, ", node ", at.id,
                                            ": splits on feature ", feature, " of ",
                                            num_features_));
    }
    seen[left] = seen[right] = true;
    const auto child = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
    nodes_.emplace_back();
    const uint32_t default_bit = tree.default_left[at.id] != 0 ? kDefaultLeft : 0;
    nodes_[at.slot] =
        Node{tree.threshold[at.id], static_cast<uint32_t>(feature) | default_bit, child, 0.0f};
    queue.push_back({left, child, at.depth + 1});
    queue.push_back({right, child + 1, at.depth + 1});
  }
  return depth;
}

inline uint32_t TreeEnsemble::Next(const Node& node, const float* row) {
  const float value = row[node.feature & ~kDefaultLeft];
  const bool missing = std::isnan(value);
  const bool go_left = (value < node.threshold) | (missing & ((node.feature & kDefaultLeft) != 0));
  return node.left + (go_left ? 0u : 1u);
}

void TreeEnsemble::PredictRow(const float* row, float* margins) const {
  std::fill(margins, margins + num_groups_, base_margin_);
  const Node* nodes = nodes_.data();
  const size_t trees = roots_.size();
  for (size_t first = 0, chunk = 0; first < trees; first += kLanes, ++chunk) {
    const size_t lanes = std::min(kLanes, trees - first);
    uint32_t at[kLanes];
    for (size_t k = 0; k < kLanes; ++k) at[k] = k < lanes ? roots_[first + k] : idle_leaf_;
    // The lanes are independent chains of loads; the CPU overlaps them.
    for (uint32_t step = steps_[chunk]; step > 0; --step) {
      for (size_t k = 0; k < kLanes; ++k) at[k] = Next(nodes[at[k]], row);
    }
    // Added in tree order, as XGBoost does, so the float sums round the same way.
    for (size_t k = 0; k < lanes; ++k) margins[groups_[first + k]] += nodes[at[k]].leaf_value;
  }
}

void TreeEnsemble::Transform(float* margins, float* out) const {
  switch (transform_) {
    case OutputTransform::kIdentity:
      std::copy(margins, margins + num_groups_, out);
      return;
    case OutputTransform::kSigmoid:
      out[0] = Sigmoid(margins[0]);
      return;
    case OutputTransform::kExp:
      out[0] = std::exp(margins[0]);
      return;
    case OutputTransform::kSoftmax: {
      // XGBoost's common::Softmax: float exponents, summed in double.
      float largest = margins[0];
      for (int32_t g = 1; g < num_groups_; ++g) largest = std::fmax(margins[g], largest);
      double sum = 0.0;
      for (int32_t g = 0; g < num_groups_; ++g) {
        out[g] = std::exp(margins[g] - largest);
        sum += out[g];
      }
      for (int32_t g = 0; g < num_groups_; ++g) out[g] /= static_cast<float>(sum);
      return;
    }
    case OutputTransform::kArgMax: {
      int32_t best = 0;
      for (int32_t g = 1; g < num_groups_; ++g) {
        if (margins[g] > margins[best]) best = g;
      }
      out[0] = static_cast<float>(best);
      return;
    }
  }
}

void TreeEnsemble::Predict(std::span<const float> rows, std::span<float> out) const {
  float stack[kStackGroups];
  std::vector<float> heap;
  float* margins = stack;
  if (num_groups_ > kStackGroups) {
    heap.resize(num_groups_);
    margins = heap.data();
  }
  const size_t count = rows.size() / num_features_;
  for (size_t r = 0; r < count; ++r) {
    PredictRow(rows.data() + r * num_features_, margins);
    Transform(margins, out.data() + r * num_outputs_);
  }
}

std::vector<float> TreeEnsemble::ProbeRows(int count, uint64_t seed) const {
  std::vector<std::vector<float>> cuts(num_features_);
  for (const Node& node : nodes_) {
    if (!std::isnan(node.threshold)) cuts[node.feature & ~kDefaultLeft].push_back(node.threshold);
  }
  for (std::vector<float>& c : cuts) {
    std::sort(c.begin(), c.end());
    c.erase(std::unique(c.begin(), c.end()), c.end());
  }
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> rows(static_cast<size_t>(std::max(count, 0)) * num_features_, kNaN);
  for (size_t r = 1; r < static_cast<size_t>(std::max(count, 0)); ++r) {
    for (int64_t f = 0; f < num_features_; ++f) {
      const std::vector<float>& c = cuts[f];
      float& value = rows[r * num_features_ + f];
      const uint64_t kind = random() % 8;
      if (kind == 0) continue;  // missing
      if (c.empty()) {
        value = (unit(random) - 0.5f) * 200.0f;
        continue;
      }
      const float cut = c[random() % c.size()];
      const float span = std::max(1.0f, c.back() - c.front());
      switch (kind) {
        case 1:
          value = cut;
          break;
        case 2:
          value = std::nextafter(cut, -inf);
          break;
        case 3:
          value = std::nextafter(cut, inf);
          break;
        case 7:
          value = random() % 2 == 0 ? inf : -inf;
          break;
        default:
          value = c.front() - span + unit(random) * 3.0f * span;
          break;
      }
    }
  }
  return rows;
}

}  // namespace ferry::serving
