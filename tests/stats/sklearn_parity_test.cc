// The product's acceptance criterion, quality half: quality metrics equal sklearn.metrics
// (precision_score, recall_score, roc_auc_score, log_loss, accuracy_score,
// mean_squared_error, mean_absolute_error) within 1e-9 on the same labels. Labels and
// predictions are drawn here (fixed seeds); tests/data/stats/reference.py computes the
// reference (python_reference.h).

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "python_reference.h"
#include "stats/quality.h"

namespace ferry::stats {
namespace {

using nlohmann::json;

struct BinaryCase {
  std::vector<double> labels;
  std::vector<double> scores;  // P(class 1)
};

// `n` rows, a share `positives` labeled 1, scores that lean towards the label by `signal`
// and are rounded to 1/20 (ties, and scores of exactly 0.5), then scaled into
// [0, ceiling] (a ceiling below 0.5 predicts no positive at all).
BinaryCase Binary(uint64_t seed, size_t n, double positives, double signal, double ceiling = 1) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution label(positives);
  std::normal_distribution<double> noise(0, 1);
  BinaryCase c;
  for (size_t i = 0; i < n; ++i) {
    const double y = label(rng) ? 1 : 0;
    const double score = 1 / (1 + std::exp(-(noise(rng) + signal * (2 * y - 1))));
    c.labels.push_back(y);
    c.scores.push_back(std::round(score * 20) / 20 * ceiling);
  }
  return c;
}

struct MulticlassCase {
  int classes;
  std::vector<double> labels;
  std::vector<double> probabilities;  // rows of `classes`, softmax
};

// Logits lean towards the label by `signal`; class `muted` (if any) gets a logit so low
// that it is never predicted; labels are drawn among the first `label_classes`.
MulticlassCase Multiclass(uint64_t seed, size_t n, int classes, int label_classes, double signal,
                          int muted = -1) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> label(0, label_classes - 1);
  std::normal_distribution<double> noise(0, 1);
  MulticlassCase c{classes, {}, {}};
  for (size_t i = 0; i < n; ++i) {
    const int y = label(rng);
    std::vector<double> logits(classes);
    double total = 0;
    for (int k = 0; k < classes; ++k) {
      logits[k] = std::exp(noise(rng) + (k == y ? signal : 0) - (k == muted ? 50 : 0));
      total += logits[k];
    }
    c.labels.push_back(y);
    for (double l : logits) c.probabilities.push_back(l / total);
  }
  return c;
}

// A value sklearn returns where ours is undefined must be its zero_division 0, on a
// denominator that really is 0.
void ExpectUndefinedAsZero(const std::string& what, const json& reference, const json& count) {
  EXPECT_EQ(ReferenceNumber(reference), 0) << what;
  EXPECT_EQ(count, 0) << what;
}

void CheckBinary(const std::vector<BinaryCase>& cases, const json& reference) {
  ASSERT_EQ(reference.size(), cases.size());
  ParityTally tally("sklearn binary");
  for (size_t k = 0; k < cases.size(); ++k) {
    const json& r = reference[k];
    const BinaryCase& c = cases[k];
    const std::string what = "binary case " + std::to_string(k);
    const auto precision = Precision(c.scores, 1, c.labels, Averaging::kBinary).value();
    if (precision.has_value()) {
      tally.Expect(what + " precision", *precision, r["precision"]);
    } else {
      ExpectUndefinedAsZero(what + " precision", r["precision"], r["predicted_positives"]);
    }
    const auto recall = Recall(c.scores, 1, c.labels, Averaging::kBinary).value();
    if (recall.has_value()) {
      tally.Expect(what + " recall", *recall, r["recall"]);
    } else {
      ExpectUndefinedAsZero(what + " recall", r["recall"], r["positives"]);
    }
    tally.Expect(what + " accuracy", Accuracy(c.scores, 1, c.labels).value().value(),
                 r["accuracy"]);
    tally.Expect(what + " log loss", LogLoss(c.scores, 1, c.labels).value().value(), r["log_loss"]);
    const auto auc = Auc(c.scores, c.labels).value();
    EXPECT_EQ(auc.has_value(), r.contains("auc")) << what;
    if (auc.has_value() && r.contains("auc")) tally.Expect(what + " auc", *auc, r["auc"]);
  }
}

void CheckMulticlass(const std::vector<MulticlassCase>& cases, const json& reference) {
  ASSERT_EQ(reference.size(), cases.size());
  ParityTally tally("sklearn multiclass");
  for (size_t k = 0; k < cases.size(); ++k) {
    const json& r = reference[k];
    const MulticlassCase& c = cases[k];
    const std::string what = "multiclass case " + std::to_string(k);
    tally.Expect(what + " precision",
                 Precision(c.probabilities, c.classes, c.labels, Averaging::kMacro).value().value(),
                 r["precision"]);
    tally.Expect(what + " recall",
                 Recall(c.probabilities, c.classes, c.labels, Averaging::kMacro).value().value(),
                 r["recall"]);
    tally.Expect(what + " accuracy", Accuracy(c.probabilities, c.classes, c.labels).value().value(),
                 r["accuracy"]);
    tally.Expect(what + " log loss", LogLoss(c.probabilities, c.classes, c.labels).value().value(),
                 r["log_loss"]);
  }
}

// One test, so that sklearn (half a second to import) is loaded once.
TEST(SklearnParityTest, BinaryMulticlassAndRegressionMetrics) {
  const std::vector<BinaryCase> binary = {
      Binary(71, 1000, 0.4, 1.0), Binary(72, 300, 0.1, 0.5),
      Binary(73, 200, 0.5, 2.0, 0.45),  // nothing predicted positive: precision undefined
      Binary(74, 100, 0.0, 1.0),        // no positive label: recall and AUC undefined
  };
  const std::vector<MulticlassCase> multiclass = {
      Multiclass(81, 800, 4, 4, 1.0),
      Multiclass(82, 500, 4, 4, 1.5, /*muted=*/3),  // class 3 labeled, never predicted
      Multiclass(83, 500, 4, 3, 0.5),               // class 3 predicted, never labeled
      Multiclass(84, 50, 3, 3, 0.0),
  };
  std::mt19937_64 rng(91);
  std::normal_distribution<double> normal(10, 3);
  std::vector<double> labels;
  std::vector<double> predictions;
  for (int i = 0; i < 1000; ++i) {
    labels.push_back(normal(rng));
    predictions.push_back(labels.back() * 0.9 + normal(rng) * 0.2);
  }
  json cases = {{"binary_classification", json::array()},
                {"multiclass_classification", json::array()},
                {"regression", {{{"labels", labels}, {"predictions", predictions}}}}};
  for (const BinaryCase& c : binary) {
    cases["binary_classification"].push_back({{"labels", c.labels}, {"scores", c.scores}});
  }
  for (const MulticlassCase& c : multiclass) {
    cases["multiclass_classification"].push_back(
        {{"classes", c.classes}, {"labels", c.labels}, {"probabilities", c.probabilities}});
  }
  const json reference = PythonReference(cases);
  CheckBinary(binary, reference["binary_classification"]);
  CheckMulticlass(multiclass, reference["multiclass_classification"]);
  ASSERT_EQ(reference["regression"].size(), 1u);
  ParityTally tally("sklearn regression");
  tally.Expect("rmse", Rmse(predictions, labels).value().value(),
               reference["regression"][0]["rmse"]);
  tally.Expect("mae", Mae(predictions, labels).value().value(), reference["regression"][0]["mae"]);
}

}  // namespace
}  // namespace ferry::stats
