// The runtime's tensor: a dtype, a shape and its elements. `dtype` is the ONNX element type the
// graph sees; storage is one of two vectors so that operators stay simple:
//   float32, float16, bfloat16, float64 -> `f` (float32 arithmetic; float64 is computed in float32
//                                          precision, float16/bfloat16 are rounded to their own
//                                          precision after every operator: fit_to_dtype)
//   every integer dtype and bool        -> `i` (int64 arithmetic, wrapped to the dtype's width
//                                          after every operator; bool is 0/1; uint64 keeps its
//                                          bits, so values >= 2^63 read as negative)
// Operators compute on f or i and set the output dtype ONNX specifies (usually the input's); the
// Session then calls fit_to_dtype on each output. Depends on core/ only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/model.h"
#include "core/status.h"

namespace deepcomp::runtime {

// Integer dtypes of the runtime (not bool).
bool is_integer_dtype(DType dtype);

struct Value {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  std::vector<float> f;    // float32 elements, row-major
  std::vector<int64_t> i;  // int64 or bool elements, row-major

  static Value floats(std::vector<int64_t> shape, std::vector<float> data);
  static Value ints(std::vector<int64_t> shape, std::vector<int64_t> data);
  static Value bools(std::vector<int64_t> shape, std::vector<int64_t> data);

  // Storage kind: true for every float dtype (elements in f), false for integers and bool (in i).
  bool is_float() const { return is_float_dtype(dtype); }
  // Any integer dtype (int8..int64, uint8..uint64); not bool.
  bool is_integer() const { return is_integer_dtype(dtype); }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  // Product of the shape (1 for a scalar).
  int64_t numel() const;
  // Elements held in f or i; equals numel() for a well-formed value.
  int64_t stored() const;
  // Element k as a double / int64, whatever the dtype.
  double as_double(int64_t k) const;
  int64_t as_int(int64_t k) const;
};

// A zero-filled value of `dtype` and `shape`, in the storage that dtype uses.
Value zeros_like_dtype(DType dtype, std::vector<int64_t> shape);
// The same for an operator that writes every element of its output: float storage recycled by
// the running Session's pool (FloatBufferPool::take_for_overwrite) is not zeroed first, so its
// elements hold stale values until written. Zero-filled otherwise.
Value for_overwrite_like_dtype(DType dtype, std::vector<int64_t> shape);

// True for the dtypes a Value can hold (every numeric dtype and bool; not string or complex).
bool is_runtime_dtype(DType dtype);
// Rounds float16/bfloat16 elements to their precision and wraps integers to their dtype's width
// (int8 300 -> 44, uint8 -1 -> 255), bool to 0/1; float32, float64, int64 and uint64 unchanged.
void fit_to_dtype(Value* v);

// `x` converted to `to` (a runtime dtype), with ONNX Cast semantics: float -> integer truncates
// toward zero (NaN -> 0, beyond int64 saturates, then wraps to the width like every integer
// result), anything -> bool is "!= 0" (NaN -> true), uint64 reads as unsigned, and
// float16/bfloat16/narrow integers are fitted to their dtype (fit_to_dtype).
Value cast_value(const Value& x, DType to);

// "float32[1,3,224,224]" for messages.
std::string describe(const Value& v);
std::string shape_string(const std::vector<int64_t>& shape);

// Product of a shape; false when a dimension is negative or the product overflows int64.
bool checked_numel(const std::vector<int64_t>& shape, int64_t* out);

// Converts a Model tensor (float dtypes from the working copy; integer and bool dtypes from the
// raw little-endian bytes) into a Value. Errors name the tensor: unsupported dtype, or a raw size
// that does not match the shape.
Result<Value> value_from_tensor(const Tensor& tensor);

}  // namespace deepcomp::runtime
