// Times Y = X * W^T for AlexNet's fully-connected layers (fc6 4096x9216, fc7 4096x4096,
// fc8 1000x4096 at the paper's 9%, 9%, 25% densities) with W dense (Eigen, the baseline), CSR and
// Eigen's own row-major sparse matrix (the library baseline for CSR), deepcomp CSR and
// codebook-CSR (5-bit, 32-entry codebook as in the paper's fc layers) in the int32-column and
// the compact 16-bit-column layout, batch 1 and 16, 1 and 2
// OpenMP threads. Counters: dense-equivalent GFLOP/s (2 * rows * cols * batch per run), the
// weight bytes per nonzero of the form, ns per nonzero (per batch row) and the weight stream's
// GB/s (weight bytes / time; compare with bench/stream_bench.cc).
// BM_Crossover*: the small layers of the shared MNIST MLPs and LeNet-300-100 over a range of
// densities, 1 thread, to find the density above which the dense kernel wins (the runtime's
// --kernel auto threshold, runtime/kernel_choice.h).
// Run with --benchmark_repetitions=5 --benchmark_report_aggregates_only=true; results and
// speedups are in bench/RESULTS.md ("## Sparse kernels", "## Sparse or dense per layer").
#include <benchmark/benchmark.h>
#include <omp.h>

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/dense.h"
#include "kernels/isa.h"
#include "kernels/sparse_matrix.h"
#include "kernels/spmm.h"

namespace {

using deepcomp::kernels::ClusterBlockCsr;
using deepcomp::kernels::CodebookCsrMatrix;
using deepcomp::kernels::CompactCodebookCsr;
using deepcomp::kernels::CsrMatrix;
using deepcomp::kernels::GroupedCodebookCsr;

struct Layer {
  const char* name;
  int64_t rows;
  int64_t cols;
  double density;
};
constexpr Layer kLayers[] = {
    {"fc6", 4096, 9216, 0.09}, {"fc7", 4096, 4096, 0.09}, {"fc8", 1000, 4096, 0.25}};

// The same weights in all three forms: pruned at random to `density`, every survivor one of 32
// shared values.
using EigenCsr = Eigen::SparseMatrix<float, Eigen::RowMajor, int32_t>;

struct Weights {
  std::vector<float> dense;
  EigenCsr eigen_csr;
  CsrMatrix csr;
  CodebookCsrMatrix codebook_csr;
  CompactCodebookCsr compact;  // 16-bit columns; every layer here has cols <= 65536
  GroupedCodebookCsr grouped;  // cluster-grouped rows, 16-bit columns
  ClusterBlockCsr blocks;      // cluster blocks of 8, 16-bit columns
  std::vector<float> bias;
};

std::unique_ptr<Weights> make_weights(int64_t rows, int64_t cols, double density, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<float> codebook(32);
  for (int c = 0; c < 32; ++c) codebook[c] = (c - 15.5f) / 400.0f;  // nonzero, both signs
  std::vector<int64_t> positions;
  std::vector<uint32_t> clusters;
  std::uniform_int_distribution<uint32_t> pick(0, 31);
  for (int64_t i = 0; i < rows * cols; ++i) {
    if (uniform(rng) < density) {
      positions.push_back(i);
      clusters.push_back(pick(rng));
    }
  }
  auto w = std::make_unique<Weights>();
  std::string error;
  if (!deepcomp::kernels::codebook_csr_from(rows, cols, positions, clusters, codebook,
                                            &w->codebook_csr, &error)) {
    std::abort();
  }
  w->dense.resize(rows * cols);
  w->codebook_csr.to_dense(w->dense.data());
  w->csr = CsrMatrix::from_dense(w->dense.data(), rows, cols);
  w->compact = CompactCodebookCsr::from(w->codebook_csr);
  w->grouped = GroupedCodebookCsr::from(w->codebook_csr);
  w->blocks = ClusterBlockCsr::from(w->codebook_csr);
  std::vector<Eigen::Triplet<float, int32_t>> triplets;
  triplets.reserve(w->csr.nnz());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = w->csr.row_ptr[r]; k < w->csr.row_ptr[r + 1]; ++k) {
      triplets.emplace_back(static_cast<int32_t>(r), w->csr.col_idx[k], w->csr.values[k]);
    }
  }
  w->eigen_csr.resize(rows, cols);
  w->eigen_csr.setFromTriplets(triplets.begin(), triplets.end());
  w->eigen_csr.makeCompressed();
  w->bias.resize(rows);
  for (auto& b : w->bias) b = uniform(rng) - 0.5f;
  return w;
}

