// Elementwise math beyond the basic arithmetic of ops_elementwise.cc: trigonometric and hyperbolic
// functions, Erf, Round, Sign, IsNaN / IsInf, the activations Gelu, HardSwish, Mish, Celu,
// ThresholdedRelu, Shrink and PRelu, and the integer operators Mod and BitShift.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "runtime/elementwise.h"
#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

// IsNaN / IsInf: a float tensor in, a bool tensor of the same shape out.
template <typename Make>
Builder float_predicate(std::initializer_list<const char*> attrs, Make make) {
  std::vector<const char*> known(attrs);
  return [known, make](const BuildContext& ctx) -> Result<CompiledOp> {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_known(*ctx.node, known));
    auto pred = make(*ctx.node);
    CompiledOp op;
    op.run = [pred](const Inputs& in, std::vector<Value>* out) -> Status {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
      Value y = zeros_like_dtype(DType::kBool, in[0]->shape);
      for (size_t k = 0; k < y.i.size(); ++k) y.i[k] = pred(in[0]->f[k]) ? 1 : 0;
      (*out)[0] = std::move(y);
      return Status::Ok();
    };
    return op;
  };
}

Result<CompiledOp> build_gelu(const BuildContext& ctx) {
  const std::string approximate = attr_string(*ctx.node, "approximate", "none");
  if (approximate != "none" && approximate != "tanh") {
    return Status::Error("attribute approximate=" + approximate + " is not supported (none, tanh)");
  }
  const bool use_tanh = approximate == "tanh";
  return float_unary_attr({"approximate"}, [use_tanh](const Node&) {
    return [use_tanh](float x) -> float {
      const double v = x;
      if (use_tanh) {
        const double c = std::sqrt(2.0 / std::numbers::pi);
        return static_cast<float>(0.5 * v * (1.0 + std::tanh(c * (v + 0.044715 * v * v * v))));
      }
      return static_cast<float>(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))));
    };
  })(ctx);
}

// Shrink on every numeric dtype: x < -lambd -> x + bias, x > lambd -> x - bias, else 0.
Result<CompiledOp> build_shrink(const BuildContext& ctx) {
  const double bias = attr_float(*ctx.node, "bias", 0.0f);
  const double lambd = attr_float(*ctx.node, "lambd", 0.5f);
  auto shrink = [=](double x) { return x < -lambd ? x + bias : x > lambd ? x - bias : 0.0; };
  return numeric_unary([=](float x) { return static_cast<float>(shrink(x)); },
                       [=](int64_t x) { return static_cast<int64_t>(shrink(double(x))); },
                       {"bias", "lambd"})(ctx);
}

// Mod: fmod=0 takes the divisor's sign (Python / numpy.mod), fmod=1 the dividend's (C fmod).
// An integer division by zero gives 0 instead of trapping.
Result<CompiledOp> build_mod(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"fmod"}));
  const int64_t fmod = attr_int(*ctx.node, "fmod", 0);
  if (fmod != 0 && fmod != 1) return Status::Error("attribute fmod must be 0 or 1");
  CompiledOp op;
  op.run = [fmod](const Inputs& in, std::vector<Value>* out) -> Status {
    auto ff = [fmod](float a, float b) {
      const float r = std::fmod(a, b);
      return fmod == 0 && r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
    };
    auto fi = [fmod](int64_t a, int64_t b) -> int64_t {
      if (b == 0 || b == -1) return 0;  // b == -1 also avoids INT64_MIN % -1 overflowing
      const int64_t r = a % b;
      return fmod == 0 && r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
    };
    // uint64 is stored as its bits: take the remainder unsigned.
    auto fu = [](int64_t a, int64_t b) -> int64_t {
      return b == 0 ? 0 : static_cast<int64_t>(uint64_t(a) % uint64_t(b));
    };
    if (in[0] && in[0]->dtype == DType::kUInt64) {
      return binary(in[0], in[1], BinKind::kArith, ff, fu, &(*out)[0]);
    }
    return binary(in[0], in[1], BinKind::kArith, ff, fi, &(*out)[0]);
  };
  return op;
}

// BitShift on unsigned integers; shifting by the width or more gives 0. The Session wraps a left
// shift to the dtype's width.
Result<CompiledOp> build_bitshift(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"direction"}));
  if (!has_attr(*ctx.node, "direction")) return Status::Error("attribute 'direction' is required");
  const std::string direction = attr_string(*ctx.node, "direction", "");
  if (direction != "LEFT" && direction != "RIGHT") {
    return Status::Error("attribute direction=" + direction + " is not supported (LEFT, RIGHT)");
  }
  const bool left = direction == "LEFT";
  CompiledOp op;
  op.run = [left](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "X"));
    const DType d = in[0]->dtype;
    if (d != DType::kUInt8 && d != DType::kUInt16 && d != DType::kUInt32 && d != DType::kUInt64) {
      return Status::Error("X must be an unsigned integer tensor, is " + describe(*in[0]));
    }
    return binary(
        in[0], in[1], BinKind::kArith, [](float, float) { return 0.0f; },
        [left](int64_t a, int64_t b) -> int64_t {
          const uint64_t ua = uint64_t(a), ub = uint64_t(b);
          if (ub >= 64) return 0;
          return static_cast<int64_t>(left ? ua << ub : ua >> ub);
        },
        &(*out)[0]);
  };
  return op;
}

