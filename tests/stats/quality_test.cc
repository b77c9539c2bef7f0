#include "stats/quality.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace ferry::stats {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double Value(const absl::StatusOr<std::optional<double>>& result) {
  EXPECT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result.ok() && result->has_value());
  return result.ok() && result->has_value() ? **result : kNan;
}

absl::StatusCode Code(const absl::StatusOr<std::optional<double>>& result) {
  return result.status().code();
}

struct AucCase {
  std::vector<double> scores;
  std::vector<double> labels;
  double auc;
};

TEST(AucTest, HandComputedCasesIncludingTies) {
  const AucCase cases[] = {
      {{0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}, 0.75},  // sklearn's roc_auc_score example
      {{0.5, 0.5}, {0, 1}, 0.5},                    // a tie counts half
      // Pairs (pos, neg): (0.5, 0.2) 1, (0.5, 0.5) 1/2, (0.9, 0.2) 1, (0.9, 0.5) 1.
      {{0.2, 0.5, 0.5, 0.9}, {0, 1, 0, 1}, 0.875},
      {{3, 2, 1}, {1, 0, 0}, 1.0},
      {{-3, -2, -1}, {1, 0, 0}, 0.0},  // margins work as well as probabilities
  };
  for (const AucCase& c : cases) {
    EXPECT_DOUBLE_EQ(Value(Auc(c.scores, c.labels)), c.auc);
  }
}

// python3-sklearn is not installed here; roc_auc_score is the Mann-Whitney U over
// n_pos * n_neg, so the reference comes from scipy (1.10) on the same data:
//
//   import numpy as np
//   from scipy.stats import mannwhitneyu
//   def frac(x): return x - np.floor(x)
//   k = np.arange(500.0)
//   scores = np.round(frac(k * 0.6180339887498949) * 20) / 20      # 21 levels: many ties
//   labels = (frac(k * 0.4142135623730950) < scores * 0.8 + 0.1).astype(float)
//   u = mannwhitneyu(scores[labels == 1], scores[labels == 0]).statistic
//   print(u / (labels.sum() * (500 - labels.sum())), labels.sum())
TEST(AucTest, MatchesMannWhitneyOnManyTies) {
  std::vector<double> scores;
  std::vector<double> labels;
  for (int k = 0; k < 500; ++k) {
    const double f = k * 0.6180339887498949;
    const double score = std::nearbyint((f - std::floor(f)) * 20) / 20;  // numpy rounds half even
    const double g = k * 0.4142135623730950;
    scores.push_back(score);
    labels.push_back((g - std::floor(g)) < score * 0.8 + 0.1 ? 1 : 0);
  }
  double positives = 0;
  for (double l : labels) positives += l;
  ASSERT_EQ(positives, 257);
  EXPECT_NEAR(Value(Auc(scores, labels)), 0.75733775279819382, 1e-14);
}

