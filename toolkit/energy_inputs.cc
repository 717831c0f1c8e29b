#include "toolkit/energy_inputs.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <unordered_map>

#include "onnx_io/onnx_io.h"
#include "toolkit/terminal.h"

namespace deepcomp::cli {
namespace {

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 0;
  return runtime::checked_numel(shape, &n) ? n : 0;
}

// The node a profile entry names: its name, or "#index" for an unnamed node.
// A graph's nodes by label (the name, or "#index" for an unnamed node, as the Session labels
// them), indexed once: a search per layer was quadratic in the number of layers (issue 18:
// compress on 300,000 layers spent 78% of its time here).
// Nodes of subgraphs are labelled as the Session's profile labels them: "OWNER/ATTRIBUTE/label".
class NodeIndex {
 public:
  explicit NodeIndex(const Graph& graph) { add(graph, ""); }
  const Node* find(const std::string& label) const {
    auto it = by_label_.find(label);
    return it == by_label_.end() ? nullptr : it->second;
  }

 private:
  void add(const Graph& graph, const std::string& prefix) {
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& node = graph.nodes[i];
      const std::string label = prefix + (node.name.empty() ? "#" + std::to_string(i) : node.name);
      by_label_.emplace(label, &node);  // the first of a repeated name wins
      for (const Attribute& a : node.attributes) {
        if (a.graph) add(*a.graph, label + "/" + a.name + "/");
      }
    }
  }
  std::unordered_map<std::string, const Node*> by_label_;
};

bool has_subgraphs(const Graph& graph) {
  for (const Node& node : graph.nodes) {
    for (const Attribute& a : node.attributes) {
      if (a.graph) return true;
    }
  }
  return false;
}

std::optional<std::string> read_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

std::optional<uint64_t> read_u64(const std::filesystem::path& path) {
  auto line = read_line(path);
  if (!line || line->empty()) return std::nullopt;
  char* end = nullptr;
  const uint64_t v = std::strtoull(line->c_str(), &end, 10);
  if (end == line->c_str()) return std::nullopt;
  return v;
}

}  // namespace

CompressedStats compressed_stats_from_report(const compress::CompressReport& report) {
  CompressedStats stats;
  for (const compress::LayerReport& l : report.layers) {
    CompressedLayerStats s;
    s.bits = l.bytes.huffman * 8;
    // A tensor stored losslessly runs dense: every weight is multiplied.
    s.nonzero = l.compressed ? l.nonzero : l.params;
    s.index_bits = l.compressed ? l.index_bits : 0;
    s.index_entries = s.index_bits > 0 ? l.nonzero + l.fillers : 0;
    s.shared = l.compressed && l.bits > 0;
    stats[l.name] = s;
  }
  return stats;
}

CompressedStats compressed_stats_from_container(const compress::Container& container) {
  CompressedStats stats;
  for (const compress::EncodedTensor& t : container.tensors) {
    CompressedLayerStats s;
    const int64_t numel = numel_of(t.shape);
    s.bits =
        8.0 * static_cast<double>(t.raw.size() + t.index.bits.size() + t.clusters.bits.size()) +
        32.0 * static_cast<double>(t.codebook.size());
    switch (t.encoding) {
      case compress::Encoding::kLossless:
        s.nonzero = numel;
        break;
      case compress::Encoding::kSharedDense:
        s.nonzero = numel;
        s.shared = true;
        break;
      case compress::Encoding::kSparseShared:
        s.nonzero = static_cast<int64_t>(t.clusters.count);
        s.shared = true;
        break;
      case compress::Encoding::kSparseFloat:
        s.nonzero = static_cast<int64_t>(t.raw.size() / 4);
        break;
    }
    if (t.encoding == compress::Encoding::kSparseShared ||
        t.encoding == compress::Encoding::kSparseFloat) {
      s.index_bits = static_cast<int>(t.index_bits);
      s.index_entries = static_cast<int64_t>(t.index.count);
    }
    s.nonzero = std::min(s.nonzero, numel);
    stats[t.name] = s;
  }
  return stats;
}

