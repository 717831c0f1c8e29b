// Normalizations: LayerNormalization (axis, epsilon, stash_type; optional Mean and InvStdDev
// outputs), InstanceNormalization, GroupNormalization (opset 18: scale/bias per group; opset 21:
// per channel), MeanVarianceNormalization and LRN. Statistics are computed in double (two
// passes), whatever stash_type asks, which is at least as precise.
#include <cmath>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

struct Moments {
  double mean = 0, inv_std = 0;
};

// Mean and 1 / sqrt(variance + eps) of `count` elements `stride` apart.
Moments moments(const float* x, int64_t count, int64_t stride, double eps) {
  double sum = 0;
  for (int64_t k = 0; k < count; ++k) sum += x[k * stride];
  Moments m;
  m.mean = count > 0 ? sum / static_cast<double>(count) : 0.0;
  double sq = 0;
  for (int64_t k = 0; k < count; ++k) {
    const double d = x[k * stride] - m.mean;
    sq += d * d;
  }
  m.inv_std = 1.0 / std::sqrt((count > 0 ? sq / static_cast<double>(count) : 0.0) + eps);
  return m;
}

Result<CompiledOp> build_layer_norm(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 3, 3));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"axis", "epsilon", "stash_type"}));
  const int64_t axis_attr = attr_int(node, "axis", -1);
  const double eps = attr_float(node, "epsilon", 1e-5f);
  const int64_t stash = attr_int(node, "stash_type", 1);
  const DType stash_dtype = static_cast<DType>(stash);
  if (stash_dtype != DType::kFloat32 && stash_dtype != DType::kFloat16 &&
      stash_dtype != DType::kBFloat16 && stash_dtype != DType::kFloat64) {
    return Status::Error("attribute stash_type=" + std::to_string(stash) + " is not supported");
  }
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[1], "Scale"));
    const Value& x = *in[0];
    int64_t axis = 0;
    if (!normalize_axis(axis_attr, x.rank(), &axis))
      return Status::Error("axis out of range for " + describe(x));
    const Value* b = in.size() > 2 ? in[2] : nullptr;
    if (b) DEEPCOMP_RETURN_IF_ERROR(require_float(b, "B"));
    std::vector<int64_t> bshape;
    for (const Value* v : {in[1], b}) {
      if (v && (!broadcast_shapes(v->shape, x.shape, &bshape) || bshape != x.shape)) {
        return Status::Error(describe(*v) + " does not broadcast to X " + describe(x));
      }
    }
    const auto ss = broadcast_strides(in[1]->shape, x.shape);
    const auto bs = b ? broadcast_strides(b->shape, x.shape) : std::vector<int64_t>{};
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
    for (int64_t d = axis; d < x.rank(); ++d) inner *= x.shape[d];
    std::vector<int64_t> stat_shape = x.shape;
    for (int64_t d = axis; d < x.rank(); ++d) stat_shape[d] = 1;
    Value& y = (*out)[0];
    y = zeros_of(x.dtype, x.shape);
    Value mean = zeros_of(stash_dtype, stat_shape), inv = zeros_of(stash_dtype, stat_shape);
    std::vector<int64_t> idx(x.rank(), 0);
    for (int64_t o = 0; o < outer; ++o) {
      const Moments m = moments(x.f.data() + o * inner, inner, 1, eps);
      mean.f[o] = static_cast<float>(m.mean);
      inv.f[o] = static_cast<float>(m.inv_std);
      for (int64_t k = 0; k < inner; ++k) {
        const int64_t e = o * inner + k;
        // Offsets of the broadcast Scale and B for element e.
        int64_t rem = e, so = 0, bo = 0;
        for (int64_t d = x.rank(); d-- > 0;) {
          const int64_t i = rem % x.shape[d];
          rem /= x.shape[d];
          so += i * ss[d];
          if (b) bo += i * bs[d];
        }
        const double v = (x.f[e] - m.mean) * m.inv_std * in[1]->f[so] + (b ? b->f[bo] : 0.0);
        y.f[e] = static_cast<float>(v);
      }
    }
    if (out->size() > 1) (*out)[1] = std::move(mean);
    if (out->size() > 2) (*out)[2] = std::move(inv);
    return Status::Ok();
  };
  return op;
}

// Normalizes X [N, C, ...] over groups of `c_per_group` channels and the spatial dimensions, then
// applies scale/bias indexed by channel (per_channel) or by group.
Status group_normalize(const Value& x, int64_t groups, double eps, const Value& scale,
                       const Value& bias, bool per_channel, Value* y) {
  if (x.rank() < 2) return Status::Error("X must have a channel dimension, is " + describe(x));
  const int64_t n = x.shape[0], c = x.shape[1];
  if (groups < 1 || c % groups != 0) {
    return Status::Error(std::to_string(groups) + " groups do not divide " + std::to_string(c) +
                         " channels");
  }
  const int64_t want = per_channel ? c : groups;
  if (scale.numel() != want || bias.numel() != want) {
    return Status::Error("scale and bias must have " + std::to_string(want) + " entries");
  }
  int64_t spatial = 1;
  for (int64_t d = 2; d < x.rank(); ++d) spatial *= x.shape[d];
  const int64_t cg = c / groups, block = cg * spatial;
  *y = zeros_of(x.dtype, x.shape);
  for (int64_t i = 0; i < n * groups; ++i) {
    const int64_t g = i % groups;
    const float* src = x.f.data() + i * block;
    const Moments m = moments(src, block, 1, eps);
    for (int64_t k = 0; k < block; ++k) {
      const int64_t p = per_channel ? g * cg + k / spatial : g;
      y->f[i * block + k] =
          static_cast<float>((src[k] - m.mean) * m.inv_std * scale.f[p] + bias.f[p]);
    }
  }
  return Status::Ok();
}

