#include "cli/model_source.h"

#include <fmt/format.h>

#include <map>
#include <memory>
#include <set>

#include "cli/dcz_model.h"
#include "compress/container.h"
#include "compress/pipeline.h"
#include "kernels/sparse_matrix.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::cli {
namespace {

// How a weight feeds the layers that read it, in the Session's sparse layout (session.h).
struct SparseLayout {
  bool eligible = false;
  bool transpose = false;  // the matrix is W^T (Gemm transB=0, MatMul with W on the right)
  int64_t rows = 0;        // of W as stored, before any transpose
  int64_t cols = 0;
};

void mark_graph_uses(const Graph& graph, std::set<std::string>* names) {
  for (const Node& node : graph.nodes) {
    for (const std::string& in : node.inputs) names->insert(in);
    for (const Attribute& a : node.attributes) {
      if (a.graph) mark_graph_uses(*a.graph, names);
    }
  }
}

// Decides for every main-graph initializer whether all its readers are Gemm/MatMul/Conv taking
// it as the weight (input 1) in one common layout. Anything else (a Transpose or Reshape of the
// weight, MatMul with the weight on the left, a use inside a subgraph, a graph output) needs the
// dense values, because the Session would compute with the placeholder.
std::map<std::string, SparseLayout> sparse_layouts(const Model& model) {
  std::map<std::string, SparseLayout> layouts;
  std::set<std::string> blocked;
  for (const ValueInfo& out : model.graph.outputs) blocked.insert(out.name);
  for (const Node& node : model.graph.nodes) {
    for (const Attribute& a : node.attributes) {
      if (a.graph) mark_graph_uses(*a.graph, &blocked);
    }
  }
  for (const Node& node : model.graph.nodes) {
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const std::string& name = node.inputs[k];
      if (name.empty() || blocked.count(name)) continue;
      const Tensor* t = model.find_tensor(name);
      if (!t) continue;
      const bool domain_ok = node.domain.empty() || node.domain == "ai.onnx";
      SparseLayout use;
      const int64_t rank = static_cast<int64_t>(t->shape.size());
      if (k == 1 && domain_ok && (node.op_type == "Gemm" || node.op_type == "MatMul") &&
          rank == 2) {
        const Attribute* tb = node.attr("transB");
        const bool trans_b = node.op_type == "Gemm" && tb && tb->i != 0;
        use = {true, !trans_b, t->shape[0], t->shape[1]};
      } else if (k == 1 && domain_ok && node.op_type == "Conv" && (rank == 3 || rank == 4) &&
                 t->shape[0] > 0) {
        use = {true, false, t->shape[0], t->numel() / t->shape[0]};
      }
      auto it = layouts.find(name);
      if (!use.eligible) {
        blocked.insert(name);
        layouts.erase(name);
      } else if (it == layouts.end()) {
        layouts[name] = use;
      } else if (it->second.transpose != use.transpose || it->second.rows != use.rows) {
        blocked.insert(name);
        layouts.erase(it);
      }
    }
  }
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

Result<OpenedModel> open_dcz_sparse(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(compress::Container container, compress::read_container(path));
  // First pass: lossless tensors decoded, compressed ones as zero placeholders, so the graph can
  // be rebuilt and inspected before deciding which weights can stay compressed.
  std::vector<Tensor> tensors;
  tensors.reserve(container.tensors.size());
  std::map<std::string, const compress::EncodedTensor*> compressed;
  for (const compress::EncodedTensor& e : container.tensors) {
    if (e.encoding == compress::Encoding::kLossless) {
      auto t = compress::decode_tensor(e);
      if (!t.ok()) return t.status().WithContext(path);
      tensors.push_back(std::move(*t));
      continue;
    }
    Tensor t = compress::tensor_header(e);
    const int64_t n = t.numel();
    if (n < 0) return Status::Error(path + ": tensor '" + e.name + "': invalid shape");
    // The Session takes a weight's shape from its initializer and insists on a value of that
    // size, even when a sparse form replaces it; zeros are the cheapest such value and are never
    // read by the sparse kernels.
    t.values.assign(static_cast<size_t>(n), 0.0f);
    compressed[e.name] = &e;
    tensors.push_back(std::move(t));
  }
  OpenedModel opened;
  opened.is_dcz = true;
  opened.sparse = true;
  DEEPCOMP_ASSIGN_OR_RETURN(
      opened.model, onnx_io::model_from_skeleton(container.skeleton, std::move(tensors), path));
  const auto layouts = sparse_layouts(opened.model);
  for (const auto& [name, encoded] : compressed) {
    Tensor* t = opened.model.find_tensor(name);
    auto layout = layouts.find(name);
    const bool main_initializer =
        t && t->location.kind == LocationKind::kInitializer && t->location.graph_path.empty();
    if (main_initializer && layout != layouts.end() && is_float_dtype(t->dtype)) {
      Status st = add_sparse_weight(*encoded, layout->second, &opened.options);
      if (!st.ok()) return st.WithContext(path);
      ++opened.sparse_weights;
      continue;
    }
    // A compressed tensor whose readers cannot take a sparse matrix: expand it.
    auto dense = compress::decode_tensor(*encoded);
    if (!dense.ok()) return dense.status().WithContext(path);
    if (t) {
      t->values = std::move(dense->values);
      t->raw = std::move(dense->raw);
    }
    ++opened.dense_weights;
  }
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

Result<OpenedModel> open_model_for_kernel(const std::string& path, runtime::KernelChoice kernel) {
  const Mode mode = kernel == runtime::KernelChoice::kDense ? Mode::kDense : Mode::kSparse;
  DEEPCOMP_ASSIGN_OR_RETURN(OpenedModel opened, open_model(path, mode));
  opened.options.kernel = kernel;
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
  opened.model = Model{};
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
    line +=
        " (dense above " + fmt::format("{:g}", 100 * options.dense_above_density) + "% density)";
  }
  return line + ": " + std::to_string(sparse) + (sparse == 1 ? " layer" : " layers") + " sparse, " +
         std::to_string(total - sparse) + " dense";
}

}  // namespace deepcomp::cli