Result<std::vector<runtime::Value>> sample_inputs(const runtime::Session& session,
                                                  const std::vector<InputSpec>& given) {
  DEEPCOMP_ASSIGN_OR_RETURN(auto named, load_named_inputs(given, session.inputs()));
  std::vector<runtime::Value> values;
  uint32_t state = 12345;
  for (size_t k = 0; k < session.inputs().size(); ++k) {
    if (named[k]) {
      values.push_back(std::move(*named[k]));
      continue;
    }
    const ValueInfo& info = session.inputs()[k];
    if (!info.has_shape)
      return Status::Error("input '" + info.name +
                           "' has no declared shape; the energy report needs one to run the "
                           "model (give it with --input " +
                           info.name + "=FILE.npy)");
    std::vector<int64_t> shape = info.dims;
    for (int64_t& d : shape)
      if (d < 0) d = 1;
    int64_t n = 0;
    if (!runtime::checked_numel(shape, &n) || n > (int64_t{1} << 28))
      return Status::Error("input '" + info.name + "' shape " + runtime::shape_string(shape) +
                           " is too large for a sample run");
    const DType dtype = info.dtype == DType::kUndefined ? DType::kFloat32 : info.dtype;
    if (!runtime::is_runtime_dtype(dtype))
      return Status::Error("input '" + info.name + "' has dtype " + dtype_name(dtype) +
                           ", which the runtime does not run");
    runtime::Value v = runtime::zeros_like_dtype(dtype, shape);
    // A fixed LCG: the same sample every run, no zeros that sparse-aware code could skip.
    // Integer and bool inputs (ids, masks, lengths) stay zero: always a valid index.
    for (float& x : v.f) {
      state = state * 1664525u + 1013904223u;
      x = static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
    }
    runtime::fit_to_dtype(&v);
    values.push_back(std::move(v));
  }
  return values;
}

namespace {

// ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul: 8-bit weights and integer MACs.
bool is_integer_layer(const std::string& op) {
  return op == "ConvInteger" || op == "MatMulInteger" || op == "QLinearConv" ||
         op == "QLinearMatMul";
}
size_t weight_input(const std::string& op) {
  return op == "QLinearConv" || op == "QLinearMatMul" ? 3 : 1;
}

}  // namespace

std::optional<std::vector<WeightNode>> static_weight_nodes(const Model& dense) {
  // Layers inside If / Loop / Scan bodies: which run, and how often, only a run tells.
  if (has_subgraphs(dense.graph)) return std::nullopt;
  auto shapes = onnx_io::infer_static_shapes(dense);
  if (!shapes.ok()) return std::nullopt;
  std::vector<WeightNode> nodes;
  for (size_t i = 0; i < dense.graph.nodes.size(); ++i) {
    const Node& node = dense.graph.nodes[i];
    const bool integer = is_integer_layer(node.op_type);
    const bool conv =
        node.op_type == "Conv" || node.op_type == "ConvInteger" || node.op_type == "QLinearConv";
    if (!conv && !integer && node.op_type != "Gemm" && node.op_type != "MatMul") continue;
    if (!node.domain.empty() && node.domain != "ai.onnx") continue;
    const size_t wi = weight_input(node.op_type);
    if (node.inputs.size() <= wi || node.outputs.empty()) continue;
    const Tensor* w = dense.find_tensor(node.inputs[wi]);
    // The runtime's rule for a layer with a weight: a float constant of rank 2 (Gemm, MatMul) or
    // 3-4 (Conv), applied to a computed input (a node on constants alone is folded away); an
    // 8-bit constant for the integer layers.
    if (!w || (integer ? w->dtype != DType::kInt8 && w->dtype != DType::kUInt8
                       : !is_float_dtype(w->dtype)))
      continue;
    const size_t rank = w->shape.size();
    if (conv ? (rank < 3 || rank > 4) : rank != 2) continue;
    if (dense.find_tensor(node.inputs[0]) != nullptr) continue;
    auto in = shapes->find(node.inputs[0]);
    auto out = shapes->find(node.outputs[0]);
    if (in == shapes->end() || out == shapes->end()) return std::nullopt;  // the run will tell
    WeightNode n;
    n.node = node.name.empty() ? "#" + std::to_string(i) : node.name;
    n.op_type = node.op_type;
    n.weight = node.inputs[wi];
    n.input_shape = in->second;
    n.output_shape = out->second;
    nodes.push_back(std::move(n));
  }
  return nodes;
}

