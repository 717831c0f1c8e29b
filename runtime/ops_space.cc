// Data-movement operators of vision models: DepthToSpace (DCR, CRD), SpaceToDepth, Tile, TopK
// (largest/smallest, ties to the lower index), MaxUnpool. Every dtype: elements are moved, not
// computed.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

// y[k] = x[src[k]] in whichever storage x's dtype uses.
void gather_elements(const Value& x, const std::vector<int64_t>& src, Value* y) {
  if (x.is_float()) {
    for (size_t k = 0; k < src.size(); ++k) y->f[k] = x.f[src[k]];
  } else {
    for (size_t k = 0; k < src.size(); ++k) y->i[k] = x.i[src[k]];
  }
}

enum class Rearrange { kDepthToSpaceDcr, kDepthToSpaceCrd, kSpaceToDepth };

Builder block_rearrange(bool depth_to_space) {
  return [depth_to_space](const BuildContext& ctx) -> Result<CompiledOp> {
    const Node& node = *ctx.node;
    DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 1, 1));
    if (depth_to_space) {
      DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"blocksize", "mode"}));
    } else {
      DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"blocksize"}));
    }
    if (!has_attr(node, "blocksize")) return Status::Error("attribute blocksize is required");
    const int64_t b = attr_int(node, "blocksize", 1);
    if (b < 1) return Status::Error("attribute blocksize must be positive");
    Rearrange kind = Rearrange::kSpaceToDepth;
    if (depth_to_space) {
      const std::string mode = attr_string(node, "mode", "DCR");
      if (mode != "DCR" && mode != "CRD")
        return Status::Error("attribute mode=" + mode + " is not supported");
      kind = mode == "DCR" ? Rearrange::kDepthToSpaceDcr : Rearrange::kDepthToSpaceCrd;
    }
    CompiledOp op;
    op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
      DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
      const Value& x = *in[0];
      if (x.rank() != 4) return Status::Error("input must be 4-D, is " + describe(x));
      const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
      std::vector<int64_t> shape;
      if (kind == Rearrange::kSpaceToDepth) {
        if (h % b != 0 || w % b != 0)
          return Status::Error("blocksize does not divide " + describe(x));
        shape = {n, c * b * b, h / b, w / b};
      } else {
        if (c % (b * b) != 0)
          return Status::Error("blocksize^2 does not divide the channels of " + describe(x));
        shape = {n, c / (b * b), h * b, w * b};
      }
      Value& y = (*out)[0];
      y = zeros_of(x.dtype, shape);
      std::vector<int64_t> src(x.numel());
      const int64_t oc = shape[1], oh = shape[2], ow = shape[3];
      size_t k = 0;
      for (int64_t bn = 0; bn < n; ++bn) {
        for (int64_t ch = 0; ch < oc; ++ch) {
          for (int64_t yy = 0; yy < oh; ++yy) {
            for (int64_t xx = 0; xx < ow; ++xx) {
              int64_t sc, sy, sx;
              if (kind == Rearrange::kSpaceToDepth) {
                // Output channel (i * b + j) * C + c reads input (c, y * b + i, x * b + j).
                const int64_t blk = ch / c, cc = ch % c;
                sc = cc, sy = yy * b + blk / b, sx = xx * b + blk % b;
              } else {
                const int64_t i = yy % b, j = xx % b;
                sc = kind == Rearrange::kDepthToSpaceDcr ? (i * b + j) * oc + ch
                                                         : ch * b * b + i * b + j;
                sy = yy / b, sx = xx / b;
              }
              src[k++] = ((bn * c + sc) * h + sy) * w + sx;
            }
          }
        }
      }
      gather_elements(x, src, &y);
      return Status::Ok();
    };
    return op;
  };
}

Result<CompiledOp> build_tile(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
  CompiledOp op;
  op.run = [](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    const Value& x = *in[0];
    std::vector<int64_t> repeats;
    DEEPCOMP_RETURN_IF_ERROR(int_list(in[1], "repeats", &repeats));
    if (static_cast<int64_t>(repeats.size()) != x.rank()) {
      return Status::Error("repeats has " + std::to_string(repeats.size()) + " entries for " +
                           describe(x));
    }
    std::vector<int64_t> shape = x.shape;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (repeats[d] < 0) return Status::Error("repeats must not be negative");
      if (repeats[d] > 0 && shape[d] > (int64_t{1} << 40) / repeats[d])
        return Status::Error("output too large");
      shape[d] *= repeats[d];
    }
    int64_t total = 0;
    if (!checked_numel(shape, &total) || total > (int64_t{1} << 32))
      return Status::Error("output too large");
    Value& y = (*out)[0];
    y = zeros_of(x.dtype, shape);
    std::vector<int64_t> src(total);
    const int64_t r = x.rank();
    for (int64_t e = 0; e < total; ++e) {
      int64_t rem = e, s = 0, stride = 1;
      for (int64_t d = r; d-- > 0;) {
        s += (rem % shape[d]) % x.shape[d] * stride;
        rem /= shape[d];
        stride *= x.shape[d];
      }
      src[e] = s;
    }
    gather_elements(x, src, &y);
    return Status::Ok();
  };
  return op;
}

