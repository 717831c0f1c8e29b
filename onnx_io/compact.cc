// Compact ONNX export (see compact.h): plans a form per weight, builds the replacement
// initializers and nodes in the ModelProto, and checks the result with onnx::checker.
#include "onnx_io/compact.h"

#include <onnx/defs/schema.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <set>
#include <unordered_set>

#include "onnx_io/internal.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::onnx_io {
namespace {

constexpr int64_t kDeltaOpset = 11;       // CumSum, ScatterElements
constexpr int64_t kScatterOpset = 9;      // Scatter, ConstantOfShape
constexpr int64_t kMinInitializerIr = 4;  // initializers need not be graph inputs from IR 4 on

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// Bytes per element needed for values in [0, max_value], and the matching ONNX dtype.
int width_for(uint64_t max_value) {
  if (max_value <= 0xFF) return 1;
  if (max_value <= 0xFFFF) return 2;
  if (max_value <= 0x7FFFFFFF) return 4;
  return 8;
}
int dtype_for_width(int width) {
  switch (width) {
    case 1:
      return onnx::TensorProto::UINT8;
    case 2:
      return onnx::TensorProto::UINT16;
    case 4:
      return onnx::TensorProto::INT32;
    default:
      return onnx::TensorProto::INT64;
  }
}

// Little-endian element bytes of `values` at `width` bytes each (values fit, see width_for).
std::string pack(const std::vector<uint64_t>& values, int width) {
  std::string out(values.size() * static_cast<size_t>(width), '\0');
  for (size_t i = 0; i < values.size(); ++i)
    for (int b = 0; b < width; ++b)
      out[i * static_cast<size_t>(width) + static_cast<size_t>(b)] =
          static_cast<char>((values[i] >> (8 * b)) & 0xFF);
  return out;
}

// A weight after validation, with what the size plan needs.
struct Prepared {
  const CompactWeight* w = nullptr;
  int64_t numel = 0;
  std::vector<int64_t> positions;  // explicit, ascending
  uint64_t max_gap = 0;            // largest of positions[0] and the successive differences
  int64_t zero_index = -1;         // codebook entry that is +0.0f, if any
};

Result<Prepared> prepare(const Model& model, const CompactWeight& w, bool verify) {
  const std::string where = "compact: weight '" + w.name + "'";
  const Tensor* t = model.find_tensor(w.name);
  if (t == nullptr) return Status::Error(where + ": no such tensor in the model");
  const bool integer = w.dtype == DType::kInt8 || w.dtype == DType::kUInt8;
  if (t->dtype != w.dtype || (!integer && t->dtype != DType::kFloat32))
    return Status::Error(where + ": is " + dtype_name(t->dtype) +
                         ", only float32 (or int8 / uint8 given as such) is supported");
  if (integer && !w.positions.empty())
    return Status::Error(where + ": an 8-bit weight lists every element (no positions)");
  if (!t->location.graph_path.empty())
    return Status::Error(where + ": lives in subgraph '" + t->location.graph_path +
                         "'; only main-graph weights are supported");
  if (t->shape != w.shape)
    return Status::Error(where + ": shape " + internal::shape_text(w.shape) +
                         " differs from the model's " + internal::shape_text(t->shape));
  Prepared p;
  p.w = &w;
  p.numel = t->numel();
  if (p.numel <= 0) return Status::Error(where + ": has no elements");
  if (w.codebook.empty() || w.codebook.size() > 65536)
    return Status::Error(where + ": codebook has " + std::to_string(w.codebook.size()) +
                         " entries (need 1..65536)");
  if (w.positions.empty()) {
    if (static_cast<int64_t>(w.clusters.size()) != p.numel)
      return Status::Error(where + ": " + std::to_string(w.clusters.size()) + " clusters for " +
                           std::to_string(p.numel) + " elements");
    p.positions.resize(static_cast<size_t>(p.numel));
    for (int64_t i = 0; i < p.numel; ++i) p.positions[static_cast<size_t>(i)] = i;
  } else {
    if (w.positions.size() != w.clusters.size())
      return Status::Error(where + ": " + std::to_string(w.clusters.size()) + " clusters for " +
                           std::to_string(w.positions.size()) + " positions");
    p.positions = w.positions;
  }
  int64_t prev = -1;
  for (size_t i = 0; i < p.positions.size(); ++i) {
    const int64_t pos = p.positions[i];
    if (pos <= prev || pos >= p.numel)
      return Status::Error(where + ": position " + std::to_string(pos) + " at entry " +
                           std::to_string(i) + " is not ascending within [0, " +
                           std::to_string(p.numel) + ")");
    p.max_gap = std::max(p.max_gap, static_cast<uint64_t>(pos - prev - (i == 0 ? 1 : 0)));
    prev = pos;
    if (w.clusters[i] >= w.codebook.size())
      return Status::Error(where + ": cluster " + std::to_string(w.clusters[i]) + " at entry " +
                           std::to_string(i) + " is outside the codebook of " +
                           std::to_string(w.codebook.size()));
  }
  for (size_t k = 0; k < w.codebook.size(); ++k) {
    if (std::bit_cast<uint32_t>(w.codebook[k]) == 0) {
      p.zero_index = static_cast<int64_t>(k);
      break;
    }
  }
  if (verify && integer) {
    if (static_cast<int64_t>(t->raw.size()) != p.numel)
      return Status::Error(where + ": the model's tensor holds no 8-bit codes");
    for (int64_t e = 0; e < p.numel; ++e) {
      const auto b = static_cast<unsigned char>(t->raw[static_cast<size_t>(e)]);
      const float have = t->dtype == DType::kInt8 ? static_cast<int8_t>(b) : b;
      if (w.codebook[w.clusters[static_cast<size_t>(e)]] != have)
        return Status::Error(where + ": element " + std::to_string(e) + " rebuilds as " +
                             std::to_string(w.codebook[w.clusters[e]]) + " but the model holds " +
                             std::to_string(have));
    }
  } else if (verify) {
    if (static_cast<int64_t>(t->values.size()) != p.numel)
      return Status::Error(where + ": the model's tensor holds no float values");
    size_t next = 0;
    for (int64_t e = 0; e < p.numel; ++e) {
      float want = 0.0f;
      if (next < p.positions.size() && p.positions[next] == e)
        want = w.codebook[w.clusters[next++]];
      const float have = t->values[static_cast<size_t>(e)];
      if (std::bit_cast<uint32_t>(want) != std::bit_cast<uint32_t>(have))
        return Status::Error(where + ": element " + std::to_string(e) + " rebuilds as " +
                             std::to_string(want) + " but the model holds " + std::to_string(have));
    }
  }
  return p;
}

int64_t nnz(const Prepared& p) { return static_cast<int64_t>(p.positions.size()); }

// Element bytes of the initializers each form needs; -1 when unavailable at `opset`.
int64_t form_bytes(const Prepared& p, CompactForm form, int64_t opset) {
  const int64_t k = static_cast<int64_t>(p.w->codebook.size());
  const int64_t rank = static_cast<int64_t>(p.w->shape.size());
  const int64_t cl_width = width_for(static_cast<uint64_t>(k - 1));
  if (p.w->dtype != DType::kFloat32) {
    // 8-bit codes: one byte per codebook entry, every element indexed.
    return form == CompactForm::kDenseIndices ? p.numel * cl_width + k : -1;
  }
  switch (form) {
    case CompactForm::kDenseIndices: {
      const bool add_zero = nnz(p) < p.numel && p.zero_index < 0;
      const int64_t kc = k + (add_zero ? 1 : 0);
      return p.numel * width_for(static_cast<uint64_t>(kc - 1)) + 4 * kc;
    }
    case CompactForm::kSparseAbsolute:
      if (opset < kScatterOpset || nnz(p) == 0) return -1;
      return nnz(p) * (cl_width + width_for(static_cast<uint64_t>(p.numel - 1))) + 4 * k + 8 +
             8 * rank;
    case CompactForm::kSparseDelta:
      if (opset < kDeltaOpset || nnz(p) == 0) return -1;
      return nnz(p) * (cl_width + width_for(p.max_gap)) + 4 * k + 8 + 8 * rank + 8;
    case CompactForm::kAuto:
      break;
  }
  return -1;
}

CompactLayer plan_layer(const Prepared& p, CompactForm forced, int64_t opset) {
  CompactLayer layer;
  layer.name = p.w->name;
  layer.dense_bytes = static_cast<int64_t>(dtype_size(p.w->dtype)) * p.numel;
  layer.compact_bytes = -1;
  for (CompactForm f :
       {CompactForm::kDenseIndices, CompactForm::kSparseAbsolute, CompactForm::kSparseDelta}) {
    if (forced != CompactForm::kAuto && f != forced) continue;
    const int64_t b = form_bytes(p, f, opset);
    if (b >= 0 && (layer.compact_bytes < 0 || b < layer.compact_bytes)) {
      layer.compact_bytes = b;
      layer.form = f;
    }
  }
  return layer;
}

// Fresh names that collide with nothing in the model.
class Namer {
 public:
  explicit Namer(const onnx::GraphProto& g) { collect(g); }
  std::string make(const std::string& base) {
    std::string name = base;
    for (int i = 1; used_.count(name); ++i) name = base + "_" + std::to_string(i);
    used_.insert(name);
    return name;
  }

