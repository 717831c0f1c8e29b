// Per-layer convolution times on the layer shapes that dominate the real CNNs (ocr_det, PaddleOCR's
// detector at its 192x384 page input; BlazeFace back at 256x256; YOLOX, ddddocr's detector, at
// 416x416: its three biggest 3x3 shapes, a 1x1 and the first two layers), batch 1, one thread:
//   Im2colEigen: the previous path (im2col, then an Eigen GEMM per group), the baseline;
//   Dense:       kernels::conv_dense (direct kernels, kernels/conv_direct.h), the weight packed
//                once outside the loop as the Session does (kernels::pack_conv_weight);
//   Codebook30:  kernels::conv_codebook_csr with 30% of the weights kept (16 shared values);
//   CodebookKept/<shape>/<percent>: the same at 10-90% kept, to find the dense/sparse crossover
//                (runtime/kernel_choice.h kDefaultConvDenseAboveDensity).
// Counter MAC/s counts the dense layer's multiply-adds, so the sparse figure is dense-equivalent.
// bench/conv_layers_ort.sh times ONNX Runtime on the same shapes; results in bench/RESULTS.md
// ("## Convolution and whole-model speed (issue 14, ...)").
#include <benchmark/benchmark.h>
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "data/npy.h"
#include "kernels/conv.h"
#include "kernels/isa.h"
#include "kernels/sparse_matrix.h"

