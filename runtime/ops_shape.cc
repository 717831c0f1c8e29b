// Data-movement operators: Reshape, Flatten, Transpose, Concat, Squeeze, Unsqueeze, Shape, Size,
// Gather, Cast, CastLike, Slice, Pad, Expand, Identity, Dropout, Constant, ConstantOfShape. They
// work on every dtype a Value holds.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "runtime/ops.h"
#include "runtime/rearrange_shape.h"
#include "runtime/tensor_index.h"

namespace deepcomp::runtime::ops {

// Gather on a constant table with a sparse form (ops_embedding.cc); nullopt for a plain Gather.
std::optional<Result<CompiledOp>> build_embedding_gather(const BuildContext& ctx,
                                                         int64_t axis_attr);

Result<std::vector<int64_t>> reshape_shape(const Value& x, std::vector<int64_t> target,
                                           bool allowzero) {
  int64_t known = 1, infer = -1;
  for (size_t k = 0; k < target.size(); ++k) {
    if (target[k] == 0 && !allowzero) {
      if (k >= x.shape.size()) return Status::Error("shape entry 0 has no input dimension to copy");
      target[k] = x.shape[k];
    }
    if (target[k] == -1) {
      if (infer >= 0) return Status::Error("shape has more than one -1");
      infer = static_cast<int64_t>(k);
    } else if (target[k] < 0) {
      return Status::Error("shape has a negative entry " + std::to_string(target[k]));
    } else {
      known *= target[k];
    }
  }
  const int64_t n = x.numel();
  if (infer >= 0) {
    if (known == 0 || n % known != 0) {
      return Status::Error("cannot reshape " + describe(x) + " to " + shape_string(target));
    }
    target[infer] = n / known;
  } else if (known != n) {
    return Status::Error("cannot reshape " + describe(x) + " to " + shape_string(target));
  }
  return target;
}

Result<std::vector<int64_t>> transpose_shape(const Value& x, bool has_perm,
                                             std::vector<int64_t> perm) {
  const int64_t r = x.rank();
  if (!has_perm) {
    perm.resize(r);
    for (int64_t k = 0; k < r; ++k) perm[k] = r - 1 - k;
  }
  if (static_cast<int64_t>(perm.size()) != r) return Status::Error("perm does not match rank");
  std::vector<bool> seen(r, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= r || seen[p]) return Status::Error("perm is not a permutation");
    seen[p] = true;
  }
  std::vector<int64_t> shape(r);
  for (int64_t k = 0; k < r; ++k) shape[k] = x.shape[perm[k]];
  return shape;
}

Result<std::vector<int64_t>> squeeze_shape(const Value& x, const std::vector<int64_t>& axes,
                                           bool given, bool unsqueeze) {
  std::vector<int64_t> shape;
  if (unsqueeze) {
    const int64_t r = x.rank() + static_cast<int64_t>(axes.size());
    std::vector<bool> inserted(r, false);
    for (int64_t a : axes) {
      int64_t n = 0;
      if (!normalize_axis(a, r, &n) || inserted[n]) return Status::Error("invalid axes");
      inserted[n] = true;
    }
    size_t src = 0;
    for (int64_t d = 0; d < r; ++d) shape.push_back(inserted[d] ? 1 : x.shape[src++]);
    return shape;
  }
  std::vector<bool> drop(x.rank(), false);
  if (!given || axes.empty()) {
    for (int64_t d = 0; d < x.rank(); ++d) drop[d] = x.shape[d] == 1;
  }
  for (int64_t a : axes) {
    int64_t n = 0;
    if (!normalize_axis(a, x.rank(), &n)) return Status::Error("axis out of range");
    if (x.shape[n] != 1)
      return Status::Error("cannot squeeze dimension " + std::to_string(n) + " of " + describe(x));
    drop[n] = true;
  }
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (!drop[d]) shape.push_back(x.shape[d]);
  }
  return shape;
}

