// Elementwise operators: unary activations and math, numpy-broadcasting binary arithmetic and
// comparisons, variadic Sum/Max/Min/Mean, Clip and Where.
#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

// out[k] = f(a[ia], b[ib]) over the broadcast of a and b; the innermost dimension is a tight loop.
template <typename A, typename B, typename R, typename F>
void broadcast_apply(const std::vector<A>& a, const std::vector<int64_t>& sa,
                     const std::vector<B>& b, const std::vector<int64_t>& sb,
                     const std::vector<int64_t>& out_shape, std::vector<R>* out, F f) {
  int64_t n = 1;
  for (int64_t d : out_shape) n *= d;
  out->resize(n);
  if (n == 0) return;
  if (sa == sb) {
    for (int64_t k = 0; k < n; ++k) (*out)[k] = f(a[k], b[k]);
    return;
  }
  const size_t rank = out_shape.size();
  if (rank == 0) {
    (*out)[0] = f(a[0], b[0]);
    return;
  }
  const std::vector<int64_t> stra = broadcast_strides(sa, out_shape);
  const std::vector<int64_t> strb = broadcast_strides(sb, out_shape);
  const int64_t inner = out_shape[rank - 1];
  const int64_t ia_step = stra[rank - 1], ib_step = strb[rank - 1];
  std::vector<int64_t> idx(rank, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t base = 0; base < n; base += inner) {
    for (int64_t k = 0; k < inner; ++k) (*out)[base + k] = f(a[ia + k * ia_step], b[ib + k * ib_step]);
    // Advance the outer multi-index (all but the last dimension).
    for (size_t d = rank - 1; d-- > 0;) {
      ++idx[d];
      ia += stra[d];
      ib += strb[d];
      if (idx[d] < out_shape[d]) break;
      ia -= stra[d] * out_shape[d];
      ib -= strb[d] * out_shape[d];
      idx[d] = 0;
    }
  }
}

enum class BinKind { kArith, kCompare, kLogic };

template <typename F>
Builder float_unary(F f) {
  return [f](const BuildContext& ctx) -> Result<CompiledOp> {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
    CompiledOp op;
    op.run = [f](const Inputs& in, std::vector<Value>* out) -> Status {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "input"));
      Value& y = (*out)[0];
      y = Value::floats(in[0]->shape, std::vector<float>(in[0]->f.size()));
      const float* x = in[0]->f.data();
      float* py = y.f.data();
      const int64_t n = static_cast<int64_t>(y.f.size());
      for (int64_t k = 0; k < n; ++k) py[k] = f(x[k]);
      return Status::Ok();
    };
    return op;
  };
}

// A float activation with float attributes read at build time: make(node) returns the function.
template <typename Make>
Builder float_unary_attr(std::initializer_list<const char*> attrs, Make make) {
  std::vector<const char*> known(attrs);
  return [known, make](const BuildContext& ctx) -> Result<CompiledOp> {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
    for (const Attribute& a : ctx.node->attributes) {
      bool found = false;
      for (const char* k : known) found = found || a.name == k;
      if (!found) return Status::Error("attribute '" + a.name + "' is not supported");
    }
    auto f = make(*ctx.node);
    CompiledOp op;
    op.run = [f](const Inputs& in, std::vector<Value>* out) -> Status {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "input"));
      Value& y = (*out)[0];
      y = Value::floats(in[0]->shape, std::vector<float>(in[0]->f.size()));
      for (size_t k = 0; k < y.f.size(); ++k) y.f[k] = f(in[0]->f[k]);
      return Status::Ok();
    };
    return op;
  };
}

// Neg and Abs also apply to int64.
template <typename F>
Builder numeric_unary(F f) {
  return [f](const BuildContext& ctx) -> Result<CompiledOp> {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
    CompiledOp op;
    op.run = [f](const Inputs& in, std::vector<Value>* out) -> Status {
      const Value* x = in[0];
      Value& y = (*out)[0];
      if (x && x->dtype == DType::kInt64) {
        DEEPCOMP_RETURN_IF_ERROR(require_int(x, "input"));
        y = Value::ints(x->shape, std::vector<int64_t>(x->i.size()));
        for (size_t k = 0; k < y.i.size(); ++k) y.i[k] = f(x->i[k]);
        return Status::Ok();
      }
      DEEPCOMP_RETURN_IF_ERROR(require_float(x, "input"));
      y = Value::floats(x->shape, std::vector<float>(x->f.size()));
      for (size_t k = 0; k < y.f.size(); ++k) y.f[k] = f(x->f[k]);
      return Status::Ok();
    };
    return op;
  };
}

