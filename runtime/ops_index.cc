// Selection and index-producing operators: OneHot, Compress, NonZero, Unique, ReverseSequence,
// Trilu, Range, Split. Data of any runtime dtype; index outputs are int64 as ONNX specifies.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "runtime/ops.h"
#include "runtime/tensor_index.h"

namespace deepcomp::runtime::ops {

namespace {

bool element_nonzero(const Value& x, int64_t k) { return x.is_float() ? x.f[k] != 0 : x.i[k] != 0; }

Result<CompiledOp> build_one_hot(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 3, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axis"}));
  const int64_t axis_attr = attr_int(*ctx.node, "axis", -1);
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "indices"));
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[1], "depth"));
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[2], "values"));
    const Value& idx = *in[0];
    const Value& values = *in[2];
    int64_t depth = 0;
    DEEPCOMP_RETURN_IF_ERROR(scalar_int(in[1], "depth", &depth));
    if (depth < 1) return Status::Error("depth must be positive, is " + std::to_string(depth));
    if (values.numel() != 2) {
      return Status::Error("values must hold [off_value, on_value], is " + describe(values));
    }
    int64_t axis = 0;
    if (!normalize_axis(axis_attr, idx.rank() + 1, &axis)) {
      return Status::Error("axis " + std::to_string(axis_attr) + " out of range for " +
                           describe(idx));
    }
    std::vector<int64_t> shape = idx.shape;
    shape.insert(shape.begin() + axis, depth);
    DEEPCOMP_RETURN_IF_ERROR(check_output_shape(shape, "output"));
    Value y = zeros_of(values.dtype, shape);
    const int64_t inner = dims_product(idx.shape, axis, idx.shape.size());
    const int64_t outer = dims_product(idx.shape, 0, axis);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j = 0; j < inner; ++j) {
        const int64_t k = o * inner + j;
        // Indices out of [-depth, depth) give a row of off values (ONNX); NaN counts as out.
        const double v = idx.as_double(k);
        int64_t hot = -1;
        if (v >= -static_cast<double>(depth) && v < static_cast<double>(depth)) {
          hot = static_cast<int64_t>(v);
          if (hot < 0) hot += depth;
        }
        for (int64_t d = 0; d < depth; ++d) {
          copy_element(values, d == hot ? 1 : 0, &y, (o * depth + d) * inner + j);
        }
      }
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

Result<CompiledOp> build_compress(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axis"}));
  const bool has_axis = has_attr(*ctx.node, "axis");
  const int64_t axis_attr = attr_int(*ctx.node, "axis", 0);
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[1], "condition"));
    const Value& cond = *in[1];
    if (cond.rank() != 1) return Status::Error("condition must be 1-D, is " + describe(cond));
    Value x = *in[0];
    if (!has_axis) x.shape = {x.numel()};  // without axis the input is flattened first
    int64_t axis = 0;
    if (!normalize_axis(axis_attr, x.rank(), &axis)) {
      return Status::Error("axis " + std::to_string(axis_attr) + " out of range for " +
                           describe(x));
    }
    // A condition shorter than the axis keeps nothing past its end (numpy.compress).
    const int64_t dim = x.shape[axis];
    std::vector<int64_t> kept;
    for (int64_t k = 0; k < cond.numel(); ++k) {
      if (!element_nonzero(cond, k)) continue;
      if (k >= dim) {
        return Status::Error("condition selects index " + std::to_string(k) + " beyond axis size " +
                             std::to_string(dim));
      }
      kept.push_back(k);
    }
    std::vector<int64_t> shape = x.shape;
    shape[axis] = static_cast<int64_t>(kept.size());
    Value y = zeros_of(x.dtype, shape);
    const int64_t outer = dims_product(x.shape, 0, axis);
    const int64_t inner = dims_product(x.shape, axis + 1, x.shape.size());
    int64_t dst = 0;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j : kept) {
        for (int64_t e = 0; e < inner; ++e) copy_element(x, (o * dim + j) * inner + e, &y, dst++);
      }
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

