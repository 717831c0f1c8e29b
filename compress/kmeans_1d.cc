// 1-D k-means: sorting with exact prefix sums, fast and naive Lloyd, and the entry points.
#include "compress/kmeans_1d.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "compress/kmeans_internal.h"
#include "compress/parallel_blocks.h"

namespace deepcomp::compress {
namespace kmeans_internal {

Fixed FixedScale::to_fixed(float x) const {
  // rint(x * 2^to_fixed_exp) in integers: x = m * 2^e exactly (m < 2^24), so the product is m
  // shifted, rounded half to even when the shift is to the right.
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint32_t biased = (u >> 23) & 0xff;
  const uint32_t m = biased == 0 ? (u & 0x7fffff) : ((u & 0x7fffff) | 0x800000);
  const int shift = (biased == 0 ? -149 : static_cast<int>(biased) - 150) + to_fixed_exp;
  Fixed mag;
  if (shift >= 0) {
    mag = static_cast<Fixed>(m) << shift;
  } else if (shift < -25) {
    mag = 0;  // below 2^-2 before rounding: never reaches one half
  } else {
    const uint32_t right = static_cast<uint32_t>(-shift);
    uint32_t q = m >> right;
    const uint32_t rem = m & ((uint32_t{1} << right) - 1), half = uint32_t{1} << (right - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    mag = q;
  }
  return (u >> 31) ? -mag : mag;
}

float FixedScale::mean(Fixed sum, uint64_t count) const {
  const double m = static_cast<double>(sum) / static_cast<double>(count);
  return static_cast<float>(std::ldexp(m, -to_fixed_exp));
}

FixedScale fixed_scale_for(std::span<const float> values) {
  std::vector<float> block_max(parallel::block_count(values.size()), 0.0f);
  parallel::for_each_block(values.size(), [&](size_t b, size_t begin, size_t end) {
    float m = 0;
    for (size_t i = begin; i < end; ++i) m = std::max(m, std::fabs(values[i]));
    block_max[b] = m;
  });
  float max_abs = 0;
  for (float m : block_max) max_abs = std::max(max_abs, m);
  int e = 0;
  std::frexp(max_abs, &e);  // max_abs < 2^e
  // Each term stays below 2^headroom, so n terms sum below 2^126 without overflow.
  const int headroom = 126 - static_cast<int>(std::bit_width(static_cast<uint64_t>(values.size())));
  FixedScale s;
  s.to_fixed_exp = headroom - e;
  return s;
}

Fixed SortedValues::prefix_sum(size_t d) const {
  const size_t s = d / kSumStride;
  Fixed sum = stride_sum[s];
  for (size_t i = s * kSumStride; i < d; ++i)
    sum += static_cast<Fixed>(multiplicity(i)) * scale.to_fixed(v[i]);
  return sum;
}

namespace {

// Order-preserving map of a float's bits to an unsigned key.
uint32_t float_key(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// LSD radix sort of floats by float_key in 3 passes of 11 bits, split across threads: per pass,
// each block counts its digits, a block's slots for a digit follow those of the blocks before it
// (so the sort stays stable and the result is the one sorted order), and the blocks scatter in
// parallel. A pass whose digit is the same for every value is skipped.
void radix_sort_floats(std::vector<float>& values) {
  const size_t n = values.size();
  if (n < 512) {
    std::sort(values.begin(), values.end(),
              [](float a, float b) { return float_key(a) < float_key(b); });
    return;
  }
  const size_t blocks = parallel::block_count(n);
  std::vector<size_t> hist(blocks * 2048);
  std::vector<float> tmp(n);
  for (int pass = 0; pass < 3; ++pass) {
    const int shift = 11 * pass;
    parallel::for_each_block(n, [&](size_t b, size_t begin, size_t end) {
      size_t* h = hist.data() + 2048 * b;
      std::fill(h, h + 2048, size_t{0});
      for (size_t i = begin; i < end; ++i) ++h[(float_key(values[i]) >> shift) & 2047];
    });
    size_t sum = 0;
    bool one_digit = false;
    for (size_t d = 0; d < 2048 && !one_digit; ++d) {
      const size_t before = sum;
      for (size_t b = 0; b < blocks; ++b) {
        const size_t c = hist[2048 * b + d];
        hist[2048 * b + d] = sum;
        sum += c;
      }
      one_digit = sum - before == n;
    }
    if (one_digit) continue;
    parallel::for_each_block(n, [&](size_t b, size_t begin, size_t end) {
      size_t* h = hist.data() + 2048 * b;
      for (size_t i = begin; i < end; ++i)
        tmp[h[(float_key(values[i]) >> shift) & 2047]++] = values[i];
    });
    values.swap(tmp);
  }
}

}  // namespace

SortedValues sort_values(std::vector<float> values) {
  SortedValues sv;
  sv.scale = fixed_scale_for(values);
  radix_sort_floats(values);
  const size_t n = values.size();
  // Per block of the sorted values: how many start a new distinct value (-0 and +0 are one value:
  // the sort put every -0 right before +0).
  const auto starts = [&values](size_t i) {
    return i == 0 || (values[i] != values[i - 1]);  // -0 == +0 in float comparison
  };
  const size_t blocks = parallel::block_count(n);
  std::vector<size_t> distinct_at(blocks + 1, 0);
  parallel::for_each_block(n, [&](size_t b, size_t begin, size_t end) {
    size_t c = 0;
    for (size_t i = begin; i < end; ++i) c += starts(i);
    distinct_at[b + 1] = c;
  });
  for (size_t b = 0; b < blocks; ++b) distinct_at[b + 1] += distinct_at[b];
  const size_t m = distinct_at[blocks];
  if (m < n) {
    // Duplicates: prefix counts (the sorted position where each distinct value first occurs),
    // then the values compacted in place (a forward gather: count[d] >= d).
    sv.count.resize(m + 1);
    sv.count[m] = static_cast<uint32_t>(n);
    parallel::for_each_block(n, [&](size_t b, size_t begin, size_t end) {
      uint32_t* c = sv.count.data() + distinct_at[b];
      for (size_t i = begin; i < end; ++i)
        if (starts(i)) *c++ = static_cast<uint32_t>(i);
    });
    for (size_t d = 0; d < m; ++d) values[d] = values[sv.count[d]];
    values.resize(m);
    values.shrink_to_fit();
  }
  for (float& x : values)
    if (x == 0.0f) x = 0.0f;  // the distinct zero is +0
  sv.v = std::move(values);
  // Exact prefix sums every kSumStride distinct values: a sum per block, then the blocks in order
  // (integers: the same on any thread count).
  constexpr size_t kStride = SortedValues::kSumStride;
  static_assert(parallel::kBlock % kStride == 0);
  sv.stride_sum.resize(m / kStride + 1);
  const size_t mblocks = parallel::block_count(m);
  std::vector<Fixed> block_sum(mblocks + 1, 0);
  const auto term = [&sv](size_t d) {
    return static_cast<Fixed>(sv.multiplicity(d)) * sv.scale.to_fixed(sv.v[d]);
  };
  parallel::for_each_block(m, [&](size_t b, size_t begin, size_t end) {
    Fixed sum = 0;
    for (size_t d = begin; d < end; ++d) sum += term(d);
    block_sum[b + 1] = sum;
  });
  for (size_t b = 0; b < mblocks; ++b) block_sum[b + 1] += block_sum[b];
  parallel::for_each_block(m, [&](size_t b, size_t begin, size_t end) {
    Fixed sum = block_sum[b];
    for (size_t d = begin; d < end; ++d) {
      if (d % kStride == 0) sv.stride_sum[d / kStride] = sum;
      sum += term(d);
    }
  });
  const Fixed sum = block_sum[mblocks];
  if (m % SortedValues::kSumStride == 0) sv.stride_sum[m / SortedValues::kSumStride] = sum;
  return sv;
}

}  // namespace kmeans_internal

namespace {

using kmeans_internal::Fixed;
using kmeans_internal::SortedValues;

Status check_values(std::span<const float> values) {
  if (values.size() >= (uint64_t{1} << 32)) {
    return Status::Error("k-means: " + std::to_string(values.size()) + " values exceed 2^32");
  }
  std::vector<size_t> first(parallel::block_count(values.size()), values.size());
  parallel::for_each_block(values.size(), [&](size_t b, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      if (!std::isfinite(values[i])) {
        first[b] = i;
        return;
      }
    }
  });
  for (size_t i : first)
    if (i < values.size())
      return Status::Error("k-means: value " + std::to_string(i) + " is not finite");
  return Status::Ok();
}

Status check_centroids(std::span<const float> c) {
  if (c.empty() || c.size() > static_cast<size_t>(kMaxKMeansClusters)) {
    return Status::Error("k-means: " + std::to_string(c.size()) +
                         " initial centroids (must be 1..65536)");
  }
  for (size_t j = 0; j < c.size(); ++j) {
    if (!std::isfinite(c[j]) || (j > 0 && c[j] < c[j - 1])) {
      return Status::Error("k-means: initial centroids must be finite and ascending (entry " +
                           std::to_string(j) + ")");
    }
  }
  return Status::Ok();
}

double midpoint(float a, float b) {
  return 0.5 * static_cast<double>(a) + 0.5 * static_cast<double>(b);
}

// 1-D clusters are intervals of the sorted values, so an assignment is k + 1 boundaries found by
// one binary search per midpoint between consecutive sorted centroids: O(k log m). Among equal
// centroids the first takes every value (ties go to the lower index) and the others stay empty,
// so each boundary uses the midpoint to the next strictly greater centroid.
void assign_sorted(const SortedValues& sv, const std::vector<float>& c, std::vector<uint32_t>* b) {
  const size_t k = c.size();
  b->assign(k + 1, 0);
  (*b)[k] = static_cast<uint32_t>(sv.m());
  auto from = sv.v.begin();
  size_t next = 0;  // first index whose centroid is greater than c[j]
  for (size_t j = 0; j + 1 < k; ++j) {
    if (next <= j) {
      next = j + 1;
      while (next < k && !(c[next] > c[j])) ++next;
    }
    if (next == k) {
      (*b)[j + 1] = static_cast<uint32_t>(sv.m());
      continue;
    }
    from = std::upper_bound(from, sv.v.end(), midpoint(c[j], c[next]),
                            [](double mid, float x) { return mid < x; });
    (*b)[j + 1] = static_cast<uint32_t>(from - sv.v.begin());
  }
}

// Drops empty clusters and computes the inertia; labels come later from the lower bounds.
KMeansFit finish_sorted(const SortedValues& sv, const std::vector<float>& c,
                        const std::vector<uint32_t>& b, int iterations) {
  KMeansFit r;
  r.iterations = iterations;
  for (size_t j = 0; j < c.size(); ++j) {
    if (b[j] == b[j + 1]) continue;
    r.centroids.push_back(c[j]);
    r.lower_bounds.push_back(sv.v[b[j]]);
    for (uint32_t d = b[j]; d < b[j + 1]; ++d) {
      const double diff = static_cast<double>(sv.v[d]) - c[j];
      r.inertia += static_cast<double>(sv.multiplicity(d)) * diff * diff;
    }
  }
  return r;
}

// Lloyd on strictly ascending centroids after merging repeats; leaves the centroids and the
// boundaries of the last assignment in c and b, and adds the updates made to *iters.
void lloyd_in_place(const SortedValues& sv, std::vector<float>& c, std::vector<uint32_t>& b,
                    int max_iters, int* iters) {
  // Repeated centroids are merged: with strictly ascending centroids, means of consecutive
  // intervals stay strictly ascending, which the boundary search relies on.
  c.erase(std::unique(c.begin(), c.end()), c.end());
  std::vector<uint32_t> next;
  std::vector<Fixed> sums;
  assign_sorted(sv, c, &b);
  for (int done = 0; done < max_iters;) {
    sums.resize(b.size());
    for (size_t j = 0; j < b.size(); ++j) sums[j] = sv.prefix_sum(b[j]);
    for (size_t j = 0; j < c.size(); ++j) {
      const uint64_t cnt = sv.prefix_count(b[j + 1]) - sv.prefix_count(b[j]);
      if (cnt > 0) c[j] = sv.scale.mean(sums[j + 1] - sums[j], cnt);
    }
    ++done;
    ++*iters;
    assign_sorted(sv, c, &next);
    if (next == b) break;
    b.swap(next);
  }
}

KMeansFit lloyd_sorted(const SortedValues& sv, std::vector<float> c, int max_iters) {
  std::vector<uint32_t> b;
  int iters = 0;
  lloyd_in_place(sv, c, b, max_iters, &iters);
  return finish_sorted(sv, c, b, iters);
}

// A cluster as an interval [lo, hi) of distinct values, with its exact mean and its SSE.
struct Interval {
  uint32_t lo = 0, hi = 0;
  float mean = 0;
  double sse = 0;
};

Interval make_interval(const SortedValues& sv, uint32_t lo, uint32_t hi) {
  Interval r{lo, hi,
             sv.scale.mean(sv.prefix_sum(hi) - sv.prefix_sum(lo),
                           sv.prefix_count(hi) - sv.prefix_count(lo)),
             0};
  for (uint32_t d = lo; d < hi; ++d) {
    const double diff = static_cast<double>(sv.v[d]) - r.mean;
    r.sse += static_cast<double>(sv.multiplicity(d)) * diff * diff;
  }
  return r;
}

// Lloyd, then re-seeding: the clusters holding values are kept and the largest-SSE splittable
// ones split at their means until min(k, m) clusters exist; Lloyd again; repeated while clusters
// come out empty (bounded by kMaxSplitRounds).
KMeansFit lloyd_split_sorted(const SortedValues& sv, std::vector<float> c, int k, int max_iters) {
  std::vector<uint32_t> b;
  int iters = 0, splits = 0;
  lloyd_in_place(sv, c, b, max_iters, &iters);
  const size_t target = std::min(static_cast<size_t>(k), sv.m());
  for (int round = 0; round < kMaxSplitRounds; ++round) {
    std::vector<Interval> parts;
    for (size_t j = 0; j + 1 < b.size(); ++j)
      if (b[j] < b[j + 1]) parts.push_back(make_interval(sv, b[j], b[j + 1]));
    if (parts.size() >= target) break;
    // Max-heap on SSE; among equal SSEs the lower interval first (deterministic).
    auto less = [](const Interval& x, const Interval& y) {
      return x.sse != y.sse ? x.sse < y.sse : x.lo > y.lo;
    };
    std::vector<Interval> heap, done;
    for (const Interval& p : parts) (p.hi - p.lo >= 2 ? heap : done).push_back(p);
    std::make_heap(heap.begin(), heap.end(), less);
    size_t count = parts.size();
    while (count < target && !heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), less);
      const Interval p = heap.back();
      heap.pop_back();
      // Values <= mean go left; clamped so that both halves hold a distinct value even when the
      // mean rounds onto an end value.
      uint32_t cut = static_cast<uint32_t>(
          std::upper_bound(sv.v.begin() + p.lo, sv.v.begin() + p.hi, p.mean) - sv.v.begin());
      cut = std::clamp(cut, p.lo + 1, p.hi - 1);
      for (const Interval& half : {make_interval(sv, p.lo, cut), make_interval(sv, cut, p.hi)}) {
        if (half.hi - half.lo >= 2) {
          heap.push_back(half);
          std::push_heap(heap.begin(), heap.end(), less);
        } else {
          done.push_back(half);
        }
      }
      ++count;
      ++splits;
    }
    done.insert(done.end(), heap.begin(), heap.end());
    std::sort(done.begin(), done.end(),
              [](const Interval& x, const Interval& y) { return x.lo < y.lo; });
    c.clear();
    for (const Interval& p : done) c.push_back(p.mean);
    lloyd_in_place(sv, c, b, max_iters, &iters);
  }
  KMeansFit r = finish_sorted(sv, c, b, iters);
  r.splits = splits;
  return r;
}

}  // namespace