Result<CompiledOp> build_instance_norm(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 3, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"epsilon"}));
  const double eps = attr_float(*ctx.node, "epsilon", 1e-5f);
  CompiledOp op;
  op.run = [eps](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "input"));
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[1], "scale"));
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[2], "B"));
    // Instance normalization is group normalization with one channel per group.
    const int64_t c = in[0]->rank() >= 2 ? in[0]->shape[1] : 0;
    return group_normalize(*in[0], c, eps, *in[1], *in[2], true, &(*out)[0]);
  };
  return op;
}

Result<CompiledOp> build_group_norm(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 3, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"epsilon", "num_groups", "stash_type"}));
  if (!has_attr(*ctx.node, "num_groups")) return Status::Error("attribute num_groups is required");
  const int64_t groups = attr_int(*ctx.node, "num_groups", 1);
  if (groups < 1) return Status::Error("attribute num_groups must be positive");
  const double eps = attr_float(*ctx.node, "epsilon", 1e-5f);
  // Opset 18 scaled each group; opset 21 corrected that to each channel.
  const bool per_channel = ctx.opset >= 21;
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[1], "scale"));
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[2], "bias"));
    return group_normalize(*in[0], groups, eps, *in[1], *in[2], per_channel, &(*out)[0]);
  };
  return op;
}

Result<CompiledOp> build_mvn(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axes"}));
  const std::vector<int64_t> axes_attr = attr_ints(*ctx.node, "axes", {0, 2, 3});
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
    const Value& x = *in[0];
    const int64_t r = x.rank();
    std::vector<char> reduced(r, 0);
    for (int64_t a : axes_attr) {
      int64_t n = 0;
      if (!normalize_axis(a, r, &n))
        return Status::Error("axes entry out of range for " + describe(x));
      reduced[n] = 1;
    }
    // Each kept-axes position is one group; elements are gathered by their kept coordinates.
    std::vector<int64_t> key_stride(r, 0);
    int64_t groups = 1;
    for (int64_t d = r; d-- > 0;) {
      if (!reduced[d]) {
        key_stride[d] = groups;
        groups *= x.shape[d];
      }
    }
    const int64_t total = x.numel();
    std::vector<int64_t> key(total);
    for (int64_t e = 0; e < total; ++e) {
      int64_t rem = e, k = 0;
      for (int64_t d = r; d-- > 0;) {
        k += (rem % x.shape[d]) * key_stride[d];
        rem /= x.shape[d];
      }
      key[e] = k;
    }
    std::vector<double> sum(groups, 0.0), sq(groups, 0.0), count(groups, 0.0);
    for (int64_t e = 0; e < total; ++e) {
      sum[key[e]] += x.f[e];
      count[key[e]] += 1;
    }
    for (int64_t g = 0; g < groups; ++g) sum[g] = count[g] > 0 ? sum[g] / count[g] : 0.0;
    for (int64_t e = 0; e < total; ++e) {
      const double d = x.f[e] - sum[key[e]];
      sq[key[e]] += d * d;
    }
    Value& y = (*out)[0];
    y = zeros_of(x.dtype, x.shape);
    // ONNX's function body: (X - mean) / (sqrt(variance) + 1e-9).
    for (int64_t e = 0; e < total; ++e) {
      const int64_t g = key[e];
      const double sd = std::sqrt(count[g] > 0 ? sq[g] / count[g] : 0.0);
      y.f[e] = static_cast<float>((x.f[e] - sum[g]) / (sd + 1e-9));
    }
    return Status::Ok();
  };
  return op;
}

Result<CompiledOp> build_lrn(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 1, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"alpha", "beta", "bias", "size"}));
  if (!has_attr(node, "size")) return Status::Error("attribute size is required");
  const int64_t size = attr_int(node, "size", 1);
  if (size < 1) return Status::Error("attribute size must be positive");
  const double alpha = attr_float(node, "alpha", 1e-4f), beta = attr_float(node, "beta", 0.75f),
               bias = attr_float(node, "bias", 1.0f);
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
    const Value& x = *in[0];
    if (x.rank() < 2) return Status::Error("X must have a channel dimension, is " + describe(x));
    const int64_t n = x.shape[0], c = x.shape[1];
    int64_t spatial = 1;
    for (int64_t d = 2; d < x.rank(); ++d) spatial *= x.shape[d];
    // The window over channels is [c - floor((size-1)/2), c + ceil((size-1)/2)].
    const int64_t before = (size - 1) / 2, after = size - 1 - before;
    Value& y = (*out)[0];
    y = zeros_of(x.dtype, x.shape);
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t lo = std::max<int64_t>(0, ch - before), hi = std::min(c - 1, ch + after);
        for (int64_t s = 0; s < spatial; ++s) {
          double sq = 0;
          for (int64_t j = lo; j <= hi; ++j) {
            const double v = x.f[(b * c + j) * spatial + s];
            sq += v * v;
          }
          const int64_t e = (b * c + ch) * spatial + s;
          y.f[e] = static_cast<float>(x.f[e] / std::pow(bias + alpha / size * sq, beta));
        }
      }
    }
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_norm_ops(Table* t) {
  (*t)["LayerNormalization"] = build_layer_norm;
  (*t)["InstanceNormalization"] = build_instance_norm;
  (*t)["GroupNormalization"] = build_group_norm;
  (*t)["MeanVarianceNormalization"] = build_mvn;
  (*t)["LRN"] = build_lrn;
}

}  // namespace deepcomp::runtime::ops
