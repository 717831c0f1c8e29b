// Internal to runtime/: what the quantized operators share (ops_quant.cc: QuantizeLinear,
// DequantizeLinear, DynamicQuantizeLinear; ops_quant_matmul.cc: MatMulInteger, QLinearMatMul;
// ops_quant_conv.cc: ConvInteger, QLinearConv). Arithmetic follows the ONNX spec and ONNX
// Runtime's MLAS: float32 scales, round half to even (the default FE_TONEAREST mode of
// std::nearbyint), saturation to the output dtype, int32 accumulation that wraps.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/int_products.h"
#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

// [lo, hi] of an 8/16-bit quantized dtype (int8, uint8, int16, uint16); false for any other.
bool quant_range(DType dtype, int64_t* lo, int64_t* hi);

// How a scale / zero point tensor maps onto the elements of the tensor it quantizes:
// per-tensor (one value), per-axis (1-D, one per index of `axis`) or blocked (same rank, dimension
// `axis` holds ceil(dim / block) values).
struct QuantLayout {
  enum Kind { kTensor, kAxis, kBlocked } kind = kTensor;
  int64_t dim = 1;     // x.shape[axis]
  int64_t inner = 1;   // product of x.shape after axis
  int64_t block = 1;   // kBlocked only
  int64_t blocks = 1;  // kBlocked only: ceil(dim / block)
  // Index into the scale / zero point of element k of x.
  int64_t param(int64_t k) const {
    if (kind == kTensor) return 0;
    const int64_t a = (k / inner) % dim;
    if (kind == kAxis) return a;
    return ((k / (inner * dim)) * blocks + a / block) * inner + k % inner;
  }
};

// Checks `scale` (and `zero_point` when present: the same shape) against x for the given axis
// attribute (already known to be set when block_size > 0) and fills the layout. `scale_name`
// and `zp_name` are the tensors' names for messages.
Status quant_layout(const Value& x, const Value& scale, const Value* zero_point, int64_t axis,
                    int64_t block_size, const std::string& scale_name, const std::string& zp_name,
                    QuantLayout* out);

// Rounds half to even, then adds the zero point and saturates to [lo, hi] (NaN -> zero point).
inline int64_t quantize_value(float scaled, int64_t zero_point, int64_t lo, int64_t hi) {
  if (std::isnan(scaled)) scaled = 0;
  // Clamp before rounding (as MLAS does) so huge values cannot overflow the integer conversion.
  const float flo = static_cast<float>(lo - zero_point), fhi = static_cast<float>(hi - zero_point);
  if (scaled < flo) scaled = flo;
  if (scaled > fhi) scaled = fhi;
  return static_cast<int64_t>(std::nearbyint(scaled)) + zero_point;
}

// Name of input k for messages: "x_zero_point 'conv.zp'" (just `role` when unnamed).
std::string input_label(const Node& node, size_t k, const char* role);

// A quantized integer input: present, of an 8-bit dtype (int8 or uint8).
Status require_8bit(const Value* v, const std::string& label);
// A zero point for `x`: omitted (0), or of x's dtype.
Status check_zero_point(const Value* zp, const Value& x, const std::string& zp_label,
                        const std::string& x_label);
// A scale: present and of a float dtype.
Status require_scale(const Value* v, const std::string& label);

// Requantizes an int32 accumulator as QLinearConv / QLinearMatMul do.
inline int64_t requantize(int32_t acc, float multiplier, int64_t zero_point, int64_t lo,
                          int64_t hi) {
  return quantize_value(static_cast<float>(acc) * multiplier, zero_point, lo, hi);
}

// The sparse form of the constant 8-bit weight at input `wi` of an integer operator, with its zero
// point at input `zi` (omitted: 0; else constant, one value or one per row), when the Session asks
// for it (BuildContext::int_sparse or sparse_from_dense) and SessionOptions::kernel keeps it
// sparse at its density: the nonzero centered codes (w - zero point) as rows x cols, where rows
// are w's first dimension (`transposed` false: ConvInteger / QLinearConv, [M, C/group * k...]) or
// the columns of a 2-D w ([K, N], `transposed` true: MatMulInteger / QLinearMatMul B). Null
// otherwise (the dense kernel runs). `density` receives nonzero / elements either way.
std::shared_ptr<const kernels::IntCsrMatrix> sparse_int_weight(const BuildContext& ctx, size_t wi,
                                                               size_t zi, bool transposed,
                                                               double* density);

}  // namespace deepcomp::runtime::ops