std::string_view kmeans_init_name(KMeansInit init) {
  switch (init) {
    case KMeansInit::kLinear:
      return "linear";
    case KMeansInit::kDensity:
      return "density";
    case KMeansInit::kRandom:
      return "random";
    case KMeansInit::kKMeansPlusPlus:
      return "kmeans++";
    case KMeansInit::kOptimal:
      return "optimal";
  }
  return "unknown";
}

std::string_view empty_clusters_name(EmptyClusters mode) {
  return mode == EmptyClusters::kSplit ? "split" : "drop";
}

Result<EmptyClusters> parse_empty_clusters(std::string_view name) {
  if (name == "split") return EmptyClusters::kSplit;
  if (name == "drop") return EmptyClusters::kDrop;
  return Status::Error("unknown empty-cluster mode '" + std::string(name) +
                       "' (expected split or drop)");
}

Result<KMeansInit> parse_kmeans_init(std::string_view name) {
  for (KMeansInit i : {KMeansInit::kLinear, KMeansInit::kDensity, KMeansInit::kRandom,
                       KMeansInit::kKMeansPlusPlus, KMeansInit::kOptimal}) {
    if (name == kmeans_init_name(i)) return i;
  }
  return Status::Error("unknown k-means init '" + std::string(name) +
                       "' (expected linear, density, random, kmeans++ or optimal)");
}