 private:
  void collect(const onnx::GraphProto& g) {
    for (const auto& t : g.initializer()) used_.insert(t.name());
    for (const auto& v : g.input()) used_.insert(v.name());
    for (const auto& v : g.output()) used_.insert(v.name());
    for (const auto& v : g.value_info()) used_.insert(v.name());
    for (const auto& n : g.node()) {
      used_.insert(n.name());
      for (const auto& s : n.input()) used_.insert(s);
      for (const auto& s : n.output()) used_.insert(s);
      for (const auto& a : n.attribute()) {
        if (a.has_g()) collect(a.g());
        for (const auto& sg : a.graphs()) collect(sg);
      }
    }
  }
  std::unordered_set<std::string> used_;
};

onnx::TensorProto make_tensor(const std::string& name, int dtype, const std::vector<int64_t>& dims,
                              std::string bytes) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(dtype);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::move(bytes));
  return t;
}

std::string float_bytes(const std::vector<float>& v) {
  std::string out(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    const uint32_t u = std::bit_cast<uint32_t>(v[i]);
    for (int b = 0; b < 4; ++b)
      out[i * 4 + static_cast<size_t>(b)] = static_cast<char>(u >> (8 * b));
  }
  return out;
}

std::string int64_bytes(const std::vector<int64_t>& v) {
  std::vector<uint64_t> u(v.begin(), v.end());
  return pack(u, 8);
}

