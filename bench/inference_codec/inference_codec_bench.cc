// In-process timings of the inference wire formats (Google Benchmark):
//
//   inference_codec_bench [--benchmark_...]     (bench/inference_codec/run runs it)
//
// Requests of 30 float features with 7 significant digits (fixed seed):
//   BM_DecodeV2Row          one [1, 30] FP32 tensor
//   BM_DecodeV2Tensors      30 FP32 tensors of shape [1]
//   BM_DecodeV2Batch100     one [100, 30] FP32 tensor
//   BM_DecodeV1Array        {"instances": [[30 numbers]]}
//   BM_DecodeV1Object       {"instances": [{30 fields}]}
//   BM_EncodeV2Row          a response of one output, one row, with id and prediction id
//   BM_NlohmannParseV2Row   the peer: nlohmann::json::parse of BM_DecodeV2Row's body

#include <benchmark/benchmark.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "serving/inference_codec.h"

namespace {

using ferry::serving::RequestFrame;

constexpr int kFeatures = 30;

std::string Values(std::mt19937& rng, int count) {
  std::uniform_real_distribution<double> value(-1000, 1000);
  std::string out;
  char buffer[32];
  for (int i = 0; i < count; ++i) {
    std::snprintf(buffer, sizeof(buffer), "%s%.7g", i ? "," : "", value(rng));
    out += buffer;
  }
  return out;
}

std::string V2Matrix(int rows) {
  std::mt19937 rng(42);
  return R"({"id":"r1","inputs":[{"name":"features","shape":[)" + std::to_string(rows) + "," +
         std::to_string(kFeatures) + R"(],"datatype":"FP32","data":[)" + Values(rng, rows * kFeatures) + "]}]}";
}

std::string V2Tensors() {
  std::mt19937 rng(42);
  std::string body = R"({"id":"r1","inputs":[)";
  for (int i = 0; i < kFeatures; ++i) {
    body += (i ? "," : "") + std::string(R"({"name":"f)") + std::to_string(i) +
            R"(","shape":[1],"datatype":"FP32","data":[)" + Values(rng, 1) + "]}";
  }
  return body + "]}";
}

std::string V1Array() {
  std::mt19937 rng(42);
  return R"({"instances":[[)" + Values(rng, kFeatures) + "]]}";
}

std::string V1Object() {
  std::mt19937 rng(42);
  std::string body = R"({"instances":[{)";
  for (int i = 0; i < kFeatures; ++i) body += (i ? ",\"f" : "\"f") + std::to_string(i) + "\":" + Values(rng, 1);
  return body + "}]}";
}

template <typename Decode>
void Run(benchmark::State& state, const std::string& body, Decode decode) {
  RequestFrame frame;
  const ferry::serving::Limits limits;
  for (auto _ : state) {
    const absl::Status status = decode(body, limits, frame);
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(frame.rows);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

absl::Status V2(const std::string& body, const ferry::serving::Limits& limits, RequestFrame& frame) {
  return ferry::serving::DecodeV2Request(body, std::nullopt, limits, frame);
}

void BM_DecodeV2Row(benchmark::State& state) { Run(state, V2Matrix(1), V2); }
BENCHMARK(BM_DecodeV2Row);

void BM_DecodeV2Tensors(benchmark::State& state) { Run(state, V2Tensors(), V2); }
BENCHMARK(BM_DecodeV2Tensors);

void BM_DecodeV2Batch100(benchmark::State& state) { Run(state, V2Matrix(100), V2); }
BENCHMARK(BM_DecodeV2Batch100);

void BM_DecodeV1Array(benchmark::State& state) { Run(state, V1Array(), ferry::serving::DecodeV1Request); }
BENCHMARK(BM_DecodeV1Array);

void BM_DecodeV1Object(benchmark::State& state) { Run(state, V1Object(), ferry::serving::DecodeV1Request); }
BENCHMARK(BM_DecodeV1Object);

void BM_EncodeV2Row(benchmark::State& state) {
  const std::vector<float> predict = {0.8731f};
  const std::vector<std::string> ids = {"0190f3a2-7c1e-7b4a-9e2d-3f5a6b7c8d9e"};
  const ferry::serving::OutputTensor outputs[] = {{"predict", 1, 1, predict, false}};
  const ferry::serving::V2ResponseHead head{"fraud", "3", "r1", ids};
  std::string body;
  std::optional<size_t> header_length;
  for (auto _ : state) {
    ferry::serving::EncodeV2Response(head, outputs, body, &header_length);
    benchmark::DoNotOptimize(body.data());
  }
}
BENCHMARK(BM_EncodeV2Row);

void BM_NlohmannParseV2Row(benchmark::State& state) {
  const std::string body = V2Matrix(1);
  for (auto _ : state) {
    nlohmann::json parsed = nlohmann::json::parse(body);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_NlohmannParseV2Row);

}  // namespace

BENCHMARK_MAIN();