// PRelu: x < 0 -> slope * x, with the slope broadcast to x (unidirectionally). Before opset 7 a
// 1-D slope of X's channel count applies per channel (dimension 1).
Result<CompiledOp> build_prelu(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"consumed_inputs"}));
  const bool per_channel = ctx.opset < 7;
  CompiledOp op;
  op.run = [per_channel](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "X"));
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[1], "slope"));
    Value slope = *in[1];
    const Value& x = *in[0];
    if (per_channel && slope.rank() == 1 && x.rank() >= 2 && slope.shape[0] == x.shape[1]) {
      slope.shape.resize(x.rank() - 1, 1);
    }
    std::vector<int64_t> shape;
    if (!broadcast_shapes(x.shape, slope.shape, &shape) || shape != x.shape) {
      return Status::Error("slope " + describe(*in[1]) + " does not broadcast to X " + describe(x));
    }
    return binary(
        &x, &slope, BinKind::kArith, [](float x, float s) { return x < 0 ? s * x : x; },
        [](int64_t x, int64_t s) {
          return x < 0 ? static_cast<int64_t>(uint64_t(s) * uint64_t(x)) : x;
        },
        &(*out)[0]);
  };
  return op;
}

}  // namespace

void register_math_ops(Table* t) {
  (*t)["Sin"] = float_unary([](float x) { return std::sin(x); });
  (*t)["Cos"] = float_unary([](float x) { return std::cos(x); });
  (*t)["Tan"] = float_unary([](float x) { return std::tan(x); });
  (*t)["Asin"] = float_unary([](float x) { return std::asin(x); });
  (*t)["Acos"] = float_unary([](float x) { return std::acos(x); });
  (*t)["Atan"] = float_unary([](float x) { return std::atan(x); });
  (*t)["Sinh"] = float_unary([](float x) { return std::sinh(x); });
  (*t)["Cosh"] = float_unary([](float x) { return std::cosh(x); });
  (*t)["Asinh"] = float_unary([](float x) { return std::asinh(x); });
  (*t)["Acosh"] = float_unary([](float x) { return std::acosh(x); });
  (*t)["Atanh"] = float_unary([](float x) { return std::atanh(x); });
  (*t)["Erf"] = float_unary([](float x) { return std::erf(x); });
  // nearbyint rounds in the default mode, to nearest with ties to even (ONNX Round).
  (*t)["Round"] = float_unary([](float x) { return std::nearbyint(x); });
  (*t)["Sign"] = numeric_unary([](float x) { return std::isnan(x) ? x : float((x > 0) - (x < 0)); },
                               [](int64_t x) { return int64_t{(x > 0) - (x < 0)}; });
  (*t)["IsNaN"] =
      float_predicate({}, [](const Node&) { return [](float x) { return std::isnan(x); }; });
  (*t)["IsInf"] = float_predicate({"detect_negative", "detect_positive"}, [](const Node& n) {
    const bool neg = attr_int(n, "detect_negative", 1) != 0;
    const bool pos = attr_int(n, "detect_positive", 1) != 0;
    return [neg, pos](float x) { return std::isinf(x) && (x > 0 ? pos : neg); };
  });
  (*t)["Gelu"] = build_gelu;
  (*t)["HardSwish"] =
      float_unary([](float x) { return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f)); });
  (*t)["Mish"] = float_unary([](float x) {
    const double v = x;
    return static_cast<float>(v * std::tanh(std::log1p(std::exp(v))));
  });
  (*t)["Celu"] = float_unary_attr({"alpha"}, [](const Node& n) {
    const float alpha = attr_float(n, "alpha", 1.0f);
    return [alpha](float x) {
      return std::max(0.0f, x) + std::min(0.0f, alpha * (std::exp(x / alpha) - 1.0f));
    };
  });
  (*t)["ThresholdedRelu"] = float_unary_attr({"alpha"}, [](const Node& n) {
    const float alpha = attr_float(n, "alpha", 1.0f);
    return [alpha](float x) { return x > alpha ? x : 0.0f; };
  });
  (*t)["Shrink"] = build_shrink;
  (*t)["PRelu"] = build_prelu;
  (*t)["Mod"] = build_mod;
  (*t)["BitShift"] = build_bitshift;
}

}  // namespace deepcomp::runtime::ops
