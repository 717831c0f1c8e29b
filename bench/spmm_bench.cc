// Times Y = X * W^T for AlexNet's fully-connected layers (fc6 4096x9216, fc7 4096x4096,
// fc8 1000x4096 at the paper's 9%, 9%, 25% densities) with W dense (Eigen, the baseline), CSR and
// codebook-CSR (5-bit, 32-entry codebook as in the paper's fc layers), batch 1 and 16, 1 and 2
// OpenMP threads. Counters: dense-equivalent GFLOP/s (2 * rows * cols * batch per run).
// Run with --benchmark_repetitions=5 --benchmark_report_aggregates_only=true; results and
// speedups are in bench/RESULTS.md ("## Sparse kernels").
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "kernels/dense.h"
#include "kernels/sparse_matrix.h"
#include "kernels/spmm.h"

namespace {

using deepcomp::kernels::CodebookCsrMatrix;
using deepcomp::kernels::CsrMatrix;

struct Layer {
  const char* name;
  int64_t rows;
  int64_t cols;
  double density;
};
constexpr Layer kLayers[] = {
    {"fc6", 4096, 9216, 0.09}, {"fc7", 4096, 4096, 0.09}, {"fc8", 1000, 4096, 0.25}};

// The same weights in all three forms: pruned at random to the layer's density, every survivor
// one of 32 shared values.
struct Weights {
  std::vector<float> dense;
  CsrMatrix csr;
  CodebookCsrMatrix codebook_csr;
  std::vector<float> bias;
};

const Weights& weights(int layer_index) {
  static std::map<int, std::unique_ptr<Weights>> cache;
  auto& slot = cache[layer_index];
  if (slot) return *slot;
  const Layer& layer = kLayers[layer_index];
  std::mt19937 rng(1234 + layer_index);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<float> codebook(32);
  for (int c = 0; c < 32; ++c) codebook[c] = (c - 15.5f) / 400.0f;  // nonzero, both signs
  std::vector<int64_t> positions;
  std::vector<uint32_t> clusters;
  std::uniform_int_distribution<uint32_t> pick(0, 31);
  for (int64_t i = 0; i < layer.rows * layer.cols; ++i) {
    if (uniform(rng) < layer.density) {
      positions.push_back(i);
      clusters.push_back(pick(rng));
    }
  }
  slot = std::make_unique<Weights>();
  std::string error;
  if (!deepcomp::kernels::codebook_csr_from(layer.rows, layer.cols, positions, clusters, codebook,
                                            &slot->codebook_csr, &error)) {
    std::abort();
  }
  slot->dense.resize(layer.rows * layer.cols);
  slot->codebook_csr.to_dense(slot->dense.data());
  slot->csr = CsrMatrix::from_dense(slot->dense.data(), layer.rows, layer.cols);
  slot->bias.resize(layer.rows);
  for (auto& b : slot->bias) b = uniform(rng) - 0.5f;
  return *slot;
}

enum class Form { kDense, kCsr, kCodebookCsr };

void run(benchmark::State& state, Form form) {
  const int layer_index = static_cast<int>(state.range(0));
  const int64_t batch = state.range(1);
  const int threads = static_cast<int>(state.range(2));
  const Layer& layer = kLayers[layer_index];
  const Weights& w = weights(layer_index);
  std::vector<float> x(batch * layer.cols);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (auto& v : x) v = uniform(rng);
  std::vector<float> y(batch * layer.rows);
  omp_set_num_threads(threads);
  for (auto _ : state) {
    switch (form) {
      case Form::kDense:
        deepcomp::kernels::gemm_dense(x.data(), batch, layer.cols, w.dense.data(), layer.rows,
                                      w.bias.data(), y.data());
        break;
      case Form::kCsr:
        deepcomp::kernels::gemm_csr(x.data(), batch, w.csr, w.bias.data(), y.data());
        break;
      case Form::kCodebookCsr:
        deepcomp::kernels::gemm_codebook_csr(x.data(), batch, w.codebook_csr, w.bias.data(),
                                             y.data());
        break;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(layer.name);
  state.counters["GFLOPs_dense_equiv"] =
      benchmark::Counter(2.0 * layer.rows * layer.cols * batch * 1e-9 * state.iterations(),
                         benchmark::Counter::kIsRate);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"layer", "batch", "threads"});
  for (int layer = 0; layer < 3; ++layer) {
    for (int batch : {1, 16}) {
      for (int threads : {1, 2}) b->Args({layer, batch, threads});
    }
  }
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

void BM_Dense(benchmark::State& state) { run(state, Form::kDense); }
void BM_Csr(benchmark::State& state) { run(state, Form::kCsr); }
void BM_CodebookCsr(benchmark::State& state) { run(state, Form::kCodebookCsr); }

BENCHMARK(BM_Dense)->Apply(shapes);
BENCHMARK(BM_Csr)->Apply(shapes);
BENCHMARK(BM_CodebookCsr)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
