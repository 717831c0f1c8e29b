// ConvInteger and QLinearConv (1-3 spatial dimensions, groups, strides, pads, dilations,
// auto_pad): the convolution of x - x_zero_point with w - w_zero_point (padding therefore adds
// nothing, as ONNX's reference and ONNX Runtime pad with the zero point), accumulated in int32 with
// wrap-around, through an im2col buffer of bounded size. QLinearConv then adds the int32 bias and
// requantizes per output channel with x_scale * w_scale[m] / y_scale.
#include <algorithm>
#include <utility>

#include "kernels/int_products.h"
#include "runtime/ops_conv.h"
#include "runtime/ops_quant.h"

namespace deepcomp::runtime::ops {

namespace {

struct ConvAttrs {
  std::string auto_pad;
  std::vector<int64_t> pads, kernel_shape;
  int64_t group = 1;
};

Result<ConvAttrs> read_conv_attrs(const Node& node) {
  ConvAttrs a;
  a.auto_pad = attr_string(node, "auto_pad", "NOTSET");
  DEEPCOMP_RETURN_IF_ERROR(check_auto_pad(a.auto_pad));
  a.pads = attr_ints(node, "pads");
  a.kernel_shape = attr_ints(node, "kernel_shape");
  a.group = attr_int(node, "group", 1);
  if (a.group < 1) return Status::Error("attribute group must be positive");
  return a;
}

// x - zp as int32 (zp one value).
std::vector<int32_t> minus_scalar(const Value& x, int64_t zp) {
  std::vector<int32_t> out(x.i.size());
  for (size_t k = 0; k < out.size(); ++k) out[k] = static_cast<int32_t>(x.i[k] - zp);
  return out;
}

// w - w_zero_point with the zero point one value or one per output channel (w's first dim).
Status weight_minus_zp(const Value& w, const Value* zp, const std::string& zp_label,
                       std::vector<int32_t>* out) {
  if (!zp || zp->numel() == 1) {
    *out = minus_scalar(w, zp ? zp->i[0] : 0);
    return Status::Ok();
  }
  const int64_t m = w.shape[0];
  if (zp->rank() != 1 || zp->shape[0] != m) {
    return Status::Error(zp_label + " " + describe(*zp) +
                         " must be a scalar or 1-D with one value per output channel of " +
                         describe(w));
  }
  const int64_t per = m > 0 ? w.numel() / m : 0;
  out->resize(w.i.size());
  for (int64_t k = 0; k < w.numel(); ++k) {
    (*out)[k] = static_cast<int32_t>(w.i[k] - zp->i[k / per]);
  }
  return Status::Ok();
}

// The int32 convolution of xd (shape of x) and wd (shape of w), output [N, M, out...]: im2col
// tiles times the weight, by the exact dense GEMM or, when `sparse` (w's centered codes as
// [M, C/group * prod(k)]) is given, the sparse kernel (wd is then not read).
Status int_conv(const Node& node, const ConvAttrs& attrs, const Value& x,
                const std::vector<int32_t>& xd, const Value& w, const std::vector<int32_t>& wd,
                const kernels::IntCsrMatrix* sparse, std::vector<int64_t>* yshape,
                std::vector<int32_t>* y) {
  const int64_t sr = x.rank() - 2;
  if (sr < 1 || sr > 3) {
    return Status::Error("x " + describe(x) + ": convolution needs 1 to 3 spatial dimensions");
  }
  if (w.rank() != x.rank())
    return Status::Error("w " + describe(w) + " does not match x " + describe(x));
  const size_t r = static_cast<size_t>(sr);
  std::vector<int64_t> strides, dilations;
  DEEPCOMP_RETURN_IF_ERROR(spatial_attr(node, "strides", r, 1, &strides));
  DEEPCOMP_RETURN_IF_ERROR(spatial_attr(node, "dilations", r, 1, &dilations));
  const std::vector<int64_t> kernel(w.shape.begin() + 2, w.shape.end());
  if (!attrs.kernel_shape.empty() && attrs.kernel_shape != kernel) {
    return Status::Error("kernel_shape does not match w " + describe(w));
  }
  const int64_t n = x.shape[0], c = x.shape[1], m = w.shape[0], g = attrs.group;
  if (c % g != 0 || m % g != 0 || w.shape[1] * g != c) {
    return Status::Error("x " + describe(x) + " and w " + describe(w) +
                         " do not fit group=" + std::to_string(g));
  }
  const std::vector<int64_t> in_dims(x.shape.begin() + 2, x.shape.end());
  std::vector<int64_t> pb, pe;
  DEEPCOMP_RETURN_IF_ERROR(
      resolve_pads(attrs.auto_pad, in_dims, kernel, strides, dilations, attrs.pads, &pb, &pe));
  // Padded to 3 spatial dimensions (leading ones) so one loop nest serves 1-D to 3-D.
  int64_t in3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, s3[3] = {1, 1, 1}, d3[3] = {1, 1, 1},
          p3[3] = {0, 0, 0}, o3[3] = {1, 1, 1};
  *yshape = {n, m};
  for (size_t d = 0; d < r; ++d) {
    const size_t t = 3 - r + d;
    in3[t] = in_dims[d], k3[t] = kernel[d], s3[t] = strides[d], d3[t] = dilations[d], p3[t] = pb[d];
    const int64_t eff = (kernel[d] - 1) * dilations[d] + 1;
    const int64_t span = in_dims[d] + pb[d] + pe[d] - eff;
    if (kernel[d] < 1 || span < 0) {
      return Status::Error("kernel of w " + describe(w) + " does not fit x " + describe(x));
    }
    o3[t] = span / strides[d] + 1;
    yshape->push_back(o3[t]);
  }
  int64_t total = 0;
  if (!checked_numel(*yshape, &total)) return Status::Error("output shape is too large");
  const int64_t cg = c / g, mg = m / g;
  const int64_t kk = cg * k3[0] * k3[1] * k3[2];
  const int64_t positions = o3[0] * o3[1] * o3[2];
  const int64_t in_size = in3[0] * in3[1] * in3[2];
  y->assign(total, 0);
  if (sparse && (sparse->rows != m || sparse->cols != kk))
    return Status::Error("sparse form of w " + describe(w) + " is " + std::to_string(sparse->rows) +
                         " x " + std::to_string(sparse->cols));
  if (positions == 0 || mg == 0) return Status::Ok();
  // Tiles of output positions bound the im2col buffer (kk x tile): large for the GEMM, small
  // enough for the cache for the sparse kernel, which streams it once per kept weight.
  const int64_t budget = sparse ? (1 << 16) : (1 << 21);
  const int64_t tile = std::max<int64_t>(
      1, std::min<int64_t>(positions,
                           std::max<int64_t>(sparse ? 256 : 1, budget / std::max<int64_t>(kk, 1))));
  std::vector<int32_t> col(static_cast<size_t>(kk * tile));
  std::vector<int32_t> out_tile(sparse ? 0 : static_cast<size_t>(mg * tile));
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t gi = 0; gi < g; ++gi) {
      const int32_t* xg = xd.data() + (b * c + gi * cg) * in_size;
      for (int64_t p0 = 0; p0 < positions; p0 += tile) {
        const int64_t tn = std::min(tile, positions - p0);
        for (int64_t ci = 0; ci < cg; ++ci) {
          for (int64_t a = 0; a < k3[0]; ++a) {
            for (int64_t bb = 0; bb < k3[1]; ++bb) {
              for (int64_t e = 0; e < k3[2]; ++e) {
                const int64_t row = ((ci * k3[0] + a) * k3[1] + bb) * k3[2] + e;
                int32_t* dst = col.data() + row * tn;
                // Output coordinates of position p0, then stepped along (no division per entry).
                int64_t od = p0 / (o3[1] * o3[2]), oh = (p0 / o3[2]) % o3[1], ow = p0 % o3[2];
                for (int64_t t = 0; t < tn; ++t) {
                  const int64_t id = od * s3[0] - p3[0] + a * d3[0];
                  const int64_t ih = oh * s3[1] - p3[1] + bb * d3[1];
                  const int64_t iw = ow * s3[2] - p3[2] + e * d3[2];
                  const bool inside =
                      id >= 0 && id < in3[0] && ih >= 0 && ih < in3[1] && iw >= 0 && iw < in3[2];
                  dst[t] = inside ? xg[ci * in_size + (id * in3[1] + ih) * in3[2] + iw] : 0;
                  if (++ow == o3[2]) {
                    ow = 0;
                    if (++oh == o3[1]) oh = 0, ++od;
                  }
                }
              }
            }
          }
        }
        int32_t* ydst = y->data() + (b * m + gi * mg) * positions + p0;
        if (sparse) {
          kernels::csr_times_dense(*sparse, gi * mg, mg, col.data(), tn, tn, ydst, positions);
        } else {
          kernels::exact_gemm(wd.data() + gi * mg * kk, col.data(), mg, kk, tn, out_tile.data());
          for (int64_t mi = 0; mi < mg; ++mi)
            std::copy(out_tile.begin() + mi * tn, out_tile.begin() + (mi + 1) * tn,
                      ydst + mi * positions);
        }
      }
    }
  }
  return Status::Ok();
}

