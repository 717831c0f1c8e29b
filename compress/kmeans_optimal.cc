// Exact 1-D k-means (minimum within-cluster SSE) by dynamic programming over the sorted distinct
// values, weighted by multiplicity, plus the slow references the tests compare it with.
//
// D_l(i) = min_j D_{l-1}(j) + cost(j, i) over contiguous groups [j, i). The cost is a Monge
// function, so the best j is non-decreasing in i and each row is computed by divide and conquer in
// O(m log m) evaluations. The argmin table of all rows would take k * m entries (1 GB for m = 1M,
// k = 256), so large problems are split Hirschberg-style: a forward pass for the first l/2
// clusters and a backward pass for the rest find where the optimal partition crosses between
// them, and the two halves are solved independently, each with the table once it fits.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "compress/kmeans_internal.h"

namespace deepcomp::compress::kmeans_internal {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Interval costs from prefix sums of the values minus their mean (centering keeps the
// subtraction of sum^2 / count accurate).
class IntervalCost {
 public:
  explicit IntervalCost(const SortedValues& sv) {
    const size_t m = sv.m();
    c_.resize(m + 1);
    for (size_t i = 0; i <= m; ++i) c_[i] = sv.prefix_count(i);
    double mean = 0;
    for (size_t i = 0; i < m; ++i) mean += static_cast<double>(sv.multiplicity(i)) * sv.v[i];
    mean /= static_cast<double>(sv.n());
    s1_.assign(m + 1, 0.0);
    s2_.assign(m + 1, 0.0);
    for (size_t i = 0; i < m; ++i) {
      const double w = static_cast<double>(sv.multiplicity(i));
      const double x = static_cast<double>(sv.v[i]) - mean;
      s1_[i + 1] = s1_[i] + w * x;
      s2_[i + 1] = s2_[i] + w * x * x;
    }
  }
  // SSE of the distinct values [a, b) around their mean, a < b.
  double operator()(size_t a, size_t b) const {
    const double s = s1_[b] - s1_[a];
    const double v = (s2_[b] - s2_[a]) - s * s / static_cast<double>(c_[b] - c_[a]);
    return v > 0 ? v : 0.0;
  }

 private:
  std::vector<uint64_t> c_;
  std::vector<double> s1_, s2_;
};

// Fills out[i] = min_{j in [jmin(i), jmax(i)]} f(j, i) for i in [ilo, ihi], where the argmin is
// non-decreasing in i; ties go to the smallest j. arg (optional) receives the argmins.
template <typename F>
void monotone_min(size_t ilo, size_t ihi, size_t optlo, size_t opthi, const F& f,
                  size_t jmin_offset_lo, size_t jmax_offset, std::vector<double>* out,
                  uint32_t* arg, size_t arg_shift) {
  // jmin_offset_lo: smallest allowed j (constant); jmax(i) = i - jmax_offset.
  if (ilo > ihi) return;
  const size_t mid = ilo + (ihi - ilo) / 2;
  const size_t lo = std::max(optlo, jmin_offset_lo);
  const size_t hi = std::min(opthi, mid - jmax_offset);
  double best = kInf;
  size_t best_j = lo;
  for (size_t j = lo; j <= hi; ++j) {
    const double v = f(j, mid);
    if (v < best) {
      best = v;
      best_j = j;
    }
  }
  (*out)[mid] = best;
  if (arg) arg[mid - arg_shift] = static_cast<uint32_t>(best_j);
  if (mid > ilo) monotone_min(ilo, mid - 1, optlo, best_j, f, jmin_offset_lo, jmax_offset, out, arg,
                               arg_shift);
  monotone_min(mid + 1, ihi, best_j, opthi, f, jmin_offset_lo, jmax_offset, out, arg, arg_shift);
}

// Forward rows over [lo, hi]: on return row[i] = best SSE of [lo, i) in `l` clusters for
// i in [lo + l, hi] (kInf elsewhere). With `table`, row r's argmins go to table[(r-2) * width + i - lo].
void forward_rows(const IntervalCost& cost, size_t lo, size_t hi, int l, std::vector<double>* row,
                  std::vector<uint32_t>* table) {
  std::vector<double> prev(hi + 1, kInf);
  row->assign(hi + 1, kInf);
  for (size_t i = lo + 1; i <= hi; ++i) (*row)[i] = cost(lo, i);
  const size_t width = hi - lo + 1;
  for (int r = 2; r <= l; ++r) {
    prev.swap(*row);
    std::fill(row->begin(), row->end(), kInf);
    auto f = [&](size_t j, size_t i) { return prev[j] + cost(j, i); };
    uint32_t* arg = table ? table->data() + (r - 2) * width : nullptr;
    monotone_min(lo + r, hi, lo + r - 1, hi, f, lo + r - 1, 1, row, arg, lo);
  }
}

// Backward rows: row[i] = best SSE of [i, hi) in `l` clusters for i in [lo, hi - l].
void backward_rows(const IntervalCost& cost, size_t lo, size_t hi, int l,
                   std::vector<double>* row) {
  // Mirror indices (i -> hi + lo - i) so that the monotone forward routine applies unchanged.
  std::vector<double> prev(hi + 1, kInf), cur(hi + 1, kInf);
  for (size_t i = lo; i < hi; ++i) cur[hi + lo - i] = cost(i, hi);
  for (int r = 2; r <= l; ++r) {
    prev.swap(cur);
    std::fill(cur.begin(), cur.end(), kInf);
    // In mirrored coordinates a group [i, j) with j > i is [J, I) with J = hi+lo-j < I = hi+lo-i.
    auto f = [&](size_t jj, size_t ii) { return prev[jj] + cost(hi + lo - ii, hi + lo - jj); };
    monotone_min(lo + r, hi, lo + r - 1, hi, f, lo + r - 1, 1, &cur, nullptr, 0);
  }
  row->assign(hi + 1, kInf);
  for (size_t ii = lo; ii <= hi; ++ii) (*row)[hi + lo - ii] = cur[ii];
}

void solve(const IntervalCost& cost, size_t lo, size_t hi, int l, uint64_t table_budget,
           std::vector<uint32_t>* cuts) {
  const size_t len = hi - lo;
  if (l <= 1) return;
  if (static_cast<size_t>(l) >= len) {  // every distinct value its own cluster
    for (size_t i = lo + 1; i < hi; ++i) cuts->push_back(static_cast<uint32_t>(i));
    return;
  }
  const uint64_t width = len + 1;
  if (static_cast<uint64_t>(l - 1) * width <= table_budget) {
    std::vector<uint32_t> table(static_cast<size_t>((l - 1) * width));
    std::vector<double> row;
    forward_rows(cost, lo, hi, l, &row, &table);
    std::vector<uint32_t> local;
    size_t i = hi;
    for (int r = l; r >= 2; --r) {
      i = table[(r - 2) * width + i - lo];
      local.push_back(static_cast<uint32_t>(i));
    }
    cuts->insert(cuts->end(), local.rbegin(), local.rend());
    return;
  }
  const int l1 = l / 2, l2 = l - l1;
  std::vector<double> f, b;
  forward_rows(cost, lo, hi, l1, &f, nullptr);
  backward_rows(cost, lo, hi, l2, &b);
  size_t split = lo + l1;
  double best = kInf;
  for (size_t s = lo + l1; s + l2 <= hi; ++s) {
    if (f[s] + b[s] < best) {
      best = f[s] + b[s];
      split = s;
    }
  }
  solve(cost, lo, split, l1, table_budget, cuts);
  cuts->push_back(static_cast<uint32_t>(split));
  solve(cost, split, hi, l2, table_budget, cuts);
}

}  // namespace

std::vector<uint32_t> optimal_boundaries(const SortedValues& sv, int k, uint64_t table_budget) {
  std::vector<uint32_t> cuts;
  if (sv.m() == 0) return cuts;
  const IntervalCost cost(sv);
  solve(cost, 0, sv.m(), static_cast<int>(std::min<size_t>(k, sv.m())), table_budget, &cuts);
  return cuts;
}

}  // namespace deepcomp::compress::kmeans_internal

