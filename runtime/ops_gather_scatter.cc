// Element and slice addressing operators: GatherElements, GatherND, ScatterElements (and its
// opset 9-10 name Scatter), ScatterND. Data of any runtime dtype, indices of any integer dtype,
// negative indices counted from the end; scatter reductions none/add/mul/max/min.
#include <algorithm>

#include "runtime/ops.h"
#include "runtime/tensor_index.h"

namespace deepcomp::runtime::ops {

namespace {

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Status parse_reduction(const Node& node, Reduction* out) {
  const std::string r = attr_string(node, "reduction", "none");
  if (r == "none") {
    *out = Reduction::kNone;
  } else if (r == "add") {
    *out = Reduction::kAdd;
  } else if (r == "mul") {
    *out = Reduction::kMul;
  } else if (r == "max") {
    *out = Reduction::kMax;
  } else if (r == "min") {
    *out = Reduction::kMin;
  } else {
    return Status::Error("reduction '" + r + "' is not supported (none, add, mul, max, min)");
  }
  return Status::Ok();
}

template <typename T>
void reduce_into(Reduction r, T* dst, T src) {
  switch (r) {
    case Reduction::kNone:
      *dst = src;
      break;
    case Reduction::kAdd:
      *dst += src;
      break;
    case Reduction::kMul:
      *dst *= src;
      break;
    case Reduction::kMax:
      *dst = std::max(*dst, src);
      break;
    case Reduction::kMin:
      *dst = std::min(*dst, src);
      break;
  }
}

// y[dst] (reduce)= u[src], in whichever storage the dtype uses.
void reduce_element(Reduction r, const Value& u, int64_t src, Value* y, int64_t dst) {
  if (y->is_float()) {
    reduce_into(r, &y->f[dst], u.f[src]);
  } else {
    reduce_into(r, &y->i[dst], u.i[src]);
  }
}

// GatherElements / ScatterElements address data[i_0, ..., indices[i], ..., i_{r-1}] for every
// position i of `indices`. Checks the shapes and returns the data offset of every position.
Status element_offsets(const Value& data, const Value& indices, int64_t axis_attr,
                       std::vector<int64_t>* offsets) {
  const int64_t r = data.rank();
  if (r < 1) return Status::Error("data must have rank >= 1, is " + describe(data));
  if (indices.rank() != r) {
    return Status::Error("indices " + describe(indices) + " must have the rank of data " +
                         describe(data));
  }
  int64_t axis = 0;
  if (!normalize_axis(axis_attr, r, &axis)) {
    return Status::Error("axis " + std::to_string(axis_attr) + " out of range for " +
                         describe(data));
  }
  for (int64_t d = 0; d < r; ++d) {
    if (d != axis && indices.shape[d] > data.shape[d]) {
      return Status::Error("indices " + describe(indices) + " exceed data " + describe(data) +
                           " in dimension " + std::to_string(d));
    }
  }
  const auto strides = row_major_strides_of(data.shape);
  const int64_t n = indices.numel();
  offsets->assign(n, 0);
  std::vector<int64_t> pos(r, 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t j = 0;
    DEEPCOMP_RETURN_IF_ERROR(resolve_index(indices.i[k], data.shape[axis], "indices", axis, &j));
    int64_t off = j * strides[axis];
    for (int64_t d = 0; d < r; ++d) {
      if (d != axis) off += pos[d] * strides[d];
    }
    (*offsets)[k] = off;
    next_index(indices.shape, &pos);
  }
  return Status::Ok();
}

Result<CompiledOp> build_gather_elements(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axis"}));
  const int64_t axis = attr_int(*ctx.node, "axis", 0);
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "data"));
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[1], "indices"));
    const Value& x = *in[0];
    std::vector<int64_t> offsets;
    DEEPCOMP_RETURN_IF_ERROR(element_offsets(x, *in[1], axis, &offsets));
    Value y = zeros_of(x.dtype, in[1]->shape);
    for (size_t k = 0; k < offsets.size(); ++k) copy_element(x, offsets[k], &y, k);
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

// Checks that updates has the dtype of data and the shape `want`.
Status check_updates(const Value& data, const Value& updates, const std::vector<int64_t>& want) {
  if (updates.dtype != data.dtype) {
    return Status::Error("updates " + describe(updates) + " must have the dtype of data " +
                         describe(data));
  }
  if (updates.shape != want) {
    return Status::Error("updates " + describe(updates) + " must have shape " + shape_string(want));
  }
  return Status::Ok();
}

// ScatterElements (opset 11+, reduction from 16) and Scatter (opset 9-10, no reduction).
Result<CompiledOp> build_scatter_elements(const BuildContext& ctx, bool legacy) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 3, 3, 1));
  if (legacy) {
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axis"}));
  } else {
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axis", "reduction"}));
  }
  Reduction reduction = Reduction::kNone;
  DEEPCOMP_RETURN_IF_ERROR(parse_reduction(*ctx.node, &reduction));
  const int64_t axis = attr_int(*ctx.node, "axis", 0);
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "data"));
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[1], "indices"));
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[2], "updates"));
    const Value& x = *in[0];
    DEEPCOMP_RETURN_IF_ERROR(check_updates(x, *in[2], in[1]->shape));
    std::vector<int64_t> offsets;
    DEEPCOMP_RETURN_IF_ERROR(element_offsets(x, *in[1], axis, &offsets));
    Value y = x;
    for (size_t k = 0; k < offsets.size(); ++k)
      reduce_element(reduction, *in[2], k, &y, offsets[k]);
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

