// Internals shared by kmeans_1d.cc, kmeans_init.cc and kmeans_optimal.cc: the sorted distinct
// values with prefix counts and exact fixed-point prefix sums, and the per-init helpers.
// Not part of the API: only the k-means sources include it. Depends on the standard library.
#pragma once

#include <cstdint>
#include <random>
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

// The distinct values of the input with their multiplicities and exact prefix sums, in as little
// memory as a large layer allows: counts are implicit when every value is distinct (the common
// case for trained weights), and prefix sums are kept every kSumStride distinct values (the rest
// is summed on demand, at most kSumStride - 1 terms).
struct SortedValues {
  static constexpr size_t kSumStride = 16;
  std::vector<float> v;          // distinct values, ascending (-0 and +0 are one value)
  std::vector<uint32_t> count;   // prefix counts (size m + 1); empty when every value is distinct
  std::vector<Fixed> stride_sum; // stride_sum[s] = prefix_sum(s * kSumStride)
  FixedScale scale;
  size_t m() const { return v.size(); }
  uint64_t prefix_count(size_t d) const { return count.empty() ? d : count[d]; }
  uint64_t multiplicity(size_t d) const { return prefix_count(d + 1) - prefix_count(d); }
  uint64_t n() const { return prefix_count(m()); }
  // Exact fixed-point sum of the first d distinct values times their multiplicities.
  Fixed prefix_sum(size_t d) const;
};
// Sorts `values` (consumed: its buffer becomes SortedValues::v; finite values only) and builds the
// prefix data. Peak memory: two copies of the values during the radix sort.
SortedValues sort_values(std::vector<float> values);

// Draws that the random and k-means++ inits make from the input in its original order (so that
// they can be made before the input is sorted in place).
struct InputDraws {
  std::vector<float> random_centroids;  // kRandom: the drawn values, sorted
  float kmeanspp_first = 0;             // kKMeansPlusPlus: the first centre
  std::mt19937_64 rng;                  // the generator after those draws
};
InputDraws draw_from_input(std::span<const float> values, const KMeansOptions& options);

// Initial centroids (ascending, may repeat) for the non-optimal inits.
std::vector<float> init_centroids(const SortedValues& sv, InputDraws& draws,
                                  const KMeansOptions& options);

// Interior cluster boundaries (indices into sv.v, ascending) of the optimal partition of the
// distinct values into min(k, m) clusters. table_budget: the most argmin entries kept at once
// (larger problems are split Hirschberg-style; tests lower it to exercise the split).
inline constexpr uint64_t kOptimalTableBudget = uint64_t{1} << 25;  // 128 MB of uint32
std::vector<uint32_t> optimal_boundaries(const SortedValues& sv, int k,
                                         uint64_t table_budget = kOptimalTableBudget);

}  // namespace deepcomp::compress::kmeans_internal