// Applies a broadcasting binary function on two values of the same numeric dtype.
template <typename FF, typename FI>
Status binary(const Value* a, const Value* b, BinKind kind, FF ff, FI fi, Value* y) {
  if (!a || !b) return Status::Error("missing input");
  if (a->dtype != b->dtype) {
    return Status::Error("inputs have different dtypes: " + describe(*a) + " and " + describe(*b));
  }
  if (a->is_float()) {
    DEEPCOMP_RETURN_IF_ERROR(require_float(a, "input A"));
    DEEPCOMP_RETURN_IF_ERROR(require_float(b, "input B"));
  } else {
    if (a->stored() != a->numel() || b->stored() != b->numel()) {
      return Status::Error("malformed input " + describe(*a) + " / " + describe(*b));
    }
    if (kind == BinKind::kLogic && a->dtype != DType::kBool) {
      return Status::Error("logical operator needs bool inputs, has " + describe(*a));
    }
  }
  std::vector<int64_t> shape;
  if (!broadcast_shapes(a->shape, b->shape, &shape)) {
    return Status::Error("shapes " + shape_string(a->shape) + " and " + shape_string(b->shape) +
                         " do not broadcast");
  }
  y->shape = shape;
  y->f.clear();
  y->i.clear();
  if (kind != BinKind::kArith) {
    y->dtype = DType::kBool;
    if (a->is_float()) {
      broadcast_apply(a->f, a->shape, b->f, b->shape, shape, &y->i,
                      [&](float p, float q) -> int64_t { return ff(p, q) != 0; });
    } else {
      broadcast_apply(a->i, a->shape, b->i, b->shape, shape, &y->i,
                      [&](int64_t p, int64_t q) -> int64_t { return fi(p, q) != 0; });
    }
    return Status::Ok();
  }
  y->dtype = a->dtype;
  if (a->is_float()) {
    broadcast_apply(a->f, a->shape, b->f, b->shape, shape, &y->f, ff);
  } else {
    broadcast_apply(a->i, a->shape, b->i, b->shape, shape, &y->i, fi);
  }
  return Status::Ok();
}

template <typename FF, typename FI>
Builder binary_op(BinKind kind, FF ff, FI fi, std::initializer_list<const char*> attrs = {"broadcast"}) {
  std::vector<const char*> known(attrs);
  return [=](const BuildContext& ctx) -> Result<CompiledOp> {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
    for (const Attribute& a : ctx.node->attributes) {
      bool found = false;
      for (const char* k : known) found = found || a.name == k;
      // Opset < 7 "broadcast" without "axis" aligns trailing dimensions, as numpy does.
      if (!found) return Status::Error("attribute '" + a.name + "' is not supported");
    }
    CompiledOp op;
    op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
      return binary(in[0], in[1], kind, ff, fi, &(*out)[0]);
    };
    return op;
  };
}

// Sum / Max / Min / Mean over any number of broadcasting inputs (float32).
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

