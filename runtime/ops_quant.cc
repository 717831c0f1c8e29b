// QuantizeLinear, DequantizeLinear (per-tensor, per-axis and the opset 21 blocked form) and
// DynamicQuantizeLinear, plus the helpers the integer operators share (ops_quant.h).
#include "runtime/ops_quant.h"

#include <algorithm>
#include <limits>

namespace deepcomp::runtime::ops {

bool quant_range(DType dtype, int64_t* lo, int64_t* hi) {
  switch (dtype) {
    case DType::kInt8:
      *lo = -128, *hi = 127;
      return true;
    case DType::kUInt8:
      *lo = 0, *hi = 255;
      return true;
    case DType::kInt16:
      *lo = -32768, *hi = 32767;
      return true;
    case DType::kUInt16:
      *lo = 0, *hi = 65535;
      return true;
    default:
      return false;
  }
}

std::string input_label(const Node& node, size_t k, const char* role) {
  if (k < node.inputs.size() && !node.inputs[k].empty()) {
    return std::string(role) + " '" + node.inputs[k] + "'";
  }
  return role;
}

Status require_8bit(const Value* v, const std::string& label) {
  DEEPCOMP_RETURN_IF_ERROR(require_present(v, label.c_str()));
  if (v->dtype != DType::kInt8 && v->dtype != DType::kUInt8) {
    return Status::Error(label + " must be int8 or uint8, is " + describe(*v));
  }
  return Status::Ok();
}

Status check_zero_point(const Value* zp, const Value& x, const std::string& zp_label,
                        const std::string& x_label) {
  if (!zp) return Status::Ok();
  DEEPCOMP_RETURN_IF_ERROR(require_present(zp, zp_label.c_str()));
  if (zp->dtype != x.dtype) {
    return Status::Error(zp_label + " " + describe(*zp) + " does not match the dtype of " +
                         x_label + " " + describe(x));
  }
  return Status::Ok();
}

Status require_scale(const Value* v, const std::string& label) {
  DEEPCOMP_RETURN_IF_ERROR(require_present(v, label.c_str()));
  if (!v->is_float()) return Status::Error(label + " must be a float tensor, is " + describe(*v));
  return Status::Ok();
}

Status quant_layout(const Value& x, const Value& scale, const Value* zero_point, int64_t axis,
                    int64_t block_size, const std::string& scale_name, const std::string& zp_name,
                    QuantLayout* out) {
  *out = QuantLayout{};
  if (zero_point && zero_point->shape != scale.shape) {
    return Status::Error(zp_name + " " + describe(*zero_point) + " does not match the shape of " +
                         scale_name + " " + describe(scale));
  }
  if (block_size < 0) return Status::Error("attribute block_size must not be negative");
  const bool one = scale.numel() == 1 && scale.rank() <= 1;
  if (block_size == 0 && (scale.rank() == 0 || one)) return Status::Ok();
  int64_t a = 0;
  if (!normalize_axis(axis, x.rank(), &a)) {
    return Status::Error("axis " + std::to_string(axis) + " is out of range for " + describe(x) +
                         " (" + scale_name + " " + describe(scale) + ")");
  }
  out->dim = x.shape[a];
  for (int64_t d = a + 1; d < x.rank(); ++d) out->inner *= x.shape[d];
  if (block_size == 0) {
    if (scale.rank() != 1 || scale.shape[0] != out->dim) {
      return Status::Error(scale_name + " " + describe(scale) + " must be a scalar or hold one " +
                           "value per index of axis " + std::to_string(axis) + " of " +
                           describe(x));
    }
    out->kind = QuantLayout::kAxis;
    return Status::Ok();
  }
  out->kind = QuantLayout::kBlocked;
  out->block = block_size;
  out->blocks = (out->dim + block_size - 1) / block_size;
  bool ok = scale.rank() == x.rank();
  for (int64_t d = 0; ok && d < x.rank(); ++d) {
    ok = scale.shape[d] == (d == a ? out->blocks : x.shape[d]);
  }
  if (!ok) {
    return Status::Error(scale_name + " " + describe(scale) + " does not fit " + describe(x) +
                         " in blocks of " + std::to_string(block_size) + " along axis " +
                         std::to_string(axis));
  }
  return Status::Ok();
}

namespace {

// Zero point element k (0 when omitted), as int64.
inline int64_t zp_at(const Value* zp, int64_t k) { return zp ? zp->i[k] : 0; }

// QuantizeLinear (opsets 10-21): y = saturate(round_half_even(x / y_scale) + y_zero_point).
// The output dtype is the zero point's, else output_dtype, else uint8.
Result<CompiledOp> build_quantize_linear(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(
      check_attributes(node, {"axis", "saturate", "block_size", "output_dtype", "precision"}));
  const int64_t axis = attr_int(node, "axis", 1);
  const int64_t block = attr_int(node, "block_size", 0);
  const bool has_out_dtype = has_attr(node, "output_dtype") && attr_int(node, "output_dtype", 0);
  const auto out_dtype = static_cast<DType>(attr_int(node, "output_dtype", 0));
  int64_t lo = 0, hi = 0;
  if (has_out_dtype && !quant_range(out_dtype, &lo, &hi)) {
    return Status::Error("output_dtype " + dtype_name(out_dtype) +
                         " is not supported (int8, uint8, int16, uint16)");
  }
  const std::string x_label = input_label(node, 0, "x");
  const std::string s_label = input_label(node, 1, "y_scale");
  const std::string z_label = input_label(node, 2, "y_zero_point");
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], x_label.c_str()));
    const Value& x = *in[0];
    if (!x.is_float() && x.dtype != DType::kInt32) {
      return Status::Error(x_label + " must be float or int32, is " + describe(x));
    }
    DEEPCOMP_RETURN_IF_ERROR(require_scale(in[1], s_label));
    const Value* zp = in.size() > 2 ? in[2] : nullptr;
    DType dtype = has_out_dtype ? out_dtype : DType::kUInt8;
    if (zp) {
      DEEPCOMP_RETURN_IF_ERROR(require_present(zp, z_label.c_str()));
      if (has_out_dtype && zp->dtype != out_dtype) {
        return Status::Error(z_label + " " + describe(*zp) + " does not match output_dtype " +
                             dtype_name(out_dtype));
      }
      dtype = zp->dtype;
    }
    int64_t qlo = 0, qhi = 0;
    if (!quant_range(dtype, &qlo, &qhi)) {
      return Status::Error("quantizing to " + dtype_name(dtype) + " (" + z_label +
                           ") is not supported (int8, uint8, int16, uint16)");
    }
    QuantLayout layout;
    DEEPCOMP_RETURN_IF_ERROR(quant_layout(x, *in[1], zp, axis, block, s_label, z_label, &layout));
    Value y = zeros_like_dtype(dtype, x.shape);
    const Value& s = *in[1];
    for (int64_t k = 0; k < y.numel(); ++k) {
      const int64_t p = layout.param(k);
      const float xv = x.is_float() ? x.f[k] : static_cast<float>(x.i[k]);
      y.i[k] = quantize_value(xv / s.f[p], zp_at(zp, p), qlo, qhi);
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

// DequantizeLinear (opsets 10-21): y = (x - x_zero_point) * x_scale, of the scale's float dtype.
Result<CompiledOp> build_dequantize_linear(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"axis", "block_size", "output_dtype"}));
  const int64_t axis = attr_int(node, "axis", 1);
  const int64_t block = attr_int(node, "block_size", 0);
  const auto out_dtype = static_cast<DType>(attr_int(node, "output_dtype", 0));
  if (out_dtype != DType::kUndefined && !is_float_dtype(out_dtype)) {
    return Status::Error("output_dtype " + dtype_name(out_dtype) + " is not a float dtype");
  }
  const std::string x_label = input_label(node, 0, "x");
  const std::string s_label = input_label(node, 1, "x_scale");
  const std::string z_label = input_label(node, 2, "x_zero_point");
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], x_label.c_str()));
    const Value& x = *in[0];
    int64_t lo = 0, hi = 0;
    if (!quant_range(x.dtype, &lo, &hi) && x.dtype != DType::kInt32) {
      return Status::Error(x_label + " " + describe(x) +
                           ": dequantizing this dtype is not supported (int8, uint8, int16, "
                           "uint16, int32)");
    }
    DEEPCOMP_RETURN_IF_ERROR(require_scale(in[1], s_label));
    const Value* zp = in.size() > 2 ? in[2] : nullptr;
    DEEPCOMP_RETURN_IF_ERROR(check_zero_point(zp, x, z_label, x_label));
    QuantLayout layout;
    DEEPCOMP_RETURN_IF_ERROR(quant_layout(x, *in[1], zp, axis, block, s_label, z_label, &layout));
    const Value& s = *in[1];
    Value y = zeros_like_dtype(out_dtype != DType::kUndefined ? out_dtype : s.dtype, x.shape);
    for (int64_t k = 0; k < y.numel(); ++k) {
      const int64_t p = layout.param(k);
      y.f[k] = static_cast<float>(x.i[k] - zp_at(zp, p)) * s.f[p];
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

// DynamicQuantizeLinear: uint8 with scale and zero point from the range of x widened to include
// 0, computed in float32 as ONNX Runtime does.
Result<CompiledOp> build_dynamic_quantize_linear(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 1, 3));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {}));
  const std::string x_label = input_label(node, 0, "x");
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], x_label.c_str()));
    const Value& x = *in[0];
    if (x.dtype != DType::kFloat32) {
      return Status::Error(x_label + " must be float32, is " + describe(x));
    }
    float mn = 0, mx = 0;
    for (float v : x.f) {
      if (std::isnan(v)) continue;
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
    const float scale = mx == mn ? 1.0f : (mx - mn) / 255.0f;
    const float initial_zp = 0.0f - mn / scale;
    const int64_t zp =
        static_cast<int64_t>(std::nearbyint(std::max(0.0f, std::min(255.0f, initial_zp))));
    Value y = zeros_like_dtype(DType::kUInt8, x.shape);
    for (int64_t k = 0; k < y.numel(); ++k) y.i[k] = quantize_value(x.f[k] / scale, zp, 0, 255);
    (*out)[0] = std::move(y);
    if (out->size() > 1) (*out)[1] = Value::floats({}, {scale});
    if (out->size() > 2) {
      Value z = zeros_like_dtype(DType::kUInt8, {});
      z.i[0] = zp;
      (*out)[2] = std::move(z);
    }
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_quant_conv_ops(Table* t);
void register_quant_matmul_ops(Table* t);

void register_quant_ops(Table* t) {
  (*t)["QuantizeLinear"] = build_quantize_linear;
  (*t)["DequantizeLinear"] = build_dequantize_linear;
  (*t)["DynamicQuantizeLinear"] = build_dynamic_quantize_linear;
  register_quant_matmul_ops(t);
  register_quant_conv_ops(t);
}

std::shared_ptr<const kernels::IntCsrMatrix> sparse_int_weight(const BuildContext& ctx, size_t wi,
                                                               size_t zi, bool transposed,
                                                               double* density) {
  const Value* w = ctx.has_input(wi) ? ctx.constant(wi) : nullptr;
  if (!w || (w->dtype != DType::kInt8 && w->dtype != DType::kUInt8) || w->numel() == 0) return {};
  if (transposed ? w->rank() != 2 : w->rank() < 2) return {};
  const Value* zp = ctx.has_input(zi) ? ctx.constant(zi) : nullptr;
  if (ctx.has_input(zi) && !zp) return {};  // a zero point computed at run time
  const int64_t rows = transposed ? w->shape[1] : w->shape[0];
  const int64_t cols = rows > 0 ? w->numel() / rows : 0;
  if (zp && (zp->dtype != w->dtype || (zp->numel() != 1 && zp->numel() != rows))) return {};
  // Centered codes in w's own layout; the zero point is per row of the sparse form.
  std::vector<int32_t> centered(static_cast<size_t>(w->numel()));
  int64_t nonzero = 0;
  for (int64_t k = 0; k < w->numel(); ++k) {
    const int64_t row = transposed ? k % rows : k / cols;
    const int64_t z = zp ? zp->i[zp->numel() == 1 ? 0 : row] : 0;
    centered[k] = static_cast<int32_t>(w->i[k] - z);
    nonzero += centered[k] != 0;
  }
  *density = static_cast<double>(nonzero) / static_cast<double>(w->numel());
  const std::string& name = ctx.node->inputs[wi];
  const bool asked = ctx.sparse_from_dense || (ctx.int_sparse && ctx.int_sparse(name));
  if (!asked || !runs_sparse(ctx.kernel, *density, ctx.dense_above_density)) return {};
  return std::make_shared<const kernels::IntCsrMatrix>(
      kernels::IntCsrMatrix::from_dense(centered.data(), rows, cols, transposed));
}

}  // namespace deepcomp::runtime::ops