onnx::NodeProto make_node(const std::string& op, std::vector<std::string> inputs,
                          const std::string& output, const std::string& name) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (auto& i : inputs) n.add_input(i);
  n.add_output(output);
  return n;
}

void set_int_attr(onnx::NodeProto* n, const std::string& name, int64_t value) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

// Cast<int64>(input) -> fresh name.
std::string add_cast(const std::string& input, const std::string& base, Namer* namer,
                     std::vector<onnx::NodeProto>* nodes) {
  const std::string out = namer->make(base);
  onnx::NodeProto n = make_node("Cast", {input}, out, namer->make(base + "_cast"));
  set_int_attr(&n, "to", onnx::TensorProto::INT64);
  nodes->push_back(std::move(n));
  return out;
}

// The initializers and nodes that compute `p`'s weight under its own name.
void build_layer(const Prepared& p, CompactForm form, int64_t opset, Namer* namer,
                 std::vector<onnx::TensorProto>* inits, std::vector<onnx::NodeProto>* nodes) {
  const CompactWeight& w = *p.w;
  const std::string base = w.name + "__dc";
  std::vector<float> codebook = w.codebook;
  if (form == CompactForm::kDenseIndices) {
    int64_t zero = p.zero_index;
    if (nnz(p) < p.numel && zero < 0) {
      zero = static_cast<int64_t>(codebook.size());
      codebook.push_back(0.0f);
    }
    std::vector<uint64_t> idx(static_cast<size_t>(p.numel),
                              static_cast<uint64_t>(std::max<int64_t>(zero, 0)));
    for (size_t i = 0; i < p.positions.size(); ++i)
      idx[static_cast<size_t>(p.positions[i])] = w.clusters[i];
    const int width = width_for(codebook.size() - 1);
    const std::string cb = namer->make(base + "_codebook");
    const std::string ix = namer->make(base + "_indices");
    if (w.dtype == DType::kFloat32) {
      inits->push_back(make_tensor(cb, onnx::TensorProto::FLOAT,
                                   {static_cast<int64_t>(codebook.size())}, float_bytes(codebook)));
    } else {
      std::string codes;
      for (float c : codebook) codes.push_back(static_cast<char>(static_cast<int>(c)));
      inits->push_back(make_tensor(cb, static_cast<int>(w.dtype),
                                   {static_cast<int64_t>(codebook.size())}, std::move(codes)));
    }
    inits->push_back(make_tensor(ix, dtype_for_width(width), w.shape, pack(idx, width)));
    const std::string ix64 = add_cast(ix, base + "_indices64", namer, nodes);
    nodes->push_back(make_node("Gather", {cb, ix64}, w.name, namer->make(base + "_gather")));
    return;
  }
  const int64_t n = nnz(p);
  const std::string cb = namer->make(base + "_codebook");
  const std::string cl = namer->make(base + "_clusters");
  const std::string pos =
      namer->make(base + (form == CompactForm::kSparseDelta ? "_gaps" : "_positions"));
  const std::string numel = namer->make(base + "_numel");
  const std::string shape = namer->make(base + "_shape");
  std::vector<uint64_t> cls(w.clusters.begin(), w.clusters.end());
  const int cl_width = width_for(codebook.size() - 1);
  inits->push_back(make_tensor(cb, onnx::TensorProto::FLOAT,
                               {static_cast<int64_t>(codebook.size())}, float_bytes(codebook)));
  inits->push_back(make_tensor(cl, dtype_for_width(cl_width), {n}, pack(cls, cl_width)));
  std::vector<uint64_t> pos_values(static_cast<size_t>(n));
  int pos_width = 0;
  if (form == CompactForm::kSparseDelta) {
    int64_t prev = 0;
    for (size_t i = 0; i < pos_values.size(); ++i) {
      pos_values[i] = static_cast<uint64_t>(p.positions[i] - prev);
      prev = p.positions[i];
    }
    pos_width = width_for(p.max_gap);
  } else {
    for (size_t i = 0; i < pos_values.size(); ++i)
      pos_values[i] = static_cast<uint64_t>(p.positions[i]);
    pos_width = width_for(static_cast<uint64_t>(p.numel - 1));
  }
  inits->push_back(make_tensor(pos, dtype_for_width(pos_width), {n}, pack(pos_values, pos_width)));
  inits->push_back(make_tensor(numel, onnx::TensorProto::INT64, {1}, int64_bytes({p.numel})));
  inits->push_back(make_tensor(shape, onnx::TensorProto::INT64,
                               {static_cast<int64_t>(w.shape.size())}, int64_bytes(w.shape)));

  const std::string cl64 = add_cast(cl, base + "_clusters64", namer, nodes);
  const std::string values = namer->make(base + "_values");
  nodes->push_back(make_node("Gather", {cb, cl64}, values, namer->make(base + "_gather")));
  std::string pos64 = add_cast(pos, base + "_positions64", namer, nodes);
  if (form == CompactForm::kSparseDelta) {
    const std::string axis = namer->make(base + "_axis");
    inits->push_back(make_tensor(axis, onnx::TensorProto::INT64, {}, int64_bytes({0})));
    const std::string summed = namer->make(base + "_positions_sum");
    nodes->push_back(make_node("CumSum", {pos64, axis}, summed, namer->make(base + "_cumsum")));
    pos64 = summed;
  }
  const std::string zeros = namer->make(base + "_zeros");
  nodes->push_back(make_node("ConstantOfShape", {numel}, zeros, namer->make(base + "_zeros_node")));
  const std::string flat = namer->make(base + "_flat");
  nodes->push_back(make_node(opset >= kDeltaOpset ? "ScatterElements" : "Scatter",
                             {zeros, pos64, values}, flat, namer->make(base + "_scatter")));
  nodes->push_back(make_node("Reshape", {flat, shape}, w.name, namer->make(base + "_reshape")));
}

