// Centroid initializations for 1-D k-means: linear, density, random and k-means++ (definitions in
// kmeans_1d.h). Random draws use std::mt19937_64 with our own bounded sampling, because the
// standard distributions differ between standard libraries.
#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <utility>

#include "compress/kmeans_internal.h"

namespace deepcomp::compress::kmeans_internal {
namespace {

// Uniform integer in [0, bound), bound >= 1, without modulo bias: reject the lowest
// 2^64 mod bound outputs.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t reject_below = (0 - bound) % bound;
  for (;;) {
    const uint64_t r = rng();
    if (r >= reject_below) return r % bound;
  }
}

// Uniform double in [0, 1) with 53 random bits.
double uniform_unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1p-53; }

size_t distinct_index_of(const SortedValues& sv, float x) {
  return static_cast<size_t>(std::lower_bound(sv.v.begin(), sv.v.end(), x) - sv.v.begin());
}

std::vector<float> linear_init(const SortedValues& sv, int k) {
  const double lo = sv.v.front(), hi = sv.v.back();
  std::vector<float> c(k);
  if (k == 1) {
    c[0] = static_cast<float>(0.5 * lo + 0.5 * hi);
    return c;
  }
  for (int i = 0; i < k; ++i) c[i] = static_cast<float>(lo + i * (hi - lo) / (k - 1));
  c.back() = static_cast<float>(hi);  // exact end point despite rounding
  return c;
}

std::vector<float> density_init(const SortedValues& sv, int k) {
  const uint64_t n = sv.n();
  std::vector<float> c(k);
  for (int i = 0; i < k; ++i) {
    // Rank floor((i + 0.5) n / k), in integers to avoid rounding at exact bin edges.
    const uint64_t r = (2 * static_cast<uint64_t>(i) + 1) * n / (2 * static_cast<uint64_t>(k));
    // The distinct value holding rank r (implicit counts: rank r is distinct value r).
    const size_t d = sv.count.empty()
                         ? static_cast<size_t>(r)
                         : static_cast<size_t>(std::upper_bound(sv.count.begin(), sv.count.end(), r) -
                                               sv.count.begin() - 1);
    c[i] = sv.v[d];
  }
  return c;
}

std::vector<float> random_init(std::span<const float> values, int k, std::mt19937_64& rng) {
  const uint64_t n = values.size();
  std::vector<float> c;
  if (n <= static_cast<uint64_t>(k)) {
    c.assign(values.begin(), values.end());
  } else {
    // Floyd's algorithm: k distinct positions, each subset equally likely.
    std::set<uint64_t> chosen;
    for (uint64_t j = n - k; j < n; ++j) {
      const uint64_t t = uniform_below(rng, j + 1);
      if (!chosen.insert(t).second) chosen.insert(j);
    }
    for (uint64_t p : chosen) c.push_back(values[p]);
  }
  std::sort(c.begin(), c.end());
  return c;
}

