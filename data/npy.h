// NumPy .npy files with their element type kept: the typed arrays `deepcomp run/compare --input
// NAME=FILE.npy` feeds to a model's inputs, and the writer of its outputs (one .npy, or the
// members of a .npz: data/npz.h). Depends only on core/ (DType and the half conversions).
// data/idx.h's read_npy is the float-widening reader for image sets, built on this one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace deepcomp::data {

// An n-D array and its ONNX element type. Storage mirrors runtime::Value so that the conversion
// is a move: float16/float32/float64 elements in `f` (float64 narrowed to float, the precision
// the runtime computes in), every integer dtype and bool (0/1) in `i` (uint64 keeps its bits).
struct TypedArray {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;  // empty for a 0-d (scalar) array
  std::vector<float> f;
  std::vector<int64_t> i;

  bool is_float() const { return is_float_dtype(dtype); }
  // Product of the shape (1 for a scalar).
  int64_t numel() const;
};

// Reads a .npy (versions 1-3, C order, little-endian or byte-order-free dtypes <f2 <f4 <f8 |i1
// <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1). Errors name the file: bad magic, unsupported dtype or order,
// a header that is not a dict with descr / fortran_order / shape, data shorter than the shape.
Result<TypedArray> read_npy_typed(const std::string& path);

// The .npy descr of `dtype` ("<f4", "|b1", ...), or "" for a dtype NumPy has no type for
// (bfloat16, string, complex).
std::string npy_descr(DType dtype);

// A version 1.0 .npy of `array` in its own dtype; bfloat16 is written as float32 (NumPy has no
// bfloat16). Error for string/complex dtypes or storage that does not match the shape.
Result<std::string> npy_bytes_typed(const TypedArray& array);

}  // namespace deepcomp::data
