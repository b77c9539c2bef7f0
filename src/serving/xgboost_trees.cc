#include "serving/xgboost_trees.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "core/strings.h"

namespace ferry::serving {
namespace {

using core::Cat;
using nlohmann::json;

// How an objective's base_score becomes the starting margin (XGBoost's ProbToMargin).
enum class Link { kIdentity, kLogit, kLog };

struct ObjectiveMath {
  OutputTransform transform;
  Link link;
};

// XGBoost 1.7's PredTransform and ProbToMargin per objective; nullopt for objectives
// ferry does not evaluate itself. binary:logitraw keeps base_score as the margin in
// 1.7 (its ProbToMargin is the identity), unlike binary:logistic.
std::optional<ObjectiveMath> MathOf(std::string_view objective) {
  if (objective == "binary:logistic" || objective == "reg:logistic") {
    return ObjectiveMath{OutputTransform::kSigmoid, Link::kLogit};
  }
  if (objective == "multi:softprob")
    return ObjectiveMath{OutputTransform::kSoftmax, Link::kIdentity};
  if (objective == "multi:softmax") return ObjectiveMath{OutputTransform::kArgMax, Link::kIdentity};
  if (objective == "count:poisson" || objective == "reg:gamma" || objective == "reg:tweedie") {
    return ObjectiveMath{OutputTransform::kExp, Link::kLog};
  }
  if (objective == "reg:squarederror" || objective == "reg:pseudohubererror" ||
      objective == "reg:absoluteerror" || objective == "binary:logitraw" ||
      objective.starts_with("rank:")) {
    return ObjectiveMath{OutputTransform::kIdentity, Link::kIdentity};
  }
  return std::nullopt;
}

// learner_model_param stores its numbers as strings ("5E-1", "3").
template <typename T>
absl::StatusOr<T> NumberField(const json& params, const char* name, T fallback) {
  if (!params.contains(name)) return fallback;
  const std::string text = params.at(name).get<std::string>();
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return absl::InvalidArgumentError(
        Cat("learner_model_param.", name, " is not a number: \"", text, "\""));
  }
  return value;
}

absl::StatusOr<float> BaseMargin(float base_score, Link link) {
  switch (link) {
    case Link::kIdentity:
      return base_score;
    case Link::kLogit:
      if (!(base_score > 0.0f && base_score < 1.0f)) {
        return absl::InvalidArgumentError(
            Cat("base_score ", base_score, " is outside (0, 1), as a logistic objective needs"));
      }
      return -std::log(1.0f / base_score - 1.0f);
    case Link::kLog:
      if (!(base_score > 0.0f)) {
        return absl::InvalidArgumentError(
            Cat("base_score ", base_score, " is not positive, as a log-link objective needs"));
      }
      return std::log(base_score);
  }
  return base_score;
}

// One tree; Unimplemented when it has categorical splits.
absl::StatusOr<TreeSpec> TreeOf(const json& tree, size_t index) {
  const auto has_any = [&](const char* field) {
    return tree.contains(field) && !tree.at(field).empty();
  };
  if (has_any("categories_nodes")) {
    return absl::UnimplementedError(Cat("tree ", index, " has categorical splits"));
  }
  if (tree.contains("split_type")) {
    for (const json& type : tree.at("split_type")) {
      if (type.get<int>() != 0) {
        return absl::UnimplementedError(Cat("tree ", index, " has categorical splits"));
      }
    }
  }
  TreeSpec spec;
  spec.left = tree.at("left_children").get<std::vector<int32_t>>();
  spec.right = tree.at("right_children").get<std::vector<int32_t>>();
  spec.feature = tree.at("split_indices").get<std::vector<int32_t>>();
  spec.threshold = tree.at("split_conditions").get<std::vector<float>>();
  for (const json& flag : tree.at("default_left")) {
    spec.default_left.push_back(flag.is_boolean() ? flag.get<bool>() : flag.get<int>() != 0);
  }
  return spec;
}

absl::StatusOr<EnsembleSpec> SpecOf(const json& model) {
  const json& learner = model.at("learner");
  const json& booster = learner.at("gradient_booster");
  const std::string booster_name = booster.at("name").get<std::string>();
  if (booster_name != "gbtree") {
    return absl::UnimplementedError(Cat("the booster is ", booster_name, ", not gbtree"));
  }
  const std::string objective = learner.at("objective").at("name").get<std::string>();
  const std::optional<ObjectiveMath> math = MathOf(objective);
  if (!math)
    return absl::UnimplementedError(Cat("objective ", objective, " is not evaluated natively"));

  const json& params = learner.at("learner_model_param");
  ASSIGN_OR_RETURN(const int64_t num_target, NumberField<int64_t>(params, "num_target", 1));
  if (num_target != 1)
    return absl::UnimplementedError(Cat("the model has ", num_target, " targets"));
  ASSIGN_OR_RETURN(const int64_t num_class, NumberField<int64_t>(params, "num_class", 0));
  ASSIGN_OR_RETURN(const float base_score, NumberField<float>(params, "base_score", 0.5f));
  EnsembleSpec spec;
  ASSIGN_OR_RETURN(spec.num_features, NumberField<int64_t>(params, "num_feature", 0));
  const bool multi = objective.starts_with("multi:");
  if (multi && (num_class < 1 || num_class > 1'000'000)) {
    return absl::InvalidArgumentError(Cat(objective, " with num_class ", num_class));
  }
  spec.num_groups = multi ? static_cast<int32_t>(num_class) : 1;
  spec.transform = math->transform;
  ASSIGN_OR_RETURN(spec.base_margin, BaseMargin(base_score, math->link));

  const json& trees = booster.at("model").at("trees");
  const json& tree_info = booster.at("model").at("tree_info");
  if (tree_info.size() != trees.size()) {
    return absl::InvalidArgumentError(
        Cat("tree_info names ", tree_info.size(), " trees, the model has ", trees.size()));
  }
  for (size_t t = 0; t < trees.size(); ++t) {
    ASSIGN_OR_RETURN(TreeSpec tree, TreeOf(trees[t], t));
    tree.group = tree_info[t].get<int32_t>();
    spec.trees.push_back(std::move(tree));
  }
  return spec;
}

}  // namespace

absl::StatusOr<EnsembleSpec> EnsembleSpecFromXGBoostUbjson(std::string_view model_ubjson) {
  try {
    return SpecOf(json::from_ubjson(model_ubjson.begin(), model_ubjson.end()));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(Cat("not an XGBoost UBJSON model: ", e.what()));
  }
}

}  // namespace ferry::serving
