#include "compress/kmeans_1d.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include "compress/kmeans_internal.h"

namespace deepcomp::compress {
namespace {

KMeansResult run(std::span<const float> v, int k, KMeansInit init, int iters = 100,
                 uint64_t seed = 0) {
  KMeansOptions o;
  o.k = k;
  o.init = init;
  o.max_iters = iters;
  o.seed = seed;
  auto r = kmeans_1d(v, o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : KMeansResult();
}

std::vector<float> init_of(std::span<const float> v, int k, KMeansInit init, uint64_t seed = 0,
                           int kmeanspp_trials = 0) {
  KMeansOptions o;
  o.k = k;
  o.init = init;
  o.seed = seed;
  o.kmeanspp_trials = kmeanspp_trials;
  auto r = kmeans_1d_initial_centroids(v, o);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<float>();
}

// Random data: uniform, Laplacian (like trained weights) and heavily duplicated.
std::vector<float> make_values(std::mt19937_64& rng, size_t n, int kind) {
  std::vector<float> v(n);
  for (float& x : v) {
    const double u = (static_cast<double>(rng() >> 11) + 0.5) * 0x1p-53;
    if (kind == 0) x = static_cast<float>(2 * u - 1);
    if (kind == 1)
      x = static_cast<float>(u < 0.5 ? 0.05 * std::log(2 * u) : -0.05 * std::log(2 - 2 * u));
    if (kind == 2) x = static_cast<float>(static_cast<int>(u * 9) - 4) * 0.25f;
  }
  return v;
}

const KMeansInit kAllInits[] = {KMeansInit::kLinear, KMeansInit::kDensity, KMeansInit::kRandom,
                                KMeansInit::kKMeansPlusPlus, KMeansInit::kOptimal};

TEST(KMeans1D, InitNamesRoundTrip) {
  for (KMeansInit i : kAllInits) EXPECT_EQ(*parse_kmeans_init(kmeans_init_name(i)), i);
  EXPECT_EQ(kmeans_init_name(KMeansInit::kKMeansPlusPlus), "kmeans++");
  EXPECT_FALSE(parse_kmeans_init("Linear").ok());
}

TEST(KMeans1D, LinearInitSpacesCentroidsEvenlyBetweenMinAndMax) {
  const std::vector<float> v = {2, 0, 10, 1};
  EXPECT_EQ(init_of(v, 3, KMeansInit::kLinear), (std::vector<float>{0, 5, 10}));
  EXPECT_EQ(init_of(v, 5, KMeansInit::kLinear), (std::vector<float>{0, 2.5f, 5, 7.5f, 10}));
  EXPECT_EQ(init_of(v, 1, KMeansInit::kLinear), (std::vector<float>{5}));
}

TEST(KMeans1D, DensityInitTakesMidBinQuantiles) {
  // n = 10, k = 4: ranks floor((i + 0.5) * 10 / 4) = 1, 3, 6, 8 of the sorted values 1..10.
  const std::vector<float> v = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_EQ(init_of(v, 4, KMeansInit::kDensity), (std::vector<float>{2, 4, 7, 9}));
  // Duplicates count with their multiplicity: sorted 0 0 0 0 0 0 1 2 -> ranks 2 and 6 (k = 2),
  // ranks 1, 3, 5, 7 (k = 4).
  const std::vector<float> d = {0, 1, 0, 0, 2, 0, 0, 0};
  EXPECT_EQ(init_of(d, 2, KMeansInit::kDensity), (std::vector<float>{0, 1}));
  EXPECT_EQ(init_of(d, 4, KMeansInit::kDensity), (std::vector<float>{0, 0, 0, 2}));
}

TEST(KMeans1D, RandomInitDrawsDistinctPositionsUniformly) {
  std::vector<float> v(10);
  for (int i = 0; i < 10; ++i) v[i] = static_cast<float>(i * i);
  std::vector<int> hits(10, 0);
  const int trials = 3000;
  for (int seed = 0; seed < trials; ++seed) {
    const auto c = init_of(v, 3, KMeansInit::kRandom, seed);
    ASSERT_EQ(c.size(), 3u);
    ASSERT_TRUE(c[0] < c[1] && c[1] < c[2]);  // distinct positions, sorted
    for (float x : c) ++hits[static_cast<int>(std::lround(std::sqrt(x)))];
  }
  for (int h : hits) EXPECT_NEAR(h, trials * 3 / 10, 120);  // binomial sd ~25
  EXPECT_EQ(init_of(v, 3, KMeansInit::kRandom, 7), init_of(v, 3, KMeansInit::kRandom, 7));
}

TEST(KMeans1D, KMeansPlusPlusFollowsD2Sampling) {
  // Values 0, 1, 3, k = 2. First centre uniform; then P(x) ~ D(x)^2:
  // {0,1}: 1/3 * 1/10 + 1/3 * 1/5 = 0.1; {0,3}: 1/3 * 9/10 + 1/3 * 9/13; {1,3}: the rest.
  const std::vector<float> v = {0, 1, 3};
  std::map<std::pair<float, float>, int> seen;
  const int trials = 6000;
  for (int seed = 0; seed < trials; ++seed) {
    const auto c = init_of(v, 2, KMeansInit::kKMeansPlusPlus, seed, /*kmeanspp_trials=*/1);
    ASSERT_EQ(c.size(), 2u);
    ++seen[{c[0], c[1]}];
  }
  const double p01 = seen[std::make_pair(0.f, 1.f)] / double(trials);
  const double p03 = seen[std::make_pair(0.f, 3.f)] / double(trials);
  const double p13 = seen[std::make_pair(1.f, 3.f)] / double(trials);
  EXPECT_NEAR(p01, 0.1, 0.015);
  EXPECT_NEAR(p03, 0.3 + 3.0 / 13, 0.02);
  EXPECT_NEAR(p13, 0.8 / 3 + 4.0 / 39, 0.02);
}

TEST(KMeans1D, GreedyKMeansPlusPlusKeepsTheBestCandidate) {
  // Values 0, 1, 3, k = 2. From a first centre 0 the candidates are 1 (potential 4) and 3
  // (potential 1); from 1 they are 0 (potential 4) and 3 (potential 1): with enough candidates
  // per centre the pair {0, 1} never comes out, while plain D^2 sampling gives it 10% of the time.
  const std::vector<float> v = {0, 1, 3};
  int pairs01 = 0;
  for (int seed = 0; seed < 2000; ++seed) {
    const auto c = init_of(v, 2, KMeansInit::kKMeansPlusPlus, seed, /*kmeanspp_trials=*/40);
    ASSERT_EQ(c.size(), 2u);
    pairs01 += c[0] == 0.0f && c[1] == 1.0f;
  }
  EXPECT_EQ(pairs01, 0);
}

TEST(KMeans1D, EmptyClustersAreDroppedAfterLloyd) {
  const std::vector<float> v = {0, 1, 9, 10};
  const std::vector<float> start = {0, 4, 6, 10};  // 4 and 6 attract nothing
  for (auto* f : {&kmeans_1d_lloyd, &kmeans_1d_naive_lloyd}) {
    auto r = (*f)(v, start, 100);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->centroids, (std::vector<float>{0.5f, 9.5f}));
    EXPECT_EQ(r->labels, (std::vector<uint16_t>{0, 0, 1, 1}));
    EXPECT_DOUBLE_EQ(r->inertia, 1.0);
  }
}

TEST(KMeans1D, SplitReseedsAnEmptyClusterHandWorked) {
  // Linear init {0, 5.5, 11}; midpoints 2.75, 8.25: {0,1,2} {} {10,11} -> 1, 5.5, 10.5, stable.
  // Drop: {1, 10.5}, SSE 2 + 0.5. Split: the empty 5.5 goes; the largest-SSE cluster {0,1,2}
  // (SSE 2 against 0.5) splits at its mean 1 into {0,1} | {2}: 0.5, 2, 10.5, SSE 0.25 * 4 = 1.
  const std::vector<float> v = {10, 0, 2, 11, 1};
  KMeansOptions o;
  o.k = 3;
  o.empty_clusters = EmptyClusters::kDrop;
  auto drop = kmeans_1d(v, o);
  ASSERT_TRUE(drop.ok());
  EXPECT_EQ(drop->centroids, (std::vector<float>{1, 10.5f}));
  EXPECT_DOUBLE_EQ(drop->inertia, 2.5);
  EXPECT_EQ(drop->splits, 0);
  o.empty_clusters = EmptyClusters::kSplit;
  auto split = kmeans_1d(v, o);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->centroids, (std::vector<float>{0.5f, 2, 10.5f}));
  EXPECT_EQ(split->labels, (std::vector<uint16_t>{2, 0, 1, 2, 0}));
  EXPECT_DOUBLE_EQ(split->inertia, 1.0);
  EXPECT_EQ(split->splits, 1);
  EXPECT_EQ(*parse_empty_clusters("drop"), EmptyClusters::kDrop);
  EXPECT_EQ(empty_clusters_name(EmptyClusters::kSplit), "split");
  EXPECT_FALSE(parse_empty_clusters("Split").ok());
}

TEST(KMeans1D, SplitLosesNoCentroidWhenThereAreEnoughDistinctValues) {
  std::mt19937_64 rng(11);
  for (int kind : {0, 1, 2}) {
    for (size_t n : {size_t{40}, size_t{1000}, size_t{30000}}) {
      const std::vector<float> v = make_values(rng, n, kind);
      std::vector<float> distinct = v;
      std::sort(distinct.begin(), distinct.end());
      distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
      for (int k : {2, 7, 32, 256}) {
        for (KMeansInit init : kAllInits) {
          SCOPED_TRACE(std::to_string(kind) + " n=" + std::to_string(n) +
                       " k=" + std::to_string(k) + " " + std::string(kmeans_init_name(init)));
          KMeansOptions o;
          o.k = k;
          o.init = init;
          o.seed = 3;
          auto r = kmeans_1d(v, o);
          ASSERT_TRUE(r.ok());
          ASSERT_EQ(r->centroids.size(), std::min<size_t>(k, distinct.size()));
          ASSERT_TRUE(std::is_sorted(r->centroids.begin(), r->centroids.end(),
                                     [](float a, float b) { return a <= b; }));
          // Every centroid holds a value, each value sits at its nearest centroid, and the
          // inertia is the recomputed SSE.
          std::vector<int> used(r->centroids.size(), 0);
          double sse = 0;
          for (size_t i = 0; i < v.size(); ++i) {
            const uint16_t l = r->labels[i];
            ++used[l];
            const double d = std::fabs(static_cast<double>(v[i]) - r->centroids[l]);
            sse += d * d;
            for (float c : r->centroids) ASSERT_LE(d, std::fabs(static_cast<double>(v[i]) - c));
          }
          for (int u : used) EXPECT_GT(u, 0);
          EXPECT_NEAR(r->inertia, sse, 1e-9 * (1 + sse));
          // Never worse than dropping (splitting and Lloyd only lower the SSE).
          o.empty_clusters = EmptyClusters::kDrop;
          auto d = kmeans_1d(v, o);
          ASSERT_TRUE(d.ok());
          EXPECT_LE(r->inertia, d->inertia * (1 + 1e-9));
          EXPECT_LE(d->centroids.size(), r->centroids.size());
        }
      }
    }
  }
}

TEST(KMeans1D, FewerDistinctValuesThanKGivesOneClusterPerValue) {
  const std::vector<float> v = {3, 1, 2, 1, 3};
  for (KMeansInit init : kAllInits) {
    const auto r = run(v, 8, init);
    EXPECT_EQ(r.centroids, (std::vector<float>{1, 2, 3})) << kmeans_init_name(init);
    EXPECT_EQ(r.labels, (std::vector<uint16_t>{2, 0, 1, 0, 2}));
    EXPECT_EQ(r.inertia, 0.0);
  }
  const std::vector<float> same(6, -0.5f);
  for (KMeansInit init : kAllInits) {
    const auto r = run(same, 4, init);
    EXPECT_EQ(r.centroids, (std::vector<float>{-0.5f}));
    EXPECT_EQ(r.labels, std::vector<uint16_t>(6, 0));
  }
  EXPECT_TRUE(run({}, 4, KMeansInit::kLinear).centroids.empty());
}

TEST(KMeans1D, HandWorkedLloydFromLinearInit) {
  // Linear init {0, 5, 10}; midpoints 2.5, 7.5: {0,1,2} {6} {9,10} -> centroids 1, 6, 9.5;
  // midpoints 3.5, 7.75: same assignment -> converged after 1 update (plus the check).
  const std::vector<float> v = {9, 0, 6, 1, 10, 2};
  const auto r = run(v, 3, KMeansInit::kLinear);
  EXPECT_EQ(r.centroids, (std::vector<float>{1, 6, 9.5f}));
  EXPECT_EQ(r.labels, (std::vector<uint16_t>{2, 0, 1, 0, 2, 0}));
  EXPECT_DOUBLE_EQ(r.inertia, 2.5);
  EXPECT_EQ(r.iterations, 1);
  // max_iters = 0 keeps the initial centroids.
  const auto r0 = run(v, 3, KMeansInit::kLinear, 0);
  EXPECT_EQ(r0.centroids, (std::vector<float>{0, 5, 10}));
  EXPECT_EQ(r0.iterations, 0);
}

TEST(KMeans1D, FastLloydEqualsNaiveLloydFromTheSameStart) {
  std::mt19937_64 rng(1234);
  int compared = 0;
  for (int trial = 0; trial < 120; ++trial) {
    const size_t n = 1 + rng() % (trial % 3 == 0 ? 12 : 3000);
    const int k = 1 + static_cast<int>(rng() % 40);
    const auto v = make_values(rng, n, trial % 3);
    for (KMeansInit init : {KMeansInit::kLinear, KMeansInit::kDensity, KMeansInit::kRandom,
                            KMeansInit::kKMeansPlusPlus}) {
      const auto start = init_of(v, k, init, trial);
      const int iters = trial % 5 == 0 ? 3 : 100;
      auto fast = kmeans_1d_lloyd(v, start, iters);
      auto naive = kmeans_1d_naive_lloyd(v, start, iters);
      ASSERT_TRUE(fast.ok() && naive.ok());
      ASSERT_EQ(fast->centroids, naive->centroids)
          << "trial " << trial << " init " << kmeans_init_name(init) << " start "
          << ::testing::PrintToString(start) << " iters " << iters;
      ASSERT_EQ(fast->labels, naive->labels) << "trial " << trial;
      ASSERT_EQ(fast->iterations, naive->iterations);
      EXPECT_NEAR(fast->inertia, naive->inertia, 1e-9 * naive->inertia + 1e-300);
      ++compared;
    }
  }
  EXPECT_EQ(compared, 480);
}

TEST(KMeans1D, LabelsAreNearestCentroidInInputOrder) {
  std::mt19937_64 rng(8);
  const auto v = make_values(rng, 5000, 1);
  for (KMeansInit init : kAllInits) {
    const auto r = run(v, 16, init, 100, 3);
    ASSERT_FALSE(r.centroids.empty());
    EXPECT_TRUE(std::is_sorted(r.centroids.begin(), r.centroids.end()));
    EXPECT_TRUE(std::adjacent_find(r.centroids.begin(), r.centroids.end()) == r.centroids.end());
    double inertia = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      const double d = std::fabs(double(v[i]) - r.centroids[r.labels[i]]);
      for (float c : r.centroids) ASSERT_LE(d, std::fabs(double(v[i]) - c));
      inertia += d * d;
    }
    EXPECT_NEAR(r.inertia, inertia, 1e-9 * inertia);
  }
}

