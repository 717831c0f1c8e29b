#include "toolkit/model_source.h"

#include <fmt/format.h>

#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <set>
#include <unordered_set>

#include "compress/container.h"
#include "compress/pipeline.h"
#include "kernels/sparse_matrix.h"
#include "onnx_io/onnx_io.h"
#include "onnx_io/shape_only_model.h"
#include "toolkit/dcz_model.h"
#include "toolkit/kernel_profile.h"

namespace deepcomp::cli {
namespace {

// How a weight feeds the layers that read it, in the Session's sparse layout (session.h): the
// stored tensor's row-major data viewed as a rows x cols matrix, or that matrix's transpose.
struct SparseLayout {
  bool eligible = false;
  bool transpose = false;  // the layer's matrix is the transpose of the rows x cols view
  int64_t rows = 0;        // of the stored tensor viewed as a matrix, before any transpose
  int64_t cols = 0;
  bool operator==(const SparseLayout&) const = default;
};

// A value the Session folds from a main-graph initializer through Identity, Transpose and Reshape:
// its shape, and whether its row-major data is the initializer's (`transposed` false) or the
// transpose of the initializer viewed as [shape[1], shape[0]].
struct Derived {
  std::string source;
  std::vector<int64_t> shape;
  bool transposed = false;
};

void mark_graph_uses(const Graph& graph, std::set<std::string>* names) {
  for (const Node& node : graph.nodes) {
    for (const std::string& in : node.inputs) names->insert(in);
    for (const Attribute& a : node.attributes) {
      if (a.graph) mark_graph_uses(*a.graph, names);
    }
  }
}

int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// The values of a constant 1-D int64 tensor (Reshape's shape, Squeeze / Unsqueeze axes), or
// nullopt when `name` is not one (then the Session would not fold the node, and would compute
// with the placeholder).
std::optional<std::vector<int64_t>> int64_constant(const Model& model, const std::string& name) {
  const Tensor* t = model.find_tensor(name);
  if (!t || t->dtype != DType::kInt64 || t->shape.size() != 1 ||
      t->raw.size() != static_cast<size_t>(t->shape[0]) * sizeof(int64_t))
    return std::nullopt;
  std::vector<int64_t> v(static_cast<size_t>(t->shape[0]));
  if (!v.empty()) std::memcpy(v.data(), t->raw.data(), t->raw.size());
  return v;
}

// Reshape's target shape, when its shape input is a constant.
std::optional<std::vector<int64_t>> reshape_target(const Model& model, const Node& node,
                                                   const std::vector<int64_t>& in_shape) {
  if (node.inputs.size() != 2) return std::nullopt;
  std::optional<std::vector<int64_t>> target = int64_constant(model, node.inputs[1]);
  if (!target) return std::nullopt;
  const Attribute* az = node.attr("allowzero");
  const bool allowzero = az && az->i != 0;
  int64_t known = 1, infer = -1;
  for (size_t k = 0; k < target->size(); ++k) {
    int64_t& d = (*target)[k];
    if (d == 0 && !allowzero) {
      if (k >= in_shape.size()) return std::nullopt;
      d = in_shape[k];
    }
    if (d == -1) {
      if (infer >= 0) return std::nullopt;
      infer = static_cast<int64_t>(k);
    } else if (d < 0) {
      return std::nullopt;
    } else {
      known *= d;
    }
  }
  const int64_t n = product(in_shape);
  if (infer >= 0) {
    if (known == 0 || n % known != 0) return std::nullopt;
    (*target)[infer] = n / known;
  }
  if (product(*target) != n) return std::nullopt;
  return target;
}

// Squeeze / Unsqueeze's output shape: axes from input 1 (opset 13) or the attribute.
std::optional<std::vector<int64_t>> squeeze_target(const Model& model, const Node& node,
                                                   const std::vector<int64_t>& in_shape) {
  std::vector<int64_t> axes;
  if (node.inputs.size() >= 2 && !node.inputs[1].empty()) {
    auto given = int64_constant(model, node.inputs[1]);
    if (!given) return std::nullopt;
    axes = *given;
  } else if (const Attribute* a = node.attr("axes")) {
    axes = a->ints;
  }
  const bool unsqueeze = node.op_type == "Unsqueeze";
  const int64_t rank =
      static_cast<int64_t>(in_shape.size()) + (unsqueeze ? static_cast<int64_t>(axes.size()) : 0);
  std::vector<bool> listed(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank || listed[a < 0 ? a + rank : a]) return std::nullopt;
    listed[a < 0 ? a + rank : a] = true;
  }
  std::vector<int64_t> out;
  if (unsqueeze) {
    if (axes.empty()) return std::nullopt;
    for (int64_t d = 0, k = 0; d < rank; ++d) out.push_back(listed[d] ? 1 : in_shape[k++]);
    return out;
  }
  for (int64_t d = 0; d < rank; ++d) {
    const bool drop = axes.empty() ? in_shape[d] == 1 : listed[d];
    if (drop && in_shape[d] != 1) return std::nullopt;
    if (!drop) out.push_back(in_shape[d]);
  }
  return out;
}

// What a rearranging node (Identity, 2-D Transpose, and Reshape / Squeeze / Unsqueeze of
// untransposed data) makes of `in`.
std::optional<Derived> rearranged(const Model& model, const Node& node, const Derived& in) {
  if (node.outputs.size() != 1) return std::nullopt;
  if (node.op_type == "Identity") return in;
  if (node.op_type == "Transpose") {
    const Attribute* perm = node.attr("perm");
    if (in.shape.size() != 2 || (perm && perm->ints != std::vector<int64_t>{1, 0}))
      return std::nullopt;
    return Derived{in.source, {in.shape[1], in.shape[0]}, !in.transposed};
  }
  if (in.transposed) return std::nullopt;  // only a 2-D swap may follow a transpose
  std::optional<std::vector<int64_t>> target;
  if (node.op_type == "Reshape") target = reshape_target(model, node, in.shape);
  if (node.op_type == "Squeeze" || node.op_type == "Unsqueeze")
    target = squeeze_target(model, node, in.shape);
  if (target) return Derived{in.source, *target, false};
  return std::nullopt;
}

// The layout in which input `k` of `node`, holding `v`, needs its weight (eligible false when the
// node cannot take a sparse weight there).
SparseLayout consumer_layout(const Node& node, size_t k, const Derived& v) {
  const std::string& op = node.op_type;
  const std::vector<int64_t>& s = v.shape;
  const size_t rank = s.size();
  const int64_t numel = product(s);
  if (k == 1 && (op == "Gemm" || op == "MatMul") && rank == 2) {
    // The Session's matrix has rows = output features: B^T, or B itself for Gemm transB=1.
    const Attribute* tb = node.attr("transB");
    const bool want_b_transposed = !(op == "Gemm" && tb && tb->i != 0);
    const int64_t p = s[0], q = s[1];
    return {true, want_b_transposed != v.transposed, v.transposed ? q : p, v.transposed ? p : q};
  }
  if (v.transposed || numel <= 0) return {};
  if (k == 1 && op == "Conv" && rank >= 3 && rank <= 5) return {true, false, s[0], numel / s[0]};
  if (k == 1 && op == "ConvTranspose" && rank >= 3) return {true, false, s[0], numel / s[0]};
  if ((k == 1 || k == 2) && (op == "LSTM" || op == "GRU" || op == "RNN") && rank == 3)
    return {true, false, s[0] * s[1], s[2]};
  if (k == 0 && op == "Gather" && rank == 2) {
    const Attribute* axis = node.attr("axis");
    if (!axis || axis->i == 0 || axis->i == -2) return {true, false, s[0], s[1]};
  }
  return {};
}

// Decides for every initializer (of the main graph or of a subgraph: If branches, Loop / Scan
// bodies) whether all its readers in its graph are layers taking it as their weight in one common
// layout, directly or through Identity / Transpose / Reshape / Squeeze /
// Unsqueeze nodes the
// Session folds (it then hands the initializer's sparse form to the layer reading the folded
// value). Anything else (a use as data, inside a nested subgraph, a graph output, a Reshape whose
// shape is not constant, two layers wanting different layouts) needs the dense values, because the
// Session would compute with the placeholder.
void graph_sparse_layouts(const Model& model, const Graph& graph,
                          std::map<std::string, SparseLayout>* all) {
  std::map<std::string, SparseLayout> layouts;
  std::set<std::string> blocked;  // initializers that must stay dense
  std::set<std::string> escaped;  // values read outside the main graph's nodes
  for (const ValueInfo& out : graph.outputs) escaped.insert(out.name);
  for (const Node& node : graph.nodes) {
    for (const Attribute& a : node.attributes) {
      if (!a.graph) continue;
      mark_graph_uses(*a.graph, &escaped);
      graph_sparse_layouts(model, *a.graph, all);  // the subgraph's own constants
    }
  }
  std::map<std::string, Derived> derived;
  auto add_derived = [&](const std::string& value, Derived d) {
    if (escaped.count(value)) blocked.insert(d.source);
    derived[value] = std::move(d);
  };
  for (const std::string& name : graph.initializers) {
    if (const Tensor* t = model.find_tensor(name))
      add_derived(name, Derived{name, t->shape, false});
  }
  for (const Node& node : graph.nodes) {
    const bool domain_ok = node.domain.empty() || node.domain == "ai.onnx";
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      auto d = derived.find(node.inputs[k]);
      if (d == derived.end()) continue;
      const Derived v = d->second;
      if (!domain_ok) {
        blocked.insert(v.source);
        continue;
      }
      if (k == 0 &&
          (node.op_type == "Identity" || node.op_type == "Transpose" || node.op_type == "Reshape" ||
           node.op_type == "Squeeze" || node.op_type == "Unsqueeze")) {
        if (auto out = rearranged(model, node, v)) {
          add_derived(node.outputs[0], std::move(*out));
        } else {
          blocked.insert(v.source);
        }
        continue;
      }
      const SparseLayout use = consumer_layout(node, k, v);
      auto it = layouts.find(v.source);
      if (!use.eligible) {
        blocked.insert(v.source);
      } else if (it == layouts.end()) {
        layouts[v.source] = use;
      } else if (!(it->second == use)) {
        blocked.insert(v.source);
      }
    }
  }
  for (const std::string& name : blocked) layouts.erase(name);
  all->insert(layouts.begin(), layouts.end());
}