Result<std::vector<WeightNode>> profiled_weight_nodes(const Model& dense,
                                                      const std::vector<InputSpec>& given) {
  runtime::SessionOptions options;
  options.profile = true;
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::Session session, runtime::Session::create(dense, options));
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<runtime::Value> inputs, sample_inputs(session, given));
  DEEPCOMP_RETURN_IF_ERROR(session.run(inputs).status());
  std::vector<WeightNode> nodes;
  for (const runtime::NodeTiming& t : session.profile()) {
    if (t.weight.empty() || t.output_shapes.empty() || t.input_shapes.empty()) continue;
    if (!dense.find_tensor(t.weight)) continue;  // a product of two activations has no weight
    nodes.push_back(WeightNode{t.node, t.op_type, t.weight, t.input_shapes[0], t.output_shapes[0]});
  }
  return nodes;
}

Result<std::vector<compress::LayerWork>> gather_layer_work(const Model& dense,
                                                           const CompressedStats& compressed,
                                                           const std::vector<InputSpec>& given) {
  // Shape inference needs no copy of the weights and no run; the run covers what it cannot see,
  // and given inputs fix shapes that the declared ones may leave free.
  std::optional<std::vector<WeightNode>> nodes;
  if (given.empty()) nodes = static_weight_nodes(dense);
  if (!nodes) {
    DEEPCOMP_ASSIGN_OR_RETURN(std::vector<WeightNode> profiled,
                              profiled_weight_nodes(dense, given));
    nodes = std::move(profiled);
  }
  std::vector<compress::LayerWork> layers;
  std::unordered_map<std::string, size_t> layer_of;  // node label -> its entry in layers
  const NodeIndex node_index(dense.graph);
  for (const WeightNode& t : *nodes) {
    const Tensor* w = dense.find_tensor(t.weight);
    const std::vector<int64_t>& out = t.output_shape;
    const bool conv =
        t.op_type == "Conv" || t.op_type == "ConvInteger" || t.op_type == "QLinearConv";
    if (out.empty() || (conv && out.size() < 2))
      return Status::Error("node '" + t.node + "' (" + t.op_type + ") produced output shape " +
                           runtime::shape_string(out));
    // Output features: the channel axis of a Conv, the last axis of Gemm/MatMul; every other
    // output axis is a position at which the whole weight is applied once.
    const int64_t features = conv ? out[1] : out.back();
    if (auto seen = layer_of.find(t.node); seen != layer_of.end()) {
      // A layer of a Loop or Scan body, run again: its work adds up, its weight is read once.
      compress::LayerWork& l = layers[seen->second];
      l.out_elements += numel_of(out);
      l.positions += features > 0 ? numel_of(out) / features : 0;
      l.in_elements += numel_of(t.input_shape);
      continue;
    }
    layer_of.emplace(t.node, layers.size());
    compress::LayerWork l;
    l.name = t.weight;
    l.kind = conv ? "conv" : "fc";
    l.integer = is_integer_layer(t.op_type);
    l.weights = w->numel();
    l.out_elements = numel_of(out);
    l.positions = features > 0 ? l.out_elements / features : 0;
    l.in_elements = numel_of(t.input_shape);
    l.dense_bits = 8.0 * static_cast<double>(w->byte_size());
    const Node* node = node_index.find(t.node);
    const Tensor* bias = nullptr;
    const size_t bi = t.op_type == "QLinearConv" ? 8 : 2;
    if (node && (t.op_type == "Conv" || t.op_type == "Gemm" || t.op_type == "QLinearConv") &&
        node->inputs.size() > bi && !node->inputs[bi].empty())
      bias = dense.find_tensor(node->inputs[bi]);
    if (bias) {
      l.bias = bias->numel();
      l.dense_bits += 8.0 * static_cast<double>(bias->byte_size());
    }
    auto it = compressed.find(t.weight);
    if (it != compressed.end()) {
      l.compressed_bits = it->second.bits;
      l.nonzero = std::min(it->second.nonzero, l.weights);
      l.index_entries = it->second.index_entries;
      l.index_bits = it->second.index_bits;
      l.shared = it->second.shared;
    } else {
      l.compressed_bits = 8.0 * static_cast<double>(w->byte_size());
      l.nonzero = l.weights;
    }
    if (bias) {
      auto b = compressed.find(bias->name);
      l.compressed_bits +=
          b != compressed.end() ? b->second.bits : 8.0 * static_cast<double>(bias->byte_size());
    }
    layers.push_back(std::move(l));
  }
  return layers;
}

