// Reductions along axes: the Reduce family (Mean, Sum, Max, Min, Prod, L1, L2, LogSum,
// LogSumExp, SumSquare) on every numeric dtype, ArgMax / ArgMin, and CumSum. Float dtypes
// accumulate in double, integer dtypes in int64 (wrapping, as ONNX Runtime's integer kernels do).
#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

// Which input dimensions are reduced, and the output shapes with and without the kept 1s.
struct ReducePlan {
  std::vector<bool> reduced;
  std::vector<int64_t> kept_shape;  // input rank, 1 on reduced dimensions
  std::vector<int64_t> out_shape;   // after keepdims
  int64_t n_out = 1;
  int64_t group = 1;  // input elements per output element
};

Status plan_reduce(const Value& x, const std::vector<int64_t>& axes, bool keepdims, ReducePlan* p) {
  const int64_t r = x.rank();
  p->reduced.assign(r, axes.empty());
  for (int64_t a : axes) {
    int64_t n = 0;
    if (!normalize_axis(a, r, &n)) {
      return Status::Error("axis " + std::to_string(a) + " out of range for " + describe(x));
    }
    p->reduced[n] = true;
  }
  p->kept_shape.assign(r, 1);
  p->out_shape.clear();
  p->n_out = 1;
  p->group = 1;
  for (int64_t d = 0; d < r; ++d) {
    if (p->reduced[d]) {
      p->group *= x.shape[d];
      if (keepdims) p->out_shape.push_back(1);
    } else {
      p->kept_shape[d] = x.shape[d];
      p->out_shape.push_back(x.shape[d]);
      p->n_out *= x.shape[d];
    }
  }
  return Status::Ok();
}

// Calls fn(input index, output index) for every input element, in input order.
template <typename F>
void for_each_reduced(const Value& x, const ReducePlan& p, F fn) {
  const int64_t r = x.rank(), n_in = x.numel();
  const auto strides = broadcast_strides(p.kept_shape, x.shape);
  std::vector<int64_t> idx(r, 0);
  int64_t o = 0;
  for (int64_t k = 0; k < n_in; ++k) {
    fn(k, o);
    for (int64_t d = r - 1; d >= 0; --d) {
      o += strides[d];
      if (++idx[d] < x.shape[d]) break;
      o -= strides[d] * x.shape[d];
      idx[d] = 0;
    }
  }
}

// uint64 is stored as its bits; order it as unsigned by flipping the sign bit.
int64_t ordered(const Value& x, int64_t k) {
  return x.dtype == DType::kUInt64 ? x.i[k] ^ INT64_MIN : x.i[k];
}

int64_t wrap_add(int64_t a, int64_t b) { return static_cast<int64_t>(uint64_t(a) + uint64_t(b)); }
int64_t wrap_mul(int64_t a, int64_t b) { return static_cast<int64_t>(uint64_t(a) * uint64_t(b)); }

// Integer reductions whose result is an integer of the input's dtype.
Status reduce_ints(const Value& x, const ReducePlan& p, ReduceKind kind, Value* y) {
  const bool is_max = kind == ReduceKind::kMax, is_min = kind == ReduceKind::kMin;
  std::vector<int64_t> acc(p.n_out, kind == ReduceKind::kProd ? 1
                                    : is_max                  ? std::numeric_limits<int64_t>::min()
                                    : is_min                  ? std::numeric_limits<int64_t>::max()
                                                              : 0);
  const bool u64 = x.dtype == DType::kUInt64;
  for_each_reduced(x, p, [&](int64_t k, int64_t o) {
    const int64_t v = x.i[k];
    switch (kind) {
      case ReduceKind::kMax:
        acc[o] = std::max(acc[o], ordered(x, k));
        break;
      case ReduceKind::kMin:
        acc[o] = std::min(acc[o], ordered(x, k));
        break;
      case ReduceKind::kProd:
        acc[o] = wrap_mul(acc[o], v);
        break;
      case ReduceKind::kL1:
        acc[o] = wrap_add(acc[o], v < 0 && !u64 ? wrap_mul(v, -1) : v);
        break;
      case ReduceKind::kSumSquare:
        acc[o] = wrap_add(acc[o], wrap_mul(v, v));
        break;
      default:
        acc[o] = wrap_add(acc[o], v);
        break;
    }
  });
  if (u64 && (is_max || is_min)) {
    for (int64_t& v : acc) v ^= INT64_MIN;
  }
  *y = zeros_like_dtype(x.dtype, p.out_shape);
  y->i = std::move(acc);
  return Status::Ok();
}

}  // namespace