std::map<std::string, SparseLayout> sparse_layouts(const Model& model) {
  std::map<std::string, SparseLayout> layouts;
  graph_sparse_layouts(model, model.graph, &layouts);
  return layouts;
}

// CSR (float values) from ascending flattened positions, for encodings without a codebook.
Result<kernels::CsrMatrix> csr_from_positions(const std::string& name, int64_t rows, int64_t cols,
                                              const compress::SparseTensor& s) {
  kernels::CsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.row_ptr.assign(static_cast<size_t>(rows) + 1, 0);
  if (s.positions.size() != s.values.size()) {
    return Status::Error("tensor '" + name + "': positions and values differ in count");
  }
  int64_t prev = -1;
  for (size_t k = 0; k < s.positions.size(); ++k) {
    const int64_t p = s.positions[k];
    if (p <= prev || p >= rows * cols) {
      return Status::Error("tensor '" + name + "': sparse position " + std::to_string(p) +
                           " out of order or out of range");
    }
    prev = p;
    ++m.row_ptr[static_cast<size_t>(p / cols) + 1];
    m.col_idx.push_back(static_cast<int32_t>(p % cols));
    m.values.push_back(s.values[k]);
  }
  for (int64_t r = 0; r < rows; ++r) m.row_ptr[r + 1] += m.row_ptr[r];
  return m;
}

