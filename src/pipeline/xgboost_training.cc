#include "pipeline/xgboost_training.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/status.h"
#include "core/strings.h"
#include "serving/xgboost_error.h"

namespace ferry::pipeline {
namespace {

using core::Cat;

constexpr size_t kBatchRows = 65'536;
constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

absl::Status Internal(std::string_view what) {
  return absl::InternalError(Cat("libxgboost: ", what, ": ", serving::XGBoostLastError()));
}

bool IsNumeric(table::ColumnType type) {
  return type == table::ColumnType::kInt64 || type == table::ColumnType::kFloat64 ||
         type == table::ColumnType::kBool;
}

std::string FeatureType(table::ColumnType type) {
  switch (type) {
    case table::ColumnType::kInt64:
      return "int";
    case table::ColumnType::kBool:
      return "i";
    default:
      return "float";
  }
}

// Writes one column of a batch into every `stride`-th float of `out`.
void ConvertColumn(const table::ColumnArray& column, size_t rows, size_t stride, float* out) {
  const uint8_t* valid = column.valid.data();
  switch (column.type) {
    case table::ColumnType::kFloat64: {
      const double* values = column.float64_values.data();
      for (size_t r = 0; r < rows; ++r) {
        out[r * stride] = valid[r] ? static_cast<float>(values[r]) : kMissing;
      }
      break;
    }
    case table::ColumnType::kInt64: {
      const int64_t* values = column.int64_values.data();
      for (size_t r = 0; r < rows; ++r) {
        out[r * stride] = valid[r] ? static_cast<float>(values[r]) : kMissing;
      }
      break;
    }
    case table::ColumnType::kBool: {
      const uint8_t* values = column.bool_values.data();
      for (size_t r = 0; r < rows; ++r) {
        out[r * stride] = valid[r] ? static_cast<float>(values[r]) : kMissing;
      }
      break;
    }
    default:  // refused before reading
      for (size_t r = 0; r < rows; ++r) out[r * stride] = kMissing;
  }
}

absl::Status AppendBatch(const table::RecordBatch& batch, FeatureMatrix& matrix) {
  const size_t rows = static_cast<size_t>(batch.num_rows);
  const size_t stride = matrix.columns();
  const size_t first = static_cast<size_t>(matrix.rows);
  const table::ColumnArray& label = batch.columns[stride];
  for (size_t r = 0; r < rows; ++r) {
    if (label.IsNull(r)) {
      return absl::InvalidArgumentError(Cat("row ", first + r + 1, " has no label (column \"",
                                            label.name,
                                            "\" is empty there); every training row needs one"));
    }
  }
  matrix.values.resize((first + rows) * stride);
  matrix.labels.resize(first + rows);
  for (size_t c = 0; c < stride; ++c) {
    ConvertColumn(batch.columns[c], rows, stride, matrix.values.data() + first * stride + c);
  }
  ConvertColumn(label, rows, 1, matrix.labels.data() + first);
  matrix.rows += batch.num_rows;
  return absl::OkStatus();
}

// numpy's __array_interface__ of a row-major float32 matrix, as libxgboost reads it.
std::string ArrayInterface(const FeatureMatrix& matrix) {
  return Cat(R"({"data": [)", reinterpret_cast<uintptr_t>(matrix.values.data()),
             R"(, true], "shape": [)", matrix.rows, ", ", matrix.columns(),
             R"(], "strides": null, "typestr": "<f4", "version": 3})");
}

std::vector<const char*> Pointers(const std::vector<std::string>& texts) {
  std::vector<const char*> pointers;
  pointers.reserve(texts.size());
  for (const std::string& text : texts) pointers.push_back(text.c_str());
  return pointers;
}

// The QuantileDMatrix's data iterator: the whole matrix as one batch. libxgboost walks
// it several times (shape, bin boundaries, bin index), resetting in between.
struct SingleBatch {
  DMatrixHandle proxy = nullptr;
  const FeatureMatrix* matrix = nullptr;
  std::string array_interface;
  bool delivered = false;
  absl::Status status;
};

void ResetBatch(DataIterHandle handle) { static_cast<SingleBatch*>(handle)->delivered = false; }

int NextBatch(DataIterHandle handle) {
  auto& batch = *static_cast<SingleBatch*>(handle);
  if (batch.delivered) return 0;
  batch.delivered = true;
  if (XGProxyDMatrixSetDataDense(batch.proxy, batch.array_interface.c_str()) != 0) {
    batch.status = Internal("handing over the rows");
    return 0;
  }
  if (XGDMatrixSetDenseInfo(batch.proxy, "label", batch.matrix->labels.data(),
                            batch.matrix->labels.size(), /*float32*/ 1) != 0) {
    batch.status = Internal("handing over the labels");
    return 0;
  }
  return 1;
}

absl::StatusOr<DMatrixHandle> QuantileMatrix(const FeatureMatrix& matrix,
                                             const MatrixOptions& options,
                                             const XGBoostMatrix* reference) {
  SingleBatch batch;
  batch.matrix = &matrix;
  batch.array_interface = ArrayInterface(matrix);
  if (XGProxyDMatrixCreate(&batch.proxy) != 0) return Internal("creating a proxy matrix");
  const std::string config = Cat(R"({"missing": NaN, "nthread": )", options.threads,
                                 R"(, "max_bin": )", options.max_bin, "}");
  DMatrixHandle out = nullptr;
  const int failed = XGQuantileDMatrixCreateFromCallback(
      &batch, batch.proxy, reference != nullptr ? reference->handle() : nullptr, ResetBatch,
      NextBatch, config.c_str(), &out);
  absl::Status status = failed != 0 ? Internal("building the quantile matrix") : batch.status;
  XGDMatrixFree(batch.proxy);
  if (!status.ok()) {
    if (out != nullptr) XGDMatrixFree(out);
    return status;
  }
  return out;
}

absl::StatusOr<DMatrixHandle> DenseMatrix(const FeatureMatrix& matrix,
                                          const MatrixOptions& options) {
  const std::string config = Cat(R"({"missing": NaN, "nthread": )", options.threads, "}");
  DMatrixHandle out = nullptr;
  if (XGDMatrixCreateFromDense(ArrayInterface(matrix).c_str(), config.c_str(), &out) != 0) {
    return Internal("building the matrix");
  }
  if (XGDMatrixSetFloatInfo(out, "label", matrix.labels.data(), matrix.labels.size()) != 0) {
    XGDMatrixFree(out);
    return Internal("setting the labels");
  }
  return out;
}

}  // namespace

absl::StatusOr<FeatureMatrix> ReadFeatureMatrix(const dataset::DatasetStore& datasets,
                                                const dataset::VersionRecord& version,
                                                const table::Schema& schema,
                                                const std::vector<std::string>& features,
                                                const std::string& label) {
  FeatureMatrix matrix;
  std::vector<std::string> projection = features;
  projection.push_back(label);
  for (const std::string& name : projection) {
    const std::optional<size_t> index = schema.Find(name);
    if (!index) return absl::InvalidArgumentError(Cat("there is no column \"", name, "\""));
    const table::ColumnType type = schema.columns[*index].type;
    if (!IsNumeric(type)) {
      return absl::InvalidArgumentError(
          name == label
              ? Cat("the label column \"", name, "\" is ", table::ColumnTypeName(type),
                    ": XGBoost takes numeric labels only (int64, float64 or bool)")
              : Cat("column \"", name, "\" is ", table::ColumnTypeName(type),
                    ": XGBoost takes numeric features only (int64, float64 or bool); leave it out "
                    "with the param exclude: ",
                    name, " (or list the features to use in the param features)"));
    }
    if (&name != &projection.back()) {
      matrix.names.push_back(name);
      matrix.types.push_back(FeatureType(type));
    }
  }
  if (version.rows) {
    matrix.values.reserve(static_cast<size_t>(*version.rows) * features.size());
    matrix.labels.reserve(static_cast<size_t>(*version.rows));
  }
  RETURN_IF_ERROR(datasets.ReadBatches(
      version, projection, kBatchRows,
      [&matrix](table::RecordBatch batch) { return AppendBatch(batch, matrix); }));
  if (matrix.rows == 0) return absl::InvalidArgumentError("it has no rows");
  return matrix;
}

absl::StatusOr<std::unique_ptr<XGBoostMatrix>> XGBoostMatrix::Create(
    const FeatureMatrix& matrix, const MatrixOptions& options, const XGBoostMatrix* reference) {
  ASSIGN_OR_RETURN(DMatrixHandle handle, options.tree_method == TreeMethod::kHist
                                             ? QuantileMatrix(matrix, options, reference)
                                             : DenseMatrix(matrix, options));
  auto out = std::unique_ptr<XGBoostMatrix>(new XGBoostMatrix(handle));
  std::vector<const char*> names = Pointers(matrix.names);
  std::vector<const char*> types = Pointers(matrix.types);
  if (XGDMatrixSetStrFeatureInfo(handle, "feature_name", names.data(), names.size()) != 0 ||
      XGDMatrixSetStrFeatureInfo(handle, "feature_type", types.data(), types.size()) != 0) {
    return Internal("setting the feature names");
  }
  return out;
}

XGBoostMatrix::~XGBoostMatrix() { XGDMatrixFree(handle_); }

absl::StatusOr<std::vector<EvalMetric>> ParseEvalLine(std::string_view line) {
  std::vector<EvalMetric> metrics;
  if (!line.starts_with('[')) {
    return absl::InvalidArgumentError(Cat("unexpected evaluation line \"", line, "\""));
  }
  size_t start = line.find('\t');
  while (start != std::string_view::npos) {
    const size_t end = line.find('\t', start + 1);
    const std::string_view item = line.substr(start + 1, end - start - 1);
    const size_t colon = item.rfind(':');
    const std::string value_text(item.substr(colon == std::string_view::npos ? 0 : colon + 1));
    char* value_end = nullptr;
    const double value = std::strtod(value_text.c_str(), &value_end);
    if (colon == std::string_view::npos || colon == 0 || value_text.empty() ||
        value_end != value_text.c_str() + value_text.size()) {
      return absl::InvalidArgumentError(Cat("unexpected evaluation result \"", item, "\""));
    }
    metrics.push_back({std::string(item.substr(0, colon)), value});
    start = end;
  }
  return metrics;
}

bool HigherIsBetter(std::string_view metric) {
  for (std::string_view prefix : {"auc", "map", "ndcg", "pre", "interval-regression-accuracy"}) {
    if (metric.starts_with(prefix)) return true;
  }
  return false;
}

XGBoostTraining::XGBoostTraining(void* booster, const XGBoostMatrix& train,
                                 std::vector<std::pair<std::string, const XGBoostMatrix*>> evals)
    : booster_(booster), train_(train) {
  for (auto& [name, matrix] : evals) {
    eval_names_.push_back(std::move(name));
    eval_handles_.push_back(matrix->handle());
  }
}

absl::StatusOr<std::unique_ptr<XGBoostTraining>> XGBoostTraining::Create(
    const XGBoostMatrix& train, std::vector<std::pair<std::string, const XGBoostMatrix*>> evals,
    const std::vector<std::pair<std::string, std::string>>& params, const FeatureMatrix& features) {
  std::vector<DMatrixHandle> cache = {train.handle()};
  for (const auto& [name, matrix] : evals) {
    if (matrix != &train) cache.push_back(matrix->handle());
  }
  BoosterHandle booster = nullptr;
  if (XGBoosterCreate(cache.data(), cache.size(), &booster) != 0) {
    return Internal("creating a booster");
  }
  auto training =
      std::unique_ptr<XGBoostTraining>(new XGBoostTraining(booster, train, std::move(evals)));
  for (const auto& [name, value] : params) {
    if (XGBoosterSetParam(booster, name.c_str(), value.c_str()) != 0) {
      return Internal(Cat("setting ", name, " to \"", value, "\""));
    }
  }
  // As Python's xgboost does: the booster keeps the names and types it was trained on,
  // and the saved model carries them (the registry and serving read them).
  std::vector<const char*> names = Pointers(features.names);
  std::vector<const char*> types = Pointers(features.types);
  if (XGBoosterSetStrFeatureInfo(booster, "feature_name", names.data(), names.size()) != 0 ||
      XGBoosterSetStrFeatureInfo(booster, "feature_type", types.data(), types.size()) != 0) {
    return Internal("setting the feature names");
  }
  return training;
}

XGBoostTraining::~XGBoostTraining() { XGBoosterFree(booster_); }

absl::Status XGBoostTraining::Update(int round) {
  if (XGBoosterUpdateOneIter(booster_, round, train_.handle()) != 0) {
    return Internal(Cat("boosting round ", round));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EvalMetric>> XGBoostTraining::Evaluate(int round) {
  std::vector<const char*> names = Pointers(eval_names_);
  const char* line = nullptr;
  if (XGBoosterEvalOneIter(booster_, round, eval_handles_.data(), names.data(),
                           eval_handles_.size(), &line) != 0) {
    return Internal(Cat("evaluating round ", round));
  }
  return ParseEvalLine(line);
}

absl::Status XGBoostTraining::Truncate(int rounds) {
  BoosterHandle sliced = nullptr;
  if (XGBoosterSlice(booster_, 0, rounds, 1, &sliced) != 0) {
    return Internal(Cat("keeping the first ", rounds, " rounds"));
  }
  XGBoosterFree(booster_);
  booster_ = sliced;
  return absl::OkStatus();
}

absl::StatusOr<int> XGBoostTraining::BoostedRounds() const {
  int rounds = 0;
  if (XGBoosterBoostedRounds(booster_, &rounds) != 0) return Internal("counting rounds");
  return rounds;
}

absl::Status XGBoostTraining::SetAttribute(const std::string& key, const std::string& value) {
  if (XGBoosterSetAttr(booster_, key.c_str(), value.c_str()) != 0) {
    return Internal(Cat("setting the attribute ", key));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> XGBoostTraining::Save(ModelFormat format) const {
  const char* config =
      format == ModelFormat::kJson ? R"({"format": "json"})" : R"({"format": "ubj"})";
  bst_ulong length = 0;
  const char* bytes = nullptr;
  if (XGBoosterSaveModelToBuffer(booster_, config, &length, &bytes) != 0) {
    return Internal("saving the model");
  }
  return std::string(bytes, length);
}

}  // namespace ferry::pipeline