Status check_scalar(const Value* v, const std::string& label) {
  if (v && v->numel() != 1) return Status::Error(label + " " + describe(*v) + " must be a scalar");
  return Status::Ok();
}

// ConvInteger: x, w, x_zero_point (scalar), w_zero_point (scalar or per output channel) -> int32.
Result<CompiledOp> build_conv_integer(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 4, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(
      node, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}));
  DEEPCOMP_ASSIGN_OR_RETURN(ConvAttrs attrs, read_conv_attrs(node));
  const Node node_copy = node;
  const std::string lx = input_label(node, 0, "x"), lw = input_label(node, 1, "w");
  const std::string lzx = input_label(node, 2, "x_zero_point");
  const std::string lzw = input_label(node, 3, "w_zero_point");
  CompiledOp op;
  if (ctx.has_input(1) && ctx.constant(1)) op.weight = node.inputs[1];
  const std::shared_ptr<const kernels::IntCsrMatrix> sparse =
      sparse_int_weight(ctx, 1, 3, false, &op.density);
  op.sparse = sparse != nullptr;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_8bit(in[0], lx));
    DEEPCOMP_RETURN_IF_ERROR(require_8bit(in[1], lw));
    const Value* zx = in.size() > 2 ? in[2] : nullptr;
    const Value* zw = in.size() > 3 ? in[3] : nullptr;
    DEEPCOMP_RETURN_IF_ERROR(check_zero_point(zx, *in[0], lzx, lx));
    DEEPCOMP_RETURN_IF_ERROR(check_zero_point(zw, *in[1], lzw, lw));
    DEEPCOMP_RETURN_IF_ERROR(check_scalar(zx, lzx));
    if (in[1]->rank() < 3)
      return Status::Error(lw + " " + describe(*in[1]) + " must be [M, C/group, k...]");
    std::vector<int32_t> wd, acc;
    if (!sparse) DEEPCOMP_RETURN_IF_ERROR(weight_minus_zp(*in[1], zw, lzw, &wd));
    const std::vector<int32_t> xd = minus_scalar(*in[0], zx ? zx->i[0] : 0);
    std::vector<int64_t> ys;
    DEEPCOMP_RETURN_IF_ERROR(
        int_conv(node_copy, attrs, *in[0], xd, *in[1], wd, sparse.get(), &ys, &acc));
    Value y = zeros_like_dtype(DType::kInt32, ys);
    for (size_t k = 0; k < acc.size(); ++k) y.i[k] = acc[k];
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