Result<CompiledOp> build_non_zero(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
  return simple_op([](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    const Value& x = *in[0];
    // A scalar is treated as 1-D, as numpy.nonzero does.
    const std::vector<int64_t> shape = x.rank() == 0 ? std::vector<int64_t>{1} : x.shape;
    const int64_t r = static_cast<int64_t>(shape.size()), n = x.numel();
    std::vector<int64_t> hits;
    for (int64_t k = 0; k < n; ++k) {
      if (element_nonzero(x, k)) hits.push_back(k);
    }
    const int64_t nnz = static_cast<int64_t>(hits.size());
    Value y = Value::ints({r, nnz}, std::vector<int64_t>(r * nnz));
    for (int64_t h = 0; h < nnz; ++h) {
      int64_t rest = hits[h];
      for (int64_t d = r; d-- > 0;) {
        y.i[d * nnz + h] = rest % shape[d];
        rest /= shape[d];
      }
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

// Three-way comparison with a total order on floats (NaN after everything, equal to NaN), so
// that sorting is well defined on any input.
template <typename T>
int compare_elements(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    const bool na = std::isnan(a), nb = std::isnan(b);
    if (na || nb) return na == nb ? 0 : (na ? 1 : -1);
  }
  return a < b ? -1 : (b < a ? 1 : 0);
}

// Unique over slices x[:, ..., s, ...] along one axis (or elements of the flattened input).
// Fills the sorted (or first-occurrence) order of the distinct slices and the inverse map.
template <typename T>
void unique_slices(const std::vector<T>& data, int64_t outer, int64_t n, int64_t inner, bool sorted,
                   std::vector<int64_t>* first, std::vector<int64_t>* inverse,
                   std::vector<int64_t>* counts) {
  auto cmp = [&](int64_t a, int64_t b) {
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t e = 0; e < inner; ++e) {
        const int c =
            compare_elements(data[(o * n + a) * inner + e], data[(o * n + b) * inner + e]);
        if (c != 0) return c;
      }
    }
    return 0;
  };
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  // Stable, so the first slice of each run of equal slices is its first occurrence.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
  std::vector<int64_t> group_of(n);
  std::vector<int64_t> group_first, group_count;
  for (int64_t k = 0; k < n; ++k) {
    if (k == 0 || cmp(order[k - 1], order[k]) != 0) {
      group_first.push_back(order[k]);
      group_count.push_back(0);
    }
    group_of[order[k]] = static_cast<int64_t>(group_first.size()) - 1;
    ++group_count.back();
  }
  const int64_t groups = static_cast<int64_t>(group_first.size());
  std::vector<int64_t> rank(groups);  // output position of each group
  std::iota(rank.begin(), rank.end(), 0);
  if (!sorted) {
    std::vector<int64_t> by_first(groups);
    std::iota(by_first.begin(), by_first.end(), 0);
    std::sort(by_first.begin(), by_first.end(),
              [&](int64_t a, int64_t b) { return group_first[a] < group_first[b]; });
    for (int64_t p = 0; p < groups; ++p) rank[by_first[p]] = p;
  }
  first->assign(groups, 0);
  counts->assign(groups, 0);
  for (int64_t g = 0; g < groups; ++g) {
    (*first)[rank[g]] = group_first[g];
    (*counts)[rank[g]] = group_count[g];
  }
  inverse->assign(n, 0);
  for (int64_t k = 0; k < n; ++k) (*inverse)[k] = rank[group_of[k]];
}

Result<CompiledOp> build_unique(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 4));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axis", "sorted"}));
  const bool has_axis = has_attr(*ctx.node, "axis");
  const int64_t axis_attr = attr_int(*ctx.node, "axis", 0);
  const bool sorted = attr_int(*ctx.node, "sorted", 1) != 0;
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "X"));
    Value x = *in[0];
    if (!has_axis) x.shape = {x.numel()};
    int64_t axis = 0;
    if (!normalize_axis(axis_attr, x.rank(), &axis)) {
      return Status::Error("axis " + std::to_string(axis_attr) + " out of range for " +
                           describe(x));
    }
    const int64_t n = x.shape[axis];
    const int64_t outer = dims_product(x.shape, 0, axis);
    const int64_t inner = dims_product(x.shape, axis + 1, x.shape.size());
    std::vector<int64_t> first, inverse, counts;
    if (x.is_float()) {
      unique_slices(x.f, outer, n, inner, sorted, &first, &inverse, &counts);
    } else {
      unique_slices(x.i, outer, n, inner, sorted, &first, &inverse, &counts);
    }
    const int64_t u = static_cast<int64_t>(first.size());
    std::vector<int64_t> shape = x.shape;
    shape[axis] = u;
    Value y = zeros_of(x.dtype, shape);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t p = 0; p < u; ++p) {
        for (int64_t e = 0; e < inner; ++e) {
          copy_element(x, (o * n + first[p]) * inner + e, &y, (o * u + p) * inner + e);
        }
      }
    }
    (*out)[0] = std::move(y);
    if (out->size() > 1) (*out)[1] = Value::ints({u}, std::move(first));
    if (out->size() > 2) (*out)[2] = Value::ints({n}, std::move(inverse));
    if (out->size() > 3) (*out)[3] = Value::ints({u}, std::move(counts));
    return Status::Ok();
  });
}

