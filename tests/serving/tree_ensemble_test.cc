// TreeEnsemble (ferry's tree walker) on hand-made trees, against a plain recursive
// walk, and EnsembleSpecFromXGBoostUbjson on what it must refuse.

#include "serving/tree_ensemble.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "core/strings.h"
#include "serving/xgboost_trees.h"

namespace ferry::serving {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// A stump: feature < threshold ? left_value : right_value, missing to the default side.
TreeSpec Stump(int32_t feature, float threshold, float left_value, float right_value,
               bool default_left, int32_t group = 0) {
  TreeSpec tree;
  tree.left = {1, -1, -1};
  tree.right = {2, -1, -1};
  tree.feature = {feature, 0, 0};
  tree.threshold = {threshold, left_value, right_value};
  tree.default_left = {static_cast<uint8_t>(default_left), 0, 0};
  tree.group = group;
  return tree;
}

TreeSpec Leaf(float value, int32_t group = 0) {
  TreeSpec tree;
  tree.left = {-1};
  tree.right = {-1};
  tree.feature = {0};
  tree.threshold = {value};
  tree.default_left = {0};
  tree.group = group;
  return tree;
}

std::vector<float> Predict(const TreeEnsemble& trees, const std::vector<float>& rows) {
  std::vector<float> out(rows.size() / trees.num_features() * trees.num_outputs());
  trees.Predict(rows, out);
  return out;
}

TEST(TreeEnsembleTest, ValueBelowThresholdGoesLeftAndEqualGoesRight) {
  EnsembleSpec spec;
  spec.num_features = 1;
  spec.trees = {Stump(0, 0.5f, -1.0f, 1.0f, true)};
  absl::StatusOr<TreeEnsemble> trees = TreeEnsemble::Create(spec);
  ASSERT_TRUE(trees.ok()) << trees.status();
  EXPECT_EQ(Predict(*trees, {std::nextafter(0.5f, 0.0f), 0.5f, std::nextafter(0.5f, 1.0f)}),
            (std::vector<float>{-1.0f, 1.0f, 1.0f}));
}

TEST(TreeEnsembleTest, MissingValueFollowsTheDefaultBranch) {
  EnsembleSpec spec;
  spec.num_features = 2;
  spec.trees = {Stump(0, 0.5f, 1.0f, 2.0f, true), Stump(1, 0.5f, 10.0f, 20.0f, false)};
  absl::StatusOr<TreeEnsemble> trees = TreeEnsemble::Create(spec);
  ASSERT_TRUE(trees.ok()) << trees.status();
  EXPECT_EQ(Predict(*trees, {kNaN, kNaN, 0.0f, 0.0f, 1.0f, 1.0f}),
            (std::vector<float>{21.0f, 11.0f, 22.0f}));
}

TEST(TreeEnsembleTest, LeavesAddUpInFloatInTreeOrderFromTheBaseMargin) {
  EnsembleSpec spec;
  spec.num_features = 1;
  spec.base_margin = 1e8f;
  // In float, 1e8 + 1 is 1e8, so the 1 is lost; a double sum would keep it.
  spec.trees = {Leaf(1.0f), Leaf(-1e8f)};
  absl::StatusOr<TreeEnsemble> trees = TreeEnsemble::Create(spec);
  ASSERT_TRUE(trees.ok()) << trees.status();
  EXPECT_EQ(Predict(*trees, {0.0f}), std::vector<float>{0.0f});
}

TEST(TreeEnsembleTest, TransformsTurnMarginsIntoOutputs) {
  const auto make = [](OutputTransform transform, int32_t groups, std::vector<TreeSpec> trees) {
    EnsembleSpec spec;
    spec.num_features = 1;
    spec.num_groups = groups;
    spec.transform = transform;
    spec.trees = std::move(trees);
    absl::StatusOr<TreeEnsemble> ensemble = TreeEnsemble::Create(spec);
    EXPECT_TRUE(ensemble.ok()) << ensemble.status();
    return Predict(*ensemble, {0.0f});
  };
  EXPECT_FLOAT_EQ(make(OutputTransform::kSigmoid, 1, {Leaf(0.0f)})[0], 0.5f);
  EXPECT_FLOAT_EQ(make(OutputTransform::kExp, 1, {Leaf(1.0f)})[0], std::exp(1.0f));
  const std::vector<float> soft =
      make(OutputTransform::kSoftmax, 3, {Leaf(1.0f, 0), Leaf(2.0f, 1), Leaf(2.0f, 2)});
  ASSERT_EQ(soft.size(), 3u);
  EXPECT_NEAR(soft[0] + soft[1] + soft[2], 1.0f, 1e-6);
  EXPECT_EQ(soft[1], soft[2]);
  // Ties go to the first class, as XGBoost's FindMaxIndex does.
  EXPECT_EQ(make(OutputTransform::kArgMax, 3, {Leaf(1.0f, 0), Leaf(2.0f, 1), Leaf(2.0f, 2)}),
            std::vector<float>{1.0f});
}

TEST(TreeEnsembleTest, MalformedTreesAreInvalidArgument) {
  const auto with = [](auto change) {
    TreeSpec tree = Stump(0, 0.5f, 1.0f, 2.0f, true);
    change(tree);
    EnsembleSpec spec;
    spec.num_features = 2;
    spec.trees = {tree};
    return TreeEnsemble::Create(spec).status().code();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(with([](TreeSpec& t) { t.left[0] = 7; }), kInvalid);           // child out of range
  EXPECT_EQ(with([](TreeSpec& t) { t.left[0] = 0; }), kInvalid);           // a cycle to the root
  EXPECT_EQ(with([](TreeSpec& t) { t.right[0] = 1; }), kInvalid);          // both children the same
  EXPECT_EQ(with([](TreeSpec& t) { t.right[1] = 2; }), kInvalid);          // a leaf with one child
  EXPECT_EQ(with([](TreeSpec& t) { t.feature[0] = 2; }), kInvalid);        // feature out of range
  EXPECT_EQ(with([](TreeSpec& t) { t.group = 1; }), kInvalid);             // group out of range
  EXPECT_EQ(with([](TreeSpec& t) { t.threshold.pop_back(); }), kInvalid);  // ragged arrays
  EXPECT_EQ(with([](TreeSpec&) {}), absl::StatusCode::kOk);
}

// A random tree of up to `depth` levels, leaves at uneven depths.
TreeSpec RandomTree(std::mt19937& random, int features, int depth, int32_t group) {
  TreeSpec tree;
  const auto add = [&](auto& self, int level) -> int32_t {
    const auto id = static_cast<int32_t>(tree.left.size());
    tree.left.push_back(-1);
    tree.right.push_back(-1);
    tree.feature.push_back(static_cast<int32_t>(random() % features));
    tree.threshold.push_back(static_cast<float>(random() % 2000) / 1000.0f - 1.0f);
    tree.default_left.push_back(random() % 2);
    if (level < depth && random() % 4 != 0) {
      const int32_t left = self(self, level + 1);
      const int32_t right = self(self, level + 1);
      tree.left[id] = left;
      tree.right[id] = right;
    }
    return id;
  };
  add(add, 0);
  tree.group = group;
  return tree;
}

float Walk(const TreeSpec& tree, const float* row) {
  int32_t at = 0;
  while (tree.left[at] != -1) {
    const float value = row[tree.feature[at]];
    const bool left = std::isnan(value) ? tree.default_left[at] != 0 : value < tree.threshold[at];
    at = left ? tree.left[at] : tree.right[at];
  }
  return tree.threshold[at];
}

TEST(TreeEnsembleTest, MatchesAPlainWalkOnRandomTreesOfUnevenDepth) {
  std::mt19937 random(7);
  EnsembleSpec spec;
  spec.num_features = 5;
  spec.num_groups = 3;
  spec.base_margin = 0.25f;
  for (int t = 0; t < 27; ++t) spec.trees.push_back(RandomTree(random, 5, 1 + t % 9, t % 3));
  absl::StatusOr<TreeEnsemble> trees = TreeEnsemble::Create(spec);
  ASSERT_TRUE(trees.ok()) << trees.status();
  const std::vector<float> rows = trees->ProbeRows(300, 11);
  const std::vector<float> out = Predict(*trees, rows);
  for (size_t r = 0; r < 300; ++r) {
    float expected[3] = {0.25f, 0.25f, 0.25f};
    for (const TreeSpec& tree : spec.trees) expected[tree.group] += Walk(tree, &rows[r * 5]);
    for (int g = 0; g < 3; ++g) ASSERT_EQ(out[r * 3 + g], expected[g]) << "row " << r;
  }
}

TEST(TreeEnsembleTest, ProbeRowsStartAllMissingAndHitThresholdsExactly) {
  EnsembleSpec spec;
  spec.num_features = 3;
  spec.trees = {Stump(1, 0.125f, 1.0f, 2.0f, true)};
  absl::StatusOr<TreeEnsemble> trees = TreeEnsemble::Create(spec);
  ASSERT_TRUE(trees.ok()) << trees.status();
  const std::vector<float> rows = trees->ProbeRows(100, 3);
  ASSERT_EQ(rows.size(), 300u);
  EXPECT_TRUE(std::isnan(rows[0]) && std::isnan(rows[1]) && std::isnan(rows[2]));
  int at = 0, below = 0, above = 0;
  for (size_t r = 1; r < 100; ++r) {
    const float v = rows[r * 3 + 1];
    at += v == 0.125f;
    below += v == std::nextafter(0.125f, 0.0f);
    above += v == std::nextafter(0.125f, 1.0f);
  }
  EXPECT_GT(at, 0);
  EXPECT_GT(below, 0);
  EXPECT_GT(above, 0);
  // Deterministic in its seed (compared as bytes: NaN != NaN).
  const std::vector<float> again = trees->ProbeRows(100, 3);
  EXPECT_EQ(std::memcmp(again.data(), rows.data(), rows.size() * sizeof(float)), 0);
}

// The smallest XGBoost 1.7 model around one tree, as UBJSON; `booster`, `objective` and
// the tree's fields varied by the tests.
std::string Model(std::string_view booster, std::string_view objective,
                  std::string_view extra_tree_fields = "") {
  const std::string json = core::Cat(
      R"({"learner": {"gradient_booster": {"name": ")", booster,
      R"(", "model": {"tree_info": [0], "trees": [{"left_children": [1, -1, -1],)",
      R"( "right_children": [2, -1, -1], "split_indices": [0, 0, 0],)",
      R"( "split_conditions": [0.5, -1.0, 1.0], "default_left": [1, 0, 0])", extra_tree_fields,
      R"(}]}}, "objective": {"name": ")", objective, R"("}, "learner_model_param":)",
      R"( {"base_score": "5E-1", "num_class": "0", "num_feature": "2", "num_target": "1"}}})");
  const std::vector<uint8_t> ubjson = nlohmann::json::to_ubjson(nlohmann::json::parse(json));
  return std::string(ubjson.begin(), ubjson.end());
}

TEST(XGBoostTreeUbjsonTest, ReadsAGbtreeModelWithItsBaseMargin) {
  absl::StatusOr<EnsembleSpec> spec =
      EnsembleSpecFromXGBoostUbjson(Model("gbtree", "binary:logistic"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->num_features, 2);
  EXPECT_EQ(spec->transform, OutputTransform::kSigmoid);
  EXPECT_EQ(spec->base_margin, 0.0f);  // logit(0.5)
  ASSERT_EQ(spec->trees.size(), 1u);
  EXPECT_EQ(spec->trees[0].threshold, (std::vector<float>{0.5f, -1.0f, 1.0f}));
}

TEST(XGBoostTreeUbjsonTest, WhatItDoesNotEvaluateIsUnimplemented) {
  const auto kUnimplemented = absl::StatusCode::kUnimplemented;
  EXPECT_EQ(EnsembleSpecFromXGBoostUbjson(Model("dart", "binary:logistic")).status().code(),
            kUnimplemented);
  EXPECT_EQ(EnsembleSpecFromXGBoostUbjson(Model("gbtree", "survival:cox")).status().code(),
            kUnimplemented);
  EXPECT_EQ(EnsembleSpecFromXGBoostUbjson(
                Model("gbtree", "reg:squarederror", R"(, "split_type": [1, 0, 0])"))
                .status()
                .code(),
            kUnimplemented);
  EXPECT_EQ(EnsembleSpecFromXGBoostUbjson("{not ubjson").status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<uint8_t> empty_learner = nlohmann::json::to_ubjson({{"learner", {}}});
  EXPECT_EQ(EnsembleSpecFromXGBoostUbjson(std::string(empty_learner.begin(), empty_learner.end()))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry::serving