namespace deepcomp::compress {

double kmeans_1d_optimal_sse_quadratic(std::span<const float> values, int k) {
  if (values.empty() || k < 1) return 0;
  const kmeans_internal::SortedValues sv =
      kmeans_internal::sort_values(std::vector<float>(values.begin(), values.end()));
  const kmeans_internal::IntervalCost cost(sv);
  const size_t m = sv.m();
  const int l = static_cast<int>(std::min<size_t>(k, m));
  constexpr double inf = std::numeric_limits<double>::infinity();
  std::vector<double> prev(m + 1, inf), cur(m + 1, inf);
  for (size_t i = 1; i <= m; ++i) cur[i] = cost(0, i);
  for (int r = 2; r <= l; ++r) {
    prev.swap(cur);
    std::fill(cur.begin(), cur.end(), inf);
    for (size_t i = r; i <= m; ++i) {
      for (size_t j = r - 1; j < i; ++j) cur[i] = std::min(cur[i], prev[j] + cost(j, i));
    }
  }
  return cur[m];
}

double kmeans_1d_optimal_sse_brute_force(std::span<const float> values, int k) {
  // Every set partition of the values into at most k groups (restricted growth strings); no
  // assumption that clusters are intervals. SSE computed directly in double.
  const size_t n = values.size();
  if (n == 0 || k < 1) return 0;
  std::vector<int> label(n, 0);
  double best = std::numeric_limits<double>::infinity();
  std::function<void(size_t, int)> rec = [&](size_t i, int used) {
    if (i == n) {
      double sse = 0;
      for (int g = 0; g < used; ++g) {
        double sum = 0, cnt = 0;
        for (size_t t = 0; t < n; ++t) {
          if (label[t] == g) {
            sum += values[t];
            cnt += 1;
          }
        }
        const double mean = sum / cnt;
        for (size_t t = 0; t < n; ++t) {
          if (label[t] == g) sse += (values[t] - mean) * (values[t] - mean);
        }
      }
      best = std::min(best, sse);
      return;
    }
    for (int g = 0; g <= std::min(used, k - 1); ++g) {
      label[i] = g;
      rec(i + 1, std::max(used, g + 1));
    }
  };
  rec(0, 0);
  return best;
}

}  // namespace deepcomp::compress
