// The model runtime's XGBoost backend: both evaluators against what Python's xgboost
// predicts (tests/data/serving/make_models.py, run once per test process that needs it),
// refusal of bytes that are not a model, size checks, concurrency, the flavor registry.

#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "serving/model_runtime.h"
#include "testing/temp_dir.h"
#include "testing/xgboost_model.h"

namespace ferry::serving {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Rows of a .rows / .expected file: space-separated values, "nan" for missing.
std::vector<std::vector<float>> ReadRows(const std::filesystem::path& path) {
  std::vector<std::vector<float>> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<float>& row = rows.emplace_back();
    // Each value is a double that equals a float32 exactly, so the cast is exact.
    for (std::string field; fields >> field;)
      row.push_back(static_cast<float>(std::strtod(field.c_str(), nullptr)));
  }
  return rows;
}

std::vector<float> Flatten(const std::vector<std::vector<float>>& rows) {
  std::vector<float> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  return flat;
}

const ModelBackend& XGBoost() {
  absl::StatusOr<const ModelBackend*> backend = BackendForFlavor("xgboost");
  EXPECT_TRUE(backend.ok()) << backend.status();
  return **backend;
}

absl::StatusOr<LoadedModelPtr> LoadFile(const std::filesystem::path& path, EvaluatorChoice choice) {
  LoadOptions options;
  options.display_name = path.stem().string();
  options.evaluator = choice;
  return XGBoost().Load(ReadFile(path), options);
}

// The models make_models.py writes; generated on first use and removed at exit.
class PythonModels {
 public:
  static const std::filesystem::path& Dir() {
    static PythonModels models;
    return models.dir_;
  }

 private:
  PythonModels() {
    dir_ = std::filesystem::temp_directory_path() /
           ("ferry_runtime_models_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const std::string command = core::Cat("/usr/bin/python3 '", FERRY_MAKE_MODELS, "' '",
                                          dir_.string(), "' 2>", (dir_ / "stderr").string());
    const int status = std::system(command.c_str());
    EXPECT_EQ(status, 0) << "make_models.py failed: " << ReadFile(dir_ / "stderr");
  }
  ~PythonModels() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
};

struct Case {
  const char* name;
  const char* file;
  const char* objective;
  int64_t features;
  int64_t outputs;
  int64_t classes;
  bool native;  // whether ferry's tree walker can serve it
};

constexpr Case kCases[] = {
    {"binary_logistic", "binary_logistic.json", "binary:logistic", 30, 1, 2, true},
    {"multi_softprob", "multi_softprob.ubj", "multi:softprob", 8, 4, 4, true},
    {"multi_softmax", "multi_softmax.json", "multi:softmax", 6, 1, 3, true},
    {"reg_squarederror", "reg_squarederror.json", "reg:squarederror", 10, 1, 0, true},
    {"reg_squarederror_ubj", "reg_squarederror_ubj.ubj", "reg:squarederror", 5, 1, 0, true},
    {"binary_logitraw", "binary_logitraw.json", "binary:logitraw", 7, 1, 2, true},
    {"reg_logistic", "reg_logistic.json", "reg:logistic", 7, 1, 0, true},
    {"count_poisson", "count_poisson.json", "count:poisson", 6, 1, 0, true},
    {"reg_gamma", "reg_gamma.json", "reg:gamma", 6, 1, 0, true},
    {"reg_pseudohubererror", "reg_pseudohubererror.json", "reg:pseudohubererror", 6, 1, 0, true},
    {"rank_pairwise", "rank_pairwise.json", "rank:pairwise", 6, 1, 0, true},
    {"random_forest", "random_forest.json", "binary:logistic", 9, 1, 2, true},
    {"dart", "dart.json", "binary:logistic", 6, 1, 2, false},
    {"gblinear", "gblinear.json", "reg:squarederror", 6, 1, 0, false},
    {"categorical", "categorical.json", "reg:squarederror", 4, 1, 0, false},
};

