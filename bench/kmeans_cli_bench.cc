// Command-line driver for bench/kmeans_vs_sklearn.py: clusters the float32 values of a raw binary
// file with deepcomp's 1-D k-means and prints one JSON line (best wall time over repeats, inertia,
// iterations). Not a Google Benchmark: the Python script times scikit-learn on the same values.
//   kmeans_cli_bench VALUES.f32 K INIT [REPEATS] [MAX_ITERS] [SEED]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "compress/kmeans_1d.h"

int main(int argc, char** argv) {
  using deepcomp::compress::KMeansOptions;
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s VALUES.f32 K INIT [REPEATS] [MAX_ITERS] [SEED]\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    std::fprintf(stderr, "%s: cannot read\n", argv[1]);
    return 1;
  }
  std::vector<float> values(bytes.size() / sizeof(float));
  std::copy(bytes.data(), bytes.data() + values.size() * sizeof(float),
            reinterpret_cast<char*>(values.data()));
  KMeansOptions options;
  options.k = std::atoi(argv[2]);
  auto init = deepcomp::compress::parse_kmeans_init(argv[3]);
  if (!init.ok()) {
    std::fprintf(stderr, "%s\n", init.status().message().c_str());
    return 2;
  }
  options.init = *init;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 5;
  if (argc > 5) options.max_iters = std::atoi(argv[5]);
  if (argc > 6) options.seed = std::strtoull(argv[6], nullptr, 10);
  double best = 1e300;
  deepcomp::compress::KMeansResult result;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto res = deepcomp::compress::kmeans_1d(values, options);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!res.ok()) {
      std::fprintf(stderr, "%s\n", res.status().message().c_str());
      return 1;
    }
    best = std::min(best, s);
    result = std::move(*res);
  }
  std::printf(
      "{\"n\": %zu, \"k\": %d, \"init\": \"%s\", \"seconds\": %.9g, \"inertia\": %.17g, "
      "\"iterations\": %d, \"clusters\": %zu}\n",
      values.size(), options.k, argv[3], best, result.inertia, result.iterations,
      result.centroids.size());
  return 0;
}
