// Internals shared by kmeans_1d.cc, kmeans_init.cc and kmeans_optimal.cc: the sorted distinct
// values with prefix counts and exact fixed-point prefix sums, and the per-init helpers.
// Not part of the API: only the k-means sources include it. Depends on the standard library.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "compress/kmeans_1d.h"

namespace deepcomp::compress::kmeans_internal {

using Fixed = __int128;

// Exact fixed-point representation shared by the fast and the naive Lloyd (see kmeans_1d.h).
struct FixedScale {
  int to_fixed_exp = 0;  // value * 2^to_fixed_exp, rounded to an integer
  Fixed to_fixed(float x) const;
  float mean(Fixed sum, uint64_t count) const;
};
FixedScale fixed_scale_for(std::span<const float> values);

struct SortedValues {
  std::vector<float> v;         // distinct values, ascending (-0 and +0 are one value)
  std::vector<uint64_t> count;  // prefix counts, size m + 1
  std::vector<Fixed> sum;       // prefix fixed-point sums, size m + 1
  std::vector<uint32_t> rank;   // per input value: its index in v
  FixedScale scale;
  size_t m() const { return v.size(); }
  uint64_t n() const { return count.back(); }
};
SortedValues sort_values(std::span<const float> values);

// Initial centroids (ascending, may repeat) for the non-optimal inits.
std::vector<float> init_centroids(std::span<const float> values, const SortedValues& sv,
                                  const KMeansOptions& options);

// Interior cluster boundaries (indices into sv.v, ascending) of the optimal partition of the
// distinct values into min(k, m) clusters. table_budget: the most argmin entries kept at once
// (larger problems are split Hirschberg-style; tests lower it to exercise the split).
inline constexpr uint64_t kOptimalTableBudget = uint64_t{1} << 25;  // 128 MB of uint32
std::vector<uint32_t> optimal_boundaries(const SortedValues& sv, int k,
                                         uint64_t table_budget = kOptimalTableBudget);

}  // namespace deepcomp::compress::kmeans_internal