// Fills options with the sparse form of `encoded` in `layout`.
Status add_sparse_weight(const compress::EncodedTensor& encoded, const SparseLayout& layout,
                         runtime::SessionOptions* options) {
  DEEPCOMP_ASSIGN_OR_RETURN(compress::SparseTensor s, compress::decode_sparse(encoded));
  if (!s.codebook.empty()) {
    kernels::CodebookCsrMatrix m;
    std::string error;
    if (!kernels::codebook_csr_from(layout.rows, layout.cols, s.positions, s.clusters, s.codebook,
                                    &m, &error)) {
      return Status::Error("tensor '" + encoded.name + "': " + error);
    }
    if (layout.transpose) m = kernels::codebook_csr_transpose(m);
    options->codebook_weights[encoded.name] =
        std::make_shared<const kernels::CodebookCsrMatrix>(std::move(m));
    return Status::Ok();
  }
  DEEPCOMP_ASSIGN_OR_RETURN(kernels::CsrMatrix m,
                            csr_from_positions(encoded.name, layout.rows, layout.cols, s));
  if (layout.transpose) m = kernels::csr_transpose(m);
  options->csr_weights[encoded.name] = std::make_shared<const kernels::CsrMatrix>(std::move(m));
  return Status::Ok();
}

// The QDQ form of a pruned 8-bit layer: DequantizeLinear(W, scale, zero point) feeding the weight
// input of Conv / Gemm / MatMul directly. The Session folds the DequantizeLinear into a dense
// float constant; the layer runs instead on the CSR of that constant's nonzero entries (a pruned
// code equals its zero point, so it dequantizes to exactly 0), each computed as DequantizeLinear
// computes it. Layers it cannot prove safe (another reader, a rearrangement in between, a blocked
// or malformed scale) keep the dense path. Returns how many weights were made sparse.
int add_qdq_sparse_weights(const Model& model, runtime::SessionOptions* options) {
  std::set<std::string> escaped;
  for (const ValueInfo& out : model.graph.outputs) escaped.insert(out.name);
  for (const Node& node : model.graph.nodes)
    for (const Attribute& a : node.attributes)
      if (a.graph) mark_graph_uses(*a.graph, &escaped);
  int added = 0;
  for (const Node& dq : model.graph.nodes) {
    if (dq.op_type != "DequantizeLinear" || dq.inputs.size() < 2 || dq.outputs.size() != 1 ||
        options->int_sparse_weights.count(dq.inputs[0]) == 0 || escaped.count(dq.outputs[0]))
      continue;
    const Attribute* block = dq.attr("block_size");
    if (block && block->i != 0) continue;
    const Tensor* x = model.find_tensor(dq.inputs[0]);
    const Tensor* scale = model.find_tensor(dq.inputs[1]);
    const Tensor* zp =
        dq.inputs.size() > 2 && !dq.inputs[2].empty() ? model.find_tensor(dq.inputs[2]) : nullptr;
    if (!x || !scale || (x->dtype != DType::kInt8 && x->dtype != DType::kUInt8) ||
        scale->dtype != DType::kFloat32 || static_cast<int64_t>(x->raw.size()) != x->numel() ||
        static_cast<int64_t>(scale->values.size()) != scale->numel() ||
        (zp && (zp->dtype != x->dtype || static_cast<int64_t>(zp->raw.size()) != zp->numel())))
      continue;
    // Per tensor, or one scale (and zero point) per index along `axis`.
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    const Attribute* axis_attr = dq.attr("axis");
    int64_t axis = axis_attr ? axis_attr->i : 1;
    if (axis < 0) axis += rank;
    int64_t dim = 1, inner = 1;
    if (scale->numel() != 1) {
      if (axis < 0 || axis >= rank || scale->numel() != x->shape[axis]) continue;
      dim = x->shape[axis];
      for (int64_t d = axis + 1; d < rank; ++d) inner *= x->shape[d];
    }
    if (zp && zp->numel() != scale->numel()) continue;
    // Every reader must be a layer taking it as its weight, all in one layout.
    const Derived v{dq.outputs[0], x->shape, false};
    std::optional<SparseLayout> layout;
    bool ok = true;
    for (const Node& node : model.graph.nodes) {
      for (size_t k = 0; k < node.inputs.size() && ok; ++k) {
        if (node.inputs[k] != v.source) continue;
        const bool layer =
            node.op_type == "Conv" || node.op_type == "Gemm" || node.op_type == "MatMul";
        const SparseLayout use = consumer_layout(node, k, v);
        ok = layer && use.eligible && (!layout || *layout == use);
        layout = use;
      }
    }
    if (!ok || !layout) continue;
    auto code = [](const Tensor& t, int64_t k) -> int64_t {
      const auto b = static_cast<unsigned char>(t.raw[static_cast<size_t>(k)]);
      return t.dtype == DType::kInt8 ? static_cast<int8_t>(b) : b;
    };
    std::vector<float> y(static_cast<size_t>(x->numel()));
    for (int64_t k = 0; k < x->numel(); ++k) {
      const int64_t p = dim == 1 ? 0 : (k / inner) % dim;
      y[k] = static_cast<float>(code(*x, k) - (zp ? code(*zp, p) : 0)) * scale->values[p];
    }
    options->csr_weights[v.source] = std::make_shared<const kernels::CsrMatrix>(
        layout->transpose
            ? kernels::CsrMatrix::from_dense_transposed(y.data(), layout->rows, layout->cols)
            : kernels::CsrMatrix::from_dense(y.data(), layout->rows, layout->cols));
    ++added;
  }
  return added;
}

