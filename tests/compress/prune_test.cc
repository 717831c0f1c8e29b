#include "compress/prune.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace deepcomp::compress {
namespace {

int64_t zeros_after_pruning(std::vector<float> w, float t) {
  return static_cast<int64_t>(w.size()) - prune_below(w, t);
}

TEST(Prune, ThresholdForDistinctMagnitudesHitsTheTargetExactly) {
  const std::vector<float> w = {0.5f, -0.1f, 0.3f, -0.9f, 0.2f, 0.7f, -0.4f, 0.8f, 0.6f, -1.0f};
  // magnitudes sorted: .1 .2 .3 .4 .5 .6 .7 .8 .9 1.0
  EXPECT_EQ(magnitude_threshold_for_sparsity(w, 0.3), 0.4f);  // prunes .1 .2 .3
  EXPECT_EQ(magnitude_threshold_for_sparsity(w, 0.5), 0.6f);
  EXPECT_EQ(zeros_after_pruning(w, 0.6f), 5);
  EXPECT_EQ(magnitude_threshold_for_sparsity(w, 0.0), 0.0f);
  EXPECT_EQ(zeros_after_pruning(w, 0.0f), 0);
  const float all = magnitude_threshold_for_sparsity(w, 1.0);
  EXPECT_GT(all, 1.0f);
  EXPECT_EQ(zeros_after_pruning(w, all), 10);
}

TEST(Prune, TiesPruneTheRunWhenThatLandsCloser) {
  // magnitudes: 1, 2, 2, 2, 2, 3 (n = 6)
  const std::vector<float> w = {1, -2, 2, 2, -2, 3};
  // target 2 of 6: the run of 2s spans ranks 2..5; pruning it gives 5 (|5-2| = 3) and keeping it
  // gives 1 (|1-2| = 1): keep.
  float t = magnitude_threshold_for_sparsity(w, 2.0 / 6);
  EXPECT_EQ(t, 2.0f);
  EXPECT_EQ(zeros_after_pruning(w, t), 1);
  // target 4: prune run -> 5 (dist 1) beats keep -> 1 (dist 3).
  t = magnitude_threshold_for_sparsity(w, 4.0 / 6);
  EXPECT_EQ(t, 3.0f);
  EXPECT_EQ(zeros_after_pruning(w, t), 5);
  // target 3: dist 2 both ways; exact tie prunes the run.
  t = magnitude_threshold_for_sparsity(w, 3.0 / 6);
  EXPECT_EQ(zeros_after_pruning(w, t), 5);
}

TEST(Prune, RunAtTheTopPrunesWithThresholdJustAboveIt) {
  const std::vector<float> w = {1, 5, 5, 5};
  const float t = magnitude_threshold_for_sparsity(w, 0.75);  // run ranks 1..3 -> prune all
  EXPECT_EQ(t, std::nextafter(5.0f, std::numeric_limits<float>::infinity()));
  EXPECT_EQ(zeros_after_pruning(w, t), 4);
}

TEST(Prune, AllZeroLayerAndEmptyLayer) {
  std::vector<float> zeros(8, 0.0f);
  EXPECT_EQ(magnitude_threshold_for_sparsity(zeros, 0.5), 0.0f);
  EXPECT_EQ(prune_below(zeros, 1.0f), 0);
  EXPECT_EQ(std_threshold(zeros, 1.0), 0.0f);
  EXPECT_EQ(magnitude_threshold_for_sparsity({}, 0.5), 0.0f);
  EXPECT_EQ(std_threshold({}, 1.0), 0.0f);
}

TEST(Prune, ExistingZerosCountTowardSparsityAndStayZero) {
  std::vector<float> w = {0, 0, 0, 0.1f, -0.2f, 0.3f};
  EXPECT_EQ(magnitude_threshold_for_sparsity(w, 0.5), 0.0f);  // already half zero
  EXPECT_EQ(magnitude_threshold_for_sparsity(w, 4.0 / 6), 0.2f);
  EXPECT_EQ(prune_below(w, 0.2f), 2);
  EXPECT_EQ(w, (std::vector<float>{0, 0, 0, 0, -0.2f, 0.3f}));
}

TEST(Prune, RandomLayersAchieveRequestedSparsity) {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.05f);  // values only, not the sampling order
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<float> w(1000 + trial * 37);
    for (float& x : w) x = normal(rng);
    const double s = 0.05 * trial;
    const float t = magnitude_threshold_for_sparsity(w, s);
    EXPECT_EQ(zeros_after_pruning(w, t), std::llround(s * w.size())) << "sparsity " << s;
  }
}

