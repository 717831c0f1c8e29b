// Internal to runtime/: index arithmetic shared by the indexing, Einsum, loss and signal
// operators (row-major strides, index range checks with messages that name the input, a cap on
// output sizes so that a hostile shape fails with a message instead of an allocation failure).
// Depends on runtime/value.h and core/status.h only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "runtime/value.h"

namespace deepcomp::runtime::ops {

// Largest output the indexing ops create (2^31 elements, 8 GiB of float32): shapes computed from
// input values (Range, OneHot depth, Unique, NonZero ...) are checked against it before allocating.
inline constexpr int64_t kMaxOutputElements = int64_t{1} << 31;

inline std::vector<int64_t> row_major_strides_of(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t k = shape.size(); k-- > 1;) s[k - 1] = s[k] * shape[k];
  return s;
}

// y[dst] = x[src], in whichever storage (float or integer) the two share.
inline void copy_element(const Value& x, int64_t src, Value* y, int64_t dst) {
  if (y->is_float()) {
    y->f[dst] = x.f[src];
  } else {
    y->i[dst] = x.i[src];
  }
}

// Product of shape[begin, end).
inline int64_t dims_product(const std::vector<int64_t>& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t k = begin; k < end && k < shape.size(); ++k) n *= shape[k];
  return n;
}

// Input k, or nullptr when the node has fewer inputs or the input is omitted.
inline const Value* input_at(const std::vector<const Value*>& in, size_t k) {
  return k < in.size() ? in[k] : nullptr;
}

// Error unless `shape` is valid and holds at most kMaxOutputElements elements.
inline Status check_output_shape(const std::vector<int64_t>& shape, const char* what) {
  int64_t n = 0;
  if (!checked_numel(shape, &n) || n > kMaxOutputElements) {
    return Status::Error(std::string(what) + " shape " + shape_string(shape) +
                         " is invalid or too large");
  }
  return Status::Ok();
}

// Resolves a possibly negative index against a dimension of size `dim` (ONNX: [-dim, dim-1]).
inline Status resolve_index(int64_t j, int64_t dim, const char* input, int64_t axis, int64_t* out) {
  if (j < -dim || j >= dim) {
    return Status::Error(std::string(input) + ": index " + std::to_string(j) +
                         " is out of range for axis " + std::to_string(axis) + " of size " +
                         std::to_string(dim));
  }
  *out = j < 0 ? j + dim : j;
  return Status::Ok();
}

// Advances a row-major multi-index over `shape`; false after the last element.
inline bool next_index(const std::vector<int64_t>& shape, std::vector<int64_t>* idx) {
  for (size_t d = shape.size(); d-- > 0;) {
    if (++(*idx)[d] < shape[d]) return true;
    (*idx)[d] = 0;
  }
  return false;
}

// Reads a scalar (or one-element) input as an integer, whatever its numeric dtype.
inline Status scalar_int(const Value* v, const char* what, int64_t* out) {
  if (!v) return Status::Error(std::string(what) + " is missing");
  if (v->numel() != 1 || v->stored() != 1) {
    return Status::Error(std::string(what) + " must hold one element, is " + describe(*v));
  }
  if (v->is_float()) {
    const double d = v->f[0];  // NaN and out-of-range float-to-int casts are undefined in C++
    if (!(d > -9.2e18 && d < 9.2e18)) {
      return Status::Error(std::string(what) + " value " + std::to_string(d) +
                           " is not an integer");
    }
    *out = static_cast<int64_t>(d);
  } else {
    *out = v->i[0];
  }
  return Status::Ok();
}

}  // namespace deepcomp::runtime::ops