// QLinearConv: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B.
Result<CompiledOp> build_qlinear_conv(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 8, 9, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(
      node, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}));
  DEEPCOMP_ASSIGN_OR_RETURN(ConvAttrs attrs, read_conv_attrs(node));
  const Node node_copy = node;
  std::vector<std::string> l;
  for (const char* role : {"x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point",
                           "y_scale", "y_zero_point", "B"}) {
    l.push_back(input_label(node, l.size(), role));
  }
  CompiledOp op;
  if (ctx.has_input(3) && ctx.constant(3)) op.weight = node.inputs[3];
  const std::shared_ptr<const kernels::IntCsrMatrix> sparse =
      sparse_int_weight(ctx, 3, 5, false, &op.density);
  op.sparse = sparse != nullptr;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_8bit(in[0], l[0]));
    DEEPCOMP_RETURN_IF_ERROR(require_8bit(in[3], l[3]));
    DEEPCOMP_RETURN_IF_ERROR(require_8bit(in[7], l[7]));
    DEEPCOMP_RETURN_IF_ERROR(check_zero_point(in[2], *in[0], l[2], l[0]));
    DEEPCOMP_RETURN_IF_ERROR(check_zero_point(in[5], *in[3], l[5], l[3]));
    for (int k : {1, 4, 6}) DEEPCOMP_RETURN_IF_ERROR(require_scale(in[k], l[k]));
    for (int k : {1, 2, 6, 7}) DEEPCOMP_RETURN_IF_ERROR(check_scalar(in[k], l[k]));
    const Value& w = *in[3];
    if (w.rank() < 3)
      return Status::Error(l[3] + " " + describe(w) + " must be [M, C/group, k...]");
    const int64_t m = w.shape[0];
    const Value& ws = *in[4];
    if (ws.numel() != 1 && !(ws.rank() == 1 && ws.shape[0] == m)) {
      return Status::Error(l[4] + " " + describe(ws) +
                           " must be a scalar or 1-D with one value per output channel of " +
                           describe(w));
    }
    const Value* bias = in.size() > 8 ? in[8] : nullptr;
    if (bias) {
      DEEPCOMP_RETURN_IF_ERROR(require_present(bias, l[8].c_str()));
      if (bias->dtype != DType::kInt32 || bias->rank() != 1 || bias->shape[0] != m) {
        return Status::Error(l[8] + " " + describe(*bias) + " must be int32[" + std::to_string(m) +
                             "]");
      }
    }
    std::vector<int32_t> wd, acc;
    if (!sparse) DEEPCOMP_RETURN_IF_ERROR(weight_minus_zp(w, in[5], l[5], &wd));
    const std::vector<int32_t> xd = minus_scalar(*in[0], in[2] ? in[2]->i[0] : 0);
    std::vector<int64_t> ys;
    DEEPCOMP_RETURN_IF_ERROR(
        int_conv(node_copy, attrs, *in[0], xd, w, wd, sparse.get(), &ys, &acc));
    int64_t lo = 0, hi = 0;
    quant_range(in[7]->dtype, &lo, &hi);
    const int64_t yzp = in[7]->i[0];
    std::vector<float> mult(m);
    for (int64_t k = 0; k < m; ++k) {
      mult[k] = in[1]->f[0] * ws.f[ws.numel() == 1 ? 0 : k] / in[6]->f[0];
    }
    const int64_t per = m > 0 && !ys.empty() ? static_cast<int64_t>(acc.size()) / (ys[0] * m) : 0;
    Value y = zeros_like_dtype(in[7]->dtype, ys);
    for (size_t k = 0; k < acc.size(); ++k) {
      const int64_t ch = (static_cast<int64_t>(k) / std::max<int64_t>(per, 1)) % m;
      const int32_t v = bias ? static_cast<int32_t>(static_cast<uint32_t>(acc[k]) +
                                                    static_cast<uint32_t>(bias->i[ch]))
                             : acc[k];
      y.i[k] = requantize(v, mult[ch], yzp, lo, hi);
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_quant_conv_ops(Table* t) {
  (*t)["ConvInteger"] = build_conv_integer;
  (*t)["QLinearConv"] = build_qlinear_conv;
}

}  // namespace deepcomp::runtime::ops