TEST(XGBoostRuntimeTest, EveryEvaluatorMatchesPythonWithinOneMillionth) {
  const std::filesystem::path& dir = PythonModels::Dir();
  for (const Case& c : kCases) {
    const std::vector<float> rows = Flatten(ReadRows(dir / (std::string(c.name) + ".rows")));
    const std::vector<float> expected =
        Flatten(ReadRows(dir / (std::string(c.name) + ".expected")));
    ASSERT_EQ(rows.size() / c.features * c.outputs, expected.size()) << c.name;
    for (const EvaluatorChoice choice :
         {EvaluatorChoice::kAuto, EvaluatorChoice::kLibrary, EvaluatorChoice::kNative}) {
      SCOPED_TRACE(core::Cat(c.name, " evaluator choice ", static_cast<int>(choice)));
      absl::StatusOr<LoadedModelPtr> model = LoadFile(dir / c.file, choice);
      if (choice == EvaluatorChoice::kNative && !c.native) {
        ASSERT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument) << model.status();
        EXPECT_NE(core::View(model.status().message()).find("native evaluator cannot serve"),
                  std::string_view::npos)
            << model.status();
        continue;
      }
      ASSERT_TRUE(model.ok()) << model.status();
      const ModelDescription& d = (*model)->description();
      const bool native = choice != EvaluatorChoice::kLibrary && c.native;
      EXPECT_EQ(d.evaluator, native ? "native-trees" : "libxgboost");
      EXPECT_EQ(d.platform, "xgboost_json");
      EXPECT_EQ(d.objective, c.objective);
      EXPECT_EQ(d.num_features, c.features);
      EXPECT_EQ(d.num_outputs, c.outputs);
      EXPECT_EQ(d.num_classes, c.classes);
      std::vector<float> out(expected.size());
      ASSERT_TRUE((*model)->Predict(rows, out).ok());
      double worst = 0;
      for (size_t i = 0; i < out.size(); ++i) {
        worst = std::max(worst, std::fabs(double{out[i]} - double{expected[i]}));
        ASSERT_LE(std::fabs(double{out[i]} - double{expected[i]}), 1e-6)
            << "value " << i << ": ferry " << out[i] << ", python " << expected[i];
      }
      std::printf("parity %-22s %-12s max |ferry - python| = %.3g over %zu values\n", c.name,
                  d.evaluator.c_str(), worst, out.size());
    }
  }
}

TEST(XGBoostRuntimeTest, FeatureNamesComeFromTheModel) {
  absl::StatusOr<LoadedModelPtr> model =
      LoadFile(PythonModels::Dir() / "binary_logistic.json", EvaluatorChoice::kAuto);
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<std::string>& names = (*model)->description().feature_names;
  ASSERT_EQ(names.size(), 30u);
  EXPECT_EQ(names.front(), "f_0");
  EXPECT_EQ(names.back(), "f_29");
  absl::StatusOr<LoadedModelPtr> unnamed =
      LoadFile(PythonModels::Dir() / "multi_softmax.json", EvaluatorChoice::kAuto);
  ASSERT_TRUE(unnamed.ok()) << unnamed.status();
  EXPECT_TRUE((*unnamed)->description().feature_names.empty());
}