namespace {

// out[k] = in[src(k)] for every output element.
template <typename Src>
void gather_elements(const Value& in, Value* out, Src src) {
  const int64_t n = out->numel();
  if (in.is_float()) {
    for (int64_t k = 0; k < n; ++k) out->f[k] = in.f[src(k)];
  } else {
    for (int64_t k = 0; k < n; ++k) out->i[k] = in.i[src(k)];
  }
}

Result<CompiledOp> build_reshape(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"allowzero", "shape"}));
  const bool from_attr = has_attr(node, "shape");  // opset < 5
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, from_attr ? 1 : 2, from_attr ? 1 : 2, 1));
  const bool allowzero = attr_int(node, "allowzero", 0) != 0;
  const std::vector<int64_t> attr_shape = attr_ints(node, "shape");
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "data"));
    std::vector<int64_t> target = attr_shape;
    if (!from_attr) DEEPCOMP_RETURN_IF_ERROR(int_list(in[1], "shape", &target));
    const Value& x = *in[0];
    DEEPCOMP_ASSIGN_OR_RETURN(std::vector<int64_t> shape, reshape_shape(x, target, allowzero));
    Value y = x;
    y.shape = std::move(shape);
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

Result<CompiledOp> build_flatten(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axis"}));
  const int64_t axis_attr = attr_int(*ctx.node, "axis", 1);
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    const Value& x = *in[0];
    int64_t axis = axis_attr < 0 ? axis_attr + x.rank() : axis_attr;
    if (axis < 0 || axis > x.rank()) return Status::Error("axis out of range for " + describe(x));
    int64_t outer = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= x.shape[k];
    Value y = x;
    y.shape = {outer, outer == 0 ? 0 : x.numel() / outer};
    if (outer == 0) {
      int64_t inner = 1;
      for (int64_t k = axis; k < x.rank(); ++k) inner *= x.shape[k];
      y.shape[1] = inner;
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

Result<CompiledOp> build_transpose(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"perm"}));
  const bool has_perm = has_attr(*ctx.node, "perm");
  const std::vector<int64_t> perm_attr = attr_ints(*ctx.node, "perm");
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    const Value& x = *in[0];
    const int64_t r = x.rank();
    std::vector<int64_t> perm = perm_attr;
    if (!has_perm) {
      perm.resize(r);
      for (int64_t k = 0; k < r; ++k) perm[k] = r - 1 - k;
    }
    DEEPCOMP_ASSIGN_OR_RETURN(std::vector<int64_t> shape, transpose_shape(x, true, perm));
    Value y = zeros_of(x.dtype, shape);
    const auto in_strides = row_major_strides_of(x.shape);
    std::vector<int64_t> stride(r);  // input stride of each output dimension
    for (int64_t k = 0; k < r; ++k) stride[k] = in_strides[perm[k]];
    std::vector<int64_t> idx(r, 0);
    int64_t src = 0;
    gather_elements(x, &y, [&](int64_t) {
      const int64_t s = src;
      for (int64_t d = r - 1; d >= 0; --d) {
        src += stride[d];
        if (++idx[d] < shape[d]) break;
        src -= stride[d] * shape[d];
        idx[d] = 0;
      }
      return s;
    });
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