// k-means++ on the distinct values, weighted by multiplicity. A new centre only changes the
// distances of values between its neighbouring centres, and sampling walks block sums, so each
// step costs about O(m / k + sqrt(m)) rather than O(m).
std::vector<float> kmeanspp_init(const SortedValues& sv, float first, std::mt19937_64& rng, int k,
                                 int trials) {
  const size_t m = sv.m();
  constexpr size_t kBlock = 1024;
  const size_t blocks = (m + kBlock - 1) / kBlock;
  std::vector<double> weight(m, 0.0), block_sum(blocks, 0.0);
  std::set<size_t> centres;
  // The points a new centre p takes over: an interval around p inside its neighbours' gap (the
  // values are sorted, and each point's weight is its distance to the nearest centre so far), so
  // it is found by walking out from p while the points get closer, and only it is visited.
  const auto takeover = [&](size_t p, size_t left, size_t right) {
    const auto closer = [&](size_t i) {
      const double d = static_cast<double>(sv.v[i]) - sv.v[p];
      return static_cast<double>(sv.multiplicity(i)) * d * d < weight[i];
    };
    size_t lo = p, hi = p + 1;
    while (lo > left && closer(lo - 1)) --lo;
    while (hi < right && closer(hi)) ++hi;
    return std::pair<size_t, size_t>(lo, hi);
  };

  auto add_centre = [&](size_t p) {
    const bool first_centre = centres.empty();
    auto it = centres.insert(p).first;
    const size_t left = it == centres.begin() ? 0 : *std::prev(it) + 1;
    const size_t right = std::next(it) == centres.end() ? m : *std::next(it);
    // The first centre sets every weight; later ones change only the points they take over.
    const auto [lo, hi] = first_centre ? std::pair<size_t, size_t>(left, right) : takeover(p, left, right);
    for (size_t i = lo; i < hi; ++i) {
      double d = std::fabs(static_cast<double>(sv.v[i]) - sv.v[p]);
      if (left > 0) d = std::min(d, std::fabs(static_cast<double>(sv.v[i]) - sv.v[left - 1]));
      if (right < m) d = std::min(d, std::fabs(static_cast<double>(sv.v[right]) - sv.v[i]));
      weight[i] = static_cast<double>(sv.multiplicity(i)) * d * d;
    }
    // Recompute touched block sums from scratch so that no rounding drift accumulates.
    for (size_t b = lo / kBlock; b < blocks && b * kBlock < hi; ++b) {
      double s = 0;
      for (size_t i = b * kBlock; i < std::min(m, (b + 1) * kBlock); ++i) s += weight[i];
      block_sum[b] = s;
    }
  };

  // Draws a distinct value with probability proportional to its weight (count x D^2).
  auto sample_d2 = [&](double total) {
    double u = uniform_unit(rng) * total;
    size_t b = 0;
    while (b + 1 < blocks && u >= block_sum[b]) u -= block_sum[b++];
    size_t pick = m;
    const size_t end = std::min(m, (b + 1) * kBlock);
    for (size_t i = b * kBlock; i < end; ++i) {
      if (weight[i] > 0) {
        pick = i;  // rounding may leave u past the last positive weight: keep the last one
        if (u < weight[i]) break;
        u -= weight[i];
      }
    }
    if (pick == m) {  // block sum rounding pointed at an empty block: take any positive weight
      for (size_t i = 0; i < m && pick == m; ++i) {
        if (weight[i] > 0) pick = i;
      }
    }
    return pick;
  };

  // Change of the potential if p became a centre: only the points between p's neighbouring
  // centres can move to it, so this costs one pass over that gap.
  auto potential_change = [&](size_t p) {
    auto it = centres.lower_bound(p);
    if (it != centres.end() && *it == p) return 0.0;
    const size_t left = it == centres.begin() ? 0 : *std::prev(it) + 1;
    const size_t right = it == centres.end() ? m : *it;
    const auto [lo, hi] = takeover(p, left, right);
    double change = 0;
    for (size_t i = lo; i < hi; ++i) {
      const double d = static_cast<double>(sv.v[i]) - sv.v[p];
      change += static_cast<double>(sv.multiplicity(i)) * d * d - weight[i];
    }
    return change;
  };

  add_centre(distinct_index_of(sv, first));
  while (centres.size() < static_cast<size_t>(k)) {
    double total = 0;
    for (double s : block_sum) total += s;
    if (!(total > 0)) break;  // every distinct value is already a centre
    // Greedy k-means++ (as scikit-learn): draw `trials` candidates by D^2 and keep the one that
    // lowers the potential most (the first drawn on ties). trials = 1 is plain D^2 sampling.
    size_t best = m;
    double best_change = 0;
    for (int trial = 0; trial < trials; ++trial) {
      const size_t pick = sample_d2(total);
      const double change = trials == 1 ? 0.0 : potential_change(pick);
      if (best == m || change < best_change) {
        best = pick;
        best_change = change;
      }
    }
    add_centre(best);
  }
  std::vector<float> c;
  for (size_t p : centres) c.push_back(sv.v[p]);
  return c;
}

}  // namespace

InputDraws draw_from_input(std::span<const float> values, const KMeansOptions& options) {
  InputDraws draws;
  draws.rng.seed(options.seed);
  if (values.empty()) return draws;
  if (options.init == KMeansInit::kRandom) {
    draws.random_centroids = random_init(values, options.k, draws.rng);
  } else if (options.init == KMeansInit::kKMeansPlusPlus) {
    draws.kmeanspp_first = values[uniform_below(draws.rng, values.size())];
  }
  return draws;
}

std::vector<float> init_centroids(const SortedValues& sv, InputDraws& draws,
                                  const KMeansOptions& options) {
  switch (options.init) {
    case KMeansInit::kLinear: return linear_init(sv, options.k);
    case KMeansInit::kDensity: return density_init(sv, options.k);
    case KMeansInit::kRandom: return draws.random_centroids;
    case KMeansInit::kKMeansPlusPlus:
      return kmeanspp_init(sv, draws.kmeanspp_first, draws.rng, options.k,
                           options.kmeanspp_trials > 0
                               ? options.kmeanspp_trials
                               : 2 + static_cast<int>(std::log(static_cast<double>(options.k))));
    case KMeansInit::kOptimal: break;  // handled by optimal_boundaries
  }
  return linear_init(sv, options.k);
}

}  // namespace deepcomp::compress::kmeans_internal
