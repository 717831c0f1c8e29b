// Loss operators of training graphs that exporters also leave in inference models:
// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (with its optional log_prob output).
// Reductions none/sum/mean, per-class weights, ignore_index. Computed in double.
#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/ops.h"
#include "runtime/tensor_index.h"

namespace deepcomp::runtime::ops {

namespace {

enum class LossReduction { kNone, kSum, kMean };

struct LossAttrs {
  LossReduction reduction = LossReduction::kMean;
  bool has_ignore = false;
  int64_t ignore_index = 0;
};

Status parse_loss_attrs(const Node& node, LossAttrs* a) {
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"reduction", "ignore_index"}));
  const std::string r = attr_string(node, "reduction", "mean");
  if (r == "none") {
    a->reduction = LossReduction::kNone;
  } else if (r == "sum") {
    a->reduction = LossReduction::kSum;
  } else if (r == "mean") {
    a->reduction = LossReduction::kMean;
  } else {
    return Status::Error("reduction '" + r + "' is not supported (none, sum, mean)");
  }
  a->has_ignore = has_attr(node, "ignore_index");
  a->ignore_index = attr_int(node, "ignore_index", 0);
  return Status::Ok();
}

// loss[n, d...] = -weight[t] * x[n, t, d...] with t = target[n, d...], over x [N, C, d...]
// given as doubles; the reduced (or unreduced) loss in `out` with x's dtype.
Status nll_loss(const std::vector<double>& x, const std::vector<int64_t>& x_shape, DType dtype,
                const Value& target, const Value* weight, const LossAttrs& a, Value* out) {
  if (x_shape.size() < 2) {
    return Status::Error("input must have rank >= 2 (N, C, ...), is " + shape_string(x_shape));
  }
  const int64_t n = x_shape[0], c = x_shape[1];
  const int64_t inner = dims_product(x_shape, 2, x_shape.size());
  std::vector<int64_t> want = {n};
  want.insert(want.end(), x_shape.begin() + 2, x_shape.end());
  if (target.shape != want) {
    return Status::Error("target " + describe(target) + " must have shape " + shape_string(want));
  }
  if (weight && (weight->rank() != 1 || weight->numel() != c)) {
    return Status::Error("weight " + describe(*weight) + " must be 1-D with " + std::to_string(c) +
                         " classes");
  }
  std::vector<double> loss(n * inner, 0.0);
  double total = 0, total_weight = 0;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t e = 0; e < inner; ++e) {
      const int64_t k = b * inner + e;
      const int64_t t = target.i[k];
      if (a.has_ignore && t == a.ignore_index) continue;  // contributes 0 with weight 0
      if (t < 0 || t >= c) {
        return Status::Error("target: class " + std::to_string(t) + " is out of range [0, " +
                             std::to_string(c) + ")");
      }
      const double w = weight ? weight->as_double(t) : 1.0;
      loss[k] = -x[(b * c + t) * inner + e] * w;
      total += loss[k];
      total_weight += w;
    }
  }
  if (a.reduction == LossReduction::kNone) {
    *out = zeros_of(dtype, want);
    for (size_t k = 0; k < loss.size(); ++k) out->f[k] = static_cast<float>(loss[k]);
    return Status::Ok();
  }
  // Mean divides by the summed weights of the counted elements (ONNX); 0/0 gives NaN.
  const double value = a.reduction == LossReduction::kSum ? total : total / total_weight;
  *out = zeros_of(dtype, {});
  out->f[0] = static_cast<float>(value);
  return Status::Ok();
}

Status check_loss_inputs(const Inputs& in, const char* scores) {
  DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], scores));
  DEEPCOMP_RETURN_IF_ERROR(require_int(in[1], "target"));
  if (const Value* w = input_at(in, 2)) {
    DEEPCOMP_RETURN_IF_ERROR(require_float(w, "weight"));
  }
  return Status::Ok();
}

Result<CompiledOp> build_nll_loss(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 3, 1));
  LossAttrs attrs;
  DEEPCOMP_RETURN_IF_ERROR(parse_loss_attrs(*ctx.node, &attrs));
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(check_loss_inputs(in, "input"));
    const Value& x = *in[0];
    const std::vector<double> xd(x.f.begin(), x.f.end());
    return nll_loss(xd, x.shape, x.dtype, *in[1], input_at(in, 2), attrs, &(*out)[0]);
  };
  return op;
}

Result<CompiledOp> build_softmax_cross_entropy(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 3, 2));
  LossAttrs attrs;
  DEEPCOMP_RETURN_IF_ERROR(parse_loss_attrs(*ctx.node, &attrs));
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(check_loss_inputs(in, "scores"));
    const Value& x = *in[0];
    if (x.rank() < 2)
      return Status::Error("scores must have rank >= 2 (N, C, ...), is " + describe(x));
    // log_softmax over the class axis 1, stabilized by the maximum.
    const int64_t n = x.shape[0], c = x.shape[1];
    const int64_t inner = dims_product(x.shape, 2, x.shape.size());
    std::vector<double> log_prob(x.f.size());
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t e = 0; e < inner; ++e) {
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < c; ++j) mx = std::max(mx, double{x.f[(b * c + j) * inner + e]});
        double sum = 0;
        for (int64_t j = 0; j < c; ++j) sum += std::exp(x.f[(b * c + j) * inner + e] - mx);
        const double lse = mx + std::log(sum);
        for (int64_t j = 0; j < c; ++j) {
          const int64_t k = (b * c + j) * inner + e;
          log_prob[k] = x.f[k] - lse;
        }
      }
    }
    DEEPCOMP_RETURN_IF_ERROR(
        nll_loss(log_prob, x.shape, x.dtype, *in[1], input_at(in, 2), attrs, &(*out)[0]));
    if (out->size() > 1) {
      Value lp = zeros_of(x.dtype, x.shape);
      for (size_t k = 0; k < log_prob.size(); ++k) lp.f[k] = static_cast<float>(log_prob[k]);
      (*out)[1] = std::move(lp);
    }
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_loss_ops(Table* t) {
  (*t)["NegativeLogLikelihoodLoss"] = build_nll_loss;
  (*t)["SoftmaxCrossEntropyLoss"] = build_softmax_cross_entropy;
}

}  // namespace deepcomp::runtime::ops