// GatherND and ScatterND read indices [..., k] as tuples addressing data's dimensions
// [batch_dims, batch_dims + k); each tuple selects a slice of the remaining dimensions.
struct SliceAddressing {
  int64_t batches = 1;           // product of the batch dimensions
  int64_t tuples = 1;            // index tuples per batch
  int64_t slice = 1;             // elements per addressed slice
  std::vector<int64_t> offsets;  // data offset of each tuple's slice, batches * tuples entries
};

Status address_slices(const Value& data, const Value& indices, int64_t batch_dims,
                      SliceAddressing* a) {
  const int64_t r = data.rank(), q = indices.rank();
  if (r < 1 || q < 1) {
    return Status::Error("data " + describe(data) + " and indices " + describe(indices) +
                         " must have rank >= 1");
  }
  if (batch_dims < 0 || batch_dims >= std::min(r, q)) {
    return Status::Error("batch_dims " + std::to_string(batch_dims) + " must be below the ranks");
  }
  const int64_t k = indices.shape[q - 1];
  if (k < 1 || k > r - batch_dims) {
    return Status::Error("indices " + describe(indices) + ": last dimension must be in [1, " +
                         std::to_string(r - batch_dims) + "]");
  }
  for (int64_t d = 0; d < batch_dims; ++d) {
    if (data.shape[d] != indices.shape[d]) {
      return Status::Error("batch dimensions of data " + describe(data) + " and indices " +
                           describe(indices) + " differ");
    }
  }
  a->batches = dims_product(data.shape, 0, batch_dims);
  a->tuples = dims_product(indices.shape, batch_dims, q - 1);
  a->slice = dims_product(data.shape, batch_dims + k, r);
  const int64_t batch_stride = dims_product(data.shape, batch_dims, r);
  const auto strides = row_major_strides_of(data.shape);
  a->offsets.assign(a->batches * a->tuples, 0);
  for (int64_t t = 0; t < a->batches * a->tuples; ++t) {
    int64_t off = (t / std::max<int64_t>(a->tuples, 1)) * batch_stride;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t axis = batch_dims + j;
      int64_t v = 0;
      DEEPCOMP_RETURN_IF_ERROR(
          resolve_index(indices.i[t * k + j], data.shape[axis], "indices", axis, &v));
      off += v * strides[axis];
    }
    a->offsets[t] = off;
  }
  return Status::Ok();
}

Result<CompiledOp> build_gather_nd(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"batch_dims"}));
  const int64_t batch_dims = attr_int(*ctx.node, "batch_dims", 0);
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "data"));
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[1], "indices"));
    const Value& x = *in[0];
    const Value& idx = *in[1];
    SliceAddressing a;
    DEEPCOMP_RETURN_IF_ERROR(address_slices(x, idx, batch_dims, &a));
    std::vector<int64_t> shape(idx.shape.begin(), idx.shape.end() - 1);
    const int64_t k = idx.shape.back();
    shape.insert(shape.end(), x.shape.begin() + batch_dims + k, x.shape.end());
    Value y = zeros_of(x.dtype, shape);
    for (size_t t = 0; t < a.offsets.size(); ++t) {
      for (int64_t e = 0; e < a.slice; ++e) copy_element(x, a.offsets[t] + e, &y, t * a.slice + e);
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

Result<CompiledOp> build_scatter_nd(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 3, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"reduction"}));
  Reduction reduction = Reduction::kNone;
  DEEPCOMP_RETURN_IF_ERROR(parse_reduction(*ctx.node, &reduction));
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "data"));
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[1], "indices"));
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[2], "updates"));
    const Value& x = *in[0];
    const Value& idx = *in[1];
    SliceAddressing a;
    DEEPCOMP_RETURN_IF_ERROR(address_slices(x, idx, 0, &a));
    // updates: indices.shape[:-1] + data.shape[k:]
    std::vector<int64_t> want(idx.shape.begin(), idx.shape.end() - 1);
    want.insert(want.end(), x.shape.begin() + idx.shape.back(), x.shape.end());
    DEEPCOMP_RETURN_IF_ERROR(check_updates(x, *in[2], want));
    Value y = x;
    for (size_t t = 0; t < a.offsets.size(); ++t) {
      for (int64_t e = 0; e < a.slice; ++e) {
        reduce_element(reduction, *in[2], t * a.slice + e, &y, a.offsets[t] + e);
      }
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

}  // namespace

void register_gather_scatter_ops(Table* t) {
  (*t)["GatherElements"] = build_gather_elements;
  (*t)["GatherND"] = build_gather_nd;
  (*t)["ScatterElements"] = [](const BuildContext& c) { return build_scatter_elements(c, false); };
  (*t)["Scatter"] = [](const BuildContext& c) { return build_scatter_elements(c, true); };
  (*t)["ScatterND"] = build_scatter_nd;
}

}  // namespace deepcomp::runtime::ops