// Exporters such as paddle2onnx keep every weight in a Constant node rather than an initializer
// (PaddleOCR's detector: 342 Constant nodes, all 64 of its layer weights among them), and some
// inline whole modules into If branches as Constants (Silero VAD v5/v6: 14 layer weights). The
// model run from a .dcz gets each Constant whose tensor is compressed turned into an initializer
// of the same name in the same graph (the node dropped), so its layer can take the sparse form
// like an initializer's; the .dcz itself is unchanged. (A Constant that is also an output of its
// graph stays.) `path` is the graph's path as onnx_io names it (TensorLocation::graph_path).
void hoist_compressed_constants(
    Model* model, Graph* graph, const std::string& path,
    const std::map<std::string, const compress::EncodedTensor*>& compressed) {
  std::set<std::string> graph_outputs;
  for (const ValueInfo& o : graph->outputs) graph_outputs.insert(o.name);
  std::vector<Node> kept;
  kept.reserve(graph->nodes.size());
  for (size_t i = 0; i < graph->nodes.size(); ++i) {
    Node& n = graph->nodes[i];
    for (Attribute& a : n.attributes) {
      if (!a.graph) continue;
      // onnx_io's path segment of a node: its name, else its first output, else its index.
      const std::string segment = !n.name.empty() ? n.name
                                  : !n.outputs.empty() && !n.outputs[0].empty()
                                      ? n.outputs[0]
                                      : "node" + std::to_string(i);
      hoist_compressed_constants(model, a.graph.get(),
                                 (path.empty() ? "" : path + "/") + segment + "/" + a.name,
                                 compressed);
    }
    const bool constant = n.op_type == "Constant" && (n.domain.empty() || n.domain == "ai.onnx") &&
                          n.outputs.size() == 1 && n.attributes.size() == 1 &&
                          n.attributes[0].name == "value";
    Tensor* t = constant ? model->find_tensor(n.attributes[0].tensor) : nullptr;
    if (t && t->name == n.outputs[0] && compressed.count(t->name) &&
        !graph_outputs.count(t->name) && t->location.kind == LocationKind::kConstantNode &&
        t->location.graph_path == path) {
      t->location = TensorLocation{};  // an initializer of this graph
      t->location.graph_path = path;
      graph->initializers.push_back(t->name);
      continue;
    }
    kept.push_back(std::move(n));
  }
  graph->nodes = std::move(kept);
}

