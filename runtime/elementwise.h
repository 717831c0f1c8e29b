// Internal to runtime/: the elementwise building blocks shared by ops_elementwise.cc and
// ops_math.cc: numpy-broadcasting binary loops and builders for unary float functions and
// binary operators. Outputs keep the input's dtype (the Session rounds / wraps afterwards).
// Depends on runtime/ops.h only.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

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
    for (int64_t k = 0; k < inner; ++k)
      (*out)[base + k] = f(a[ia + k * ia_step], b[ib + k * ib_step]);
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

// kArith: the result has the inputs' dtype; kCompare: bool; kLogic: bool from bool inputs.
enum class BinKind { kArith, kCompare, kLogic };

// Applies a broadcasting binary function to two values of the same dtype: `ff` on float dtypes
// (elements in f), `fi` on integer dtypes and bool (elements in i). The Session wraps integer
// results to the dtype's width afterwards.
template <typename FF, typename FI>
Status binary(const Value* a, const Value* b, BinKind kind, FF ff, FI fi, Value* y) {
  if (!a || !b) return Status::Error("missing input");
  if (a->dtype != b->dtype) {
    return Status::Error("inputs have different dtypes: " + describe(*a) + " and " + describe(*b));
  }
  DEEPCOMP_RETURN_IF_ERROR(require_present(a, "input A"));
  DEEPCOMP_RETURN_IF_ERROR(require_present(b, "input B"));
  if (kind == BinKind::kLogic && a->dtype != DType::kBool) {
    return Status::Error("logical operator needs bool inputs, has " + describe(*a));
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
    } else if (a->dtype == DType::kUInt64) {
      // uint64 is stored as its bits in int64; flipping the sign bit makes signed order match
      // unsigned order.
      broadcast_apply(
          a->i, a->shape, b->i, b->shape, shape, &y->i,
          [&](int64_t p, int64_t q) -> int64_t { return fi(p ^ INT64_MIN, q ^ INT64_MIN) != 0; });
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

// An error for the first attribute of `node` not in `known` (a list kept in a closure).
inline Status check_known(const Node& node, const std::vector<const char*>& known) {
  for (const Attribute& a : node.attributes) {
    bool found = false;
    for (const char* k : known) found = found || a.name == k;
    if (!found) return Status::Error("attribute '" + a.name + "' is not supported");
  }
  return Status::Ok();
}

// A unary function of float tensors (any float dtype, kept), applied to whole arrays:
// make(node) reads the attributes named in `attrs` once, at build time, and returns
// g(x, y, n), which sets y[k] from x[k] for k < n (a loop, or a SIMD kernel).
template <typename Make>
Builder float_unary_arrays(std::initializer_list<const char*> attrs, Make make) {
  std::vector<const char*> known(attrs);
  return [known, make](const BuildContext& ctx) -> Result<CompiledOp> {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_known(*ctx.node, known));
    auto g = make(*ctx.node);
    CompiledOp op;
    op.run = [g](const Inputs& in, std::vector<Value>* out) -> Status {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "input"));
      Value& y = (*out)[0];
      y = zeros_like_dtype(in[0]->dtype, in[0]->shape);
      g(in[0]->f.data(), y.f.data(), static_cast<int64_t>(y.f.size()));
      return Status::Ok();
    };
    return op;
  };
}

// The same with make(node) returning the float -> float function, applied element by element.
template <typename Make>
Builder float_unary_attr(std::initializer_list<const char*> attrs, Make make) {
  return float_unary_arrays(attrs, [make](const Node& node) {
    return [f = make(node)](const float* x, float* y, int64_t n) {
      for (int64_t k = 0; k < n; ++k) y[k] = f(x[k]);
    };
  });
}

// A unary float function without attributes.
template <typename F>
Builder float_unary(F f) {
  return float_unary_attr({}, [f](const Node&) { return f; });
}

// The same for a function of whole arrays, f(x, y, n) (a SIMD kernel).
template <typename F>
Builder float_unary_array(F f) {
  return float_unary_arrays({}, [f](const Node&) { return f; });
}

// A unary function of any numeric dtype (kept): f on float elements, fi on integer elements;
// `attrs` are the attributes the caller read.
template <typename F, typename FI>
Builder numeric_unary(F f, FI fi, std::initializer_list<const char*> attrs = {}) {
  std::vector<const char*> known(attrs);
  return [f, fi, known](const BuildContext& ctx) -> Result<CompiledOp> {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_known(*ctx.node, known));
    CompiledOp op;
    op.run = [f, fi](const Inputs& in, std::vector<Value>* out) -> Status {
      DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
      const Value& x = *in[0];
      if (x.dtype == DType::kBool) return Status::Error("input must be numeric, is " + describe(x));
      Value& y = (*out)[0];
      y = zeros_like_dtype(x.dtype, x.shape);
      for (size_t k = 0; k < y.f.size(); ++k) y.f[k] = f(x.f[k]);
      for (size_t k = 0; k < y.i.size(); ++k) y.i[k] = fi(x.i[k]);
      return Status::Ok();
    };
    return op;
  };
}

// A broadcasting binary operator; `attrs` are the attributes it accepts. Opset < 7 "broadcast"
// without "axis" aligns trailing dimensions, as numpy does; with "axis", B's dimensions line up
// with A's starting at that axis, so B gets trailing 1s.
template <typename FF, typename FI>
Builder binary_op(BinKind kind, FF ff, FI fi,
                  std::initializer_list<const char*> attrs = {"axis", "broadcast"}) {
  std::vector<const char*> known(attrs);
  return [=](const BuildContext& ctx) -> Result<CompiledOp> {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_known(*ctx.node, known));
    const bool legacy_axis = ctx.node->attr("axis") && attr_int(*ctx.node, "broadcast", 0) != 0;
    const int64_t axis_attr = attr_int(*ctx.node, "axis", 0);
    CompiledOp op;
    op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
      if (!legacy_axis || !in[0] || !in[1]) return binary(in[0], in[1], kind, ff, fi, &(*out)[0]);
      int64_t axis = 0;
      const int64_t rank_a = in[0]->rank(), rank_b = in[1]->rank();
      if (!normalize_axis(axis_attr, rank_a, &axis) || axis + rank_b > rank_a) {
        return Status::Error("axis " + std::to_string(axis_attr) + " does not fit " +
                             describe(*in[1]) + " into " + describe(*in[0]));
      }
      Value b = *in[1];
      b.shape.resize(rank_a - axis, 1);
      return binary(in[0], &b, kind, ff, fi, &(*out)[0]);
    };
    return op;
  };
}

}  // namespace deepcomp::runtime::ops
