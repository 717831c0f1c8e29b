// The machine's memory bandwidth, STREAM style, so the kernels' GB/s in bench/RESULTS.md can be
// put against it: Copy (b = a) and Triad (a = b + s * c) on arrays of 2^25 floats (128 MiB
// each, far beyond any last-level cache), 1 and 2 OpenMP threads. The bytes counted are the ones
// the program asks for (read + written); write-allocate traffic is not added.
// Run with --benchmark_repetitions=5 --benchmark_report_aggregates_only=true.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <vector>

namespace {

constexpr int64_t kFloats = int64_t{1} << 25;

struct Arrays {
  std::vector<float> a, b, c;
  Arrays() : a(kFloats, 1.0f), b(kFloats, 2.0f), c(kFloats, 3.0f) {}
};

Arrays& arrays() {
  static Arrays arrays;
  return arrays;
}

void BM_Copy(benchmark::State& state) {
  Arrays& s = arrays();
  const int threads = static_cast<int>(state.range(0));
  float* a = s.a.data();
  float* b = s.b.data();
  for (auto _ : state) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < kFloats; ++i) b[i] = a[i];
    benchmark::ClobberMemory();
  }
  state.counters["GBps"] = benchmark::Counter(2.0 * 4 * kFloats * state.iterations() * 1e-9,
                                              benchmark::Counter::kIsRate);
}

void BM_Triad(benchmark::State& state) {
  Arrays& s = arrays();
  const int threads = static_cast<int>(state.range(0));
  float* a = s.a.data();
  const float* b = s.b.data();
  const float* c = s.c.data();
  for (auto _ : state) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < kFloats; ++i) a[i] = b[i] + 0.5f * c[i];
    benchmark::ClobberMemory();
  }
  state.counters["GBps"] = benchmark::Counter(3.0 * 4 * kFloats * state.iterations() * 1e-9,
                                              benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Copy)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(
    benchmark::kMillisecond);
BENCHMARK(BM_Triad)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(
    benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
