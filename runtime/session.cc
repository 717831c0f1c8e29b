// Session: compiles a Model's nodes into a list of steps over numbered value slots, folds
// constant subgraphs at create time, and runs the steps in graph order.
#include "runtime/session.h"

#include <omp.h>

#include <chrono>
#include <set>
#include <unordered_map>

#include "runtime/ops.h"

namespace deepcomp::runtime {

namespace {

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

// "#index" for a node the file left unnamed. (Built with append: GCC 12 warns falsely about
// "literal" + std::string&& here.)
std::string node_name(const Node& node, size_t index) {
  if (!node.name.empty()) return node.name;
  std::string name = "#";
  name.append(std::to_string(index));
  return name;
}

std::string node_label(const Node& node, size_t index) {
  std::string label = "node '";
  label.append(node_name(node, index)).append("' (").append(node.op_type).append(")");
  return label;
}

}  // namespace

struct Session::Impl {
  struct Step {
    std::string name, op_type;
    ops::CompiledOp op;
    std::vector<int> in;   // slot per input, -1 for omitted
    std::vector<int> out;  // slot per output, -1 for omitted
    std::vector<int> release;  // slots whose last reader is this step
  };
  SessionOptions options;
  std::vector<ValueInfo> inputs, outputs;
  std::vector<int> input_slots, output_slots;
  int num_slots = 0;
  std::vector<std::unique_ptr<Value>> constants;  // by slot; null when not constant
  std::vector<Step> steps;
  std::vector<NodeTiming> timings;
  std::vector<LayerKernel> layer_kernels;
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

const std::vector<ValueInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<ValueInfo>& Session::outputs() const { return impl_->outputs; }
const std::vector<NodeTiming>& Session::profile() const { return impl_->timings; }
const std::vector<LayerKernel>& Session::layer_kernels() const { return impl_->layer_kernels; }
std::vector<std::string> Session::supported_ops() { return ops::supported_op_types(); }
bool Session::supports_op(const std::string& op_type) { return ops::find_builder(op_type) != nullptr; }

Result<Session> Session::create(const Model& model, SessionOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const double crossover = impl->options.dense_above_density;
  if (!(crossover >= 0 && crossover <= 1)) {
    return Status::Error("dense_above_density must be in [0, 1], got " + std::to_string(crossover));
  }
  const Graph& g = model.graph;
  int64_t opset = 0;
  for (const OpsetImport& o : model.opsets) {
    if (is_default_domain(o.domain)) opset = o.version;
  }
  std::unordered_map<std::string, int> slot;
  // Constant slots holding an initializer, or a rearrangement of one folded here (Identity,
  // Transpose, Reshape): the initializer's name. A sparse weight given for that initializer is
  // the sparse form of such a folded constant too, in the layout its consumer needs (the caller
  // chose it from the graph: cli/model_source.cc), e.g. MatMul(x, Transpose(W)) as PyTorch
  // exports a Linear layer.
  std::unordered_map<int, std::string> folded_from;
  auto new_slot = [&](const std::string& name) {
    const int s = impl->num_slots++;
    slot[name] = s;
    impl->constants.emplace_back();
    return s;
  };
  for (const std::string& name : g.initializers) {
    const Tensor* t = model.find_tensor(name);
    if (!t) return Status::Error("initializer '" + name + "' has no tensor in the model");
    DEEPCOMP_ASSIGN_OR_RETURN(Value v, value_from_tensor(*t));
    const int s = new_slot(name);
    impl->constants[s] = std::make_unique<Value>(std::move(v));
    folded_from[s] = name;
  }
  for (const ValueInfo& vi : g.inputs) {
    if (slot.count(vi.name)) continue;  // an initializer listed as input too (old IR)
    impl->inputs.push_back(vi);
    impl->input_slots.push_back(new_slot(vi.name));
  }
  // Every sparse weight given must be used by some layer, so a misspelled name is an error.
  std::set<std::string> unused_sparse;
  for (const auto& [name, m] : impl->options.csr_weights) unused_sparse.insert(name);
  for (const auto& [name, m] : impl->options.codebook_weights) unused_sparse.insert(name);

  std::vector<int> last_reader;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    const std::string label = node_label(node, n);
    if (!is_default_domain(node.domain)) {
      return Status::Error(label + ": operator not supported (domain '" + node.domain + "')");
    }
    const ops::Builder* builder = ops::find_builder(node.op_type);
    if (!builder) return Status::Error(label + ": operator not supported");
    Impl::Step step;
    step.name = node_name(node, n);
    step.op_type = node.op_type;
    bool all_constant = true;
    for (const std::string& in : node.inputs) {
      if (in.empty()) {
        step.in.push_back(-1);
        continue;
      }
      auto it = slot.find(in);
      if (it == slot.end()) {
        return Status::Error(label + ": input '" + in + "' is not a graph input, initializer or output of an earlier node");
      }
      step.in.push_back(it->second);
      all_constant = all_constant && impl->constants[it->second] != nullptr;
    }
    ops::BuildContext ctx;
    ctx.node = &node;
    ctx.opset = opset;
    ctx.model = &model;
    ctx.sparse_from_dense = impl->options.sparse_from_dense;
    ctx.kernel = impl->options.kernel;
    ctx.dense_above_density = crossover;
    ctx.constant = [&](size_t k) -> const Value* {
      if (k >= step.in.size() || step.in[k] < 0) return nullptr;
      return impl->constants[step.in[k]].get();
    };
    ctx.sparse_weight = [&](const std::string& value) {
      ops::SparseWeight w;
      std::string name = value;
      if (auto s = slot.find(value); s != slot.end() && impl->constants[s->second]) {
        if (auto f = folded_from.find(s->second); f != folded_from.end()) name = f->second;
      }
      if (auto it = impl->options.codebook_weights.find(name); it != impl->options.codebook_weights.end()) {
        w.codebook = it->second;
      } else if (auto it2 = impl->options.csr_weights.find(name); it2 != impl->options.csr_weights.end()) {
        w.csr = it2->second;
      }
      if (w.present()) unused_sparse.erase(name);
      return w;
    };
    auto built = (*builder)(ctx);
    if (!built.ok()) return built.status().WithContext(label);
    step.op = std::move(built).value();
    if (!step.op.weight.empty()) {
      impl->layer_kernels.push_back(
          {step.name, step.op_type, step.op.weight, step.op.density, step.op.sparse});
    }
    for (const std::string& out : node.outputs) {
      if (out.empty()) {
        step.out.push_back(-1);
        continue;
      }
      if (slot.count(out)) return Status::Error(label + ": output '" + out + "' is defined twice");
      step.out.push_back(new_slot(out));
    }
    if (all_constant && !step.op.sparse) {
      // Fold: evaluate once now and keep the outputs as constants.
      ops::Inputs in;
      for (int s : step.in) in.push_back(s < 0 ? nullptr : impl->constants[s].get());
      std::vector<Value> outs(step.out.size());
      Status st = step.op.run(in, &outs);
      if (!st.ok()) return st.WithContext(label);
      for (size_t k = 0; k < step.out.size(); ++k) {
        fit_to_dtype(&outs[k]);
        if (step.out[k] >= 0) impl->constants[step.out[k]] = std::make_unique<Value>(std::move(outs[k]));
      }
      const bool rearranges = node.op_type == "Identity" || node.op_type == "Transpose" ||
                              node.op_type == "Reshape";
      if (rearranges && !step.in.empty() && step.in[0] >= 0 && !step.out.empty() && step.out[0] >= 0) {
        if (auto f = folded_from.find(step.in[0]); f != folded_from.end()) {
          std::string source = f->second;
          folded_from[step.out[0]] = std::move(source);
        }
      }
      continue;
    }
    impl->steps.push_back(std::move(step));
  }
  if (!unused_sparse.empty()) {
    return Status::Error("sparse weight '" + *unused_sparse.begin() +
                         "' is not the constant weight of any Gemm, MatMul or Conv node");
  }
  for (const ValueInfo& vi : g.outputs) {
    auto it = slot.find(vi.name);
    if (it == slot.end()) return Status::Error("graph output '" + vi.name + "' is not produced by any node");
    impl->outputs.push_back(vi);
    impl->output_slots.push_back(it->second);
  }
  // Free each intermediate after its last reader (graph outputs are kept).
  last_reader.assign(impl->num_slots, -1);
  for (size_t k = 0; k < impl->steps.size(); ++k) {
    for (int s : impl->steps[k].in) {
      if (s >= 0) last_reader[s] = static_cast<int>(k);
    }
  }
  for (int s : impl->output_slots) last_reader[s] = -1;
  for (int s = 0; s < impl->num_slots; ++s) {
    if (last_reader[s] >= 0 && !impl->constants[s]) impl->steps[last_reader[s]].release.push_back(s);
  }
  return Session(std::move(impl));
}

Result<std::vector<Value>> Session::run(const std::vector<Value>& inputs) {
  Impl& im = *impl_;
  if (inputs.size() != im.inputs.size()) {
    return Status::Error("run: expected " + std::to_string(im.inputs.size()) + " inputs, got " +
                         std::to_string(inputs.size()));
  }
  if (im.options.threads > 0) omp_set_num_threads(im.options.threads);
  std::vector<Value> owned(im.num_slots);
  std::vector<const Value*> ptr(im.num_slots, nullptr);
  for (int s = 0; s < im.num_slots; ++s) ptr[s] = im.constants[s].get();
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Value& v = inputs[k];
    int64_t n = 0;
    if (!checked_numel(v.shape, &n) || n != v.stored()) {
      return Status::Error("run: input '" + im.inputs[k].name + "' " + describe(v) + " holds " +
                           std::to_string(v.stored()) + " elements");
    }
    const DType want = im.inputs[k].dtype;
    if (want != DType::kUndefined && want != v.dtype) {
      return Status::Error("run: input '" + im.inputs[k].name + "' must be " + dtype_name(want) +
                           ", got " + describe(v));
    }
    ptr[im.input_slots[k]] = &v;
  }
  im.timings.clear();
  ops::Inputs in;
  std::vector<Value> outs;
  for (const Impl::Step& step : im.steps) {
    in.clear();
    for (int s : step.in) in.push_back(s < 0 ? nullptr : ptr[s]);
    outs.assign(step.out.size(), Value{});
    const auto t0 = std::chrono::steady_clock::now();
    Status st = step.op.run(in, &outs);
    if (!st.ok()) return st.WithContext("node '" + step.name + "' (" + step.op_type + ")");
    if (im.options.profile) {
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      NodeTiming timing{step.name, step.op_type, step.op.weight, ms, step.op.sparse, {}, {}};
      for (const Value* v : in) timing.input_shapes.push_back(v ? v->shape : std::vector<int64_t>{});
      for (const Value& v : outs) timing.output_shapes.push_back(v.shape);
      im.timings.push_back(std::move(timing));
    }
    for (size_t k = 0; k < step.out.size(); ++k) {
      if (step.out[k] < 0) continue;
      fit_to_dtype(&outs[k]);
      owned[step.out[k]] = std::move(outs[k]);
      ptr[step.out[k]] = &owned[step.out[k]];
    }
    for (int s : step.release) {
      owned[s] = Value{};
      ptr[s] = nullptr;
    }
  }
  std::vector<Value> result;
  for (int s : im.output_slots) result.push_back(ptr[s] ? *ptr[s] : Value{});
  return result;
}

}  // namespace deepcomp::runtime