// The default-domain opset version, -1 when the model imports none.
int64_t default_opset(const onnx::ModelProto& proto) {
  for (const auto& op : proto.opset_import())
    if (is_default_domain(op.domain())) return op.version();
  return -1;
}

// Schema changes between opset 9 and 11 that leave every existing node's meaning unchanged:
// new optional inputs/attributes with neutral defaults, negative axes, more types, docs.
const std::map<std::string, std::set<int>>& compatible_changes() {
  static const auto* table = new std::map<std::string, std::set<int>>{
      {"Gemm", {11}},
      {"Conv", {11}},
      {"MaxPool", {10, 11}},
      {"AveragePool", {10, 11}},
      {"Flatten", {11}},
      {"Concat", {11}},
      {"Softmax", {11}},
      {"LogSoftmax", {11}},
      {"Hardmax", {11}},
      {"Gather", {11}},
      {"Squeeze", {11}},
      {"Unsqueeze", {11}},
      {"ArgMax", {11}},
      {"ArgMin", {11}},
      {"ReduceMean", {11}},
      {"ReduceSum", {11}},
      {"ReduceMax", {11}},
      {"ReduceMin", {11}},
      {"ReduceProd", {11}},
      {"ReduceL1", {11}},
      {"ReduceL2", {11}},
      {"ReduceLogSum", {11}},
      {"ReduceLogSumExp", {11}},
      {"ReduceSumSquare", {11}},
      {"Split", {11}},
      {"Equal", {11}},
      {"Constant", {11}},
      {"DepthToSpace", {11}},
      {"Compress", {11}},
      {"OneHot", {11}},
      {"Dropout", {10}},  // only the mask output's type changes (checked below)
  };
  return *table;
}