Result<CompiledOp> build_concat(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1 << 20, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axis"}));
  if (!has_attr(*ctx.node, "axis")) return Status::Error("attribute 'axis' is required");
  const int64_t axis_attr = attr_int(*ctx.node, "axis", 0);
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input 0"));
    const Value& first = *in[0];
    int64_t axis = 0;
    if (!normalize_axis(axis_attr, first.rank(), &axis)) return Status::Error("axis out of range");
    std::vector<int64_t> shape = first.shape;
    shape[axis] = 0;
    for (const Value* v : in) {
      DEEPCOMP_RETURN_IF_ERROR(require_present(v, "input"));
      bool same = v->dtype == first.dtype && v->rank() == first.rank();
      for (int64_t d = 0; same && d < first.rank(); ++d)
        same = d == axis || v->shape[d] == first.shape[d];
      if (!same)
        return Status::Error("inputs " + describe(first) + " and " + describe(*v) +
                             " do not concatenate");
      shape[axis] += v->shape[axis];
    }
    Value y = for_overwrite_like_dtype(first.dtype, shape);  // every element is copied in
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
    int64_t inner = 1;
    for (int64_t d = axis + 1; d < first.rank(); ++d) inner *= shape[d];
    int64_t offset = 0;
    const int64_t row = shape[axis] * inner;
    for (const Value* v : in) {
      const int64_t chunk = v->shape[axis] * inner;
      for (int64_t o = 0; o < outer; ++o) {
        if (y.is_float())
          std::copy_n(v->f.data() + o * chunk, chunk, y.f.data() + o * row + offset);
        else
          std::copy_n(v->i.data() + o * chunk, chunk, y.i.data() + o * row + offset);
      }
      offset += chunk;
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

// Squeeze and Unsqueeze: axes from the attribute (opset < 13) or the optional second input.
Result<CompiledOp> build_squeeze(const BuildContext& ctx, bool unsqueeze) {
  DEEPCOMP_RETURN_IF_ERROR(
      check_arity(*ctx.node, unsqueeze && !has_attr(*ctx.node, "axes") ? 2 : 1, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axes"}));
  const bool has_axes_attr = has_attr(*ctx.node, "axes");
  const std::vector<int64_t> axes_attr = attr_ints(*ctx.node, "axes");
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    const Value& x = *in[0];
    std::vector<int64_t> axes = axes_attr;
    const bool given = has_axes_attr || (in.size() > 1 && in[1]);
    if (!has_axes_attr && in.size() > 1 && in[1])
      DEEPCOMP_RETURN_IF_ERROR(int_list(in[1], "axes", &axes));
    DEEPCOMP_ASSIGN_OR_RETURN(std::vector<int64_t> shape, squeeze_shape(x, axes, given, unsqueeze));
    Value y = x;
    y.shape = std::move(shape);
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

Result<CompiledOp> build_shape(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"start", "end"}));
  const int64_t start_attr = attr_int(*ctx.node, "start", 0);
  const bool has_end = has_attr(*ctx.node, "end");
  const int64_t end_attr = attr_int(*ctx.node, "end", 0);
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    if (!in[0]) return Status::Error("input is missing");
    const int64_t r = in[0]->rank();
    auto clamp = [r](int64_t v) { return std::clamp(v < 0 ? v + r : v, int64_t{0}, r); };
    const int64_t s = clamp(start_attr), e = has_end ? clamp(end_attr) : r;
    std::vector<int64_t> dims;
    for (int64_t k = s; k < e; ++k) dims.push_back(in[0]->shape[k]);
    const int64_t n = static_cast<int64_t>(dims.size());
    (*out)[0] = Value::ints({n}, std::move(dims));
    return Status::Ok();
  });
}

Result<CompiledOp> build_size(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
  return simple_op([](const Inputs& in, std::vector<Value>* out) -> Status {
    if (!in[0]) return Status::Error("input is missing");
    (*out)[0] = Value::ints({}, {in[0]->numel()});
    return Status::Ok();
  });
}

Result<CompiledOp> build_gather(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axis"}));
  const int64_t axis_attr = attr_int(*ctx.node, "axis", 0);
  if (auto embedding = build_embedding_gather(ctx, axis_attr)) return std::move(*embedding);
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "data"));
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[1], "indices"));
    const Value& x = *in[0];
    const Value& idx = *in[1];
    int64_t axis = 0;
    if (!normalize_axis(axis_attr, x.rank(), &axis)) return Status::Error("axis out of range");
    std::vector<int64_t> shape(x.shape.begin(), x.shape.begin() + axis);
    shape.insert(shape.end(), idx.shape.begin(), idx.shape.end());
    shape.insert(shape.end(), x.shape.begin() + axis + 1, x.shape.end());
    int64_t inner = 1;  // elements after the axis; the output index k walks (outer, j, inner)
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape[d];
    const int64_t dim = x.shape[axis], count = idx.numel();
    std::vector<int64_t> resolved(count);
    for (int64_t k = 0; k < count; ++k) {
      int64_t j = idx.i[k];
      if (j < -dim || j >= dim) {
        return Status::Error("index " + std::to_string(j) + " out of range for dimension " +
                             std::to_string(dim));
      }
      resolved[k] = j < 0 ? j + dim : j;
    }
    Value y = zeros_of(x.dtype, shape);
    gather_elements(x, &y, [&](int64_t k) {
      const int64_t in_idx = k % inner, rest = k / inner;
      const int64_t j = rest % count, o = rest / count;
      return (o * dim + resolved[j]) * inner + in_idx;
    });
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

