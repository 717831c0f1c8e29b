// Magnitude pruning thresholds and the pruning step (see prune.h for the conventions).
#include "compress/prune.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace deepcomp::compress {
namespace {

// Threshold over magnitudes `a` (reordered in place).
float threshold_from_magnitudes(std::vector<float>& a, double sparsity) {
  const size_t n = a.size();
  if (n == 0 || !(sparsity > 0)) return 0.0f;  // also catches NaN
  sparsity = std::min(sparsity, 1.0);
  const size_t r = static_cast<size_t>(std::llround(sparsity * static_cast<double>(n)));
  if (r == 0) return 0.0f;
  if (r >= n) {
    return std::nextafter(*std::max_element(a.begin(), a.end()),
                          std::numeric_limits<float>::infinity());
  }
  // v is the r-th smallest magnitude; the run of magnitudes equal to v spans ranks (lo, hi].
  std::nth_element(a.begin(), a.begin() + (r - 1), a.end());
  const float v = a[r - 1];
  if (v == 0.0f) return 0.0f;  // zeros count as pruned for any threshold: nothing more to do
  size_t lo = 0, hi = 0;
  float above = std::numeric_limits<float>::infinity();  // smallest magnitude > v
  for (float x : a) {
    lo += x < v;
    hi += x <= v;
    if (x > v && x < above) above = x;
  }
  if (hi - r <= r - lo) {
    // Prune the whole run: any t in (v, above] does; take a magnitude present in w when possible.
    return hi < n ? above : std::nextafter(v, std::numeric_limits<float>::infinity());
  }
  return v;  // keep the run: prunes exactly the lo magnitudes below v
}

}  // namespace

Status check_finite(std::span<const float> w, const std::string& tensor_name) {
  for (size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i])) {
      return Status::Error("tensor '" + tensor_name + "': element " + std::to_string(i) + " is " +
                           (std::isnan(w[i]) ? "NaN" : "infinite") +
                           "; cannot prune or cluster non-finite weights");
    }
  }
  return Status::Ok();
}

float magnitude_threshold_for_sparsity(std::span<const float> w, double sparsity) {
  std::vector<float> a(w.size());
  for (size_t i = 0; i < w.size(); ++i) a[i] = std::fabs(w[i]);
  return threshold_from_magnitudes(a, sparsity);
}

float global_threshold_for_sparsity(const std::vector<std::span<const float>>& layers,
                                    double sparsity) {
  size_t total = 0;
  for (const auto& l : layers) total += l.size();
  std::vector<float> a;
  a.reserve(total);
  for (const auto& l : layers) {
    for (float x : l) a.push_back(std::fabs(x));
  }
  return threshold_from_magnitudes(a, sparsity);
}

float std_threshold(std::span<const float> w, double q) {
  if (w.empty()) return 0.0f;
  double sum = 0;
  for (float x : w) sum += x;
  const double mean = sum / static_cast<double>(w.size());
  double sq = 0;  // two-pass: no cancellation from sum of squares minus square of sum
  for (float x : w) sq += (x - mean) * (x - mean);
  return static_cast<float>(q * std::sqrt(sq / static_cast<double>(w.size())));
}

int64_t prune_below(std::span<float> w, float threshold) {
  int64_t nonzeros = 0;
  for (float& x : w) {
    if (std::fabs(x) < threshold) x = 0.0f;
    nonzeros += x != 0.0f;
  }
  return nonzeros;
}

}  // namespace deepcomp::compress
