// Control flow: If, Loop and Scan (opset 8 and 9+), on tensors. Their graph attributes are
// compiled by the Session (BuildContext::subgraph), which also passes the values of enclosing
// graphs the subgraphs read. Sequence- and optional-typed values are not supported.
#include <algorithm>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

Result<std::shared_ptr<const Subgraph>> graph_attribute(const BuildContext& ctx,
                                                        const std::string& name) {
  const Attribute* a = ctx.node->attr(name);
  if (!a || a->type != Attribute::Type::kGraph || !a->graph) {
    return Status::Error("graph attribute '" + name + "' is missing");
  }
  if (!ctx.subgraph) return Status::Error("subgraphs cannot be compiled here");
  auto sub = ctx.subgraph(*a->graph);
  if (!sub.ok()) return sub.status().WithContext(name);
  return sub;
}

Status scalar_flag(const Value* v, const char* what, int64_t* out) {
  DEEPCOMP_RETURN_IF_ERROR(require_present(v, what));
  if (v->numel() != 1)
    return Status::Error(std::string(what) + " must hold one element, is " + describe(*v));
  *out = v->is_float() ? (v->f[0] != 0.0f) : v->i[0];
  return Status::Ok();
}

// Element k of `from` appended to `to` (same storage kind).
void append_elements(const Value& from, int64_t begin, int64_t count, Value* to) {
  if (from.is_float()) {
    to->f.insert(to->f.end(), from.f.begin() + begin, from.f.begin() + begin + count);
  } else {
    to->i.insert(to->i.end(), from.i.begin() + begin, from.i.begin() + begin + count);
  }
}

// Stacks `parts` (same dtype and shape) along a new axis `axis` of the result.
Result<Value> stack(const std::vector<Value>& parts, int64_t axis, const char* what) {
  const Value& first = parts.front();
  for (const Value& p : parts) {
    if (p.dtype != first.dtype || p.shape != first.shape) {
      return Status::Error(std::string(what) + " changes from " + describe(first) + " to " +
                           describe(p) + " between iterations");
    }
  }
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < first.rank(); ++k) (k < axis ? outer : inner) *= first.shape[k];
  Value out;
  out.dtype = first.dtype;
  out.shape = first.shape;
  out.shape.insert(out.shape.begin() + axis, static_cast<int64_t>(parts.size()));
  for (int64_t o = 0; o < outer; ++o) {
    for (const Value& p : parts) append_elements(p, o * inner, inner, &out);
  }
  return out;
}

// The empty stack of a scan output that never ran: [0] plus the declared element shape when the
// subgraph states it.
Value empty_stack(const ValueInfo& vi) {
  std::vector<int64_t> shape = {0};
  if (vi.has_shape &&
      std::all_of(vi.dims.begin(), vi.dims.end(), [](int64_t d) { return d >= 0; })) {
    shape.insert(shape.end(), vi.dims.begin(), vi.dims.end());
  }
  return zeros_like_dtype(vi.dtype == DType::kUndefined ? DType::kFloat32 : vi.dtype, shape);
}

Result<CompiledOp> build_if(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 1, node.outputs.size()));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"then_branch", "else_branch"}));
  DEEPCOMP_ASSIGN_OR_RETURN(auto then_branch, graph_attribute(ctx, "then_branch"));
  DEEPCOMP_ASSIGN_OR_RETURN(auto else_branch, graph_attribute(ctx, "else_branch"));
  for (const auto* b : {then_branch.get(), else_branch.get()}) {
    if (b->num_inputs() != 0 || b->num_outputs() != node.outputs.size()) {
      return Status::Error("each branch must take no inputs and have " +
                           std::to_string(node.outputs.size()) + " outputs");
    }
  }
  CompiledOp op;
  op.run = [then_branch, else_branch](const Inputs& in, std::vector<Value>* out) -> Status {
    int64_t cond = 0;
    DEEPCOMP_RETURN_IF_ERROR(scalar_flag(in[0], "cond", &cond));
    std::vector<Value> results;
    const Subgraph& branch = cond ? *then_branch : *else_branch;
    DEEPCOMP_RETURN_IF_ERROR(
        branch.run({}, in, &results).WithContext(cond ? "then_branch" : "else_branch"));
    for (size_t k = 0; k < out->size(); ++k) (*out)[k] = std::move(results[k]);
    return Status::Ok();
  };
  return op;
}