TEST(KMeans1D, OptimalEqualsBruteForceOverAllPartitions) {
  std::mt19937_64 rng(77);
  for (int trial = 0; trial < 60; ++trial) {
    const size_t n = 1 + rng() % 9;
    const int k = 1 + static_cast<int>(rng() % 4);
    const auto v = make_values(rng, n, trial % 3);
    const double brute = kmeans_1d_optimal_sse_brute_force(v, k);
    const auto r = run(v, k, KMeansInit::kOptimal);
    EXPECT_NEAR(r.inertia, brute, 1e-6 * brute + 1e-12) << "trial " << trial;
    EXPECT_NEAR(kmeans_1d_optimal_sse_quadratic(v, k), brute, 1e-6 * brute + 1e-12);
  }
}

TEST(KMeans1D, OptimalEqualsQuadraticDpOnMediumInputs) {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 12; ++trial) {
    const auto v = make_values(rng, 200 + rng() % 400, trial % 3);
    const int k = 2 + static_cast<int>(rng() % 40);
    const double dp = kmeans_1d_optimal_sse_quadratic(v, k);
    const auto r = run(v, k, KMeansInit::kOptimal);
    EXPECT_NEAR(r.inertia, dp, 1e-7 * dp + 1e-12) << "trial " << trial;
  }
}

