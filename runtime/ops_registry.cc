// The operator table and the helpers the ops_*.cc files share.
#include <algorithm>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

const Table& table() {
  static const Table* t = [] {
    auto* built = new Table;
    register_elementwise_ops(built);
    register_shape_ops(built);
    register_nn_ops(built);
    register_pool_ops(built);
    register_conv_transpose_ops(built);
    register_resize_ops(built);
    register_norm_ops(built);
    register_space_ops(built);
    register_detect_ops(built);
    register_index_ops(built);
    register_einsum_ops(built);
    register_loss_ops(built);
    register_signal_ops(built);
    register_rnn_ops(built);
    register_control_ops(built);
    register_reduce_ops(built);
    register_math_ops(built);
    register_matrix_ops(built);
    register_quant_ops(built);
    register_quant_lstm_ops(built);
    return built;
  }();
  return *t;
}

}  // namespace

const Builder* find_builder(const std::string& op_type) {
  auto it = table().find(op_type);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<std::string> supported_op_types() {
  std::vector<std::string> names;
  for (const auto& [name, builder] : table()) names.push_back(name);
  return names;
}

int64_t attr_int(const Node& node, const std::string& name, int64_t fallback) {
  const Attribute* a = node.attr(name);
  return a ? a->i : fallback;
}

float attr_float(const Node& node, const std::string& name, float fallback) {
  const Attribute* a = node.attr(name);
  return a ? a->f : fallback;
}

std::string attr_string(const Node& node, const std::string& name, const std::string& fallback) {
  const Attribute* a = node.attr(name);
  return a ? a->s : fallback;
}

std::vector<int64_t> attr_ints(const Node& node, const std::string& name,
                               std::vector<int64_t> fallback) {
  const Attribute* a = node.attr(name);
  return a ? a->ints : fallback;
}

bool has_attr(const Node& node, const std::string& name) { return node.attr(name) != nullptr; }

Status check_attributes(const Node& node, std::initializer_list<const char*> known) {
  for (const Attribute& a : node.attributes) {
    bool found = false;
    for (const char* k : known) found = found || a.name == k;
    if (!found) return Status::Error("attribute '" + a.name + "' is not supported");
  }
  return Status::Ok();
}

Status check_arity(const Node& node, size_t min_in, size_t max_in, size_t max_out) {
  size_t present = node.inputs.size();
  // Trailing omitted optional inputs do not count.
  while (present > 0 && node.inputs[present - 1].empty()) --present;
  if (present < min_in || node.inputs.size() > max_in) {
    return Status::Error("expects " + std::to_string(min_in) + ".." + std::to_string(max_in) +
                         " inputs, has " + std::to_string(node.inputs.size()));
  }
  if (node.outputs.empty()) return Status::Error("has no outputs");
  if (node.outputs.size() > max_out) {
    // Extra outputs are the training-time or optional ones (BatchNormalization's running
    // statistics, ...), which this inference runtime does not produce.
    return Status::Error(std::to_string(node.outputs.size()) + " outputs are not supported (at most " +
                         std::to_string(max_out) + ")");
  }
  return Status::Ok();
}

Value zeros_of(DType dtype, std::vector<int64_t> shape) { return zeros_like_dtype(dtype, std::move(shape)); }

bool broadcast_shapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                      std::vector<int64_t>* out) {
  const size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> r(rank);
  for (size_t k = 0; k < rank; ++k) {
    const int64_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    const int64_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    if (da == db || db == 1) {
      r[k] = da;
    } else if (da == 1) {
      r[k] = db;
    } else {
      return false;
    }
  }
  *out = std::move(r);
  return true;
}

std::vector<int64_t> broadcast_strides(const std::vector<int64_t>& shape,
                                       const std::vector<int64_t>& out_shape) {
  const size_t rank = out_shape.size();
  std::vector<int64_t> strides(rank, 0);
  int64_t s = 1;
  for (size_t k = shape.size(); k-- > 0;) {
    const size_t o = k + rank - shape.size();
    strides[o] = shape[k] == 1 ? 0 : s;
    s *= shape[k];
  }
  return strides;
}

bool normalize_axis(int64_t axis, int64_t rank, int64_t* out) {
  if (axis < -rank || axis >= rank) return false;
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

Status require_present(const Value* v, const char* what) {
  if (!v) return Status::Error(std::string(what) + " is missing");
  int64_t n = 0;
  if (!checked_numel(v->shape, &n) || n != v->stored()) {
    return Status::Error(std::string(what) + " " + describe(*v) + " holds " +
                         std::to_string(v->stored()) + " elements");
  }
  return Status::Ok();
}

Status require_float(const Value* v, const char* what) {
  DEEPCOMP_RETURN_IF_ERROR(require_present(v, what));
  if (!v->is_float()) return Status::Error(std::string(what) + " must be a float tensor, is " + describe(*v));
  return Status::Ok();
}

Status require_int(const Value* v, const char* what) {
  DEEPCOMP_RETURN_IF_ERROR(require_present(v, what));
  if (!v->is_integer()) {
    return Status::Error(std::string(what) + " must be an integer tensor, is " + describe(*v));
  }
  return Status::Ok();
}

Status int_list(const Value* v, const char* what, std::vector<int64_t>* out) {
  DEEPCOMP_RETURN_IF_ERROR(require_int(v, what));
  if (v->rank() > 1) return Status::Error(std::string(what) + " must be 1-D, is " + describe(*v));
  *out = v->i;
  return Status::Ok();
}

}  // namespace deepcomp::runtime::ops