namespace {

Result<std::vector<float>> initial_from_sorted(const SortedValues& sv,
                                               kmeans_internal::InputDraws& draws,
                                               const KMeansOptions& options) {
  if (options.init != KMeansInit::kOptimal) {
    return kmeans_internal::init_centroids(sv, draws, options);
  }
  const std::vector<uint32_t> cuts = kmeans_internal::optimal_boundaries(sv, options.k);
  std::vector<float> c;
  uint32_t a = 0;
  for (size_t j = 0; j <= cuts.size(); ++j) {
    const uint32_t e = j < cuts.size() ? cuts[j] : static_cast<uint32_t>(sv.m());
    c.push_back(sv.scale.mean(sv.prefix_sum(e) - sv.prefix_sum(a),
                              sv.prefix_count(e) - sv.prefix_count(a)));
    a = e;
  }
  return c;
}

Status check_options(const KMeansOptions& options) {
  if (options.k < 1 || options.k > kMaxKMeansClusters) {
    return Status::Error("k-means: k = " + std::to_string(options.k) + " (must be 1..65536)");
  }
  if (options.max_iters < 0) return Status::Error("k-means: negative max_iters");
  return Status::Ok();
}

KMeansResult with_labels(KMeansFit fit, std::span<const float> values) {
  KMeansResult r;
  r.labels.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) r.labels[i] = fit.label(values[i]);
  r.centroids = std::move(fit.centroids);
  r.inertia = fit.inertia;
  r.iterations = fit.iterations;
  r.splits = fit.splits;
  return r;
}

}  // namespace