std::optional<RaplReading> read_rapl() {
  namespace fs = std::filesystem;
  const fs::path root = "/sys/class/powercap";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return std::nullopt;
  static const std::regex package_domain("intel-rapl:[0-9]+");
  std::vector<fs::path> domains;
  for (const auto& entry : fs::directory_iterator(root, ec))
    if (std::regex_match(entry.path().filename().string(), package_domain))
      domains.push_back(entry.path());
  if (domains.empty()) return std::nullopt;
  std::sort(domains.begin(), domains.end());
  RaplReading reading;
  for (const fs::path& d : domains) {
    auto energy = read_u64(d / "energy_uj");
    auto range = read_u64(d / "max_energy_range_uj");
    if (!energy) return std::nullopt;
    reading.energy_uj.push_back(*energy);
    reading.max_range_uj.push_back(range.value_or(0));
  }
  return reading;
}

double rapl_joules(const RaplReading& before, const RaplReading& after) {
  double uj = 0;
  const size_t n = std::min(before.energy_uj.size(), after.energy_uj.size());
  for (size_t k = 0; k < n; ++k) {
    const uint64_t a = before.energy_uj[k], b = after.energy_uj[k];
    if (b >= a) {
      uj += static_cast<double>(b - a);
    } else if (before.max_range_uj[k] > a) {
      uj += static_cast<double>(before.max_range_uj[k] - a + b);  // the counter wrapped once
    }
  }
  return uj / 1e6;
}

Result<LatencyResult> measure_latency(runtime::Session& session,
                                      const std::vector<runtime::Value>& inputs, int runs,
                                      double max_seconds, const std::string& label) {
  if (runs < 1) return Status::Error("latency: runs must be >= 1, got " + std::to_string(runs));
  const bool progress = !label.empty() && stderr_is_tty();
  auto show = [&](const std::string& what) {
    if (progress)
      std::fprintf(stderr, "\r\033[Ktiming the %s model: %s", label.c_str(), what.c_str());
  };
  show("warm-up run");
  DEEPCOMP_RETURN_IF_ERROR(session.run(inputs).status());  // warm-up: caches, allocations
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(runs));
  const std::optional<RaplReading> before = read_rapl();
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  for (int r = 0; r < runs && (r == 0 || elapsed() < max_seconds); ++r) {
    show(fmt::format("run {} of at most {}", r + 1, runs));
    const auto t0 = std::chrono::steady_clock::now();
    DEEPCOMP_RETURN_IF_ERROR(session.run(inputs).status());
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  if (progress) std::fprintf(stderr, "\r\033[K");
  LatencyResult out;
  out.seconds = elapsed();
  const std::optional<RaplReading> after = read_rapl();
  if (before && after && before->energy_uj.size() == after->energy_uj.size())
    out.rapl_joules_per_run = rapl_joules(*before, *after) / static_cast<double>(ms.size());
  std::sort(ms.begin(), ms.end());
  const size_t mid = ms.size() / 2;
  out.median_ms = ms.size() % 2 ? ms[mid] : 0.5 * (ms[mid - 1] + ms[mid]);
  out.runs = static_cast<int>(ms.size());
  return out;
}

std::optional<CacheInfo> last_level_cache() {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::optional<CacheInfo> best;
  for (const auto& entry : fs::directory_iterator("/sys/devices/system/cpu/cpu0/cache", ec)) {
    if (entry.path().filename().string().rfind("index", 0) != 0) continue;
    auto type = read_line(entry.path() / "type");
    auto level = read_u64(entry.path() / "level");
    auto size = read_line(entry.path() / "size");
    if (!type || !level || !size || *type == "Instruction" || size->empty()) continue;
    char* end = nullptr;
    double bytes = std::strtod(size->c_str(), &end);
    if (end && (*end == 'K' || *end == 'k')) bytes *= 1024;
    if (end && (*end == 'M' || *end == 'm')) bytes *= 1024 * 1024;
    if (!best || static_cast<int>(*level) > best->level)
      best = CacheInfo{static_cast<int>(*level), bytes};
  }
  return best;
}

}  // namespace deepcomp::cli
