// Output shapes of the rearranging operators (Reshape, Transpose, Squeeze, Unsqueeze), shared by
// their kernels (ops_shape.cc) and by the Session, which folds them on weights that have a shape
// and no values (session.cc: a .dcz run sparse). Only `x`'s dtype and shape are read.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "runtime/value.h"

namespace deepcomp::runtime::ops {

// Reshape of x to `target` (0 copies x's dimension unless allowzero, one -1 is inferred).
Result<std::vector<int64_t>> reshape_shape(const Value& x, std::vector<int64_t> target,
                                           bool allowzero);

// Transpose of x by `perm`; without one (has_perm false), the dimensions reversed.
Result<std::vector<int64_t>> transpose_shape(const Value& x, bool has_perm,
                                             std::vector<int64_t> perm);

// Squeeze (the listed axes, or with none given every 1) or Unsqueeze (insert the listed axes).
Result<std::vector<int64_t>> squeeze_shape(const Value& x, const std::vector<int64_t>& axes,
                                           bool given, bool unsqueeze);

}  // namespace deepcomp::runtime::ops
