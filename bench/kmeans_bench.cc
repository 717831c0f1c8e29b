// Google Benchmark: deepcomp's 1-D k-means, fast Lloyd (O(k log n) per step after one sort) vs the
// naive O(n k) Lloyd from the same linear start, and the exact DP solver, at n = 100k and 1M,
// k = 32 and 256, on Laplacian values shaped like trained weights.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "compress/kmeans_1d.h"

namespace {

using namespace deepcomp::compress;

std::vector<float> laplacian(size_t n) {
  std::mt19937_64 rng(1);
  std::vector<float> v(n);
  for (float& x : v) {
    const double u = (static_cast<double>(rng() >> 11) + 0.5) * 0x1p-53;
    x = static_cast<float>(u < 0.5 ? 0.05 * std::log(2 * u) : -0.05 * std::log(2 - 2 * u));
  }
  return v;
}

std::vector<float> linear_start(const std::vector<float>& v, int k) {
  KMeansOptions o;
  o.k = k;
  return *kmeans_1d_initial_centroids(v, o);
}

void BM_FastLloyd(benchmark::State& state) {
  const auto v = laplacian(state.range(0));
  const auto start = linear_start(v, static_cast<int>(state.range(1)));
  int iters = 0;
  for (auto _ : state) {
    auto r = kmeans_1d_lloyd(v, start, 100);
    iters = r->iterations;
    benchmark::DoNotOptimize(r->inertia);
  }
  state.counters["iterations"] = iters;
}

void BM_NaiveLloyd(benchmark::State& state) {
  const auto v = laplacian(state.range(0));
  const auto start = linear_start(v, static_cast<int>(state.range(1)));
  int iters = 0;
  for (auto _ : state) {
    auto r = kmeans_1d_naive_lloyd(v, start, 100);
    iters = r->iterations;
    benchmark::DoNotOptimize(r->inertia);
  }
  state.counters["iterations"] = iters;
}

void BM_Optimal(benchmark::State& state) {
  const auto v = laplacian(state.range(0));
  KMeansOptions o;
  o.k = static_cast<int>(state.range(1));
  o.init = KMeansInit::kOptimal;
  for (auto _ : state) {
    auto r = kmeans_1d(v, o);
    benchmark::DoNotOptimize(r->inertia);
  }
}

void Shapes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {100000, 1000000}) {
    for (int64_t k : {32, 256}) b->Args({n, k});
  }
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_FastLloyd)->Apply(Shapes);
BENCHMARK(BM_NaiveLloyd)->Apply(Shapes)->Iterations(1);
BENCHMARK(BM_Optimal)->Apply(Shapes)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