// The rule of prune.h spelled out on a sorted copy: the reference for the copy-free selection.
float reference_threshold(std::vector<float> w, double sparsity) {
  for (float& x : w) x = std::fabs(x);
  std::sort(w.begin(), w.end());
  const size_t n = w.size(), r = static_cast<size_t>(std::llround(sparsity * n));
  if (n == 0 || r == 0) return 0.0f;
  if (r >= n) return std::nextafter(w.back(), std::numeric_limits<float>::infinity());
  const float v = w[r - 1];
  if (v == 0.0f) return 0.0f;
  const size_t lo = std::lower_bound(w.begin(), w.end(), v) - w.begin();
  const size_t hi = std::upper_bound(w.begin(), w.end(), v) - w.begin();
  if (hi - r <= r - lo) return hi < n ? w[hi] : std::nextafter(v, std::numeric_limits<float>::infinity());
  return v;
}

TEST(Prune, SelectionMatchesSortedReferenceWithTiesAndBucketEdges) {
  // Magnitudes that share the high 16 bits, straddle bucket edges, repeat and include zeros and
  // denormals, so that every branch of the two-level radix selection is taken.
  std::mt19937_64 rng(11);
  std::vector<float> pool = {0.0f, -0.0f, 1e-40f, 0.5f, 0.50000006f, 0.49999997f, 1.0f, -1.0f,
                             0.25f, 3.0f, 1e-3f};
  for (int i = 0; i < 20; ++i) pool.push_back(std::ldexp(1.0f + i / 65536.0f, -3));
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> w(1 + rng() % 300);
    for (float& x : w) {
      if (rng() % 3 == 0) {
        uint32_t u = static_cast<uint32_t>(rng()) & 0x3f7fffffu;  // finite, below 2^64 or so
        std::memcpy(&x, &u, 4);
      } else {
        x = pool[rng() % pool.size()] * ((rng() & 1) ? 1.0f : -1.0f);
      }
    }
    const double s = static_cast<double>(rng() % 1001) / 1000.0;
    ASSERT_EQ(magnitude_threshold_for_sparsity(w, s), reference_threshold(w, s))
        << "trial " << trial << " sparsity " << s;
  }
}

TEST(Prune, GlobalThresholdEqualsThresholdOfConcatenation) {
  const std::vector<float> a = {0.1f, -0.5f, 0.9f}, b = {0.2f, 0.3f, -0.4f, 0.6f};
  std::vector<float> all(a);
  all.insert(all.end(), b.begin(), b.end());
  const float g = global_threshold_for_sparsity({a, b}, 3.0 / 7);
  EXPECT_EQ(g, 0.4f);  // prunes 0.1 0.2 0.3 across both layers
  EXPECT_EQ(g, magnitude_threshold_for_sparsity(all, 3.0 / 7));
  EXPECT_EQ(zeros_after_pruning(a, g), 1);
  EXPECT_EQ(zeros_after_pruning(b, g), 2);
}

TEST(Prune, StdThresholdIsQualityTimesPopulationStd) {
  // values 1,1,3,3 (mean 2, population variance 1) plus zeros -> mean 1.333, var of {0,0,1,1,3,3}
  EXPECT_FLOAT_EQ(std_threshold(std::vector<float>{1, 1, 3, 3}, 1.5), 1.5f);
  // {0,0,1,1,3,3}: mean 4/3, E[x^2] = 20/6, var = 20/6 - 16/9 = 14/9
  EXPECT_FLOAT_EQ(std_threshold(std::vector<float>{0, 0, 1, 1, 3, 3}, 1.0),
                  static_cast<float>(std::sqrt(14.0 / 9)));
}

TEST(Prune, CheckFiniteNamesTensorAndElement) {
  EXPECT_TRUE(check_finite(std::vector<float>{1, -2, 0}, "fc1.weight").ok());
  const Status nan = check_finite(std::vector<float>{1, NAN}, "fc1.weight");
  ASSERT_FALSE(nan.ok());
  EXPECT_NE(nan.message().find("fc1.weight"), std::string::npos);
  EXPECT_NE(nan.message().find("element 1"), std::string::npos);
  EXPECT_FALSE(check_finite(std::vector<float>{INFINITY}, "x").ok());
}

}  // namespace
}  // namespace deepcomp::compress
