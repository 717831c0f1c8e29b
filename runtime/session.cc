// Session: compiles a Model's graph into a Program, a list of steps over numbered value slots,
// folds constant subgraphs at create time, and runs the steps in graph order. Graph attributes
// (If branches, Loop / Scan bodies) compile to Programs of their own; a name they do not define
// resolves against the enclosing graphs, and each such outer value becomes an implicit input of
// the node that owns the subgraph (constants are shared instead).
//
// Weights given only in sparse form: a main-graph float initializer with a sparse form in
// SessionOptions may come with no values (Tensor::values empty, shape set), as `run` opens a .dcz
// sparse. It becomes a shape-only constant, never held dense: only the layers taking its sparse
// form (a layer that runs dense expands that form itself) and the folded Identity / Transpose /
// Reshape / Squeeze / Unsqueeze may read it; any other reader, or a graph output, is an error
// naming the node. After create, the Session holds only the sparse forms its layers run.
#include "runtime/session.h"

#include <omp.h>

#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "kernels/isa.h"
#include "runtime/buffer_pool.h"
#include "runtime/fuse_conv.h"
#include "runtime/ops.h"
#include "runtime/rearrange_shape.h"

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

std::string node_label(const std::string& name, const std::string& op_type) {
  std::string label = "node '";
  label.append(name).append("' (").append(op_type).append(")");
  return label;
}

// A constant with a shape and no data: an initializer given to the Session only in sparse form
// (SessionOptions), which only the layers taking that form, and the folding of rearrangements
// (Identity, Transpose, Reshape, Squeeze, Unsqueeze), may read.
bool shape_only(const Value& v) { return v.stored() != v.numel(); }

bool is_rearrangement(const std::string& op) {
  return op == "Identity" || op == "Transpose" || op == "Reshape" || op == "Squeeze" ||
         op == "Unsqueeze";
}

// Whether input k of `op` may see a shape-only constant while the node is built: the weight
// inputs that take a sparse form (session.h), and the input a rearrangement folds. Any other
// builder sees no constant there, so it never reads the missing data.
bool may_see_shell(const std::string& op, size_t k) {
  if (op == "Gemm" || op == "MatMul" || op == "Conv" || op == "ConvTranspose") return k == 1;
  if (op == "LSTM" || op == "GRU" || op == "RNN") return k == 1 || k == 2;
  return k == 0 && (op == "Gather" || is_rearrangement(op));
}

// What a folded rearrangement makes of a shape-only input (in[0]): its output shape, no data.
// The kernels would read the values; the shape rules are theirs (rearrange_shape.h).
Result<Value> rearranged_shell(const Node& node, const ops::Inputs& in) {
  const Value& x = *in[0];
  Value y;
  y.dtype = x.dtype;
  const std::string& op = node.op_type;
  // An integer list from the attribute `name`, else from constant input 1 (nullopt: neither).
  auto list = [&](const char* name) -> Result<std::optional<std::vector<int64_t>>> {
    if (const Attribute* a = node.attr(name)) return std::optional(a->ints);
    if (in.size() < 2 || !in[1]) return std::optional<std::vector<int64_t>>();
    const Value& v = *in[1];
    if (!v.is_integer() || v.rank() > 1 || shape_only(v))
      return Status::Error(std::string(name) + " must be a 1-D integer tensor");
    return std::optional(v.i);
  };
  if (op == "Identity") {
    y.shape = x.shape;
  } else if (op == "Transpose") {
    const Attribute* perm = node.attr("perm");
    DEEPCOMP_ASSIGN_OR_RETURN(
        y.shape,
        ops::transpose_shape(x, perm != nullptr, perm ? perm->ints : std::vector<int64_t>{}));
  } else if (op == "Reshape") {
    DEEPCOMP_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> target, list("shape"));
    if (!target) return Status::Error("shape is missing");
    const Attribute* az = node.attr("allowzero");
    DEEPCOMP_ASSIGN_OR_RETURN(y.shape, ops::reshape_shape(x, *target, az && az->i != 0));
  } else {
    DEEPCOMP_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> axes, list("axes"));
    DEEPCOMP_ASSIGN_OR_RETURN(y.shape, ops::squeeze_shape(x, axes.value_or(std::vector<int64_t>{}),
                                                          axes.has_value(), op == "Unsqueeze"));
  }
  return y;
}

