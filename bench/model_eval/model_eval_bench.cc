// Predict latency of one XGBoost model through ferry's model runtime (Google Benchmark):
//
//   model_eval_bench MODEL_FILE [--benchmark_...]     (bench/model_eval/run runs it)
//
// The model is loaded twice, once per evaluator (LoadOptions::evaluator "native" and
// "libxgboost", one thread per call), and each benchmark times one Predict call on a
// batch of 1, 10, 100 or 1000 rows:
//   BM_Predict/native/N      ferry's tree walker (TreeEnsemble)
//   BM_Predict/libxgboost/N  libxgboost's in-place predict (XGBoosterPredictFromDense)
// Rows: standard normal values with 10% missing (NaN), from a fixed seed; a call reads
// its batch from a pool of 64k rows, moving on each time, so the rows are not always
// the same few in cache.

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "serving/model_runtime.h"

namespace {

using ferry::serving::EvaluatorChoice;
using ferry::serving::LoadedModelPtr;

constexpr size_t kPoolRows = 65536;

LoadedModelPtr LoadOrDie(const std::string& bytes, EvaluatorChoice evaluator) {
  ferry::serving::LoadOptions options;
  options.display_name = "model_eval";
  options.evaluator = evaluator;
  auto backend = ferry::serving::BackendForFlavor("xgboost");
  auto model = (*backend)->Load(bytes, options);
  if (!model.ok()) {
    std::fprintf(stderr, "model_eval_bench: %s\n", std::string(model.status().message()).c_str());
    std::exit(1);
  }
  return *model;
}

std::vector<float> Pool(int64_t features) {
  std::mt19937_64 random(42);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> unit;
  std::vector<float> rows(kPoolRows * features);
  for (float& value : rows) value = unit(random) < 0.1f ? NAN : normal(random);
  return rows;
}

void BM_Predict(benchmark::State& state, const LoadedModelPtr& model,
                const std::vector<float>& pool) {
  const auto batch = static_cast<size_t>(state.range(0));
  const auto features = static_cast<size_t>(model->description().num_features);
  std::vector<float> out(batch * model->description().num_outputs);
  size_t first = 0;
  for (auto _ : state) {
    if (first + batch > kPoolRows) first = 0;
    const std::span<const float> rows(pool.data() + first * features, batch * features);
    if (!model->Predict(rows, out).ok()) state.SkipWithError("Predict failed");
    benchmark::DoNotOptimize(out.data());
    first += batch;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: model_eval_bench MODEL_FILE [--benchmark_...]\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  // Locals, not statics: a libxgboost booster freed during static destruction touches
  // libxgboost's thread-local stores after they are gone (a double free at exit).
  const LoadedModelPtr native = LoadOrDie(bytes, EvaluatorChoice::kNative);
  const LoadedModelPtr library = LoadOrDie(bytes, EvaluatorChoice::kLibrary);
  const std::vector<float> pool = Pool(native->description().num_features);
  for (const auto& [name, model] :
       {std::pair{"native", &native}, std::pair{"libxgboost", &library}}) {
    for (const int batch : {1, 10, 100, 1000}) {
      benchmark::RegisterBenchmark(
          (std::string("BM_Predict/") + name).c_str(),
          [model = model, &pool](benchmark::State& state) { BM_Predict(state, *model, pool); })
          ->Arg(batch)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