TEST(AucTest, OneClassIsNulloptAndBadInputAnError) {
  EXPECT_EQ(Auc(std::vector<double>{0.1, 0.2}, std::vector<double>{1, 1}).value(), std::nullopt);
  EXPECT_EQ(Auc({}, {}).value(), std::nullopt);
  EXPECT_EQ(Code(Auc(std::vector<double>{0.1, 0.2}, std::vector<double>{0, 2})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(Auc(std::vector<double>{0.1, kNan}, std::vector<double>{0, 1})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(Auc(std::vector<double>{0.1}, std::vector<double>{0, 1})),
            absl::StatusCode::kInvalidArgument);
}

TEST(AccuracyTest, OneOutputReadsProbabilitiesAndClassIndices) {
  // Probabilities: > 0.5 is class 1 (0.5 itself is class 0, as XGBoost's `error`).
  EXPECT_DOUBLE_EQ(Value(Accuracy(std::vector<double>{0.9, 0.2, 0.5, 0.51, 1.0, 0.0}, 1,
                                  std::vector<double>{1, 0, 1, 1, 1, 1})),
                   4.0 / 6);
  // Class indices (multi:softmax).
  EXPECT_DOUBLE_EQ(
      Value(Accuracy(std::vector<double>{2, 0, 1, 2}, 1, std::vector<double>{2, 1, 1, 2})), 0.75);
  EXPECT_EQ(Code(Accuracy(std::vector<double>{1.5}, 1, std::vector<double>{1})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(Accuracy(std::vector<double>{-0.2}, 1, std::vector<double>{0})),
            absl::StatusCode::kInvalidArgument);
}

TEST(AccuracyTest, SeveralOutputsTakeTheLargestProbability) {
  const std::vector<double> probabilities = {
      0.7, 0.2, 0.1,  // class 0
      0.1, 0.3, 0.6,  // class 2
      0.4, 0.4, 0.2,  // tie: the first, class 0
  };
  EXPECT_DOUBLE_EQ(Value(Accuracy(probabilities, 3, std::vector<double>{0, 1, 0})), 2.0 / 3);
  EXPECT_EQ(Code(Accuracy(probabilities, 3, std::vector<double>{0, 3, 0})),
            absl::StatusCode::kInvalidArgument);  // label past the classes
  EXPECT_EQ(Code(Accuracy(probabilities, 3, std::vector<double>{0, 0.5, 0})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(Accuracy(probabilities, 2, std::vector<double>{0, 1, 0})),
            absl::StatusCode::kInvalidArgument);  // 9 values are not rows of 2
  EXPECT_EQ(Code(Accuracy(probabilities, 3, std::vector<double>{0, 1})),
            absl::StatusCode::kInvalidArgument);
}

TEST(PrecisionRecallTest, BinaryFromProbabilitiesAsAccuracyReadsThem) {
  // Predicted: 1, 0 (0.5 is class 0), 1, 0, 1, 0. Labels: 1, 1, 0, 0, 1, 1.
  const std::vector<double> scores = {0.9, 0.5, 0.51, 0.2, 1.0, 0.0};
  const std::vector<double> labels = {1, 1, 0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(Value(Precision(scores, 1, labels, Averaging::kBinary)), 2.0 / 3);
  EXPECT_DOUBLE_EQ(Value(Recall(scores, 1, labels, Averaging::kBinary)), 2.0 / 4);
  // Two outputs per row (P(class 0), P(class 1)): the larger is the class.
  const std::vector<double> rows = {0.2, 0.8, 0.6, 0.4, 0.3, 0.7};
  EXPECT_DOUBLE_EQ(Value(Precision(rows, 2, std::vector<double>{1, 1, 0}, Averaging::kBinary)),
                   0.5);
}

TEST(PrecisionRecallTest, BinaryWithNothingToDivideByIsNullopt) {
  // No row predicted positive: precision undefined (sklearn: 0 with a warning); recall 0.
  const std::vector<double> low = {0.1, 0.2};
  const std::vector<double> labels = {1, 0};
  EXPECT_EQ(Precision(low, 1, labels, Averaging::kBinary).value(), std::nullopt);
  EXPECT_EQ(Value(Recall(low, 1, labels, Averaging::kBinary)), 0);
  // No row labeled positive: recall undefined; precision 0.
  const std::vector<double> negatives = {0, 0};
  EXPECT_EQ(Recall(std::vector<double>{0.9, 0.1}, 1, negatives, Averaging::kBinary).value(),
            std::nullopt);
  EXPECT_EQ(Value(Precision(std::vector<double>{0.9, 0.1}, 1, negatives, Averaging::kBinary)), 0);
  EXPECT_EQ(Precision({}, 1, {}, Averaging::kBinary).value(), std::nullopt);
  EXPECT_EQ(Recall({}, 1, {}, Averaging::kMacro).value(), std::nullopt);
}

TEST(PrecisionRecallTest, MacroAveragesOverLabelsAndPredictedClasses) {
  // Labels 0 0 1 1 2; predicted 0 1 1 1 3. Classes {0, 1, 2, 3}:
  //   precision 1/1, 2/3, 0 (never predicted), 0/1   -> mean 5/12
  //   recall    1/2, 2/2, 0/1, 0 (never a label)     -> mean 3/8
  const std::vector<double> predicted = {0, 1, 1, 1, 3};
  const std::vector<double> labels = {0, 0, 1, 1, 2};
  EXPECT_DOUBLE_EQ(Value(Precision(predicted, 1, labels, Averaging::kMacro)), 5.0 / 12);
  EXPECT_DOUBLE_EQ(Value(Recall(predicted, 1, labels, Averaging::kMacro)), 3.0 / 8);
  // kBinary refuses classes other than 0 and 1.
  EXPECT_EQ(Code(Precision(predicted, 1, labels, Averaging::kBinary)),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(Recall(std::vector<double>{0.7}, 1, std::vector<double>{2}, Averaging::kBinary)),
            absl::StatusCode::kInvalidArgument);
  // And whatever Accuracy refuses.
  EXPECT_EQ(Code(Precision(std::vector<double>{1.5}, 1, std::vector<double>{1}, Averaging::kMacro)),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Code(Recall(std::vector<double>{0.5, kNan}, 2, std::vector<double>{1}, Averaging::kMacro)),
      absl::StatusCode::kInvalidArgument);
}

TEST(LogLossTest, BinaryAndMulticlassWithClipping) {
  EXPECT_NEAR(Value(LogLoss(std::vector<double>{0.8, 0.3}, 1, std::vector<double>{1, 0})),
              -(std::log(0.8) + std::log(0.7)) / 2, 1e-15);
  EXPECT_NEAR(Value(LogLoss(std::vector<double>{0.7, 0.2, 0.1, 0.1, 0.3, 0.6}, 3,
                            std::vector<double>{0, 1})),
              -(std::log(0.7) + std::log(0.3)) / 2, 1e-15);
  // A certain mistake costs -ln(1e-15), not infinity.
  EXPECT_NEAR(Value(LogLoss(std::vector<double>{0.0}, 1, std::vector<double>{1})),
              -std::log(kLogLossEpsilon), 1e-9);
  EXPECT_EQ(Code(LogLoss(std::vector<double>{1.2}, 1, std::vector<double>{1})),
            absl::StatusCode::kInvalidArgument);
}

TEST(RegressionTest, RmseAndMae) {
  const std::vector<double> predictions = {1, 2, 3, 4};
  const std::vector<double> labels = {1, 4, 3, 0};
  EXPECT_DOUBLE_EQ(Value(Rmse(predictions, labels)), std::sqrt((0 + 4 + 0 + 16) / 4.0));
  EXPECT_DOUBLE_EQ(Value(Mae(predictions, labels)), 1.5);
  EXPECT_EQ(Rmse({}, {}).value(), std::nullopt);
  EXPECT_EQ(Code(Rmse(predictions, std::vector<double>{1})), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(Mae(predictions, std::vector<double>{1, kNan, 3, 4})),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(Rmse(std::vector<double>{std::numeric_limits<double>::infinity()},
                      std::vector<double>{1})),
            absl::StatusCode::kInvalidArgument);
}

TEST(QualityMetricTest, ChosenByObjective) {
  const std::pair<const char*, QualityMetric> cases[] = {
      {"binary:logistic", QualityMetric::kAuc},     {"binary:logitraw", QualityMetric::kAuc},
      {"multi:softprob", QualityMetric::kAccuracy}, {"multi:softmax", QualityMetric::kAccuracy},
      {"reg:squarederror", QualityMetric::kRmse},   {"reg:logistic", QualityMetric::kRmse},
      {"count:poisson", QualityMetric::kRmse},      {"survival:aft", QualityMetric::kRmse},
  };
  for (const auto& [objective, metric] : cases) {
    absl::StatusOr<QualityMetric> chosen = QualityMetricForObjective(objective);
    ASSERT_TRUE(chosen.ok()) << objective;
    EXPECT_EQ(*chosen, metric) << objective;
  }
  for (const char* objective : {"rank:pairwise", "survival:cox", "", "binary"}) {
    EXPECT_EQ(QualityMetricForObjective(objective).status().code(),
              absl::StatusCode::kInvalidArgument)
        << objective;
  }
  EXPECT_TRUE(HigherIsBetter(QualityMetric::kAuc));
  EXPECT_TRUE(HigherIsBetter(QualityMetric::kAccuracy));
  EXPECT_FALSE(HigherIsBetter(QualityMetric::kRmse));
  EXPECT_FALSE(HigherIsBetter(QualityMetric::kLogLoss));
  EXPECT_EQ(QualityMetricName(QualityMetric::kRmse), "rmse");
}

TEST(QualityMetricTest, ScoreForObjectiveUsesTheLayout) {
  absl::StatusOr<QualityScore> binary =
      ScoreForObjective("binary:logistic", std::vector<double>{0.1, 0.4, 0.35, 0.8}, 1,
                        std::vector<double>{0, 0, 1, 1});
  ASSERT_TRUE(binary.ok()) << binary.status();
  EXPECT_EQ(binary->metric, QualityMetric::kAuc);
  EXPECT_DOUBLE_EQ(binary->value.value(), 0.75);

  absl::StatusOr<QualityScore> softprob = ScoreForObjective(
      "multi:softprob", std::vector<double>{0.1, 0.9, 0.8, 0.2}, 2, std::vector<double>{1, 1});
  ASSERT_TRUE(softprob.ok()) << softprob.status();
  EXPECT_DOUBLE_EQ(softprob->value.value(), 0.5);

  absl::StatusOr<QualityScore> softmax =
      ScoreForObjective("multi:softmax", std::vector<double>{1, 1}, 1, std::vector<double>{1, 1});
  ASSERT_TRUE(softmax.ok()) << softmax.status();
  EXPECT_DOUBLE_EQ(softmax->value.value(), 1.0);

  absl::StatusOr<QualityScore> one_class =
      ScoreForObjective("binary:logistic", std::vector<double>{0.3}, 1, std::vector<double>{1});
  ASSERT_TRUE(one_class.ok());
  EXPECT_EQ(one_class->value, std::nullopt);

  EXPECT_EQ(
      ScoreForObjective("binary:logistic", std::vector<double>{0.3, 0.7}, 2, std::vector<double>{1})
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);  // AUC needs one output
  EXPECT_EQ(ComputeQuality(QualityMetric::kRmse, std::vector<double>{1, 2, 3}, 0,
                           std::vector<double>{1, 2, 3})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry::stats