Result<CompiledOp> build_loop(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"body"}));
  if (node.inputs.size() < 2) return Status::Error("expects at least 2 inputs (M, cond)");
  if (node.inputs[0].empty() && node.inputs[1].empty()) {
    return Status::Error("neither M nor cond is given: the loop would never end");
  }
  DEEPCOMP_ASSIGN_OR_RETURN(auto body, graph_attribute(ctx, "body"));
  const size_t carried = node.inputs.size() - 2;
  if (body->num_inputs() != 2 + carried || body->num_outputs() < 1 + carried) {
    return Status::Error("body must take " + std::to_string(2 + carried) +
                         " inputs and return at least " + std::to_string(1 + carried) + " outputs");
  }
  const size_t scans = body->num_outputs() - 1 - carried;
  if (node.outputs.size() > carried + scans) {
    return Status::Error("has " + std::to_string(node.outputs.size()) +
                         " outputs, the body gives " + std::to_string(carried + scans));
  }
  std::vector<ValueInfo> scan_infos;
  const Graph& g = *node.attr("body")->graph;
  for (size_t k = 0; k < scans; ++k) scan_infos.push_back(g.outputs[1 + carried + k]);
  const bool has_m = !node.inputs[0].empty(), has_cond = !node.inputs[1].empty();
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    int64_t trips = 0, cond = 1;
    if (has_m) {
      DEEPCOMP_RETURN_IF_ERROR(require_int(in[0], "M"));
      DEEPCOMP_RETURN_IF_ERROR(scalar_flag(in[0], "M", &trips));
    }
    if (has_cond) DEEPCOMP_RETURN_IF_ERROR(scalar_flag(in[1], "cond", &cond));
    std::vector<Value> state(carried);
    std::vector<const Value*> args(2 + carried);
    for (size_t k = 0; k < carried; ++k) {
      DEEPCOMP_RETURN_IF_ERROR(require_present(in[2 + k], "loop-carried initial value"));
      args[2 + k] = in[2 + k];
    }
    std::vector<std::vector<Value>> scanned(scans);
    std::vector<Value> results;
    int64_t iter = 0;
    for (; (!has_m || iter < trips) && (!has_cond || cond); ++iter) {
      Value iter_v = Value::ints({}, {iter});
      Value cond_v = Value::bools({}, {cond ? 1 : 0});
      args[0] = &iter_v;
      args[1] = &cond_v;
      Status st = body->run(args, in, &results);
      if (!st.ok()) return st.WithContext("body (iteration " + std::to_string(iter) + ")");
      if (has_cond) DEEPCOMP_RETURN_IF_ERROR(scalar_flag(&results[0], "body's cond output", &cond));
      for (size_t k = 0; k < carried; ++k) state[k] = std::move(results[1 + k]);
      for (size_t k = 0; k < carried; ++k) args[2 + k] = &state[k];
      for (size_t k = 0; k < scans; ++k) scanned[k].push_back(std::move(results[1 + carried + k]));
    }
    for (size_t k = 0; k < out->size(); ++k) {
      if (k < carried) {
        (*out)[k] = iter == 0 ? *in[2 + k] : std::move(state[k]);
      } else if (scanned[k - carried].empty()) {
        (*out)[k] = empty_stack(scan_infos[k - carried]);
      } else {
        DEEPCOMP_ASSIGN_OR_RETURN((*out)[k], stack(scanned[k - carried], 0, "scan output"));
      }
    }
    return Status::Ok();
  };
  return op;
}

// Slice `index` of `v` along `axis` (the axis removed).
Value slice_axis(const Value& v, int64_t axis, int64_t index) {
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < v.rank(); ++k) {
    if (k < axis) outer *= v.shape[k];
    if (k > axis) inner *= v.shape[k];
  }
  Value s;
  s.dtype = v.dtype;
  s.shape = v.shape;
  s.shape.erase(s.shape.begin() + axis);
  const int64_t len = v.shape[axis];
  for (int64_t o = 0; o < outer; ++o) append_elements(v, (o * len + index) * inner, inner, &s);
  return s;
}

struct ScanSpec {
  size_t states = 0, scan_inputs = 0, scan_outputs = 0;
  std::vector<int64_t> in_axes, in_reverse, out_axes, out_reverse;
};