Result<CompiledOp> build_reverse_sequence(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"batch_axis", "time_axis"}));
  const int64_t batch_axis = attr_int(*ctx.node, "batch_axis", 1);
  const int64_t time_axis = attr_int(*ctx.node, "time_axis", 0);
  if (batch_axis < 0 || batch_axis > 1 || time_axis < 0 || time_axis > 1 ||
      batch_axis == time_axis) {
    return Status::Error("batch_axis and time_axis must be 0 and 1 in some order");
  }
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[1], "sequence_lens"));
    const Value& x = *in[0];
    const Value& lens = *in[1];
    if (x.rank() < 2) return Status::Error("input must have rank >= 2, is " + describe(x));
    const int64_t batch = x.shape[batch_axis], time = x.shape[time_axis];
    if (lens.rank() != 1 || lens.numel() != batch) {
      return Status::Error("sequence_lens " + describe(lens) + " must be 1-D of the batch size " +
                           std::to_string(batch));
    }
    for (int64_t len : lens.i) {
      if (len < 0 || len > time) {
        return Status::Error("sequence_lens: length " + std::to_string(len) +
                             " is out of range [0, " + std::to_string(time) + "]");
      }
    }
    const int64_t inner = dims_product(x.shape, 2, x.shape.size());
    const auto strides = row_major_strides_of(x.shape);
    Value y = x;
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t t = 0; t < lens.i[b]; ++t) {
        const int64_t src = b * strides[batch_axis] + (lens.i[b] - 1 - t) * strides[time_axis];
        const int64_t dst = b * strides[batch_axis] + t * strides[time_axis];
        for (int64_t e = 0; e < inner; ++e) copy_element(x, src + e, &y, dst + e);
      }
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

Result<CompiledOp> build_trilu(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"upper"}));
  const bool upper = attr_int(*ctx.node, "upper", 1) != 0;
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    const Value& x = *in[0];
    if (x.rank() < 2) return Status::Error("input must have rank >= 2, is " + describe(x));
    int64_t k = 0;
    if (const Value* kv = input_at(in, 1)) {
      DEEPCOMP_RETURN_IF_ERROR(require_int(kv, "k"));
      DEEPCOMP_RETURN_IF_ERROR(scalar_int(kv, "k", &k));
    }
    const int64_t rows = x.shape[x.rank() - 2], cols = x.shape[x.rank() - 1];
    const int64_t mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
    Value y = zeros_of(x.dtype, x.shape);
    for (int64_t m = 0; m < mats; ++m) {
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
          // Upper keeps the k-th diagonal and above (c - r >= k), lower the k-th and below.
          const bool keep = upper ? c - r >= k : c - r <= k;
          if (keep) copy_element(x, (m * rows + r) * cols + c, &y, (m * rows + r) * cols + c);
        }
      }
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

Result<CompiledOp> build_range(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 3, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
  return simple_op([](const Inputs& in, std::vector<Value>* out) -> Status {
    const char* names[] = {"start", "limit", "delta"};
    for (int k = 0; k < 3; ++k) {
      DEEPCOMP_RETURN_IF_ERROR(require_present(in[k], names[k]));
      if (in[k]->numel() != 1) {
        return Status::Error(std::string(names[k]) + " must be a scalar, is " + describe(*in[k]));
      }
      if (in[k]->dtype != in[0]->dtype)
        return Status::Error("start, limit and delta differ in dtype");
    }
    const DType dtype = in[0]->dtype;
    int64_t n = 0;
    if (in[0]->is_float()) {
      const double start = in[0]->f[0], limit = in[1]->f[0], delta = in[2]->f[0];
      if (delta == 0) return Status::Error("delta must not be 0");
      const double count = std::ceil((limit - start) / delta);
      if (!(count <= static_cast<double>(kMaxOutputElements))) {
        return Status::Error("range of " + std::to_string(count) + " elements is too large");
      }
      n = std::max<int64_t>(0, static_cast<int64_t>(count));
      Value y = zeros_of(dtype, {n});
      for (int64_t k = 0; k < n; ++k) y.f[k] = static_cast<float>(start + k * delta);
      (*out)[0] = std::move(y);
      return Status::Ok();
    }
    // 128-bit so that a span across the whole int64 range does not overflow.
    const __int128 start = in[0]->i[0], limit = in[1]->i[0], delta = in[2]->i[0];
    if (delta == 0) return Status::Error("delta must not be 0");
    const __int128 span = limit - start;
    __int128 count = span / delta;
    if (count * delta != span && (span > 0) == (delta > 0)) ++count;  // ceil of a positive quotient
    if (count > kMaxOutputElements) return Status::Error("range is too large");
    n = count > 0 ? static_cast<int64_t>(count) : 0;
    Value y = zeros_of(dtype, {n});
    for (int64_t k = 0; k < n; ++k) y.i[k] = static_cast<int64_t>(start + k * delta);
    (*out)[0] = std::move(y);
    return Status::Ok();
  });
}