struct Step {
  std::string name, op_type;
  ops::CompiledOp op;
  std::vector<int> in;       // slot per input (node inputs, then implicit outer values), -1 omitted
  std::vector<int> out;      // slot per output, -1 for omitted
  std::vector<int> release;  // slots whose last reader is this step
};

// Where a profiled run records its timings, subgraph steps included (nullptr: not profiling).
thread_local std::vector<NodeTiming>* profile_sink = nullptr;

// One compiled graph: the main graph, or a subgraph run by its node's operator.
class Program : public ops::Subgraph {
 public:
  // Prepended to the step names in timings: "" for the main graph, "OWNER/ATTRIBUTE/" for a
  // subgraph (e.g. "If_0/else_branch/"), so inner labels stay apart from the main graph's.
  std::string label_prefix;
  std::vector<int> input_slots, output_slots;
  // Outer values: the slot here and the index of the value in the owning node's Inputs.
  std::vector<std::pair<int, size_t>> outer_slots;
  int num_slots = 0;
  std::vector<std::shared_ptr<const Value>> constants;  // by slot; null when not constant
  std::vector<Step> steps;

  size_t num_inputs() const override { return input_slots.size(); }
  size_t num_outputs() const override { return output_slots.size(); }

  Status run(const std::vector<const Value*>& inputs, const ops::Inputs& node_in,
             std::vector<Value>* outputs) const override {
    if (inputs.size() != input_slots.size()) {
      return Status::Error("subgraph expects " + std::to_string(input_slots.size()) +
                           " inputs, got " + std::to_string(inputs.size()));
    }
    std::vector<const Value*> ptr = initial_pointers();
    for (size_t k = 0; k < inputs.size(); ++k) ptr[input_slots[k]] = inputs[k];
    for (auto [s, index] : outer_slots) ptr[s] = node_in[index];
    std::vector<Value> owned(num_slots);
    DEEPCOMP_RETURN_IF_ERROR(execute(&ptr, &owned, profile_sink));
    collect_outputs(ptr, &owned, outputs);
    return Status::Ok();
  }

  std::vector<const Value*> initial_pointers() const {
    std::vector<const Value*> ptr(num_slots, nullptr);
    for (int s = 0; s < num_slots; ++s) ptr[s] = constants[s].get();
    return ptr;
  }

  // Runs every step; `ptr` holds the constants and inputs on entry, `owned` the computed values.
  Status execute(std::vector<const Value*>* ptr_, std::vector<Value>* owned_,
                 std::vector<NodeTiming>* timings) const {
    std::vector<const Value*>& ptr = *ptr_;
    std::vector<Value>& owned = *owned_;
    ops::Inputs in;
    std::vector<Value> outs;
    for (const Step& step : steps) {
      in.clear();
      for (int s : step.in) in.push_back(s < 0 ? nullptr : ptr[s]);
      outs.assign(step.out.size(), Value{});
      FloatBufferPool* pool = active_float_pool();
      const float* offered[4] = {};  // storage seeded into the first outputs
      if (pool) {
        for (size_t k = 0; k < outs.size() && k < 4; ++k) {
          outs[k].f = pool->seed(&step, k);
          offered[k] = outs[k].f.capacity() ? outs[k].f.data() : nullptr;
        }
      }
      const auto t0 = std::chrono::steady_clock::now();
      Status st = step.op.run(in, &outs);
      if (!st.ok()) return st.WithContext(node_label(step.name, step.op_type));
      if (timings) {
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        NodeTiming timing{
            label_prefix + step.name, step.op_type, step.op.weight, ms, step.op.sparse, {}, {}};
        for (const Value* v : in)
          timing.input_shapes.push_back(v ? v->shape : std::vector<int64_t>{});
        for (const Value& v : outs) timing.output_shapes.push_back(v.shape);
        timings->push_back(std::move(timing));
      }
      if (pool) {
        for (size_t k = 0; k < outs.size() && k < 4; ++k)
          pool->settle(&step, k, offered[k], outs[k].f);
      }
      for (size_t k = 0; k < step.out.size(); ++k) {
        if (step.out[k] < 0) continue;
        fit_to_dtype(&outs[k]);
        owned[step.out[k]] = std::move(outs[k]);
        ptr[step.out[k]] = &owned[step.out[k]];
      }
      for (int s : step.release) {
        if (pool) pool->give(std::move(owned[s].f));
        owned[s] = Value{};
        ptr[s] = nullptr;
      }
    }
    return Status::Ok();
  }

