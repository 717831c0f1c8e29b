// Elementwise operators: unary activations and math, numpy-broadcasting binary arithmetic and
// comparisons, variadic Sum/Max/Min/Mean, Clip and Where.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/sigmoid.h"
#include "runtime/elementwise.h"
#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

// Sum / Max / Min / Mean over any number of broadcasting inputs of one dtype (Mean: floats).
template <typename F, typename FI>
Builder variadic(F f, FI fi, bool mean) {
  return [f, fi, mean](const BuildContext& ctx) -> Result<CompiledOp> {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1 << 20, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
    CompiledOp op;
    op.run = [f, fi, mean](const Inputs& in, std::vector<Value>* out) -> Status {
      if (!in[0]) return Status::Error("input 0 is missing");
      if (mean || in[0]->is_float()) DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "input 0"));
      Value acc = *in[0];
      for (size_t k = 1; k < in.size(); ++k) {
        Value next;
        DEEPCOMP_RETURN_IF_ERROR(binary(&acc, in[k], BinKind::kArith, f, fi, &next));
        acc = std::move(next);
      }
      if (mean) {
        const float count = static_cast<float>(in.size());
        for (float& v : acc.f) v /= count;
      }
      (*out)[0] = std::move(acc);
      return Status::Ok();
    };
    return op;
  };
}

// Clip on every numeric dtype; the bounds are attributes (opset < 11, floats) or optional scalar
// inputs of the input's dtype.
Result<CompiledOp> build_clip(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"min", "max"}));
  const float attr_lo = attr_float(node, "min", -std::numeric_limits<float>::infinity());
  const float attr_hi = attr_float(node, "max", std::numeric_limits<float>::infinity());
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    const Value& x = *in[0];
    if (x.dtype == DType::kBool) return Status::Error("input must be numeric, is " + describe(x));
    auto bound = [&](size_t k, const char* what, const Value** v) -> Status {
      *v = k < in.size() ? in[k] : nullptr;
      if (!*v) return Status::Ok();
      DEEPCOMP_RETURN_IF_ERROR(require_present(*v, what));
      if ((*v)->dtype != x.dtype || (*v)->numel() != 1) {
        return Status::Error(std::string(what) + " must be a scalar of the input's dtype, is " +
                             describe(**v));
      }
      return Status::Ok();
    };
    const Value *lo = nullptr, *hi = nullptr;
    DEEPCOMP_RETURN_IF_ERROR(bound(1, "min", &lo));
    DEEPCOMP_RETURN_IF_ERROR(bound(2, "max", &hi));
    Value& y = (*out)[0];
    y = x;
    if (y.is_float()) {
      const float l = lo ? lo->f[0] : attr_lo, h = hi ? hi->f[0] : attr_hi;
      for (float& v : y.f) v = std::min(std::max(v, l), h);
    } else {
      const int64_t l = lo ? lo->i[0] : std::numeric_limits<int64_t>::min();
      const int64_t h = hi ? hi->i[0] : std::numeric_limits<int64_t>::max();
      for (int64_t& v : y.i) v = std::min(std::max(v, l), h);
    }
    return Status::Ok();
  };
  return op;
}

Result<CompiledOp> build_where(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 3, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
  CompiledOp op;
  op.run = [](const Inputs& in, std::vector<Value>* out) -> Status {
    const Value* c = in[0];
    if (!c || c->dtype != DType::kBool || c->stored() != c->numel()) {
      return Status::Error("condition must be bool");
    }
    // Select via two broadcasts: first pick X where true (with the condition as a 0/1 mask),
    // then combine with Y; both dtypes must match.
    const Value *x = in[1], *y = in[2];
    DEEPCOMP_RETURN_IF_ERROR(require_present(x, "X"));
    DEEPCOMP_RETURN_IF_ERROR(require_present(y, "Y"));
    if (x->dtype != y->dtype) return Status::Error("X and Y must have the same dtype");
    std::vector<int64_t> s1, shape;
    if (!broadcast_shapes(c->shape, x->shape, &s1) || !broadcast_shapes(s1, y->shape, &shape)) {
      return Status::Error("shapes do not broadcast");
    }
    const auto sc = broadcast_strides(c->shape, shape), sx = broadcast_strides(x->shape, shape),
               sy = broadcast_strides(y->shape, shape);
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    Value r;
    r.dtype = x->dtype;
    r.shape = shape;
    if (x->is_float())
      r.f.resize(n);
    else
      r.i.resize(n);
    // The three source offsets advance with the output multi-index (odometer), O(1) amortized.
    std::vector<int64_t> idx(shape.size(), 0);
    int64_t oc = 0, ox = 0, oy = 0;
    for (int64_t k = 0; k < n; ++k) {
      if (x->is_float())
        r.f[k] = c->i[oc] ? x->f[ox] : y->f[oy];
      else
        r.i[k] = c->i[oc] ? x->i[ox] : y->i[oy];
      for (size_t d = shape.size(); d-- > 0;) {
        oc += sc[d];
        ox += sx[d];
        oy += sy[d];
        if (++idx[d] < shape[d]) break;
        oc -= sc[d] * shape[d];
        ox -= sx[d] * shape[d];
        oy -= sy[d] * shape[d];
        idx[d] = 0;
      }
    }
    (*out)[0] = std::move(r);
    return Status::Ok();
  };
  return op;
}