// Partition SSE of sorted distinct values cut at `cuts`, computed directly.
double partition_sse(const kmeans_internal::SortedValues& sv, const std::vector<uint32_t>& cuts) {
  double sse = 0;
  size_t a = 0;
  for (size_t j = 0; j <= cuts.size(); ++j) {
    const size_t b = j < cuts.size() ? cuts[j] : sv.m();
    double sum = 0, cnt = 0;
    for (size_t d = a; d < b; ++d) {
      sum += double(sv.multiplicity(d)) * sv.v[d];
      cnt += double(sv.multiplicity(d));
    }
    for (size_t d = a; d < b; ++d) {
      sse += double(sv.multiplicity(d)) * (sv.v[d] - sum / cnt) * (sv.v[d] - sum / cnt);
    }
    a = b;
  }
  return sse;
}

TEST(KMeans1D, HirschbergSplitMatchesFullTable) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 8; ++trial) {
    const auto v = make_values(rng, 800, trial % 3);
    const auto sv = kmeans_internal::sort_values(v);
    const int k = 5 + trial * 9;
    const auto full = kmeans_internal::optimal_boundaries(sv, k);
    const auto split = kmeans_internal::optimal_boundaries(sv, k, 200);  // forces several splits
    ASSERT_EQ(full.size(), std::min<size_t>(k, sv.m()) - 1);
    ASSERT_EQ(split.size(), full.size());
    ASSERT_TRUE(std::is_sorted(split.begin(), split.end()));
    const double a = partition_sse(sv, full), b = partition_sse(sv, split);
    EXPECT_NEAR(a, b, 1e-9 * a + 1e-12);
    EXPECT_NEAR(a, kmeans_1d_optimal_sse_quadratic(v, k), 1e-7 * a + 1e-12);
  }
}