Result<OpenedModel> open_dcz_sparse(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(compress::Container container, read_dcz(path));
  // First pass: lossless tensors decoded, compressed ones as shapes without data, so the graph
  // can be rebuilt and inspected before deciding which weights can stay compressed. A weight
  // that stays compressed is never expanded here: the Session takes it in sparse form only.
  std::vector<Tensor> tensors;
  tensors.reserve(container.tensors.size());
  std::map<std::string, const compress::EncodedTensor*> compressed;
  std::unordered_set<std::string> shape_only;
  std::set<std::string> int_sparse;
  for (const compress::EncodedTensor& e : container.tensors) {
    // 8-bit quantized layers run on their integer codes, decoded here; the pruned ones on the
    // sparse integer kernels, which the operators build from these codes and their zero points.
    if (e.encoding == compress::Encoding::kLossless || compress::is_quantized_layer(e)) {
      auto t = decode_dense(e, path);
      if (!t.ok()) return t.status();
      tensors.push_back(std::move(*t));
      if (compress::is_quantized_layer(e) && e.encoding == compress::Encoding::kSparseShared)
        int_sparse.insert(e.name);
      continue;
    }
    Tensor t = compress::tensor_header(e);
    if (t.numel() < 0) return Status::Error(path + ": tensor '" + e.name + "': invalid shape");
    compressed[e.name] = &e;
    shape_only.insert(e.name);
    tensors.push_back(std::move(t));
  }
  OpenedModel opened;
  opened.is_dcz = true;
  opened.sparse = true;
  opened.options.int_sparse_weights = std::move(int_sparse);
  DEEPCOMP_ASSIGN_OR_RETURN(
      opened.model, onnx_io::model_from_skeleton_shape_only(container.skeleton, std::move(tensors),
                                                            path, shape_only));
  hoist_compressed_constants(&opened.model, &opened.model.graph, "", compressed);
  const auto layouts = sparse_layouts(opened.model);
  for (const auto& [name, encoded] : compressed) {
    Tensor* t = opened.model.find_tensor(name);
    auto layout = layouts.find(name);
    const bool initializer = t && t->location.kind == LocationKind::kInitializer;
    if (initializer && layout != layouts.end() && is_float_dtype(t->dtype)) {
      Status st;
      try {
        st = add_sparse_weight(*encoded, layout->second, &opened.options);
      } catch (const std::bad_alloc&) {
        st = Status::Error("tensor '" + name + "': out of memory building its sparse form");
      }
      if (!st.ok()) return st.WithContext(path);
      ++opened.sparse_weights;
      continue;
    }
    // A compressed tensor whose readers cannot take a sparse matrix: expand it. (A layer that
    // takes the sparse form but runs dense under --kernel auto expands it in the Session.)
    auto dense = decode_dense(*encoded, path);
    if (!dense.ok()) return dense.status();
    if (t) {
      t->values = std::move(dense->values);
      t->raw = std::move(dense->raw);
    }
    ++opened.dense_weights;
  }
  opened.sparse_weights += add_qdq_sparse_weights(opened.model, &opened.options);
  opened.description =
      path + " (sparse from the compressed form: " + std::to_string(opened.sparse_weights) +
      " weights sparse";
  if (opened.dense_weights > 0) {
    opened.description += ", " + std::to_string(opened.dense_weights) + " expanded";
  }
  opened.description += ")";
  return opened;
}

}  // namespace