Result<CompiledOp> build_topk(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  const bool k_is_attr = ctx.opset < 10;
  if (k_is_attr) {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 1, 2));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"axis", "k"}));
  } else {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 2, 2));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"axis", "largest", "sorted"}));
  }
  const int64_t k_attr = attr_int(node, "k", -1);
  const int64_t axis_attr = attr_int(node, "axis", -1);
  const bool largest = attr_int(node, "largest", 1) != 0;
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "X"));
    const Value& x = *in[0];
    if (!x.is_float() && !x.is_integer())
      return Status::Error("X must be numeric, is " + describe(x));
    int64_t k = k_attr;
    if (!k_is_attr) {
      std::vector<int64_t> kv;
      DEEPCOMP_RETURN_IF_ERROR(int_list(in[1], "K", &kv));
      if (kv.size() != 1) return Status::Error("K must hold one value");
      k = kv[0];
    }
    int64_t axis = 0;
    if (!normalize_axis(axis_attr, x.rank(), &axis))
      return Status::Error("axis out of range for " + describe(x));
    const int64_t len = x.shape[axis];
    if (k < 0 || k > len) {
      return Status::Error("K=" + std::to_string(k) + " is outside [0, " + std::to_string(len) +
                           "]");
    }
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape[d];
    std::vector<int64_t> shape = x.shape;
    shape[axis] = k;
    Value& values = (*out)[0];
    values = zeros_of(x.dtype, shape);
    Value indices = zeros_of(DType::kInt64, shape);
    std::vector<int64_t> order(len), src;
    // Both outputs are in output order; src collects the source element of each value.
    std::vector<int64_t> picked(outer * k * inner);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * len * inner + i;
        auto at = [&](int64_t j) { return x.as_double(base + j * inner); };
        std::iota(order.begin(), order.end(), 0);
        // Ties keep the lower index first (the spec's order); NaN ranks above every number.
        auto before = [&](int64_t a, int64_t b) {
          const double va = at(a), vb = at(b);
          const bool na = std::isnan(va), nb = std::isnan(vb);
          if (na != nb) return largest ? na : nb;
          if (!na && va != vb) return largest ? va > vb : va < vb;
          return a < b;
        };
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        for (int64_t j = 0; j < k; ++j) picked[(o * k + j) * inner + i] = order[j];
      }
    }
    src.resize(picked.size());
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j = 0; j < k; ++j) {
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t e = (o * k + j) * inner + i;
          src[e] = o * len * inner + picked[e] * inner + i;
          indices.i[e] = picked[e];
        }
      }
    }
    gather_elements(x, src, &values);
    if (out->size() > 1) (*out)[1] = std::move(indices);
    return Status::Ok();
  };
  return op;
}

Result<CompiledOp> build_max_unpool(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"kernel_shape", "pads", "strides"}));
  const std::vector<int64_t> kernel = attr_ints(node, "kernel_shape");
  if (kernel.empty()) return Status::Error("attribute kernel_shape is required");
  const std::vector<int64_t> pads = attr_ints(node, "pads"), strides = attr_ints(node, "strides");
  const size_t sr = kernel.size();
  if (!pads.empty() && pads.size() != 2 * sr)
    return Status::Error("pads does not match kernel_shape");
  if (!strides.empty() && strides.size() != sr)
    return Status::Error("strides does not match kernel_shape");
  for (size_t d = 0; d < sr; ++d) {
    if (kernel[d] < 1 || (!strides.empty() && strides[d] < 1) ||
        (!pads.empty() && (pads[d] < 0 || pads[d + sr] < 0))) {
      return Status::Error("kernel_shape and strides must be positive, pads non-negative");
    }
  }
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "X"));
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[1], "I"));
    const Value& x = *in[0];
    const Value& idx = *in[1];
    if (x.rank() != static_cast<int64_t>(sr) + 2) {
      return Status::Error("X " + describe(x) + " does not match kernel_shape");
    }
    if (idx.shape != x.shape)
      return Status::Error("I " + describe(idx) + " does not match X " + describe(x));
    std::vector<int64_t> shape = {x.shape[0], x.shape[1]};
    for (size_t d = 0; d < sr; ++d) {
      const int64_t s = strides.empty() ? 1 : strides[d];
      const int64_t p = pads.empty() ? 0 : pads[d] + pads[d + sr];
      shape.push_back((x.shape[d + 2] - 1) * s + kernel[d] - p);
    }
    // Indices address the default-shaped output; a larger output_shape keeps each element at
    // the same coordinates (the extra positions at the end stay zero), as ONNX's test data has it.
    std::vector<int64_t> out_shape = shape;
    if (in.size() > 2 && in[2]) {
      DEEPCOMP_RETURN_IF_ERROR(int_list(in[2], "output_shape", &out_shape));
      if (out_shape.size() != shape.size())
        return Status::Error("output_shape does not match the rank of X");
    }
    int64_t total = 0, out_total = 0;
    if (!checked_numel(shape, &total) || !checked_numel(out_shape, &out_total) ||
        out_total > (int64_t{1} << 32)) {
      return Status::Error("output shape out of range");
    }
    Value& y = (*out)[0];
    y = zeros_of(x.dtype, out_shape);
    for (int64_t e = 0; e < x.numel(); ++e) {
      const int64_t target = idx.i[e];
      if (target < 0 || target >= total) {
        return Status::Error("index " + std::to_string(target) + " outside the output " +
                             shape_string(shape));
      }
      int64_t rem = target, pos = 0, stride = 1;
      for (size_t d = shape.size(); d-- > 0;) {
        const int64_t c = rem % shape[d];
        rem /= shape[d];
        if (c >= out_shape[d])
          return Status::Error("index " + std::to_string(target) + " outside output_shape");
        pos += c * stride;
        stride *= out_shape[d];
      }
      if (x.is_float()) {
        y.f[pos] = x.f[e];
      } else {
        y.i[pos] = x.i[e];
      }
    }
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_space_ops(Table* t) {
  (*t)["DepthToSpace"] = block_rearrange(true);
  (*t)["SpaceToDepth"] = block_rearrange(false);
  (*t)["Tile"] = build_tile;
  (*t)["TopK"] = build_topk;
  (*t)["MaxUnpool"] = build_max_unpool;
}

}  // namespace deepcomp::runtime::ops
