// Element types, with the numeric codes of ONNX's TensorProto.DataType so that they map one to one,
// and the half-precision conversions used to keep float16/bfloat16 weights exact in float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace deepcomp {

enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
};

// "float32", "float16", ... ; "dtype(N)" for codes deepcomp does not know.
std::string dtype_name(DType dtype);
// Bytes per element; 0 for kString and unknown codes.
size_t dtype_size(DType dtype);
// True for the dtypes deepcomp keeps a float32 working copy of (float32/16, bfloat16, float64).
bool is_float_dtype(DType dtype);
// True when `code` is one of the enumerators above (other than kUndefined).
bool is_known_dtype(int32_t code);

float half_to_float(uint16_t bits);
uint16_t float_to_half(float value);  // round to nearest even
float bfloat16_to_float(uint16_t bits);
uint16_t float_to_bfloat16(float value);  // round to nearest even, NaN kept NaN

}  // namespace deepcomp