Mode default_mode(bool is_dcz) { return is_dcz ? Mode::kSparse : Mode::kDense; }

Result<OpenedModel> open_model(const std::string& path, Mode mode) {
  const bool dcz = is_dcz_file(path);
  if (dcz && mode == Mode::kSparse) return open_dcz_sparse(path);
  OpenedModel opened;
  opened.is_dcz = dcz;
  if (dcz) {
    DEEPCOMP_ASSIGN_OR_RETURN(opened.model, load_dcz_dense(path));
    opened.description = path + " (dense: weights decoded)";
    return opened;
  }
  DEEPCOMP_ASSIGN_OR_RETURN(opened.model, onnx_io::load_model(path));
  if (mode == Mode::kSparse) {
    opened.sparse = true;
    opened.options.sparse_from_dense = true;
    opened.description = path + " (sparse: CSR from the dense weights)";
  } else {
    opened.description = path + " (dense)";
  }
  return opened;
}

void add_kernel_flags(CLI::App* cmd, KernelFlags* flags) {
  cmd->add_option("--kernel", flags->kernel,
                  "Kernels for layers with a sparse form: auto (default: sparse at or below the "
                  "measured density crossover, dense above), sparse, dense")
      ->check(CLI::IsMember({"auto", "sparse", "dense"}));
  cmd->add_flag(
      "--sparse", flags->sparse,
      "Same as --kernel sparse: every Gemm/MatMul/Conv weight sparse (.dcz: codebook-CSR)");
  cmd->add_flag("--dense", flags->dense, "Same as --kernel dense: every weight dense");
}