// Pow's exponent may have another dtype than the base (opset 12+); the result has the base's.
Result<CompiledOp> build_pow(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
  CompiledOp op;
  op.run = [](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "X"));
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[1], "Y"));
    const Value& base = *in[0];
    if (base.dtype == DType::kBool || in[1]->dtype == DType::kBool) {
      return Status::Error("bool operands are not allowed");
    }
    // The exponent converted to the base's storage (an integer base takes truncated exponents).
    Value exponent = zeros_like_dtype(base.dtype, in[1]->shape);
    for (size_t k = 0; k < exponent.f.size(); ++k)
      exponent.f[k] = static_cast<float>(in[1]->as_double(k));
    for (size_t k = 0; k < exponent.i.size(); ++k) exponent.i[k] = in[1]->as_int(k);
    return binary(
        &base, &exponent, BinKind::kArith, [](float a, float b) { return std::pow(a, b); },
        [](int64_t a, int64_t b) { return static_cast<int64_t>(std::pow(double(a), double(b))); },
        &(*out)[0]);
  };
  return op;
}

Result<CompiledOp> build_not(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
  CompiledOp op;
  op.run = [](const Inputs& in, std::vector<Value>* out) -> Status {
    if (!in[0] || in[0]->dtype != DType::kBool) return Status::Error("input must be bool");
    Value y = *in[0];
    for (auto& v : y.i) v = !v;
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_elementwise_ops(Table* t) {
  (*t)["Relu"] = float_unary([](float x) { return x > 0.0f ? x : 0.0f; });
  // kernels::sigmoid (vectorized; what a Conv with the Sigmoid fused computes, bit for bit).
  (*t)["Sigmoid"] = float_unary_array([](const float* x, float* y, int64_t n) {
    kernels::sigmoid(x, y, n);
  });
  (*t)["Tanh"] = float_unary([](float x) { return std::tanh(x); });
  (*t)["Exp"] = float_unary([](float x) { return std::exp(x); });
  (*t)["Log"] = float_unary([](float x) { return std::log(x); });
  (*t)["Sqrt"] = float_unary([](float x) { return std::sqrt(x); });
  (*t)["Reciprocal"] = float_unary([](float x) { return 1.0f / x; });
  (*t)["Floor"] = float_unary([](float x) { return std::floor(x); });
  (*t)["Ceil"] = float_unary([](float x) { return std::ceil(x); });
  (*t)["Softplus"] = float_unary([](float x) { return std::log1p(std::exp(x)); });
  (*t)["Softsign"] = float_unary([](float x) { return x / (1.0f + std::fabs(x)); });
  (*t)["Neg"] = numeric_unary([](float x) { return -x; },
                              [](int64_t x) { return static_cast<int64_t>(0 - uint64_t(x)); });
  (*t)["Abs"] =
      numeric_unary([](float x) { return std::fabs(x); },
                    [](int64_t x) { return x < 0 ? static_cast<int64_t>(0 - uint64_t(x)) : x; });
  (*t)["LeakyRelu"] = float_unary_attr({"alpha"}, [](const Node& n) {
    const float alpha = attr_float(n, "alpha", 0.01f);
    return [alpha](float x) { return x >= 0.0f ? x : alpha * x; };
  });
  (*t)["Elu"] = float_unary_attr({"alpha"}, [](const Node& n) {
    const float alpha = attr_float(n, "alpha", 1.0f);
    return [alpha](float x) { return x >= 0.0f ? x : alpha * (std::exp(x) - 1.0f); };
  });
  (*t)["HardSigmoid"] = float_unary_attr({"alpha", "beta"}, [](const Node& n) {
    const float alpha = attr_float(n, "alpha", 0.2f), beta = attr_float(n, "beta", 0.5f);
    return [=](float x) { return std::max(0.0f, std::min(1.0f, alpha * x + beta)); };
  });
  (*t)["Selu"] = float_unary_attr({"alpha", "gamma"}, [](const Node& n) {
    const float alpha = attr_float(n, "alpha", 1.67326319217681884765625f);
    const float gamma = attr_float(n, "gamma", 1.05070102214813232421875f);
    return [=](float x) { return x > 0.0f ? gamma * x : gamma * (alpha * std::exp(x) - alpha); };
  });

  // Integer arithmetic wraps (two's complement, computed unsigned so int64 overflow is defined);
  // the Session then wraps narrower dtypes to their width.
  (*t)["Add"] = binary_op(
      BinKind::kArith, [](float a, float b) { return a + b; },
      [](int64_t a, int64_t b) { return static_cast<int64_t>(uint64_t(a) + uint64_t(b)); });
  (*t)["Sub"] = binary_op(
      BinKind::kArith, [](float a, float b) { return a - b; },
      [](int64_t a, int64_t b) { return static_cast<int64_t>(uint64_t(a) - uint64_t(b)); });
  (*t)["Mul"] = binary_op(
      BinKind::kArith, [](float a, float b) { return a * b; },
      [](int64_t a, int64_t b) { return static_cast<int64_t>(uint64_t(a) * uint64_t(b)); });
  // Integer division truncates (C semantics, as ONNX Runtime does); division by zero gives 0
  // rather than trapping, and INT64_MIN / -1 wraps.
  (*t)["Div"] = binary_op(
      BinKind::kArith, [](float a, float b) { return a / b; },
      [](int64_t a, int64_t b) {
        if (b == 0) return int64_t{0};
        if (b == -1) return static_cast<int64_t>(0 - uint64_t(a));
        return a / b;
      });
  (*t)["Pow"] = build_pow;
  (*t)["Equal"] = binary_op(
      BinKind::kCompare, [](float a, float b) { return a == b; },
      [](int64_t a, int64_t b) { return a == b; });
  (*t)["Less"] = binary_op(
      BinKind::kCompare, [](float a, float b) { return a < b; },
      [](int64_t a, int64_t b) { return a < b; });
  (*t)["Greater"] = binary_op(
      BinKind::kCompare, [](float a, float b) { return a > b; },
      [](int64_t a, int64_t b) { return a > b; });
  (*t)["GreaterOrEqual"] = binary_op(
      BinKind::kCompare, [](float a, float b) { return a >= b; },
      [](int64_t a, int64_t b) { return a >= b; }, {});
  (*t)["LessOrEqual"] = binary_op(
      BinKind::kCompare, [](float a, float b) { return a <= b; },
      [](int64_t a, int64_t b) { return a <= b; }, {});
  (*t)["And"] = binary_op(
      BinKind::kLogic, [](float, float) { return 0.0f; },
      [](int64_t a, int64_t b) { return a && b; });
  (*t)["Or"] = binary_op(
      BinKind::kLogic, [](float, float) { return 0.0f; },
      [](int64_t a, int64_t b) { return a || b; });
  (*t)["Xor"] = binary_op(
      BinKind::kLogic, [](float, float) { return 0.0f; },
      [](int64_t a, int64_t b) { return (a != 0) != (b != 0); });
  (*t)["Not"] = build_not;
  (*t)["Where"] = build_where;
  (*t)["Clip"] = build_clip;
  auto add_i = [](int64_t a, int64_t b) { return static_cast<int64_t>(uint64_t(a) + uint64_t(b)); };
  (*t)["Sum"] = variadic([](float a, float b) { return a + b; }, add_i, false);
  (*t)["Mean"] = variadic([](float a, float b) { return a + b; }, add_i, true);
  (*t)["Max"] = variadic([](float a, float b) { return std::isnan(a) || a >= b ? a : b; },
                         [](int64_t a, int64_t b) { return std::max(a, b); }, false);
  (*t)["Min"] = variadic([](float a, float b) { return std::isnan(a) || a <= b ? a : b; },
                         [](int64_t a, int64_t b) { return std::min(a, b); }, false);
}

}  // namespace deepcomp::runtime::ops
