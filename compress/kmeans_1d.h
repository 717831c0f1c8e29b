// 1-D k-means for weight sharing (Han et al. 2016, section 3): the initializations of section 3.2
// (linear, density, random) plus k-means++ and an exact solver ("optimal"), Lloyd iterations in
// O(k log n) per step, and the naive references the tests compare against.
//
// Definitions (all on the values passed in, i.e. a layer's surviving weights):
//  - linear:   c_i = min + i * (max - min) / (k - 1), computed in double (k = 1: (min + max) / 2).
//  - density:  c_i = the sorted value at 0-based rank floor((i + 0.5) * n / k): the x at which the
//              empirical CDF reaches (i + 0.5) / k (quantiles at the middle of k equal-mass bins).
//  - random:   k distinct positions of the input drawn uniformly without replacement (Floyd's
//              algorithm on std::mt19937_64(seed), own rejection sampling, so results do not depend
//              on the standard library); their values, sorted (all values if n <= k).
//  - kmeans++: Arthur & Vassilvitskii D^2 sampling: the first centre is a uniformly drawn position,
//              each next one a value drawn with probability proportional to its squared distance
//              to the nearest centre so far (same generator, 53-bit uniforms).
//  - optimal:  the centroids (means) of the exact minimum-SSE partition into min(k, #distinct)
//              clusters (dynamic programming over the sorted distinct values). Lloyd then only
//              confirms it (one update, no change), which keeps labels = nearest centroid.
// Assignment: each value goes to the nearest centroid, a tie to the lower one (implemented as
// comparisons with the midpoints of consecutive sorted centroids, in double).
// Lloyd: repeat { centroids = means of their clusters; reassign } until no assignment changes or
// max_iters updates were made. Repeated initial centroids are merged first (so the centroids stay
// strictly ascending through the iterations). An empty cluster keeps its centroid during the
// iterations. Then, by KMeansOptions::empty_clusters:
//  - split (the default): while clusters are empty and fewer than min(k, #distinct) hold values,
//    the empty centroids are dropped and as many clusters are split, each time the one with the
//    largest SSE (ties: the lower one) that has two or more distinct values, at its mean (values
//    <= mean | values > mean; the two means become centroids); then Lloyd runs again (at most
//    kMaxSplitRounds rounds). A linear init on weights leaves most of its centroids empty in the
//    tails (resnet_2b conv layers kept 65-150 of 256); scikit-learn relocates empty clusters too.
//  - drop: centroids without values are dropped, so the result may have fewer than k centroids.
// Either way the result has at most min(k, #distinct values) centroids, strictly ascending, each
// with at least one value.
// Means are exact: each value is converted to a 128-bit fixed-point integer (unit 2^(e - 100)
// for the largest magnitude 2^e, so only values below 2^-100 of the largest are rounded), summed
// exactly, then mean = double(sum) / count, cast to float. Sums therefore do not depend on order,
// which makes the fast and naive Lloyd agree bit for bit and results independent of threads.
// Inertia: sum of (x - float centroid)^2 in double.
//
// Depends on core/status.h only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace deepcomp::compress {

enum class KMeansInit { kLinear, kDensity, kRandom, kKMeansPlusPlus, kOptimal };
enum class EmptyClusters { kSplit, kDrop };

// "linear", "density", "random", "kmeans++", "optimal".

std::string_view kmeans_init_name(KMeansInit init);
Result<KMeansInit> parse_kmeans_init(std::string_view name);
// "split", "drop".
std::string_view empty_clusters_name(EmptyClusters mode);
Result<EmptyClusters> parse_empty_clusters(std::string_view name);

inline constexpr int kMaxSplitRounds = 16;  // split + Lloyd rounds after the first Lloyd

inline constexpr int kMaxKMeansClusters = 65536;  // labels are uint16

struct KMeansOptions {
  int k = 32;  // 1..65536
  KMeansInit init = KMeansInit::kLinear;
  int max_iters = 100;  // Lloyd updates after the init; 0 = assign to the initial centroids only
  uint64_t seed = 0;    // for kRandom and kKMeansPlusPlus
  // kKMeansPlusPlus: candidates drawn per centre, the best kept (greedy k-means++, as
  // scikit-learn); 0 = 2 + floor(ln k) like scikit-learn, 1 = plain D^2 sampling.
  int kmeanspp_trials = 0;
  EmptyClusters empty_clusters = EmptyClusters::kSplit;
};

struct KMeansResult {
  std::vector<float> centroids;  // strictly ascending, at most k
  std::vector<uint16_t> labels;  // per input value, in the input's order: index into centroids
  double inertia = 0;            // sum of squared distances to the assigned centroid
  int iterations = 0;            // Lloyd updates made (including the one that changed nothing)
  int splits = 0;                // clusters split to re-seed empty ones (EmptyClusters::kSplit)
};

// The clustering without per-value labels, for large inputs: the centroids and, per centroid,
// the smallest value in its cluster. label(x) gives the cluster of any value x of the input
// (binary search over the lower bounds, identical to the labels kmeans_1d returns).
struct KMeansFit {
  std::vector<float> centroids;     // strictly ascending, at most k
  std::vector<float> lower_bounds;  // per centroid: the smallest input value assigned to it
  double inertia = 0;
  int iterations = 0;
  int splits = 0;
  uint16_t label(float x) const {
    // Branchless binary search for the last lower bound <= x (the first is never compared: every
    // value of the input is at least the smallest lower bound).
    const float* base = lower_bounds.data();
    size_t len = lower_bounds.size();
    while (len > 1) {
      const size_t half = len / 2;
      base = base[half] <= x ? base + half : base;
      len -= half;
    }
    return static_cast<uint16_t>(base - lower_bounds.data());
  }
};

// Same clustering as kmeans_1d, consuming `values` (sorted in place: pass it with std::move to
// avoid a copy). Peak memory: about twice the values during the sort, then about 1.1x.
Result<KMeansFit> kmeans_1d_fit(std::vector<float> values, const KMeansOptions& options);

// Clusters `values` (finite; error otherwise, or for k outside 1..65536). An empty input gives an
// empty result. Deterministic for given values and options.
Result<KMeansResult> kmeans_1d(std::span<const float> values, const KMeansOptions& options);

// The initial centroids of `options.init` (sorted ascending, may repeat; kOptimal gives the optimal
// centroids). Same errors as kmeans_1d.
Result<std::vector<float>> kmeans_1d_initial_centroids(std::span<const float> values,
                                                       const KMeansOptions& options);

// Fast Lloyd from given starting centroids (finite, ascending; repeats are merged). Empty clusters
// are dropped (no re-seeding: this is plain Lloyd, the reference the naive version checks).
Result<KMeansResult> kmeans_1d_lloyd(std::span<const float> values,
                                     std::span<const float> initial_centroids, int max_iters);

// Reference: textbook O(n k) Lloyd with the same rules (for tests and benchmarks).
Result<KMeansResult> kmeans_1d_naive_lloyd(std::span<const float> values,
                                           std::span<const float> initial_centroids, int max_iters);

// Reference solvers of the exact problem, returning the minimum SSE (in double, from prefix sums)
// for min(k, #distinct) clusters: the plain O(k m^2) DP over the m distinct values, and a brute
// force over every partition of the sorted values into contiguous groups (tiny inputs only).
double kmeans_1d_optimal_sse_quadratic(std::span<const float> values, int k);
double kmeans_1d_optimal_sse_brute_force(std::span<const float> values, int k);

}  // namespace deepcomp::compress