// One Scan (opset 9 form) over `states` and `xs`; outputs are the final states then the stacked
// scan outputs.
Status run_scan(const ScanSpec& spec, const Subgraph& body, std::vector<const Value*> states,
                const std::vector<const Value*>& xs, const Inputs& node_in,
                std::vector<Value>* out) {
  int64_t len = -1;
  std::vector<int64_t> axes(spec.scan_inputs);
  for (size_t j = 0; j < spec.scan_inputs; ++j) {
    DEEPCOMP_RETURN_IF_ERROR(require_present(xs[j], "scan input"));
    if (!normalize_axis(spec.in_axes[j], xs[j]->rank(), &axes[j])) {
      return Status::Error("scan_input_axes[" + std::to_string(j) + "] is out of range for " +
                           describe(*xs[j]));
    }
    const int64_t n = xs[j]->shape[axes[j]];
    if (len >= 0 && n != len) {
      return Status::Error("scan inputs have different lengths (" + std::to_string(len) + " and " +
                           std::to_string(n) + ")");
    }
    len = n;
  }
  for (const Value* s : states) DEEPCOMP_RETURN_IF_ERROR(require_present(s, "initial state"));
  std::vector<Value> state(spec.states), slices(spec.scan_inputs), results;
  std::vector<std::vector<Value>> scanned(spec.scan_outputs);
  std::vector<const Value*> args(spec.states + spec.scan_inputs);
  for (int64_t t = 0; t < std::max<int64_t>(len, 0); ++t) {
    for (size_t k = 0; k < spec.states; ++k) args[k] = states[k];
    for (size_t j = 0; j < spec.scan_inputs; ++j) {
      slices[j] = slice_axis(*xs[j], axes[j], spec.in_reverse[j] ? len - 1 - t : t);
      args[spec.states + j] = &slices[j];
    }
    Status st = body.run(args, node_in, &results);
    if (!st.ok()) return st.WithContext("body (iteration " + std::to_string(t) + ")");
    for (size_t k = 0; k < spec.states; ++k) {
      state[k] = std::move(results[k]);
      states[k] = &state[k];
    }
    for (size_t k = 0; k < spec.scan_outputs; ++k) {
      scanned[k].push_back(std::move(results[spec.states + k]));
    }
  }
  out->assign(spec.states + spec.scan_outputs, Value{});
  for (size_t k = 0; k < spec.states; ++k) (*out)[k] = len > 0 ? std::move(state[k]) : *states[k];
  for (size_t k = 0; k < spec.scan_outputs; ++k) {
    if (scanned[k].empty()) return Status::Error("scan inputs are empty: no scan output to stack");
    std::vector<Value>& parts = scanned[k];
    if (spec.out_reverse[k]) std::reverse(parts.begin(), parts.end());
    int64_t axis = 0;
    if (!normalize_axis(spec.out_axes[k], parts[0].rank() + 1, &axis)) {
      return Status::Error("scan_output_axes[" + std::to_string(k) + "] is out of range");
    }
    DEEPCOMP_ASSIGN_OR_RETURN((*out)[k + spec.states], stack(parts, axis, "scan output"));
  }
  return Status::Ok();
}

Status check_01(const std::vector<int64_t>& v, const char* what) {
  for (int64_t d : v) {
    if (d != 0 && d != 1)
      return Status::Error(std::string("attribute ") + what + " must hold 0 or 1");
  }
  return Status::Ok();
}