Result<runtime::KernelChoice> kernel_for_flags(const KernelFlags& flags) {
  const std::string& kernel = flags.kernel;
  const bool sparse_flag = flags.sparse, dense_flag = flags.dense;
  if (sparse_flag && dense_flag) return Status::Error("--sparse and --dense exclude each other");
  if (!kernel.empty() && (sparse_flag || dense_flag))
    return Status::Error("--kernel and --" + std::string(sparse_flag ? "sparse" : "dense") +
                         " exclude each other");
  if (sparse_flag) return runtime::KernelChoice::kSparse;
  if (dense_flag) return runtime::KernelChoice::kDense;
  if (kernel.empty()) return runtime::KernelChoice::kAuto;
  auto parsed = runtime::parse_kernel_choice(kernel);
  if (!parsed) return Status::Error("--kernel: '" + kernel + "' is not auto, sparse or dense");
  return *parsed;
}

Result<OpenedModel> open_model_for_kernel(const std::string& path, runtime::KernelChoice kernel,
                                          const std::string& profile_path) {
  const Mode mode = kernel == runtime::KernelChoice::kDense ? Mode::kDense : Mode::kSparse;
  DEEPCOMP_ASSIGN_OR_RETURN(OpenedModel opened, open_model(path, mode));
  opened.options.kernel = kernel;
  if (kernel == runtime::KernelChoice::kAuto) {
    DEEPCOMP_ASSIGN_OR_RETURN(
        std::optional<KernelProfile> profile,
        read_kernel_profile(profile_path.empty() ? default_kernel_profile_path() : profile_path));
    if (profile) {
      opened.options.dense_above_density = profile->dense_above_density;
      opened.options.conv_dense_above_density = profile->conv_dense_above_density;
    }
  }
  if (kernel == runtime::KernelChoice::kAuto && !opened.is_dcz) {
    opened.description = path + " (dense; CSR for layers at or below the density crossover)";
  }
  return opened;
}

Result<LoadedModel> load_for_kernel_flags(const std::string& path, const KernelFlags& flags,
                                          int threads) {
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::KernelChoice kernel, kernel_for_flags(flags));
  DEEPCOMP_ASSIGN_OR_RETURN(OpenedModel opened, open_model_for_kernel(path, kernel));
  opened.options.threads = threads;
  auto session = runtime::Session::create(opened.model, opened.options);
  if (!session.ok()) return session.status().WithContext(path);
  // The Session holds what it runs (the sparse forms of the sparse layers, dense copies of the
  // rest); the model and the sparse forms of the layers it expanded are freed here.
  opened.model = Model{};
  opened.options.codebook_weights.clear();
  opened.options.csr_weights.clear();
  return LoadedModel{std::move(opened), std::move(*session)};
}

int sparse_layer_count(const runtime::Session& session) {
  int sparse = 0;
  for (const runtime::LayerKernel& layer : session.layer_kernels()) sparse += layer.sparse;
  return sparse;
}

std::string kernel_summary(const runtime::Session& session,
                           const runtime::SessionOptions& options) {
  const int total = static_cast<int>(session.layer_kernels().size());
  const int sparse = sparse_layer_count(session);
  std::string line = std::string("kernel ") + runtime::kernel_choice_name(options.kernel);
  if (options.kernel == runtime::KernelChoice::kAuto) {
    line += fmt::format(" (dense above {:g}% density, Conv above {:g}%)",
                        100 * options.dense_above_density, 100 * options.conv_dense_above_density);
  }
  line += ": " + std::to_string(sparse) + (sparse == 1 ? " layer" : " layers") + " sparse, " +
          std::to_string(total - sparse) + " dense";
  // How many Gemm/MatMul layers run each sparse layout (ops_nn.cc picks it at setup).
  std::map<std::string, int> layouts;
  for (const runtime::LayerKernel& layer : session.layer_kernels()) {
    if (!layer.layout.empty()) ++layouts[layer.layout];
  }
  std::string sep = "; fc layouts: ";
  for (const auto& [layout, count] : layouts) {
    line += sep + std::to_string(count) + " " + layout;
    sep = ", ";
  }
  return line;
}

}  // namespace deepcomp::cli
