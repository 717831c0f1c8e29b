// ConvTranspose (1-D to 3-D, groups, strides, pads, dilations, output_padding, output_shape,
// auto_pad) on kernels/conv_transpose.h, with the weight dense or sparse ([C, M/group * taps],
// rows = input channels, session.h), the sparse form rearranged once here for the col2im product.
#include "kernels/conv_transpose.h"
#include "runtime/ops.h"
#include "runtime/ops_conv.h"

namespace deepcomp::runtime::ops {

namespace {

int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

struct Geometry {
  std::string auto_pad;
  std::vector<int64_t> pads, output_padding, output_shape;
  int64_t group = 1;
};

// Output size and begin pad of every spatial dimension, as ONNX ConvTranspose defines them:
// explicit pads give out = stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - pads;
// output_shape or SAME_* (out = in * stride) fix out and split the padding that implies, the odd
// unit at the end for SAME_UPPER and at the beginning otherwise (floor division, so a negative
// total, i.e. an output larger than the full one, extends the end).
Status resolve_geometry(const Geometry& g, const std::vector<int64_t>& in,
                        const std::vector<int64_t>& k, const std::vector<int64_t>& s,
                        const std::vector<int64_t>& d, std::vector<int64_t>* out,
                        std::vector<int64_t>* begin) {
  const size_t sr = in.size();
  std::vector<int64_t> op =
      g.output_padding.empty() ? std::vector<int64_t>(sr, 0) : g.output_padding;
  if (op.size() != sr) return Status::Error("output_padding does not match the spatial rank");
  std::vector<int64_t> shape = g.output_shape;
  if (shape.size() == sr + 2) shape.erase(shape.begin(), shape.begin() + 2);  // N, C given too
  if (!shape.empty() && shape.size() != sr) {
    return Status::Error("output_shape does not match the spatial rank");
  }
  if (g.auto_pad == "NOTSET" && shape.empty() && !g.pads.empty() && g.pads.size() != 2 * sr) {
    return Status::Error("pads has " + std::to_string(g.pads.size()) + " entries for " +
                         std::to_string(sr) + " spatial dimensions");
  }
  out->assign(sr, 0);
  begin->assign(sr, 0);
  for (size_t i = 0; i < sr; ++i) {
    if (op[i] < 0 || op[i] >= std::max(s[i], d[i])) {
      return Status::Error("output_padding must be below the stride or the dilation");
    }
    const int64_t full = s[i] * (in[i] - 1) + op[i] + (k[i] - 1) * d[i] + 1;
    int64_t target = -1;
    if (!shape.empty()) {
      target = shape[i];
    } else if (g.auto_pad == "SAME_UPPER" || g.auto_pad == "SAME_LOWER") {
      target = in[i] * s[i];
    }
    if (target >= 0) {
      const int64_t total = full - target;
      (*begin)[i] = g.auto_pad == "SAME_UPPER" ? floor_div2(total) : total - floor_div2(total);
      (*out)[i] = target;
    } else if (g.auto_pad == "NOTSET" && !g.pads.empty()) {
      if (g.pads[i] < 0 || g.pads[i + sr] < 0) return Status::Error("negative pads");
      (*begin)[i] = g.pads[i];
      (*out)[i] = full - g.pads[i] - g.pads[i + sr];
    } else {
      (*out)[i] = full;
    }
    if ((*out)[i] <= 0) return Status::Error("the output would be empty");
  }
  return Status::Ok();
}

// The sparse weight rearranged for kernels/conv_transpose.h, once at build time.
struct PreparedWeight {
  std::shared_ptr<const kernels::CsrMatrix> csr;
  std::shared_ptr<const kernels::CodebookCsrMatrix> codebook;
};

Result<CompiledOp> build_conv_transpose(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(
      check_attributes(node, {"auto_pad", "dilations", "group", "kernel_shape", "output_padding",
                              "output_shape", "pads", "strides"}));
  Geometry geo;
  geo.auto_pad = attr_string(node, "auto_pad", "NOTSET");
  DEEPCOMP_RETURN_IF_ERROR(check_auto_pad(geo.auto_pad));
  geo.group = attr_int(node, "group", 1);
  if (geo.group < 1) return Status::Error("attribute group must be positive");
  geo.pads = attr_ints(node, "pads");
  geo.output_padding = attr_ints(node, "output_padding");
  geo.output_shape = attr_ints(node, "output_shape");
  DEEPCOMP_ASSIGN_OR_RETURN(ConvLayerWeight weight, conv_layer_weight(ctx));
  PreparedWeight prepared;
  if (weight.sparse.present()) {
    if (weight.sparse.csr && weight.sparse.csr->rows % geo.group != 0) {
      return Status::Error("group does not divide the weight's input channels");
    }
    if (weight.sparse.codebook && weight.sparse.codebook->rows % geo.group != 0) {
      return Status::Error("group does not divide the weight's input channels");
    }
    if (weight.sparse.csr) {
      prepared.csr = std::make_shared<const kernels::CsrMatrix>(
          kernels::prepare_conv_transpose_weight(*weight.sparse.csr, geo.group));
    } else {
      prepared.codebook = std::make_shared<const kernels::CodebookCsrMatrix>(
          kernels::prepare_conv_transpose_weight(*weight.sparse.codebook, geo.group));
    }
  }
  CompiledOp op;
  op.weight = weight.name;
  op.sparse = weight.sparse.present();
  op.density = weight.density;
  const Node node_copy = node;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_ASSIGN_OR_RETURN(ConvWindow win,
                              conv_window(node_copy, in, "ConvTranspose",
                                          weight.sparse.present() || weight.expanded != nullptr));
    const Value& x = *in[0];
    const Value& w = *in[1];
    if (w.shape[0] != x.shape[1]) {
      return Status::Error("W " + describe(w) + " does not match the channels of X " + describe(x));
    }
    const int64_t sr = win.spatial_rank;
    const std::vector<int64_t>& strides = win.strides;
    const std::vector<int64_t>& dil = win.dilations;
    const std::vector<int64_t>& kernel = win.kernel;
    for (int64_t v : kernel) {
      if (v < 1) return Status::Error("W " + describe(w) + " has an empty kernel");
    }
    std::vector<int64_t> in_dims(x.shape.begin() + 2, x.shape.end()), out_dims, begin;
    for (int64_t v : in_dims) {
      if (v < 1) return Status::Error("X " + describe(x) + " has an empty spatial dimension");
    }
    DEEPCOMP_RETURN_IF_ERROR(
        resolve_geometry(geo, in_dims, kernel, strides, dil, &out_dims, &begin));
    kernels::ConvTransposeParams p;
    p.N = x.shape[0];
    p.C = x.shape[1];
    p.M = w.shape[1] * geo.group;
    p.group = geo.group;
    for (int64_t d = 0; d < sr; ++d) {
      const int64_t t = d + 3 - sr;
      p.in[t] = in_dims[d];
      p.out[t] = out_dims[d];
      p.k[t] = kernel[d];
      p.stride[t] = strides[d];
      p.dil[t] = dil[d];
      p.pad_begin[t] = begin[d];
    }
    const std::string problem = p.check();
    if (!problem.empty()) return Status::Error(problem);
    const float* bias = nullptr;
    if (in.size() > 2 && in[2]) {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[2], "B"));
      if (in[2]->numel() != p.M)
        return Status::Error("B must have " + std::to_string(p.M) + " entries");
      bias = in[2]->f.data();
    }
    std::vector<int64_t> shape = {p.N, p.M};
    shape.insert(shape.end(), out_dims.begin(), out_dims.end());
    int64_t elements = 0;
    if (!checked_numel(shape, &elements)) return Status::Error("output too large");
    Value& y = (*out)[0];
    y = zeros_of(x.dtype, shape);
    if (prepared.codebook) {
      kernels::conv_transpose_codebook_csr(p, x.f.data(), *prepared.codebook, bias, y.f.data());
    } else if (prepared.csr) {
      kernels::conv_transpose_csr(p, x.f.data(), *prepared.csr, bias, y.f.data());
    } else {
      kernels::conv_transpose_dense(
          p, x.f.data(), weight.expanded ? weight.expanded->data() : w.f.data(), bias, y.f.data());
    }
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_conv_transpose_ops(Table* t) { (*t)["ConvTranspose"] = build_conv_transpose; }

}  // namespace deepcomp::runtime::ops
