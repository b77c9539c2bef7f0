#pragma once

// WriteXGBoostModel: trains a tiny XGBoost model through libxgboost's C API (`rounds`
// rounds, three by default, of depth-2 trees on a fixed, seedless pattern) and saves
// it, so tests get real model files without Python; other round counts give other
// predictions. TrainXGBoostModel does the same on the caller's rows, labels and
// objective. The file's extension picks the format XGBoost writes: ".json" JSON,
// ".ubj" UBJSON.

#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace ferry::testing {

struct XGBoostTraining {
  std::string objective = "binary:logistic";
  int rounds = 3;
  int max_depth = 2;
  int num_class = 0;  // for multi:* objectives
};

// Trains on `rows` (row-major, `features` values a row) and `labels` and saves the model,
// with `names` (when not empty) as its feature names.
inline void TrainXGBoostModel(const std::filesystem::path& path, int features,
                              const std::vector<std::string>& names, const std::vector<float>& rows,
                              const std::vector<float>& labels,
                              const XGBoostTraining& training = {}) {
  const auto count = static_cast<bst_ulong>(labels.size());
  ASSERT_EQ(rows.size(), labels.size() * features);
  DMatrixHandle matrix = nullptr;
  ASSERT_EQ(XGDMatrixCreateFromMat(rows.data(), count, features, NAN, &matrix), 0)
      << XGBGetLastError();
  ASSERT_EQ(XGDMatrixSetFloatInfo(matrix, "label", labels.data(), count), 0);
  std::vector<const char*> pointers;
  for (const std::string& n : names) pointers.push_back(n.c_str());
  if (!names.empty()) {
    ASSERT_EQ(XGDMatrixSetStrFeatureInfo(matrix, "feature_name", pointers.data(), pointers.size()),
              0)
        << XGBGetLastError();
  }
  BoosterHandle booster = nullptr;
  ASSERT_EQ(XGBoosterCreate(&matrix, 1, &booster), 0) << XGBGetLastError();
  XGBoosterSetParam(booster, "objective", training.objective.c_str());
  XGBoosterSetParam(booster, "max_depth", std::to_string(training.max_depth).c_str());
  if (training.num_class > 0) {
    XGBoosterSetParam(booster, "num_class", std::to_string(training.num_class).c_str());
  }
  XGBoosterSetParam(booster, "nthread", "1");
  for (int i = 0; i < training.rounds; ++i) {
    ASSERT_EQ(XGBoosterUpdateOneIter(booster, i, matrix), 0) << XGBGetLastError();
  }
  if (!names.empty()) {
    // As the Python binding does: the booster keeps the names of what it was trained on.
    ASSERT_EQ(XGBoosterSetStrFeatureInfo(booster, "feature_name", pointers.data(), pointers.size()),
              0)
        << XGBGetLastError();
  }
  ASSERT_EQ(XGBoosterSaveModel(booster, path.c_str()), 0) << XGBGetLastError();
  XGBoosterFree(booster);
  XGDMatrixFree(matrix);
}

inline void WriteXGBoostModel(const std::filesystem::path& path, int features,
                              const std::vector<std::string>& names = {}, int rounds = 3) {
  constexpr int kRows = 64;
  std::vector<float> data(static_cast<size_t>(kRows) * features);
  std::vector<float> labels(kRows);
  for (int r = 0; r < kRows; ++r) {
    for (int f = 0; f < features; ++f)
      data[r * features + f] = static_cast<float>((r * (f + 3)) % 17);
    labels[r] = data[r * features] > 8 ? 1.0f : 0.0f;
  }
  TrainXGBoostModel(path, features, names, data, labels, {.rounds = rounds});
}

}  // namespace ferry::testing