void find_blocker(const Graph& g, int64_t from, int64_t to, std::string* out) {
  for (const Node& n : g.nodes) {
    if (!out->empty()) return;
    for (const Attribute& a : n.attributes)
      if (a.graph) find_blocker(*a.graph, from, to, out);
    if (!is_default_domain(n.domain)) continue;
    const std::string who = "node '" + n.name + "' (" + n.op_type + ")";
    const onnx::OpSchema* before =
        onnx::OpSchemaRegistry::Schema(n.op_type, static_cast<int>(from), "");
    if (before == nullptr) {
      *out = who + ": unknown at opset " + std::to_string(from);
      return;
    }
    const auto it = compatible_changes().find(n.op_type);
    for (int64_t v = from + 1; v <= to; ++v) {
      const onnx::OpSchema* s = onnx::OpSchemaRegistry::Schema(n.op_type, static_cast<int>(v), "");
      if (s == nullptr || s->Deprecated()) {
        *out = who + ": not available at opset " + std::to_string(v);
        return;
      }
      const int since = s->since_version();
      if (since <= from || since != v) continue;
      const bool ok = it != compatible_changes().end() && it->second.count(since) &&
                      !(n.op_type == "Dropout" && n.outputs.size() > 1);
      if (!ok) {
        *out = who + ": changes at opset " + std::to_string(since);
        return;
      }
    }
  }
}

}  // namespace

const char* compact_form_name(CompactForm form) {
  switch (form) {
    case CompactForm::kAuto:
      return "auto";
    case CompactForm::kDenseIndices:
      return "dense-indices";
    case CompactForm::kSparseAbsolute:
      return "sparse-abs";
    case CompactForm::kSparseDelta:
      return "sparse-delta";
  }
  return "?";
}

std::string opset_raise_blocker(const Model& model, int64_t to) {
  int64_t from = -1;
  for (const OpsetImport& op : model.opsets)
    if (is_default_domain(op.domain)) from = op.version;
  if (from < 0) return "the model imports no default-domain opset";
  if (to <= from) return "";
  std::string out;
  find_blocker(model.graph, from, to, &out);
  return out;
}