  // The graph outputs in order: computed values are moved out (unless listed twice), inputs and
  // constants copied.
  void collect_outputs(const std::vector<const Value*>& ptr, std::vector<Value>* owned,
                       std::vector<Value>* outputs) const {
    outputs->clear();
    for (size_t k = 0; k < output_slots.size(); ++k) {
      const int s = output_slots[k];
      bool later = false;
      for (size_t j = k + 1; j < output_slots.size(); ++j) later = later || output_slots[j] == s;
      if (ptr[s] == &(*owned)[s] && !later) {
        outputs->push_back(std::move((*owned)[s]));
      } else {
        outputs->push_back(ptr[s] ? *ptr[s] : Value{});
      }
    }
  }
};

// What an enclosing graph offers for a name: a constant, or a value the owning node receives as
// its input `node_input`.
struct OuterValue {
  std::shared_ptr<const Value> constant;
  size_t node_input = 0;
};
using OuterLookup = std::function<std::optional<OuterValue>(const std::string& name)>;

// State shared by the compilation of the main graph and all its subgraphs.
struct Compiler {
  const Model& model;
  const SessionOptions& options;
  int64_t opset = 0;
  std::set<std::string> unused_sparse;  // sparse weights given but not (yet) used by a layer
  std::vector<LayerKernel> layer_kernels;

  bool has_sparse(const std::string& name) const {
    return options.codebook_weights.count(name) > 0 || options.csr_weights.count(name) > 0;
  }

  ops::SparseWeight sparse_weight(const std::string& name) {
    ops::SparseWeight w;
    if (auto it = options.codebook_weights.find(name); it != options.codebook_weights.end()) {
      w.codebook = it->second;
    } else if (auto it2 = options.csr_weights.find(name); it2 != options.csr_weights.end()) {
      w.csr = it2->second;
    }
    if (w.present()) unused_sparse.erase(name);
    return w;
  }

  // Compiles `g` into `p`. `outer` is null for the main graph; `main_inputs` receives the main
  // graph's inputs that are not initializers.
  Status compile(const Graph& g, const OuterLookup* outer, Program* p,
                 std::vector<ValueInfo>* main_inputs);
};