Result<KMeansFit> kmeans_1d_fit(std::vector<float> values, const KMeansOptions& options) {
  DEEPCOMP_RETURN_IF_ERROR(check_options(options));
  DEEPCOMP_RETURN_IF_ERROR(check_values(values));
  if (values.empty()) return KMeansFit();
  kmeans_internal::InputDraws draws = kmeans_internal::draw_from_input(values, options);
  const SortedValues sv = kmeans_internal::sort_values(std::move(values));
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<float> c, initial_from_sorted(sv, draws, options));
  if (options.empty_clusters == EmptyClusters::kSplit)
    return lloyd_split_sorted(sv, std::move(c), options.k, options.max_iters);
  return lloyd_sorted(sv, std::move(c), options.max_iters);
}

Result<std::vector<float>> kmeans_1d_initial_centroids(std::span<const float> values,
                                                       const KMeansOptions& options) {
  DEEPCOMP_RETURN_IF_ERROR(check_options(options));
  DEEPCOMP_RETURN_IF_ERROR(check_values(values));
  if (values.empty()) return std::vector<float>();
  kmeans_internal::InputDraws draws = kmeans_internal::draw_from_input(values, options);
  return initial_from_sorted(
      kmeans_internal::sort_values(std::vector<float>(values.begin(), values.end())), draws,
      options);
}