Result<CompiledOp> build_split(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 2, 1 << 20));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"axis", "split", "num_outputs"}));
  const int64_t axis_attr = attr_int(node, "axis", 0);
  const bool has_split_attr = has_attr(node, "split");
  const std::vector<int64_t> split_attr = attr_ints(node, "split");
  const int64_t outputs = static_cast<int64_t>(node.outputs.size());
  if (has_attr(node, "num_outputs") && attr_int(node, "num_outputs", 0) != outputs) {
    return Status::Error("num_outputs " + std::to_string(attr_int(node, "num_outputs", 0)) +
                         " differs from the node's " + std::to_string(outputs) + " outputs");
  }
  // Opset 18 (num_outputs) lets the last chunk be smaller; earlier opsets split evenly.
  const bool uneven_ok = ctx.opset >= 18;
  return simple_op([=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "input"));
    const Value& x = *in[0];
    int64_t axis = 0;
    if (!normalize_axis(axis_attr, x.rank(), &axis)) {
      return Status::Error("axis " + std::to_string(axis_attr) + " out of range for " +
                           describe(x));
    }
    const int64_t dim = x.shape[axis];
    std::vector<int64_t> sizes = split_attr;
    const Value* split_in = input_at(in, 1);
    if (split_in) DEEPCOMP_RETURN_IF_ERROR(int_list(split_in, "split", &sizes));
    if (split_in || has_split_attr) {
      if (static_cast<int64_t>(sizes.size()) != outputs) {
        return Status::Error("split has " + std::to_string(sizes.size()) + " entries for " +
                             std::to_string(outputs) + " outputs");
      }
      int64_t total = 0;
      for (int64_t s : sizes) {
        if (s < 0 || s > dim) {
          return Status::Error("split entry " + std::to_string(s) + " is out of range [0, " +
                               std::to_string(dim) + "]");
        }
        total += s;
      }
      if (total != dim) {
        return Status::Error("split sums to " + std::to_string(total) + ", axis has " +
                             std::to_string(dim));
      }
    } else {
      const int64_t chunk = (dim + outputs - 1) / outputs;
      const int64_t last = dim - chunk * (outputs - 1);
      if (last < 0 || (!uneven_ok && dim % outputs != 0)) {
        return Status::Error("axis of size " + std::to_string(dim) + " does not split into " +
                             std::to_string(outputs) + " parts");
      }
      sizes.assign(outputs, chunk);
      sizes.back() = last;
    }
    const int64_t outer = dims_product(x.shape, 0, axis);
    const int64_t inner = dims_product(x.shape, axis + 1, x.shape.size());
    int64_t offset = 0;
    for (int64_t p = 0; p < outputs; ++p) {
      std::vector<int64_t> shape = x.shape;
      shape[axis] = sizes[p];
      Value y = zeros_of(x.dtype, shape);
      const int64_t chunk = sizes[p] * inner;
      for (int64_t o = 0; o < outer; ++o) {
        const int64_t src = o * dim * inner + offset;
        if (x.is_float()) {
          std::copy_n(x.f.begin() + src, chunk, y.f.begin() + o * chunk);
        } else {
          std::copy_n(x.i.begin() + src, chunk, y.i.begin() + o * chunk);
        }
      }
      offset += chunk;
      (*out)[p] = std::move(y);
    }
    return Status::Ok();
  });
}

}  // namespace

void register_index_ops(Table* t) {
  (*t)["OneHot"] = build_one_hot;
  (*t)["Compress"] = build_compress;
  (*t)["NonZero"] = build_non_zero;
  (*t)["Unique"] = build_unique;
  (*t)["ReverseSequence"] = build_reverse_sequence;
  (*t)["Trilu"] = build_trilu;
  (*t)["Range"] = build_range;
  (*t)["Split"] = build_split;
  register_gather_scatter_ops(t);
}

}  // namespace deepcomp::runtime::ops
