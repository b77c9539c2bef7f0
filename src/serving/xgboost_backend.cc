#include "serving/xgboost_backend.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "core/status.h"
#include "core/strings.h"
#include "serving/tree_ensemble.h"
#include "serving/xgboost_booster.h"
#include "serving/xgboost_trees.h"

namespace ferry::serving {
namespace {

using core::Cat;

constexpr std::string_view kNativeEvaluator = "native-trees";
constexpr std::string_view kLibraryEvaluator = "libxgboost";
// Outputs per row beyond this are refused (the probe that counts them needs a bound).
constexpr size_t kMaxOutputs = 1 << 16;
constexpr uint64_t kProbeSeed = 20240611;

class XGBoostModel final : public LoadedModel {
 public:
  XGBoostModel(ModelDescription description, std::string display_name,
               std::unique_ptr<XGBoostBooster> booster, std::optional<TreeEnsemble> trees)
      : description_(std::move(description)),
        display_name_(std::move(display_name)),
        booster_(std::move(booster)),
        trees_(std::move(trees)) {}

  const ModelDescription& description() const override { return description_; }

  absl::Status Predict(std::span<const float> rows, std::span<float> out) const override {
    const auto features = static_cast<size_t>(description_.num_features);
    if (rows.size() % features != 0) {
      return absl::InvalidArgumentError(Cat(display_name_, ": ", rows.size(),
                                            " input values are not whole rows of ", features,
                                            " features"));
    }
    const size_t count = rows.size() / features;
    if (out.size() != count * description_.num_outputs) {
      return absl::InvalidArgumentError(Cat(display_name_, ": the output holds ", out.size(),
                                            " values; ", count, " rows need ",
                                            count * description_.num_outputs));
    }
    if (count == 0) return absl::OkStatus();
    if (trees_) {
      trees_->Predict(rows, out);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(const size_t given, booster_->Predict(rows, description_.num_features, out));
    if (given != out.size()) {
      return absl::InternalError(
          Cat(display_name_, ": libxgboost gave ", given, " values for ", count, " rows"));
    }
    return absl::OkStatus();
  }

 private:
  const ModelDescription description_;
  const std::string display_name_;
  // libxgboost's booster; null once the native evaluator serves.
  const std::unique_ptr<XGBoostBooster> booster_;
  const std::optional<TreeEnsemble> trees_;
};

int64_t ClassesOf(const BoosterConfig& config) {
  if (config.objective.starts_with("multi:")) return config.num_class;
  if (config.objective.starts_with("binary:")) return 2;
  return 0;
}

// The native evaluator for booster's model, checked against libxgboost on probe rows.
// Errors: Unimplemented / InvalidArgument / FailedPrecondition with the reason it
// cannot serve (not a model it evaluates; disagrees with libxgboost); Internal when
// libxgboost fails.
absl::StatusOr<TreeEnsemble> CheckedNativeTrees(const XGBoostBooster& booster,
                                                const ModelDescription& description) {
  ASSIGN_OR_RETURN(const std::string model, booster.ModelUbjson());
  ASSIGN_OR_RETURN(const EnsembleSpec spec, EnsembleSpecFromXGBoostUbjson(model));
  ASSIGN_OR_RETURN(TreeEnsemble trees, TreeEnsemble::Create(spec));
  if (trees.num_features() != description.num_features ||
      trees.num_outputs() != description.num_outputs) {
    return absl::FailedPreconditionError(
        Cat("the trees take ", trees.num_features(), " features and give ", trees.num_outputs(),
            " outputs; libxgboost ", description.num_features, " and ", description.num_outputs));
  }
  const std::vector<float> rows = trees.ProbeRows(kProbeRows, kProbeSeed);
  std::vector<float> native(kProbeRows * description.num_outputs);
  std::vector<float> library(native.size());
  trees.Predict(rows, native);
  ASSIGN_OR_RETURN(const size_t given, booster.Predict(rows, description.num_features, library));
  if (given != library.size()) {
    return absl::InternalError(Cat("libxgboost gave ", given, " values for ", kProbeRows, " rows"));
  }
  for (size_t i = 0; i < native.size(); ++i) {
    const double difference = std::fabs(double{native[i]} - double{library[i]});
    const bool both_nan = std::isnan(native[i]) && std::isnan(library[i]);
    if (!both_nan && !(difference <= kParityTolerance)) {
      return absl::FailedPreconditionError(
          Cat("it disagrees with libxgboost on probe row ", i / description.num_outputs,
              ", output ", i % description.num_outputs, ": ", native[i], " vs ", library[i]));
    }
  }
  return trees;
}

}  // namespace

absl::StatusOr<LoadedModelPtr> XGBoostBackend::Load(std::string_view artifact,
                                                    const LoadOptions& options) const {
  const std::string& name = options.display_name;
  const auto named = [&](const absl::Status& status) {
    return absl::Status(status.code(), Cat(name, ": ", core::View(status.message())));
  };
  absl::StatusOr<std::unique_ptr<XGBoostBooster>> loaded =
      XGBoostBooster::Load(artifact, options.threads_per_call);
  if (!loaded.ok()) return named(loaded.status());
  std::unique_ptr<XGBoostBooster> booster = std::move(loaded).value();

  ModelDescription description;
  description.platform = "xgboost_json";
  description.objective = booster->config().objective;
  description.num_classes = ClassesOf(booster->config());
  ASSIGN_OR_RETURN(description.num_features, booster->NumFeatures());
  ASSIGN_OR_RETURN(description.feature_names, booster->FeatureNames());
  if (description.num_features <= 0) {
    return named(absl::InvalidArgumentError("not a loadable XGBoost model: it takes no features"));
  }
  // Outputs per row, as libxgboost lays them out, from one all-missing row.
  const std::vector<float> missing(description.num_features,
                                   std::numeric_limits<float>::quiet_NaN());
  std::vector<float> outputs(kMaxOutputs);
  const absl::StatusOr<size_t> given = booster->Predict(missing, description.num_features, outputs);
  if (!given.ok()) return named(given.status());
  description.num_outputs = static_cast<int64_t>(*given);

  std::optional<TreeEnsemble> trees;
  if (options.evaluator != EvaluatorChoice::kLibrary) {
    absl::StatusOr<TreeEnsemble> native = CheckedNativeTrees(*booster, description);
    if (native.ok()) {
      trees = std::move(native).value();
    } else if (options.evaluator == EvaluatorChoice::kNative) {
      return named(absl::InvalidArgumentError(Cat("the native evaluator cannot serve this model: ",
                                                  core::View(native.status().message()))));
    } else if (native.status().code() == absl::StatusCode::kUnimplemented) {
      spdlog::info("{}: served by libxgboost: {}", name, core::View(native.status().message()));
    } else {
      spdlog::warn("{}: served by libxgboost, not the native evaluator: {}", name,
                   core::View(native.status().message()));
    }
  }
  description.evaluator = trees ? kNativeEvaluator : kLibraryEvaluator;
  if (trees) booster.reset();  // the trees hold all they need
  return std::make_shared<const XGBoostModel>(std::move(description), name, std::move(booster),
                                              std::move(trees));
}

}  // namespace ferry::serving