Result<KMeansResult> kmeans_1d(std::span<const float> values, const KMeansOptions& options) {
  DEEPCOMP_ASSIGN_OR_RETURN(
      KMeansFit fit, kmeans_1d_fit(std::vector<float>(values.begin(), values.end()), options));
  return with_labels(std::move(fit), values);
}

Result<KMeansResult> kmeans_1d_lloyd(std::span<const float> values,
                                     std::span<const float> initial_centroids, int max_iters) {
  DEEPCOMP_RETURN_IF_ERROR(check_values(values));
  DEEPCOMP_RETURN_IF_ERROR(check_centroids(initial_centroids));
  if (values.empty()) return KMeansResult();
  return with_labels(
      lloyd_sorted(kmeans_internal::sort_values(std::vector<float>(values.begin(), values.end())),
                   std::vector<float>(initial_centroids.begin(), initial_centroids.end()),
                   max_iters),
      values);
}

Result<KMeansResult> kmeans_1d_naive_lloyd(std::span<const float> values,
                                           std::span<const float> initial_centroids,
                                           int max_iters) {
  DEEPCOMP_RETURN_IF_ERROR(check_values(values));
  DEEPCOMP_RETURN_IF_ERROR(check_centroids(initial_centroids));
  std::vector<float> c(initial_centroids.begin(), initial_centroids.end());
  c.erase(std::unique(c.begin(), c.end()), c.end());  // same rule as the fast Lloyd
  const size_t n = values.size(), k = c.size();
  const kmeans_internal::FixedScale scale = kmeans_internal::fixed_scale_for(values);
  auto assign = [&](std::vector<uint32_t>* labels) {
    labels->resize(n);
    for (size_t i = 0; i < n; ++i) {
      uint32_t best = 0;
      double best_d = std::fabs(static_cast<double>(values[i]) - c[0]);
      for (size_t j = 1; j < k; ++j) {
        const double d = std::fabs(static_cast<double>(values[i]) - c[j]);
        if (d < best_d) {  // strict: ties stay with the lower centroid
          best_d = d;
          best = static_cast<uint32_t>(j);
        }
      }
      (*labels)[i] = best;
    }
  };
  std::vector<uint32_t> labels, next;
  assign(&labels);
  int iters = 0;
  while (iters < max_iters) {
    std::vector<Fixed> sums(k, 0);
    std::vector<uint64_t> counts(k, 0);
    for (size_t i = 0; i < n; ++i) {
      sums[labels[i]] += scale.to_fixed(values[i]);
      ++counts[labels[i]];
    }
    for (size_t j = 0; j < k; ++j) {
      if (counts[j] > 0) c[j] = scale.mean(sums[j], counts[j]);
    }
    ++iters;
    assign(&next);
    if (next == labels) break;
    labels.swap(next);
  }
  KMeansResult r;
  r.iterations = iters;
  std::vector<int64_t> new_label(k, -1);
  for (uint32_t l : labels) new_label[l] = 0;
  for (size_t j = 0; j < k; ++j) {
    if (new_label[j] == 0) {
      new_label[j] = static_cast<int64_t>(r.centroids.size());
      r.centroids.push_back(c[j]);
    }
  }
  r.labels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    r.labels[i] = static_cast<uint16_t>(new_label[labels[i]]);
    const double diff = static_cast<double>(values[i]) - c[labels[i]];
    r.inertia += diff * diff;
  }
  return r;
}

}  // namespace deepcomp::compress