Result<CompiledOp> build_clip(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"min", "max"}));
  const float attr_lo = attr_float(node, "min", -std::numeric_limits<float>::infinity());
  const float attr_hi = attr_float(node, "max", std::numeric_limits<float>::infinity());
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "input"));
    float lo = attr_lo, hi = attr_hi;
    // Opset 11+: min and max are optional scalar inputs.
    if (in.size() > 1 && in[1]) {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[1], "min"));
      if (in[1]->f.size() != 1) return Status::Error("min must be a scalar");
      lo = in[1]->f[0];
    }
    if (in.size() > 2 && in[2]) {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[2], "max"));
      if (in[2]->f.size() != 1) return Status::Error("max must be a scalar");
      hi = in[2]->f[0];
    }
    Value& y = (*out)[0];
    y = Value::floats(in[0]->shape, in[0]->f);
    for (float& v : y.f) v = std::min(std::max(v, lo), hi);
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
    if (!x || !y || x->dtype != y->dtype) return Status::Error("X and Y must have the same dtype");
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
    if (x->is_float()) r.f.resize(n); else r.i.resize(n);
    std::vector<int64_t> idx(shape.size(), 0);
    for (int64_t k = 0; k < n; ++k) {
      int64_t oc = 0, ox = 0, oy = 0;
      for (size_t d = 0; d < shape.size(); ++d) {
        oc += idx[d] * sc[d];
        ox += idx[d] * sx[d];
        oy += idx[d] * sy[d];
      }
      if (x->is_float()) r.f[k] = c->i[oc] ? x->f[ox] : y->f[oy];
      else r.i[k] = c->i[oc] ? x->i[ox] : y->i[oy];
      for (size_t d = shape.size(); d-- > 0;) {
        if (++idx[d] < shape[d]) break;
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
    if (!in[0] || !in[1]) return Status::Error("missing input");
    Value exponent = *in[1];
    if (exponent.dtype != in[0]->dtype) {
      if (exponent.dtype == DType::kBool) return Status::Error("bool exponent");
      if (in[0]->is_float()) {
        exponent.f.assign(exponent.i.begin(), exponent.i.end());
        exponent.i.clear();
        exponent.dtype = DType::kFloat32;
      } else {
        for (float v : exponent.f) exponent.i.push_back(static_cast<int64_t>(v));
        exponent.f.clear();
        exponent.dtype = DType::kInt64;
      }
    }
    return binary(in[0], &exponent, BinKind::kArith, [](float a, float b) { return std::pow(a, b); },
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
  (*t)["Sigmoid"] = float_unary([](float x) { return 1.0f / (1.0f + std::exp(-x)); });
  (*t)["Tanh"] = float_unary([](float x) { return std::tanh(x); });
  (*t)["Exp"] = float_unary([](float x) { return std::exp(x); });
  (*t)["Log"] = float_unary([](float x) { return std::log(x); });
  (*t)["Sqrt"] = float_unary([](float x) { return std::sqrt(x); });
  (*t)["Reciprocal"] = float_unary([](float x) { return 1.0f / x; });
  (*t)["Floor"] = float_unary([](float x) { return std::floor(x); });
  (*t)["Ceil"] = float_unary([](float x) { return std::ceil(x); });
  (*t)["Softplus"] = float_unary([](float x) { return std::log1p(std::exp(x)); });
  (*t)["Softsign"] = float_unary([](float x) { return x / (1.0f + std::fabs(x)); });
  (*t)["Neg"] = numeric_unary([](auto x) { return -x; });
  (*t)["Abs"] = numeric_unary([](auto x) { return x < 0 ? -x : x; });
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

  (*t)["Add"] = binary_op(BinKind::kArith, [](float a, float b) { return a + b; },
                          [](int64_t a, int64_t b) { return a + b; });
  (*t)["Sub"] = binary_op(BinKind::kArith, [](float a, float b) { return a - b; },
                          [](int64_t a, int64_t b) { return a - b; });
  (*t)["Mul"] = binary_op(BinKind::kArith, [](float a, float b) { return a * b; },
                          [](int64_t a, int64_t b) { return a * b; });
  // Integer division truncates (C semantics, as ONNX Runtime does); division by zero gives 0
  // rather than trapping.
  (*t)["Div"] = binary_op(BinKind::kArith, [](float a, float b) { return a / b; },
                          [](int64_t a, int64_t b) { return b == 0 ? int64_t{0} : a / b; });
  (*t)["Pow"] = build_pow;
  (*t)["Equal"] = binary_op(BinKind::kCompare, [](float a, float b) { return a == b; },
                            [](int64_t a, int64_t b) { return a == b; });
  (*t)["Less"] = binary_op(BinKind::kCompare, [](float a, float b) { return a < b; },
                           [](int64_t a, int64_t b) { return a < b; });
  (*t)["Greater"] = binary_op(BinKind::kCompare, [](float a, float b) { return a > b; },
                              [](int64_t a, int64_t b) { return a > b; });
  (*t)["And"] = binary_op(BinKind::kLogic, [](float, float) { return 0.0f; },
                          [](int64_t a, int64_t b) { return a && b; });
  (*t)["Or"] = binary_op(BinKind::kLogic, [](float, float) { return 0.0f; },
                         [](int64_t a, int64_t b) { return a || b; });
  (*t)["Xor"] = binary_op(BinKind::kLogic, [](float, float) { return 0.0f; },
                          [](int64_t a, int64_t b) { return (a != 0) != (b != 0); });
  (*t)["Not"] = build_not;
  (*t)["Where"] = build_where;
  (*t)["Clip"] = build_clip;
  auto add_i = [](int64_t a, int64_t b) { return a + b; };
  (*t)["Sum"] = variadic([](float a, float b) { return a + b; }, add_i, false);
  (*t)["Mean"] = variadic([](float a, float b) { return a + b; }, add_i, true);
  (*t)["Max"] = variadic([](float a, float b) { return std::isnan(a) || a >= b ? a : b; },
                         [](int64_t a, int64_t b) { return std::max(a, b); }, false);
  (*t)["Min"] = variadic([](float a, float b) { return std::isnan(a) || a <= b ? a : b; },
                         [](int64_t a, int64_t b) { return std::min(a, b); }, false);
}

}  // namespace deepcomp::runtime::ops