TEST(XGBoostRuntimeTest, ConcurrentPredictGivesTheSerialResults) {
  const std::filesystem::path& dir = PythonModels::Dir();
  for (const auto& [file, choice] : {std::pair{"binary_logistic.json", EvaluatorChoice::kNative},
                                     std::pair{"binary_logistic.json", EvaluatorChoice::kLibrary},
                                     std::pair{"multi_softprob.ubj", EvaluatorChoice::kLibrary},
                                     std::pair{"multi_softprob.ubj", EvaluatorChoice::kNative}}) {
    SCOPED_TRACE(file);
    absl::StatusOr<LoadedModelPtr> model = LoadFile(dir / file, choice);
    ASSERT_TRUE(model.ok()) << model.status();
    const LoadedModel& m = **model;
    const auto features = static_cast<size_t>(m.description().num_features);
    const auto outputs = static_cast<size_t>(m.description().num_outputs);
    const std::vector<float> rows =
        Flatten(ReadRows(dir / (std::filesystem::path(file).stem().string() + ".rows")));
    const size_t count = rows.size() / features;
    std::vector<float> serial(count * outputs);
    ASSERT_TRUE(m.Predict(rows, serial).ok());

    std::atomic<int> mismatches = 0;
    std::atomic<int> failures = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        std::vector<float> out(count * outputs);
        for (int round = 0; round < 30; ++round) {
          // Batches of 1, 2, ... rows, different per thread, so calls interleave unevenly.
          const size_t batch = 1 + (t + round) % 17;
          for (size_t first = 0; first < count; first += batch) {
            const size_t n = std::min(batch, count - first);
            const std::span<const float> in(rows.data() + first * features, n * features);
            const std::span<float> result(out.data() + first * outputs, n * outputs);
            if (!m.Predict(in, result).ok()) ++failures;
          }
          if (out != serial) ++mismatches;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(mismatches.load(), 0);
  }
}

// Bytes that are not a model. The tiny models here come from libxgboost's C API
// (testing/xgboost_model.h), so these tests need no Python.
TEST(XGBoostRuntimeTest, BytesThatAreNotAModelAreInvalidArgument) {
  testing::TempDir dir;
  testing::WriteXGBoostModel(dir / "m.json", 4);
  testing::WriteXGBoostModel(dir / "m.ubj", 4);
  testing::WriteXGBoostModel(dir / "m.bin", 4);  // the deprecated binary format
  const std::string json = ReadFile(dir / "m.json");
  const std::string ubj = ReadFile(dir / "m.ubj");
  const std::string garbage_ubj = "{L" + std::string(64, '\x7f');
  const struct {
    std::string bytes;
    const char* says;
  } kBad[] = {
      {"", "the file is empty"},
      {"garbage, not a model", "unknown format"},
      {ReadFile(dir / "m.bin"), "not the deprecated binary one"},
      {json.substr(0, json.size() / 2), "not a loadable XGBoost model"},
      {ubj.substr(0, ubj.size() / 2), "not a loadable XGBoost model"},
      {garbage_ubj, "not a loadable XGBoost model"},
      {R"({"learner": 42})", "not a loadable XGBoost model"},
  };
  LoadOptions options;
  options.display_name = "fraud@3";
  for (const auto& bad : kBad) {
    SCOPED_TRACE(bad.says);
    absl::StatusOr<LoadedModelPtr> model = XGBoost().Load(bad.bytes, options);
    ASSERT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument) << model.status();
    const std::string_view message = core::View(model.status().message());
    EXPECT_TRUE(message.starts_with("fraud@3: not a loadable XGBoost model")) << message;
    EXPECT_NE(message.find(bad.says), std::string_view::npos) << message;
  }
}

TEST(XGBoostRuntimeTest, WrongRowsOrOutputSizeIsInvalidArgument) {
  testing::TempDir dir;
  testing::WriteXGBoostModel(dir / "m.json", 4);
  for (const EvaluatorChoice choice : {EvaluatorChoice::kNative, EvaluatorChoice::kLibrary}) {
    absl::StatusOr<LoadedModelPtr> model = LoadFile(dir / "m.json", choice);
    ASSERT_TRUE(model.ok()) << model.status();
    const std::vector<float> two_rows(8, 1.0f);
    std::vector<float> out(2);
    EXPECT_TRUE((*model)->Predict(two_rows, out).ok());
    EXPECT_EQ((*model)->Predict(std::span(two_rows).first(7), out).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ((*model)->Predict(two_rows, std::span(out).first(1)).code(),
              absl::StatusCode::kInvalidArgument);
    std::vector<float> three(3);
    EXPECT_EQ((*model)->Predict(two_rows, three).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE((*model)->Predict({}, {}).ok());  // no rows, nothing to do
  }
}

TEST(XGBoostRuntimeTest, BackendForFlavorKnowsXGBoostOnly) {
  absl::StatusOr<const ModelBackend*> xgboost = BackendForFlavor("xgboost");
  ASSERT_TRUE(xgboost.ok()) << xgboost.status();
  EXPECT_EQ((*xgboost)->flavor(), "xgboost");
  absl::StatusOr<const ModelBackend*> onnx = BackendForFlavor("onnx");
  EXPECT_EQ(onnx.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(core::View(onnx.status().message()).find("no serving backend for flavor"),
            std::string_view::npos);
}

TEST(XGBoostRuntimeTest, EvaluatorChoicesParseFromTheirNames) {
  EXPECT_EQ(*ParseEvaluatorChoice("auto"), EvaluatorChoice::kAuto);
  EXPECT_EQ(*ParseEvaluatorChoice("libxgboost"), EvaluatorChoice::kLibrary);
  EXPECT_EQ(*ParseEvaluatorChoice("native"), EvaluatorChoice::kNative);
  EXPECT_EQ(ParseEvaluatorChoice("fast").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry::serving
