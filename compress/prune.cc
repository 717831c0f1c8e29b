// Magnitude pruning thresholds and the pruning step (see prune.h for the conventions).
#include "compress/prune.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>

#include "compress/parallel_blocks.h"

namespace deepcomp::compress {
namespace {

// The bits of |x|: for finite values, ordered like the magnitudes themselves.
uint32_t magnitude_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u & 0x7fffffffu;
}

float from_bits(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// Threshold over the magnitudes of `n` values, without a copy of them: the r-th smallest
// magnitude is found by radix selection on its bits (a histogram of the high 16 bits, then of the
// low 16 bits within the bucket that holds rank r), two reads of the data. visit(fn) calls
// fn(piece) for pieces that together hold every value once, possibly several pieces at once on
// different threads (fn merges its counts under a lock: integer counts and minima, the same result
// in any order), and may fail (a streamed layer that cannot be read).
template <typename Visit>
Result<float> threshold_by_visits(size_t n, Visit&& visit, double sparsity) {
  if (n == 0 || !(sparsity > 0)) return 0.0f;  // also catches NaN
  sparsity = std::min(sparsity, 1.0);
  const size_t r = static_cast<size_t>(std::llround(sparsity * static_cast<double>(n)));
  if (r == 0) return 0.0f;
  std::mutex merge;
  if (r >= n) {
    uint32_t max_bits = 0;
    DEEPCOMP_RETURN_IF_ERROR(visit([&](std::span<const float> piece) {
      uint32_t m = 0;
      for (float x : piece) m = std::max(m, magnitude_bits(x));
      std::lock_guard<std::mutex> lock(merge);
      max_bits = std::max(max_bits, m);
    }));
    return std::nextafter(from_bits(max_bits), std::numeric_limits<float>::infinity());
  }
  std::vector<uint64_t> hist(65536, 0);
  DEEPCOMP_RETURN_IF_ERROR(visit([&](std::span<const float> piece) {
    std::vector<uint64_t> local(65536, 0);
    for (float x : piece) ++local[magnitude_bits(x) >> 16];
    std::lock_guard<std::mutex> lock(merge);
    for (size_t i = 0; i < 65536; ++i) hist[i] += local[i];
  }));
  size_t below = 0;  // magnitudes in buckets below `high`
  uint32_t high = 0;
  while (below + hist[high] < r) below += hist[high++];
  std::fill(hist.begin(), hist.end(), 0);
  uint32_t above_bucket = std::numeric_limits<uint32_t>::max();  // smallest bits in a higher bucket
  DEEPCOMP_RETURN_IF_ERROR(visit([&](std::span<const float> piece) {
    std::vector<uint64_t> local(65536, 0);
    uint32_t above_local = std::numeric_limits<uint32_t>::max();
    for (float x : piece) {
      const uint32_t u = magnitude_bits(x);
      if ((u >> 16) == high)
        ++local[u & 0xffff];
      else if ((u >> 16) > high)
        above_local = std::min(above_local, u);
    }
    std::lock_guard<std::mutex> lock(merge);
    for (size_t i = 0; i < 65536; ++i) hist[i] += local[i];
    above_bucket = std::min(above_bucket, above_local);
  }));
  uint32_t low = 0;
  while (below + hist[low] < r) below += hist[low++];
  // v is the r-th smallest magnitude; the run of magnitudes equal to v spans ranks (lo, hi].
  const float v = from_bits((high << 16) | low);
  if (v == 0.0f) return 0.0f;  // zeros count as pruned for any threshold: nothing more to do
  const size_t lo = below, hi = below + hist[low];
  float above = std::numeric_limits<float>::infinity();  // smallest magnitude > v
  uint32_t next = low + 1;
  while (next < 65536 && hist[next] == 0) ++next;
  if (next < 65536)
    above = from_bits((high << 16) | next);
  else if (above_bucket != std::numeric_limits<uint32_t>::max())
    above = from_bits(above_bucket);
  if (hi - r <= r - lo) {
    // Prune the whole run: any t in (v, above] does; take a magnitude present in w when possible.
    return hi < n ? above : std::nextafter(v, std::numeric_limits<float>::infinity());
  }
  return v;  // keep the run: prunes exactly the lo magnitudes below v
}

float threshold_from_magnitudes(const std::vector<std::span<const float>>& layers,
                                double sparsity) {
  size_t n = 0;
  for (const auto& l : layers) n += l.size();
  const auto visit = [&](auto&& fn) {
    for (const auto& l : layers) parallel::for_each_piece(l, fn);
    return Status::Ok();
  };
  return *threshold_by_visits(n, visit, sparsity);
}

}  // namespace

Status check_finite(std::span<const float> w, const std::string& tensor_name) {
  // Blocks in parallel; the lowest non-finite position is reported, whatever the thread count.
  std::vector<size_t> first(parallel::block_count(w.size()), w.size());
  parallel::for_each_block(w.size(), [&](size_t b, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      if (!std::isfinite(w[i])) {
        first[b] = i;
        return;
      }
    }
  });
  for (size_t i : first) {
    if (i < w.size()) {
      return Status::Error("tensor '" + tensor_name + "': element " + std::to_string(i) + " is " +
                           (std::isnan(w[i]) ? "NaN" : "infinite") +
                           "; cannot prune or cluster non-finite weights");
    }
  }
  return Status::Ok();
}

float magnitude_threshold_for_sparsity(std::span<const float> w, double sparsity) {
  return threshold_from_magnitudes({w}, sparsity);
}

float global_threshold_for_sparsity(const std::vector<std::span<const float>>& layers,
                                    double sparsity) {
  return threshold_from_magnitudes(layers, sparsity);
}

Result<float> global_threshold_streamed(uint64_t n, const LayerVisitor& visit, double sparsity) {
  const auto pieces = [&](auto&& fn) {
    return visit([&](std::span<const float> layer) { parallel::for_each_piece(layer, fn); });
  };
  return threshold_by_visits(static_cast<size_t>(n), pieces, sparsity);
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
