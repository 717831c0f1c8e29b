// Magnitude pruning (Han et al. 2015/2016): thresholds by target sparsity (per layer or global),
// by Han's quality parameter (q x std), and the pruning step itself.
//
// Convention used throughout: pruning with threshold t zeroes every weight with |w| < t (strict),
// so t = 0 prunes nothing and exact zeros count as pruned for any t > 0. Sparsity = fraction of
// elements that are zero after pruning. Inputs must be finite (check_finite first).
//
// Depends on core/status.h only.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace deepcomp::compress {

// Error naming the tensor and the first NaN/Inf element, if any.
Status check_finite(std::span<const float> w, const std::string& tensor_name);

// The threshold t such that zeroing |w| < t removes as close to round(sparsity * n) weights as
// possible. sparsity is clamped to [0, 1]. Returns 0 when nothing is to be pruned and
// nextafter(max|w|, inf) when everything is. When the target falls inside a run of equal
// magnitudes, the run is pruned entirely or not at all, whichever lands closer to the target; an
// exact tie prunes the run (so a requested sparsity is not undershot by more than half a run).
// t is always 0, a magnitude present in w, or just above the largest magnitude. O(n).
float magnitude_threshold_for_sparsity(std::span<const float> w, double sparsity);

// One threshold for all layers together, with the same rule over the concatenated weights.
float global_threshold_for_sparsity(const std::vector<std::span<const float>>& layers,
                                    double sparsity);

// global_threshold_for_sparsity over layers too large to hold at once: `n` values in all, and
// visit(fn) calls fn once per layer (loading it, then freeing it), in a fixed order, failing if a
// layer cannot be read. The layers are visited two or three times; the result is the same float.
using LayerVisitor =
    std::function<Status(const std::function<void(std::span<const float>)>& fn)>;
Result<float> global_threshold_streamed(uint64_t n, const LayerVisitor& visit, double sparsity);

// Han's quality parameter: q times the population standard deviation (divide by n) of all the
// layer's weights, zeros included, computed in double. 0 for an empty layer.
float std_threshold(std::span<const float> w, double q);

// Zeroes every |w| < threshold and returns the number of nonzeros left. Zeros stay zero.
int64_t prune_below(std::span<float> w, float threshold);

}  // namespace deepcomp::compress