TEST(KMeans1D, OptimalInertiaIsNoWorseThanAnyOtherInit) {
  std::mt19937_64 rng(2024);
  for (int trial = 0; trial < 9; ++trial) {
    const auto v = make_values(rng, 20000, trial % 3);
    for (int k : {4, 32}) {
      const double opt = run(v, k, KMeansInit::kOptimal).inertia;
      for (KMeansInit init : {KMeansInit::kLinear, KMeansInit::kDensity, KMeansInit::kRandom,
                              KMeansInit::kKMeansPlusPlus}) {
        EXPECT_LE(opt, run(v, k, init, 300, trial).inertia * (1 + 1e-9))
            << kmeans_init_name(init) << " k " << k;
      }
    }
  }
}

TEST(KMeans1D, DeterministicForASeed) {
  std::mt19937_64 rng(6);
  const auto v = make_values(rng, 10000, 1);
  for (KMeansInit init : kAllInits) {
    const auto a = run(v, 32, init, 100, 17), b = run(v, 32, init, 100, 17);
    EXPECT_EQ(a.centroids, b.centroids);
    EXPECT_EQ(a.labels, b.labels);
    EXPECT_EQ(a.inertia, b.inertia);
  }
  EXPECT_NE(init_of(v, 32, KMeansInit::kRandom, 1), init_of(v, 32, KMeansInit::kRandom, 2));
}