const Weights& weights(int layer_index) {
  static std::map<int, std::unique_ptr<Weights>> cache;
  auto& slot = cache[layer_index];
  if (!slot) {
    const Layer& layer = kLayers[layer_index];
    slot = make_weights(layer.rows, layer.cols, layer.density, 1234 + layer_index);
  }
  return *slot;
}

enum class Form { kDense, kEigenCsr, kCsr, kCodebookCsr, kCompact, kGrouped, kBlocks };

// Bytes of weight data one product reads (values, indices, row pointers, codebook).
double weight_bytes(Form form, const Weights& w, int64_t rows, int64_t cols) {
  const double nnz = static_cast<double>(w.csr.nnz());
  switch (form) {
    case Form::kDense:
      return 4.0 * rows * cols;
    case Form::kEigenCsr:
      return nnz * (4 + 4) + 4.0 * (rows + 1);
    case Form::kCsr:
      return nnz * (4 + 4) + 8.0 * (rows + 1);
    case Form::kCompact:
      return static_cast<double>(w.compact.bytes());
    case Form::kGrouped:
      return static_cast<double>(w.grouped.bytes());
    case Form::kBlocks:
      return static_cast<double>(w.blocks.bytes());
    case Form::kCodebookCsr:
      return nnz * (4 + 1) + 8.0 * (rows + 1) + 4.0 * w.codebook_csr.codebook.size();
  }
  return 0;
}

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void time_product(benchmark::State& state, Form form, int64_t rows, int64_t cols, int64_t batch,
                  int threads, const Weights& w) {
  std::vector<float> x(batch * cols);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (auto& v : x) v = uniform(rng);
  std::vector<float> y(batch * rows);
  omp_set_num_threads(threads);
  for (auto _ : state) {
    switch (form) {
      case Form::kDense:
        deepcomp::kernels::gemm_dense(x.data(), batch, cols, w.dense.data(), rows, w.bias.data(),
                                      y.data());
        break;
      case Form::kEigenCsr: {  // Y = X * W^T + b with Eigen's sparse-dense product
        Eigen::Map<RowMajor> ym(y.data(), batch, rows);
        Eigen::Map<const RowMajor> xm(x.data(), batch, cols);
        if (batch == 1) {
          Eigen::Map<Eigen::VectorXf> yv(y.data(), rows);
          yv.noalias() = w.eigen_csr * Eigen::Map<const Eigen::VectorXf>(x.data(), cols);
        } else {
          ym.noalias() = xm * w.eigen_csr.transpose();
        }
        ym.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(w.bias.data(), rows);
        break;
      }
      case Form::kCsr:
        deepcomp::kernels::gemm_csr(x.data(), batch, w.csr, w.bias.data(), y.data());
        break;
      case Form::kCodebookCsr:
        deepcomp::kernels::gemm_codebook_csr(x.data(), batch, w.codebook_csr, w.bias.data(),
                                             y.data());
        break;
      case Form::kCompact:
        deepcomp::kernels::gemm_codebook_csr(x.data(), batch, w.compact, w.bias.data(), y.data());
        break;
      case Form::kGrouped:
        deepcomp::kernels::gemm_codebook_csr(x.data(), batch, w.grouped, w.bias.data(), y.data());
        break;
      case Form::kBlocks:
        deepcomp::kernels::gemm_codebook_csr(x.data(), batch, w.blocks, w.bias.data(), y.data());
        break;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPs_dense_equiv"] = benchmark::Counter(
      2.0 * rows * cols * batch * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
  const double nnz = static_cast<double>(w.csr.nnz());
  const double bytes = weight_bytes(form, w, rows, cols);
  state.counters["bytes_per_nnz"] = bytes / nnz;
  // Per nonzero and batch row: (time / iterations) / (nnz * batch), in ns.
  state.counters["ns_per_nnz"] =
      benchmark::Counter(nnz * batch * 1e-9 * state.iterations(),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["weight_GBps"] =
      benchmark::Counter(bytes * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
}

void run(benchmark::State& state, Form form) {
  const int layer_index = static_cast<int>(state.range(0));
  const Layer& layer = kLayers[layer_index];
  time_product(state, form, layer.rows, layer.cols, state.range(1),
               static_cast<int>(state.range(2)), weights(layer_index));
  state.SetLabel(layer.name);
}

// The weight layers of mnist-net_256x2/256x4 (256x784, 256x256, 10x256), mnist_relu_9_200
// (200x784, 200x200) and LeNet-300-100 (300x784, 100x300).
constexpr int64_t kSmallShapes[][2] = {{256, 784}, {256, 256}, {10, 256}, {200, 784},
                                       {200, 200}, {300, 784}, {100, 300}};
constexpr int kDensityPercents[] = {5, 10, 15, 20, 25, 30, 40, 50, 70, 100};

void crossover(benchmark::State& state, Form form) {
  const int64_t rows = kSmallShapes[state.range(0)][0], cols = kSmallShapes[state.range(0)][1];
  const int percent = static_cast<int>(state.range(1));
  static std::map<std::pair<int64_t, int>, std::unique_ptr<Weights>> cache;
  auto& slot = cache[{state.range(0), percent}];
  if (!slot) slot = make_weights(rows, cols, percent / 100.0, 99 + percent);
  time_product(state, form, rows, cols, state.range(2), 1, *slot);
  state.SetLabel(std::to_string(rows) + "x" + std::to_string(cols) + "@" + std::to_string(percent) +
                 "%");
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
void BM_EigenCsr(benchmark::State& state) { run(state, Form::kEigenCsr); }
void BM_Csr(benchmark::State& state) { run(state, Form::kCsr); }
void BM_CodebookCsr(benchmark::State& state) { run(state, Form::kCodebookCsr); }
void BM_CompactCodebookCsr(benchmark::State& state) { run(state, Form::kCompact); }
void BM_GroupedCodebookCsr(benchmark::State& state) { run(state, Form::kGrouped); }
void BM_ClusterBlockCsr(benchmark::State& state) { run(state, Form::kBlocks); }

void crossover_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"shape", "density_pct", "batch"});
  for (int shape = 0; shape < static_cast<int>(std::size(kSmallShapes)); ++shape) {
    for (int percent : kDensityPercents) {
      for (int batch : {1, 16}) b->Args({shape, percent, batch});
    }
  }
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

void BM_CrossoverDense(benchmark::State& state) { crossover(state, Form::kDense); }
void BM_CrossoverCsr(benchmark::State& state) { crossover(state, Form::kCsr); }
void BM_CrossoverCodebookCsr(benchmark::State& state) { crossover(state, Form::kCodebookCsr); }

BENCHMARK(BM_CrossoverDense)->Apply(crossover_shapes);
BENCHMARK(BM_CrossoverCsr)->Apply(crossover_shapes);
BENCHMARK(BM_CrossoverCodebookCsr)->Apply(crossover_shapes);

BENCHMARK(BM_Dense)->Apply(shapes);
BENCHMARK(BM_EigenCsr)->Apply(shapes);
BENCHMARK(BM_Csr)->Apply(shapes);
BENCHMARK(BM_CodebookCsr)->Apply(shapes);
BENCHMARK(BM_CompactCodebookCsr)->Apply(shapes);
BENCHMARK(BM_GroupedCodebookCsr)->Apply(shapes);
BENCHMARK(BM_ClusterBlockCsr)->Apply(shapes);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  namespace k = deepcomp::kernels;
  benchmark::AddCustomContext("cpu", k::cpu_name());
  benchmark::AddCustomContext(
      "isa", std::string(k::isa_name(k::isa())) + " (cpu: " + k::isa_name(k::cpu_isa()) + ")");
  benchmark::AddCustomContext("simd_path", k::simd_path_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