namespace {

using deepcomp::kernels::CodebookCsrMatrix;
using deepcomp::kernels::ConvParams;
using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Shape {
  const char* name;
  int64_t C, H, W, M, k, stride, group;
};
// Name: model_layer; pads are k / 2 (the models' "same" convolutions).
constexpr Shape kShapes[] = {
    {"ocrdet_conv58_3x3", 96, 48, 96, 24, 3, 1, 1},
    {"ocrdet_conv6_1x1", 48, 48, 96, 48, 1, 1, 1},
    {"ocrdet_conv2_1x1", 16, 96, 192, 32, 1, 1, 1},
    {"ocrdet_conv32_1x1", 384, 6, 12, 384, 1, 1, 1},
    {"ocrdet_conv0_3x3s2", 3, 192, 384, 16, 3, 2, 1},
    {"ocrdet_conv19_dw5x5", 192, 12, 24, 192, 5, 1, 192},
    {"ocrdet_conv3_dw3x3s2", 32, 96, 192, 32, 3, 2, 32},
    {"blazeface_dw3x3", 24, 128, 128, 24, 3, 1, 24},
    {"blazeface_1x1", 24, 128, 128, 24, 1, 1, 1},
    {"blazeface_conv0_5x5s2", 3, 256, 256, 24, 5, 2, 1},
    {"yolox_3x3_52", 96, 52, 52, 96, 3, 1, 1},
    {"yolox_3x3_26", 96, 26, 26, 96, 3, 1, 1},
    {"yolox_3x3s2_13", 192, 26, 26, 384, 3, 2, 1},
    {"yolox_1x1_26", 192, 26, 26, 192, 1, 1, 1},
    {"yolox_3x3_208", 12, 208, 208, 24, 3, 1, 1},
    {"yolox_3x3s2_104", 24, 208, 208, 48, 3, 2, 1},
};

ConvParams params(const Shape& s) {
  ConvParams p;
  p.C = s.C, p.H = s.H, p.W = s.W, p.M = s.M, p.kh = p.kw = s.k;
  p.stride_h = p.stride_w = s.stride, p.group = s.group;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = s.k / 2;
  return p;
}

struct Data {
  ConvParams p;
  std::vector<float> x, w, bias, y;
  CodebookCsrMatrix cb;  // `kept` of w's positions, 16 shared values
};

Data make(const Shape& s, double kept = 0.3) {
  Data d;
  d.p = params(s);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  d.x.resize(d.p.C * d.p.H * d.p.W);
  for (float& v : d.x) v = u(rng);
  const int64_t k = d.p.patch_size();
  d.w.resize(d.p.M * k);
  for (float& v : d.w) v = u(rng);
  d.bias.resize(d.p.M);
  for (float& v : d.bias) v = u(rng);
  // `kept` of the positions, each survivor one of 16 shared values.
  std::vector<float> codebook(16);
  for (float& v : codebook) v = u(rng);
  std::vector<int64_t> positions;
  std::vector<uint32_t> clusters;
  for (int64_t i = 0; i < d.p.M * k; ++i) {
    if (std::uniform_real_distribution<double>(0, 1)(rng) < kept) {
      positions.push_back(i);
      clusters.push_back(static_cast<uint32_t>(rng() % 16));
    }
  }
  std::string error;
  deepcomp::kernels::codebook_csr_from(d.p.M, k, positions, clusters, codebook, &d.cb, &error);
  d.y.resize(d.p.M * d.p.out_spatial());
  return d;
}

void report(benchmark::State& state, const ConvParams& p) {
  const double macs = double(p.M) * p.patch_size() * p.out_spatial();
  state.counters["MAC/s"] =
      benchmark::Counter(macs * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_Im2colEigen(benchmark::State& state, Shape s) {
  omp_set_num_threads(1);
  Data d = make(s);
  const ConvParams& p = d.p;
  const int64_t k = p.patch_size(), mg = p.M / p.group, sp = p.out_spatial();
  std::vector<float> cols(p.C * p.taps() * sp);
  for (auto _ : state) {
    deepcomp::kernels::im2col(p, d.x.data(), cols.data());
    for (int64_t g = 0; g < p.group; ++g) {
      Eigen::Map<RowMajor> y(d.y.data() + g * mg * sp, mg, sp);
      y.noalias() = Eigen::Map<const RowMajor>(d.w.data() + g * mg * k, mg, k) *
                    Eigen::Map<const RowMajor>(cols.data() + g * k * sp, k, sp);
      y.colwise() += Eigen::Map<const Eigen::VectorXf>(d.bias.data() + g * mg, mg);
    }
    benchmark::DoNotOptimize(d.y.data());
  }
  report(state, p);
}

void BM_Dense(benchmark::State& state, Shape s) {
  omp_set_num_threads(1);
  Data d = make(s);
  // As the Session runs a constant weight: packed into panels once, outside the timed loop
  // (depthwise layers read the plain weight).
  deepcomp::kernels::PackedConvWeight packed;
  if (d.p.M > d.p.group) {
    packed = deepcomp::kernels::pack_conv_weight(d.w.data(), d.p.M, d.p.group, d.p.patch_size());
  }
  for (auto _ : state) {
    if (packed.matches(d.p)) {
      deepcomp::kernels::conv_dense(d.p, d.x.data(), packed, d.bias.data(), d.y.data());
    } else {
      deepcomp::kernels::conv_dense(d.p, d.x.data(), d.w.data(), d.bias.data(), d.y.data());
    }
    benchmark::DoNotOptimize(d.y.data());
  }
  report(state, d.p);
}

void BM_Codebook30(benchmark::State& state, Shape s) {
  omp_set_num_threads(1);
  Data d = make(s);
  for (auto _ : state) {
    deepcomp::kernels::conv_codebook_csr(d.p, d.x.data(), d.cb, d.bias.data(), d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
  report(state, d.p);
}

// state.range(0): percent of the weights kept.
void BM_CodebookKept(benchmark::State& state, Shape s) {
  omp_set_num_threads(1);
  Data d = make(s, state.range(0) / 100.0);
  for (auto _ : state) {
    deepcomp::kernels::conv_codebook_csr(d.p, d.x.data(), d.cb, d.bias.data(), d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
  report(state, d.p);
}

// A real layer: DEEPCOMP_CONV_BENCH_LAYER=W.npy[,X.npy[,STRIDE[,silu]]], a weight [M, C, k, k]
// (zeros where pruned, e.g. from `deepcomp decompress`; its distinct nonzero values are the
// codebook) and the layer's input [1, C, H, W] (taken from a run; uniform [-1, 1) when left
// out); pads k / 2; `silu`: the SiLU epilogue YOLOX's convolutions fuse. Registers Real/Dense and
// Real/Codebook: what a real layer's row lengths and values cost against random ones at the same
// density (YOLOX's Conv_248 at 30%: the same times as Codebook30/yolox_3x3_52).
deepcomp::kernels::Epilogue real_epilogue;
bool make_real(Data* d) {
  const char* spec = std::getenv("DEEPCOMP_CONV_BENCH_LAYER");
  if (!spec || !*spec) return false;
  std::vector<std::string> parts;
  std::string rest = spec;
  for (size_t at; (at = rest.find(',')) != std::string::npos; rest.erase(0, at + 1)) {
    parts.push_back(rest.substr(0, at));
  }
  parts.push_back(rest);
  auto w = deepcomp::data::read_npy_typed(parts[0]);
  if (!w.ok() || w->shape.size() != 4 || w->shape[2] != w->shape[3]) {
    std::fprintf(stderr, "DEEPCOMP_CONV_BENCH_LAYER: %s: not a float [M, C, k, k] .npy\n",
                 parts[0].c_str());
    std::exit(2);
  }
  const int64_t M = w->shape[0], C = w->shape[1], k = w->shape[2];
  std::vector<float> x;
  int64_t H = 52, W = 52;
  if (parts.size() > 1 && !parts[1].empty()) {
    auto xin = deepcomp::data::read_npy_typed(parts[1]);
    if (!xin.ok() || xin->shape.size() != 4 || xin->shape[1] != C) {
      std::fprintf(stderr, "DEEPCOMP_CONV_BENCH_LAYER: %s: not a float [1, %lld, H, W] .npy\n",
                   parts[1].c_str(), static_cast<long long>(C));
      std::exit(2);
    }
    H = xin->shape[2], W = xin->shape[3];
    x = std::move(xin->f);
  }
  const int64_t stride = parts.size() > 2 ? std::atoll(parts[2].c_str()) : 1;
  if (parts.size() > 3 && parts[3] == "silu") {
    real_epilogue.act = deepcomp::kernels::Activation::kSilu;
  }
  *d = make({"real", C, H, W, M, k, stride, 1}, 0.0);
  if (!x.empty()) d->x = std::move(x);
  d->w = w->f;
  std::map<float, uint32_t> cluster_of;
  for (float v : d->w) {
    if (v != 0.0f) cluster_of.emplace(v, 0);
  }
  std::vector<float> codebook;
  for (auto& [v, c] : cluster_of) {
    c = static_cast<uint32_t>(codebook.size());
    codebook.push_back(v);
  }
  std::vector<int64_t> positions;
  std::vector<uint32_t> clusters;
  for (int64_t i = 0; i < static_cast<int64_t>(d->w.size()); ++i) {
    if (d->w[i] != 0.0f) positions.push_back(i), clusters.push_back(cluster_of[d->w[i]]);
  }
  std::string error;
  if (!deepcomp::kernels::codebook_csr_from(M, d->p.patch_size(), positions, clusters, codebook,
                                            &d->cb, &error)) {
    std::fprintf(stderr, "DEEPCOMP_CONV_BENCH_LAYER: %s\n", error.c_str());
    std::exit(2);
  }
  return true;
}

void BM_RealDense(benchmark::State& state, const Data* real) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  Data d = *real;
  const auto packed =
      deepcomp::kernels::pack_conv_weight(d.w.data(), d.p.M, d.p.group, d.p.patch_size());
  for (auto _ : state) {
    deepcomp::kernels::conv_dense(d.p, d.x.data(), packed, d.bias.data(), d.y.data(),
                                  real_epilogue);
    benchmark::DoNotOptimize(d.y.data());
  }
  report(state, d.p);
}
void BM_RealCodebook(benchmark::State& state, const Data* real) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  Data d = *real;
  // As the Session runs a sparse weight: its chunk starts found once, outside the timed loop.
  const auto chunks =
      deepcomp::kernels::sparse_chunk_starts(d.cb.row_ptr, d.cb.col_idx, d.p.patch_size());
  for (auto _ : state) {
    deepcomp::kernels::conv_codebook_csr(d.p, d.x.data(), d.cb, d.bias.data(), d.y.data(),
                                         real_epilogue, nullptr, &chunks);
    benchmark::DoNotOptimize(d.y.data());
  }
  report(state, d.p);
}

int register_all() {
  static Data real;
  if (make_real(&real)) {
    // One thread and two (wall time: the kernels' own OpenMP threads).
    using Real = std::pair<const char*, void (*)(benchmark::State&, const Data*)>;
    for (const auto& [name, fn] : {Real{"Real/Dense", BM_RealDense},
                                   Real{"Real/Codebook", BM_RealCodebook}}) {
      benchmark::RegisterBenchmark(name, fn, &real)
          ->Unit(benchmark::kMillisecond)
          ->ArgName("threads")
          ->Arg(1)
          ->Arg(2)
          ->UseRealTime();
    }
  }
  for (const Shape& s : kShapes) {
    benchmark::RegisterBenchmark((std::string("Im2colEigen/") + s.name).c_str(), BM_Im2colEigen, s)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("Dense/") + s.name).c_str(), BM_Dense, s)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("Codebook30/") + s.name).c_str(), BM_Codebook30, s)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("CodebookKept/") + s.name).c_str(), BM_CodebookKept,
                                 s)
        ->Unit(benchmark::kMillisecond)
        ->ArgName("percent")
        ->DenseRange(10, 90, 10);
  }
  return 0;
}
const int registered = register_all();

}  // namespace

int main(int argc, char** argv) {
  namespace k = deepcomp::kernels;
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("cpu", k::cpu_name());
  benchmark::AddCustomContext(
      "isa", std::string(k::isa_name(k::isa())) + " (cpu: " + k::isa_name(k::cpu_isa()) + ")");
  benchmark::AddCustomContext("conv_simd_path", k::conv_simd_path_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