TEST(KMeans1D, RejectsBadArguments) {
  const std::vector<float> v = {1, 2, 3};
  KMeansOptions o;
  o.k = 0;
  EXPECT_FALSE(kmeans_1d(v, o).ok());
  o.k = 65537;
  EXPECT_FALSE(kmeans_1d(v, o).ok());
  o.k = 2;
  const std::vector<float> bad = {1, NAN};
  EXPECT_FALSE(kmeans_1d(bad, o).ok());
  EXPECT_FALSE(kmeans_1d_lloyd(v, std::vector<float>{2, 1}, 10).ok());  // not ascending
  EXPECT_FALSE(kmeans_1d_naive_lloyd(v, std::vector<float>{}, 10).ok());
}

TEST(KMeans1D, FixedPointConversionIsRintOfTheScaledValue) {
  // The integer conversion against the floating-point definition rint(ldexp(x, e)), evaluated in
  // long double (64-bit mantissa: exact for a float times a power of two, and exact rounding).
  std::mt19937_64 rng(17);
  for (int trial = 0; trial < 200000; ++trial) {
    uint32_t u = static_cast<uint32_t>(rng());
    if ((u & 0x7f800000u) == 0x7f800000u) continue;  // no Inf / NaN
    float x;
    std::memcpy(&x, &u, 4);
    kmeans_internal::FixedScale scale;
    scale.to_fixed_exp = static_cast<int>(rng() % 300) - 60;
    const long double ref = std::rint(std::ldexp(static_cast<long double>(x), scale.to_fixed_exp));
    if (std::fabs(ref) >= 0x1p126L) continue;  // outside the range the scale is chosen for
    const kmeans_internal::Fixed got = scale.to_fixed(x);
    ASSERT_EQ(static_cast<long double>(got), ref) << "x=" << x << " e=" << scale.to_fixed_exp;
  }
  // Halfway cases round to even.
  kmeans_internal::FixedScale half;
  half.to_fixed_exp = -1;
  EXPECT_EQ(half.to_fixed(1.0f), 0);  // 0.5 -> 0
  EXPECT_EQ(half.to_fixed(3.0f), 2);  // 1.5 -> 2
  EXPECT_EQ(half.to_fixed(5.0f), 2);  // 2.5 -> 2
  EXPECT_EQ(half.to_fixed(-3.0f), -2);
}

}  // namespace
}  // namespace deepcomp::compress