Status Compiler::compile(const Graph& g, const OuterLookup* outer, Program* p,
                         std::vector<ValueInfo>* main_inputs) {
  std::unordered_map<std::string, int> slot;
  // Constant slots holding an initializer, or a rearrangement of one folded here (Identity,
  // Transpose, Reshape, Squeeze, Unsqueeze): the initializer's name. A sparse weight given for that
  // initializer is the sparse form of such a folded constant too, in the layout its consumer needs
  // (the caller chose it from the graph: cli/model_source.cc), e.g. MatMul(x, Transpose(W)) as
  // PyTorch exports a Linear layer.
  std::unordered_map<int, std::string> folded_from;
  auto new_slot = [&](const std::string& name) {
    const int s = p->num_slots++;
    slot[name] = s;
    p->constants.emplace_back();
    return s;
  };
  // A name defined here, or else by an enclosing graph (nullopt when neither).
  auto lookup = [&](const std::string& name) -> std::optional<int> {
    if (auto it = slot.find(name); it != slot.end()) return it->second;
    if (!outer) return std::nullopt;
    std::optional<OuterValue> o = (*outer)(name);
    if (!o) return std::nullopt;
    const int s = new_slot(name);
    if (o->constant) {
      p->constants[s] = o->constant;
    } else {
      p->outer_slots.push_back({s, o->node_input});
    }
    return s;
  };
  for (const std::string& name : g.initializers) {
    const Tensor* t = model.find_tensor(name);
    if (!t) return Status::Error("initializer '" + name + "' has no tensor in the model");
    Value v;
    if (is_float_dtype(t->dtype) && t->values.empty() && t->numel() > 0 && has_sparse(name)) {
      // Given only in sparse form (e.g. a .dcz run sparse): kept as a shape, never expanded
      // here; a layer that runs it dense expands the sparse form itself.
      v.dtype = t->dtype;
      v.shape = t->shape;
    } else {
      DEEPCOMP_ASSIGN_OR_RETURN(v, value_from_tensor(*t));
    }
    const int s = new_slot(name);
    p->constants[s] = std::make_shared<const Value>(std::move(v));
    folded_from[s] = name;
  }
  for (const ValueInfo& vi : g.inputs) {
    if (!outer && slot.count(vi.name)) continue;  // an initializer listed as input too (old IR)
    if (main_inputs) main_inputs->push_back(vi);
    p->input_slots.push_back(new_slot(vi.name));
  }
  const double crossover = options.dense_above_density;
  // Conv chains fused into one node each (runtime/fuse_conv.h); names keep the original indices.
  std::map<size_t, ConvFusion> fusions;
  std::vector<size_t> original;
  std::vector<Node> fused;
  const bool fuse = conv_fusion();
  if (fuse) fused = fuse_conv_chains(g, model, &fusions, &original);
  const std::vector<Node>& nodes = fuse ? fused : g.nodes;
  for (size_t n = 0; n < nodes.size(); ++n) {
    const Node& node = nodes[n];
    Step step;
    step.name = node_name(node, fuse ? original[n] : n);
    step.op_type = node.op_type;
    const std::string label = node_label(step.name, node.op_type);
    // Operators of other domains are registered as DOMAIN.OP (com.microsoft.DynamicQuantizeLSTM).
    const bool onnx_domain = is_default_domain(node.domain);
    const ops::Builder* builder =
        ops::find_builder(onnx_domain ? node.op_type : node.domain + "." + node.op_type);
    if (!builder && !onnx_domain) {
      return Status::Error(label + ": operator not supported (domain '" + node.domain + "')");
    }
    if (!builder) return Status::Error(label + ": operator not supported");
    for (const std::string& in : node.inputs) {
      if (in.empty()) {
        step.in.push_back(-1);
        continue;
      }
      std::optional<int> s = lookup(in);
      if (!s) {
        return Status::Error(label + ": input '" + in +
                             "' is not a graph input, initializer or output of an earlier node");
      }
      step.in.push_back(*s);
    }
    ops::BuildContext ctx;
    ctx.node = &node;
    ctx.opset = opset;
    ctx.model = &model;
    ctx.sparse_from_dense = options.sparse_from_dense;
    ctx.int_sparse = [&](const std::string& name) {
      return options.int_sparse_weights.count(name) > 0;
    };
    ctx.kernel = options.kernel;
    ctx.dense_above_density = crossover;
    ctx.conv_dense_above_density = options.conv_dense_above_density;
    ctx.conv_fusion = fusions.count(n) ? &fusions.at(n) : nullptr;
    const size_t declared = step.in.size();
    ctx.constant = [&](size_t k) -> const Value* {
      if (k >= declared || step.in[k] < 0) return nullptr;
      const Value* v = p->constants[step.in[k]].get();
      if (v && shape_only(*v) && !may_see_shell(node.op_type, k)) return nullptr;
      return v;
    };
    std::set<std::string> took_sparse;  // inputs whose sparse form the layer took
    ctx.sparse_weight = [&](const std::string& name) {
      auto it = slot.find(name);
      auto from = it != slot.end() ? folded_from.find(it->second) : folded_from.end();
      ops::SparseWeight w = sparse_weight(from != folded_from.end() ? from->second : name);
      if (w.present()) took_sparse.insert(name);
      return w;
    };
    ctx.subgraph = [&](const Graph& sub) -> Result<std::shared_ptr<const ops::Subgraph>> {
      // The subgraph's free names: constants are shared, other values become implicit inputs
      // of this node.
      OuterLookup inner = [&](const std::string& name) -> std::optional<OuterValue> {
        std::optional<int> s = lookup(name);
        if (!s) return std::nullopt;
        if (p->constants[*s]) return OuterValue{p->constants[*s], 0};
        step.in.push_back(*s);
        return OuterValue{nullptr, step.in.size() - 1};
      };
      auto compiled = std::make_shared<Program>();
      std::string attribute = "subgraph";
      for (const Attribute& a : node.attributes) {
        if (a.graph.get() == &sub) attribute = a.name;
      }
      compiled->label_prefix = p->label_prefix + step.name + "/" + attribute + "/";
      DEEPCOMP_RETURN_IF_ERROR(compile(sub, &inner, compiled.get(), nullptr));
      return std::shared_ptr<const ops::Subgraph>(std::move(compiled));
    };
    auto built = (*builder)(ctx);
    if (!built.ok()) return built.status().WithContext(label);
    step.op = std::move(built).value();
    bool runs_sparse = step.op.sparse;
    if (!step.op.weight.empty()) {
      layer_kernels.push_back({step.name, step.op_type, step.op.weight, step.op.density,
                               step.op.sparse, step.op.layout});
    }
    for (const ops::OpWeight& w : step.op.more_weights) {
      layer_kernels.push_back({step.name, step.op_type, w.name, w.density, w.sparse, {}});
      runs_sparse = runs_sparse || w.sparse;
    }
    for (const std::string& out : node.outputs) {
      if (out.empty()) {
        step.out.push_back(-1);
        continue;
      }
      if (slot.count(out)) return Status::Error(label + ": output '" + out + "' is defined twice");
      step.out.push_back(new_slot(out));
    }
    bool all_constant = true;
    for (int s : step.in) all_constant = all_constant && (s < 0 || p->constants[s] != nullptr);
    // A shape-only constant (no data) may only reach a layer that took its sparse form, or be
    // rearranged by a node folded here (its output is shape-only too).
    bool rearranges_shell = false;
    for (size_t k = 0; k < step.in.size(); ++k) {
      const int s = step.in[k];
      if (s < 0 || !p->constants[s] || !shape_only(*p->constants[s])) continue;
      const std::string& name = k < node.inputs.size() ? node.inputs[k] : std::string();
      if (took_sparse.count(name)) continue;
      if (k == 0 && all_constant && !runs_sparse && is_rearrangement(node.op_type)) {
        rearranges_shell = true;
        continue;
      }
      return Status::Error(label + ": input '" + name +
                           "' is given only in sparse form, and this operator reads its values");
    }
    if (all_constant && !runs_sparse) {
      // Fold: evaluate once now and keep the outputs as constants.
      ops::Inputs in;
      for (int s : step.in) in.push_back(s < 0 ? nullptr : p->constants[s].get());
      std::vector<Value> outs(step.out.size());
      // A rearrangement of a shape-only input gives a shape-only output (its shape only).
      Status st;
      if (rearranges_shell && !outs.empty()) {
        auto shell = rearranged_shell(node, in);
        if (shell.ok()) outs[0] = std::move(*shell);
        st = shell.status();
      } else {
        st = step.op.run(in, &outs);
      }
      if (!st.ok()) return st.WithContext(label);
      for (size_t k = 0; k < step.out.size(); ++k) {
        fit_to_dtype(&outs[k]);
        if (step.out[k] >= 0)
          p->constants[step.out[k]] = std::make_shared<const Value>(std::move(outs[k]));
      }
      const bool rearranges = is_rearrangement(node.op_type);
      if (rearranges && !step.in.empty() && step.in[0] >= 0 && !step.out.empty() &&
          step.out[0] >= 0) {
        if (auto f = folded_from.find(step.in[0]); f != folded_from.end()) {
          std::string source = f->second;
          folded_from[step.out[0]] = std::move(source);
        }
      }
      continue;
    }
    p->steps.push_back(std::move(step));
  }
  for (const ValueInfo& vi : g.outputs) {
    std::optional<int> s = lookup(vi.name);
    if (!s) return Status::Error("graph output '" + vi.name + "' is not produced by any node");
    if (p->constants[*s] && shape_only(*p->constants[*s]))
      return Status::Error("graph output '" + vi.name + "' is a weight given only in sparse form");
    p->output_slots.push_back(*s);
  }
  // Free each intermediate after its last reader (graph outputs are kept).
  std::vector<int> last_reader(p->num_slots, -1);
  for (size_t k = 0; k < p->steps.size(); ++k) {
    for (int s : p->steps[k].in) {
      if (s >= 0) last_reader[s] = static_cast<int>(k);
    }
  }
  for (int s : p->output_slots) last_reader[s] = -1;
  for (int s = 0; s < p->num_slots; ++s) {
    if (last_reader[s] >= 0 && !p->constants[s]) p->steps[last_reader[s]].release.push_back(s);
  }
  return Status::Ok();
}

}  // namespace