Status reduce_axes(const Value& x, const std::vector<int64_t>& axes, bool keepdims, ReduceKind kind,
                   Value* y) {
  DEEPCOMP_RETURN_IF_ERROR(require_present(&x, "data"));
  if (x.dtype == DType::kBool) return Status::Error("data must be numeric, is " + describe(x));
  ReducePlan p;
  DEEPCOMP_RETURN_IF_ERROR(plan_reduce(x, axes, keepdims, &p));
  const bool int_result = kind == ReduceKind::kSum || kind == ReduceKind::kMax ||
                          kind == ReduceKind::kMin || kind == ReduceKind::kProd ||
                          kind == ReduceKind::kL1 || kind == ReduceKind::kSumSquare;
  if (!x.is_float() && int_result) return reduce_ints(x, p, kind, y);
  // Float accumulation (also Mean, L2, LogSum and LogSumExp of integers, truncated back).
  const double inf = std::numeric_limits<double>::infinity();
  const double init = kind == ReduceKind::kProd  ? 1.0
                      : kind == ReduceKind::kMax ? -inf
                      : kind == ReduceKind::kMin ? inf
                                                 : 0.0;
  std::vector<double> acc(p.n_out, init);
  std::vector<double> peak;  // LogSumExp subtracts each group's maximum to avoid overflow
  // The kind is dispatched once, outside the element loop; NaN propagates through Max / Min.
  auto accumulate = [&](auto get) {
    auto fold = [&](auto step) {
      for_each_reduced(x, p, [&](int64_t k, int64_t o) { step(acc[o], get(k)); });
    };
    switch (kind) {
      case ReduceKind::kMax:
        fold([](double& a, double v) {
          if (!std::isnan(a) && (std::isnan(v) || v > a)) a = v;
        });
        break;
      case ReduceKind::kMin:
        fold([](double& a, double v) {
          if (!std::isnan(a) && (std::isnan(v) || v < a)) a = v;
        });
        break;
      case ReduceKind::kProd:
        fold([](double& a, double v) { a *= v; });
        break;
      case ReduceKind::kL1:
        fold([](double& a, double v) { a += std::fabs(v); });
        break;
      case ReduceKind::kL2:
      case ReduceKind::kSumSquare:
        fold([](double& a, double v) { a += v * v; });
        break;
      case ReduceKind::kLogSumExp:
        peak.assign(p.n_out, -inf);
        for_each_reduced(x, p, [&](int64_t k, int64_t o) { peak[o] = std::max(peak[o], get(k)); });
        for (double& m : peak) {
          if (!std::isfinite(m)) m = 0;
        }
        for_each_reduced(x, p, [&](int64_t k, int64_t o) { acc[o] += std::exp(get(k) - peak[o]); });
        break;
      default:
        fold([](double& a, double v) { a += v; });
        break;
    }
  };
  if (x.is_float()) {
    accumulate([&x](int64_t k) { return static_cast<double>(x.f[k]); });
  } else if (x.dtype == DType::kUInt64) {
    accumulate([&x](int64_t k) { return static_cast<double>(static_cast<uint64_t>(x.i[k])); });
  } else {
    accumulate([&x](int64_t k) { return static_cast<double>(x.i[k]); });
  }
  for (int64_t o = 0; o < p.n_out; ++o) {
    switch (kind) {
      case ReduceKind::kMean:
        acc[o] = p.group ? acc[o] / p.group : NAN;
        break;
      case ReduceKind::kL2:
        acc[o] = std::sqrt(acc[o]);
        break;
      case ReduceKind::kLogSum:
        acc[o] = std::log(acc[o]);
        break;
      case ReduceKind::kLogSumExp:
        acc[o] = std::log(acc[o]) + peak[o];
        break;
      default:
        break;
    }
  }
  *y = zeros_like_dtype(x.dtype, p.out_shape);
  for (int64_t o = 0; o < p.n_out; ++o) {
    if (x.is_float()) {
      y->f[o] = static_cast<float>(acc[o]);
    } else {
      // Integer Mean / L2 / LogSum(Exp) truncate toward zero, as a Cast would.
      const double v = std::isfinite(acc[o]) ? std::clamp(acc[o], -9.2e18, 9.2e18) : 0.0;
      y->i[o] = static_cast<int64_t>(v);
    }
  }
  return Status::Ok();
}

namespace {

Builder reduce_builder(ReduceKind kind) {
  return [kind](const BuildContext& ctx) -> Result<CompiledOp> {
    const Node& node = *ctx.node;
    DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 2, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"axes", "keepdims", "noop_with_empty_axes"}));
    const std::vector<int64_t> axes_attr = attr_ints(node, "axes");
    const bool keepdims = attr_int(node, "keepdims", 1) != 0;
    const bool noop = attr_int(node, "noop_with_empty_axes", 0) != 0;
    CompiledOp op;
    op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
      DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "data"));
      std::vector<int64_t> axes = axes_attr;
      if (in.size() > 1 && in[1]) DEEPCOMP_RETURN_IF_ERROR(int_list(in[1], "axes", &axes));
      // noop_with_empty_axes: no axes means the identity rather than "reduce everything".
      if (axes.empty() && noop) {
        (*out)[0] = *in[0];
        return Status::Ok();
      }
      return reduce_axes(*in[0], axes, keepdims, kind, &(*out)[0]);
    };
    return op;
  };
}