Result<CompactResult> compact_model(const Model& model, const std::vector<CompactWeight>& weights,
                                    const CompactOptions& options) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::string dense, serialize_model(model));
  onnx::ModelProto proto;
  if (!internal::parse_model_proto(dense, &proto))
    return Status::Error("compact: the model does not serialize to a valid ModelProto");
  CompactResult result;
  result.opset_before = default_opset(proto);
  if (result.opset_before < 0)
    return Status::Error("compact: the model imports no default-domain opset");

  std::vector<Prepared> prepared;
  std::set<std::string> names;
  for (const CompactWeight& w : weights) {
    if (!names.insert(w.name).second)
      return Status::Error("compact: weight '" + w.name + "' is given twice");
    DEEPCOMP_ASSIGN_OR_RETURN(Prepared p, prepare(model, w, options.verify_values));
    prepared.push_back(std::move(p));
  }

  // Raise the opset only when it is safe and buys something (or the caller forces delta).
  int64_t opset = result.opset_before;
  if (opset < kDeltaOpset && options.allow_opset_raise) {
    bool wants = options.form == CompactForm::kSparseDelta && !prepared.empty();
    if (options.form == CompactForm::kAuto) {
      for (const Prepared& p : prepared)
        wants = wants || plan_layer(p, options.form, kDeltaOpset).form == CompactForm::kSparseDelta;
    }
    if (wants && opset_raise_blocker(model, kDeltaOpset).empty()) opset = kDeltaOpset;
  }
  result.opset_after = opset;
  for (const Prepared& p : prepared) {
    CompactLayer layer = plan_layer(p, options.form, opset);
    if (layer.compact_bytes < 0) {
      std::string why = opset < kDeltaOpset ? opset_raise_blocker(model, kDeltaOpset) : "";
      return Status::Error("compact: weight '" + p.w->name + "': form " +
                           compact_form_name(options.form) + " is not available at opset " +
                           std::to_string(opset) + (why.empty() ? "" : " (" + why + ")"));
    }
    result.layers.push_back(layer);
  }

  onnx::GraphProto* g = proto.mutable_graph();
  Namer namer(*g);
  std::map<std::string, std::vector<onnx::NodeProto>> constant_replacements;
  std::vector<onnx::NodeProto> prefix;
  std::vector<onnx::TensorProto> new_inits;
  std::set<std::string> initializer_weights;
  for (size_t i = 0; i < prepared.size(); ++i) {
    const std::string& name = prepared[i].w->name;
    const bool is_init = std::any_of(g->initializer().begin(), g->initializer().end(),
                                     [&](const onnx::TensorProto& t) { return t.name() == name; });
    std::vector<onnx::NodeProto> nodes;
    build_layer(prepared[i], result.layers[i].form, opset, &namer, &new_inits, &nodes);
    if (is_init) {
      initializer_weights.insert(name);
      for (auto& n : nodes) prefix.push_back(std::move(n));
    } else {
      constant_replacements[name] = std::move(nodes);
    }
  }

  // Initializers: drop the replaced ones (and their graph-input entries), add the new ones.
  google::protobuf::RepeatedPtrField<onnx::TensorProto> inits;
  for (auto& t : *g->mutable_initializer())
    if (!initializer_weights.count(t.name())) *inits.Add() = std::move(t);
  for (auto& t : new_inits) *inits.Add() = std::move(t);
  g->mutable_initializer()->Swap(&inits);
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> inputs;
  for (auto& v : *g->mutable_input())
    if (!initializer_weights.count(v.name())) *inputs.Add() = std::move(v);
  g->mutable_input()->Swap(&inputs);

  // Nodes: the rebuilding subgraphs of initializer weights first (they read only initializers),
  // each replaced Constant node's subgraph where the Constant was.
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& n : prefix) *nodes.Add() = std::move(n);
  size_t replaced_constants = 0;
  for (auto& n : *g->mutable_node()) {
    if (n.op_type() == "Constant" && is_default_domain(n.domain()) && n.output_size() == 1) {
      auto it = constant_replacements.find(n.output(0));
      if (it != constant_replacements.end()) {
        for (auto& r : it->second) *nodes.Add() = std::move(r);
        ++replaced_constants;
        continue;
      }
    }
    *nodes.Add() = std::move(n);
  }
  if (replaced_constants != constant_replacements.size())
    return Status::Error("compact: weight '" + constant_replacements.begin()->first +
                         "' is neither a main-graph initializer nor a Constant node output");
  g->mutable_node()->Swap(&nodes);

  for (auto& op : *proto.mutable_opset_import())
    if (is_default_domain(op.domain())) op.set_version(opset);
  if (proto.ir_version() < kMinInitializerIr) proto.set_ir_version(kMinInitializerIr);

  if (!proto.SerializeToString(&result.bytes))
    return Status::Error("compact: serializing the compact model failed (over 2 GB?)");
  DEEPCOMP_RETURN_IF_ERROR(check_model_bytes(result.bytes, "compact model"));
  return result;
}

Result<std::string> compact_model_bytes(const Model& model,
                                        const std::vector<CompactWeight>& weights) {
  DEEPCOMP_ASSIGN_OR_RETURN(CompactResult r, compact_model(model, weights));
  return std::move(r.bytes);
}

}  // namespace deepcomp::onnx_io