struct Session::Impl {
  SessionOptions options;
  std::vector<ValueInfo> inputs, outputs;
  Program main;
  std::vector<NodeTiming> timings;
  std::vector<LayerKernel> layer_kernels;
  FloatBufferPool pool;  // output storage recycled from run to run
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

const std::vector<ValueInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<ValueInfo>& Session::outputs() const { return impl_->outputs; }
const std::vector<NodeTiming>& Session::profile() const { return impl_->timings; }
void Session::set_profile(bool on) { impl_->options.profile = on; }
const std::vector<LayerKernel>& Session::layer_kernels() const { return impl_->layer_kernels; }
std::vector<std::string> Session::supported_ops() { return ops::supported_op_types(); }
bool Session::supports_op(const std::string& op_type) {
  return ops::find_builder(op_type) != nullptr;
}

Result<Session> Session::create(const Model& model, SessionOptions options) {
  try {
    kernels::isa();  // a bad DEEPCOMP_MAX_CPU_ISA is an error here, not inside a kernel's threads
  } catch (const std::invalid_argument& e) {
    return Status::Error(e.what());
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  for (const auto& [what, crossover] :
       {std::pair{"dense_above_density", impl->options.dense_above_density},
        std::pair{"conv_dense_above_density", impl->options.conv_dense_above_density}}) {
    if (!(crossover >= 0 && crossover <= 1)) {
      return Status::Error(std::string(what) + " must be in [0, 1], got " +
                           std::to_string(crossover));
    }
  }
  Compiler compiler{model, impl->options, 0, {}, {}};
  for (const OpsetImport& o : model.opsets) {
    if (is_default_domain(o.domain)) compiler.opset = o.version;
  }
  // Every sparse weight given must be used by some layer, so a misspelled name is an error.
  for (const auto& [name, m] : impl->options.csr_weights) compiler.unused_sparse.insert(name);
  for (const auto& [name, m] : impl->options.codebook_weights) compiler.unused_sparse.insert(name);
  DEEPCOMP_RETURN_IF_ERROR(compiler.compile(model.graph, nullptr, &impl->main, &impl->inputs));
  if (!compiler.unused_sparse.empty()) {
    return Status::Error("sparse weight '" + *compiler.unused_sparse.begin() +
                         "' is not the constant weight of any layer (Gemm, MatMul, Conv, "
                         "ConvTranspose, LSTM/GRU/RNN, Gather)");
  }
  impl->outputs = model.graph.outputs;
  impl->layer_kernels = std::move(compiler.layer_kernels);
  // The layers hold the sparse forms they run; a form expanded to dense is freed here.
  impl->options.codebook_weights.clear();
  impl->options.csr_weights.clear();
  return Session(std::move(impl));
}

Result<std::vector<Value>> Session::run(const std::vector<Value>& inputs) {
  Impl& im = *impl_;
  if (inputs.size() != im.inputs.size()) {
    return Status::Error("run: expected " + std::to_string(im.inputs.size()) + " inputs, got " +
                         std::to_string(inputs.size()));
  }
  if (im.options.threads > 0) omp_set_num_threads(im.options.threads);
  std::vector<const Value*> ptr = im.main.initial_pointers();
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
    ptr[im.main.input_slots[k]] = &v;
  }
  im.timings.clear();
  const FloatPoolScope scope(im.options.recycle_buffers ? &im.pool : nullptr);
  std::vector<Value> owned(im.main.num_slots);
  std::vector<NodeTiming>* const sink = im.options.profile ? &im.timings : nullptr;
  std::vector<NodeTiming>* const outer_sink = profile_sink;  // a Session run inside another's op
  profile_sink = sink;
  const Status ran = im.main.execute(&ptr, &owned, sink);
  profile_sink = outer_sink;
  DEEPCOMP_RETURN_IF_ERROR(ran);
  std::vector<Value> result;
  im.main.collect_outputs(ptr, &owned, &result);
  if (im.options.recycle_buffers) im.pool.end_run();
  return result;
}

}  // namespace deepcomp::runtime