Result<CompiledOp> build_scan(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  const bool v8 = ctx.opset < 9;
  if (v8) {
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"body", "num_scan_inputs", "directions"}));
  } else {
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(
        node, {"body", "num_scan_inputs", "scan_input_axes", "scan_input_directions",
               "scan_output_axes", "scan_output_directions"}));
  }
  const int64_t m = attr_int(node, "num_scan_inputs", 0);
  const size_t first = v8 ? 1 : 0;  // opset 8: sequence_lens comes first
  if (m < 1 || node.inputs.size() < first + static_cast<size_t>(m)) {
    return Status::Error("attribute num_scan_inputs must be in [1, number of inputs]");
  }
  DEEPCOMP_ASSIGN_OR_RETURN(auto body, graph_attribute(ctx, "body"));
  ScanSpec spec;
  spec.scan_inputs = static_cast<size_t>(m);
  spec.states = node.inputs.size() - first - spec.scan_inputs;
  if (body->num_inputs() != spec.states + spec.scan_inputs || body->num_outputs() < spec.states) {
    return Status::Error("body must take " + std::to_string(spec.states + spec.scan_inputs) +
                         " inputs and return at least " + std::to_string(spec.states) + " outputs");
  }
  spec.scan_outputs = body->num_outputs() - spec.states;
  if (node.outputs.size() != spec.states + spec.scan_outputs) {
    return Status::Error("has " + std::to_string(node.outputs.size()) +
                         " outputs, the body gives " +
                         std::to_string(spec.states + spec.scan_outputs));
  }
  auto list = [&](const char* name, size_t n, int64_t fallback, std::vector<int64_t>* out) {
    *out = attr_ints(node, name, std::vector<int64_t>(n, fallback));
    if (out->size() != n) {
      return Status::Error(std::string("attribute ") + name + " must have " + std::to_string(n) +
                           " entries");
    }
    return Status::Ok();
  };
  if (v8) {
    DEEPCOMP_RETURN_IF_ERROR(list("directions", spec.scan_inputs, 0, &spec.in_reverse));
    spec.in_axes.assign(spec.scan_inputs, 0);  // axis 1 of the batched input
    spec.out_axes.assign(spec.scan_outputs, 0);
    spec.out_reverse.assign(spec.scan_outputs, 0);
  } else {
    DEEPCOMP_RETURN_IF_ERROR(list("scan_input_axes", spec.scan_inputs, 0, &spec.in_axes));
    DEEPCOMP_RETURN_IF_ERROR(list("scan_input_directions", spec.scan_inputs, 0, &spec.in_reverse));
    DEEPCOMP_RETURN_IF_ERROR(list("scan_output_axes", spec.scan_outputs, 0, &spec.out_axes));
    DEEPCOMP_RETURN_IF_ERROR(
        list("scan_output_directions", spec.scan_outputs, 0, &spec.out_reverse));
  }
  DEEPCOMP_RETURN_IF_ERROR(check_01(spec.in_reverse, "scan input directions"));
  DEEPCOMP_RETURN_IF_ERROR(check_01(spec.out_reverse, "scan_output_directions"));
  CompiledOp op;
  const size_t n_in = node.inputs.size();
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    std::vector<const Value*> states(in.begin() + first, in.begin() + first + spec.states);
    std::vector<const Value*> xs(in.begin() + first + spec.states, in.begin() + n_in);
    if (!v8) return run_scan(spec, *body, states, xs, in, out);
    // Opset 8: axis 0 of every input is the batch; each batch entry is one scan.
    int64_t batch = -1;
    for (size_t k = first; k < n_in; ++k) {
      DEEPCOMP_RETURN_IF_ERROR(require_present(in[k], "input"));
      if (in[k]->rank() < (k < first + spec.states ? 1 : 2) ||
          (batch >= 0 && in[k]->shape[0] != batch)) {
        return Status::Error("inputs must share the batch axis 0, got " + describe(*in[k]));
      }
      batch = in[k]->shape[0];
    }
    if (batch <= 0) return Status::Error("the batch axis is empty");
    if (in[0]) {
      DEEPCOMP_RETURN_IF_ERROR(require_int(in[0], "sequence_lens"));
      const int64_t full = xs[0]->shape[1];
      for (int64_t l : in[0]->i) {
        if (l != full) {
          return Status::Error("sequence_lens shorter than the scan axis is not supported");
        }
      }
    }
    std::vector<std::vector<Value>> per_batch(spec.states + spec.scan_outputs);
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<Value> sliced(n_in - first);
      std::vector<const Value*> s_ptr, x_ptr;
      for (size_t k = first; k < n_in; ++k) {
        sliced[k - first] = slice_axis(*in[k], 0, b);
        (k < first + spec.states ? s_ptr : x_ptr).push_back(&sliced[k - first]);
      }
      std::vector<Value> res;
      DEEPCOMP_RETURN_IF_ERROR(
          run_scan(spec, *body, s_ptr, x_ptr, in, &res).WithContext("batch " + std::to_string(b)));
      for (size_t k = 0; k < res.size(); ++k) per_batch[k].push_back(std::move(res[k]));
    }
    for (size_t k = 0; k < out->size(); ++k) {
      DEEPCOMP_ASSIGN_OR_RETURN((*out)[k], stack(per_batch[k], 0, "output"));
    }
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_control_ops(Table* t) {
  (*t)["If"] = build_if;
  (*t)["Loop"] = build_loop;
  (*t)["Scan"] = build_scan;
}

}  // namespace deepcomp::runtime::ops
