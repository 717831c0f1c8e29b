// Operators on the last two dimensions as matrices: Det (LU with partial pivoting, in double) and
// EyeLike (ones on a diagonal).
#include <cmath>
#include <utility>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

// Determinant of the n x n row-major matrix `a` (destroyed) by Gaussian elimination with partial
// pivoting; an exactly singular matrix gives 0.
double determinant(std::vector<double>& a, int64_t n) {
  double det = 1;
  for (int64_t c = 0; c < n; ++c) {
    int64_t pivot = c;
    for (int64_t r = c + 1; r < n; ++r) {
      if (std::fabs(a[r * n + c]) > std::fabs(a[pivot * n + c])) pivot = r;
    }
    if (a[pivot * n + c] == 0) return 0;
    if (pivot != c) {
      for (int64_t k = 0; k < n; ++k) std::swap(a[c * n + k], a[pivot * n + k]);
      det = -det;
    }
    const double p = a[c * n + c];
    det *= p;
    for (int64_t r = c + 1; r < n; ++r) {
      const double m = a[r * n + c] / p;
      for (int64_t k = c; k < n; ++k) a[r * n + k] -= m * a[c * n + k];
    }
  }
  return det;
}

// Det: X of shape [*, M, M] (float) -> [*].
Result<CompiledOp> build_det(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
  CompiledOp op;
  op.run = [](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
    const Value& x = *in[0];
    const int64_t r = x.rank();
    if (r < 2 || x.shape[r - 1] != x.shape[r - 2]) {
      return Status::Error("X must be [*, M, M], is " + describe(x));
    }
    const int64_t n = x.shape[r - 1];
    Value y = zeros_like_dtype(x.dtype, std::vector<int64_t>(x.shape.begin(), x.shape.end() - 2));
    std::vector<double> m(n * n);
    for (int64_t b = 0; b < y.numel(); ++b) {
      for (int64_t k = 0; k < n * n; ++k) m[k] = x.f[b * n * n + k];
      y.f[b] = static_cast<float>(determinant(m, n));
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

// EyeLike: a 2-D tensor shaped like the input, ones on diagonal k (k > 0 above the main one), of
// the `dtype` attribute or else the input's dtype.
Result<CompiledOp> build_eye_like(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"dtype", "k"}));
  const bool has_dtype = has_attr(*ctx.node, "dtype");
  const auto dtype = static_cast<DType>(attr_int(*ctx.node, "dtype", 0));
  if (has_dtype && !is_runtime_dtype(dtype)) {
    return Status::Error("attribute dtype=" + dtype_name(dtype) + " is not supported");
  }
  const int64_t diag = attr_int(*ctx.node, "k", 0);
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    const Value& x = *in[0];
    if (x.rank() != 2) return Status::Error("input must be 2-D, is " + describe(x));
    const int64_t rows = x.shape[0], cols = x.shape[1];
    Value y = zeros_like_dtype(has_dtype ? dtype : x.dtype, x.shape);
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t j = i + diag;
      if (j < 0 || j >= cols) continue;
      if (y.is_float()) {
        y.f[i * cols + j] = 1;
      } else {
        y.i[i * cols + j] = 1;
      }
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_matrix_ops(Table* t) {
  (*t)["Det"] = build_det;
  (*t)["EyeLike"] = build_eye_like;
}

}  // namespace deepcomp::runtime::ops