Status check_cast_target(DType to) {
  if (to == DType::kString) return Status::Error("cast to string is not supported");
  if (!is_runtime_dtype(to)) {
    return Status::Error("cast to " + dtype_name(to) +
                         " is not supported (numeric dtypes and bool)");
  }
  return Status::Ok();
}

// Cast to the `to` attribute; "saturate" (opset 19) only concerns float8 targets, which the
// runtime does not hold, so it has no effect here.
Result<CompiledOp> build_cast(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"to", "saturate"}));
  if (!has_attr(*ctx.node, "to")) return Status::Error("attribute 'to' is required");
  const auto to = static_cast<DType>(attr_int(*ctx.node, "to", 0));
  DEEPCOMP_RETURN_IF_ERROR(check_cast_target(to));
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    (*out)[0] = cast_value(*in[0], to);
    return Status::Ok();
  });
}

// CastLike: Cast to the dtype of the second input (whose values are not used).
Result<CompiledOp> build_cast_like(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"saturate"}));
  return simple_op([](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    if (!in[1]) return Status::Error("target_type is missing");
    DEEPCOMP_RETURN_IF_ERROR(check_cast_target(in[1]->dtype));
    (*out)[0] = cast_value(*in[0], in[1]->dtype);
    return Status::Ok();
  });
}

Result<CompiledOp> build_passthrough(const BuildContext& ctx, bool dropout) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, dropout ? 3 : 1, dropout ? 2 : 1));
  if (dropout) {
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"ratio", "seed", "is_test"}));
  } else {
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
  }
  return simple_op([](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    // Dropout's optional training_mode input must be false (inference), or the ratio 0, which
    // drops nothing: random masks are not supported.
    if (in.size() > 2 && in[2] && in[2]->stored() > 0 && in[2]->as_int(0) != 0) {
      const bool zero_ratio = in[1] && in[1]->stored() == 1 && in[1]->as_double(0) == 0.0;
      if (!zero_ratio)
        return Status::Error("training_mode=true is not supported (unless ratio is 0)");
    }
    (*out)[0] = *in[0];
    if (out->size() > 1)
      (*out)[1] = Value::bools(in[0]->shape, std::vector<int64_t>(in[0]->numel(), 1));
    return Status::Ok();
  });
}

}  // namespace

void register_shape_ops(Table* t) {
  (*t)["Reshape"] = build_reshape;
  (*t)["Flatten"] = build_flatten;
  (*t)["Transpose"] = build_transpose;
  (*t)["Concat"] = build_concat;
  (*t)["Squeeze"] = [](const BuildContext& c) { return build_squeeze(c, false); };
  (*t)["Unsqueeze"] = [](const BuildContext& c) { return build_squeeze(c, true); };
  (*t)["Shape"] = build_shape;
  (*t)["Size"] = build_size;
  (*t)["Gather"] = build_gather;
  (*t)["Cast"] = build_cast;
  (*t)["CastLike"] = build_cast_like;
  (*t)["Identity"] = [](const BuildContext& c) { return build_passthrough(c, false); };
  (*t)["Dropout"] = [](const BuildContext& c) { return build_passthrough(c, true); };
  register_slice_pad_ops(t);
}

}  // namespace deepcomp::runtime::ops