// ArgMax / ArgMin along `axis`: the first (or, with select_last_index, the last) extreme index,
// as int64. NaN compares false, so it is never selected (numpy would pick it).
Builder arg_builder(bool max) {
  return [max](const BuildContext& ctx) -> Result<CompiledOp> {
    const Node& node = *ctx.node;
    DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 1, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"axis", "keepdims", "select_last_index"}));
    const int64_t axis_attr = attr_int(node, "axis", 0);
    const bool keepdims = attr_int(node, "keepdims", 1) != 0;
    const bool last = attr_int(node, "select_last_index", 0) != 0;
    CompiledOp op;
    op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
      DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "data"));
      const Value& x = *in[0];
      int64_t axis = 0;
      if (!normalize_axis(axis_attr, x.rank(), &axis)) {
        return Status::Error("axis out of range for " + describe(x));
      }
      const int64_t dim = x.shape[axis];
      if (dim == 0) return Status::Error("cannot take the arg-extreme of an empty axis");
      ReducePlan p;
      DEEPCOMP_RETURN_IF_ERROR(plan_reduce(x, {axis}, keepdims, &p));
      int64_t inner = 1;
      for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape[d];
      Value y = Value::ints(p.out_shape, std::vector<int64_t>(p.n_out, 0));
      // better(a, b): element a beats the current best b (ties go to the later one when `last`).
      auto better = [&](int64_t a, int64_t b) {
        if (x.is_float()) {
          const float va = x.f[a], vb = x.f[b];
          return max ? (last ? va >= vb : va > vb) : (last ? va <= vb : va < vb);
        }
        const int64_t va = ordered(x, a), vb = ordered(x, b);
        return max ? (last ? va >= vb : va > vb) : (last ? va <= vb : va < vb);
      };
      for (int64_t o = 0; o < p.n_out; ++o) {
        const int64_t base = (o / inner) * dim * inner + o % inner;
        int64_t best = 0;
        for (int64_t j = 1; j < dim; ++j) {
          if (better(base + j * inner, base + best * inner)) best = j;
        }
        y.i[o] = best;
      }
      (*out)[0] = std::move(y);
      return Status::Ok();
    };
    return op;
  };
}

// CumSum along the axis given as a scalar input; `exclusive` leaves out the current element,
// `reverse` sums from the end.
Result<CompiledOp> build_cumsum(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"exclusive", "reverse"}));
  const bool exclusive = attr_int(node, "exclusive", 0) != 0;
  const bool reverse = attr_int(node, "reverse", 0) != 0;
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "x"));
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[1], "axis"));
    const Value& x = *in[0];
    if (x.dtype == DType::kBool) return Status::Error("x must be numeric, is " + describe(x));
    if (in[1]->numel() != 1) return Status::Error("axis must be a scalar, is " + describe(*in[1]));
    int64_t axis = 0;
    if (!normalize_axis(in[1]->i[0], x.rank(), &axis)) {
      return Status::Error("axis out of range for " + describe(x));
    }
    const int64_t dim = x.shape[axis];
    int64_t inner = 1;
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape[d];
    const int64_t outer = dim * inner == 0 ? 0 : x.numel() / (dim * inner);
    Value y = zeros_like_dtype(x.dtype, x.shape);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t e = 0; e < inner; ++e) {
        const int64_t base = o * dim * inner + e;
        double facc = 0;
        int64_t iacc = 0;
        for (int64_t s = 0; s < dim; ++s) {
          const int64_t at = base + (reverse ? dim - 1 - s : s) * inner;
          if (x.is_float()) {
            if (!exclusive) facc += x.f[at];
            y.f[at] = static_cast<float>(facc);
            if (exclusive) facc += x.f[at];
          } else {
            if (!exclusive) iacc = wrap_add(iacc, x.i[at]);
            y.i[at] = iacc;
            if (exclusive) iacc = wrap_add(iacc, x.i[at]);
          }
        }
      }
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_reduce_ops(Table* t) {
  (*t)["ReduceMean"] = reduce_builder(ReduceKind::kMean);
  (*t)["ReduceSum"] = reduce_builder(ReduceKind::kSum);
  (*t)["ReduceMax"] = reduce_builder(ReduceKind::kMax);
  (*t)["ReduceMin"] = reduce_builder(ReduceKind::kMin);
  (*t)["ReduceProd"] = reduce_builder(ReduceKind::kProd);
  (*t)["ReduceL1"] = reduce_builder(ReduceKind::kL1);
  (*t)["ReduceL2"] = reduce_builder(ReduceKind::kL2);
  (*t)["ReduceLogSum"] = reduce_builder(ReduceKind::kLogSum);
  (*t)["ReduceLogSumExp"] = reduce_builder(ReduceKind::kLogSumExp);
  (*t)["ReduceSumSquare"] = reduce_builder(ReduceKind::kSumSquare);
  (*t)["ArgMax"] = arg_builder(true);
  (*t)["ArgMin"] = arg_builder(false);
  (*t)["CumSum"] = build_cumsum;
}

}  // namespace deepcomp::runtime::ops
