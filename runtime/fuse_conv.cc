// Finds the Conv chains runtime/fuse_conv.h describes and fuses them.
#include "runtime/fuse_conv.h"

#include <atomic>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <unordered_map>

#include "runtime/ops.h"

namespace deepcomp::runtime {
namespace {

using ValuePtr = std::shared_ptr<const Value>;

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

// Every name a node of `g`'s subgraphs reads (they may read the enclosing graph's values).
void subgraph_reads(const Graph& g, std::set<std::string>* names) {
  for (const Node& n : g.nodes) {
    for (const Attribute& a : n.attributes) {
      if (!a.graph) continue;
      for (const Node& inner : a.graph->nodes) {
        for (const std::string& in : inner.inputs) names->insert(in);
      }
      for (const ValueInfo& out : a.graph->outputs) names->insert(out.name);
      subgraph_reads(*a.graph, names);
    }
  }
}

class Matcher {
 public:
  Matcher(const Graph& g, const Model& model) : g_(g), model_(model) {
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      for (const std::string& in : g.nodes[k].inputs) {
        if (!in.empty()) readers_[in].push_back(k);
      }
    }
    for (const ValueInfo& out : g.outputs) pinned_.insert(out.name);
    subgraph_reads(g, &pinned_);
    for (const std::string& name : g.initializers) {
      const Tensor* t = model.find_tensor(name);
      if (t && t->values.size() == static_cast<size_t>(t->numel()) && is_float_dtype(t->dtype)) {
        initializer_.insert(name);
      }
    }
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      if (g.nodes[k].op_type == "Constant" && g.nodes[k].outputs.size() == 1)
        constant_node_[g.nodes[k].outputs[0]] = k;
    }
  }

  // The fusion for the Conv at node index `k`, with the indices of the nodes it takes.
  std::optional<ConvFusion> match(size_t k, std::vector<size_t>* taken) {
    const Node& conv = g_.nodes[k];
    if (conv.op_type != "Conv" || !is_default_domain(conv.domain) || conv.outputs.size() != 1 ||
        conv.inputs.size() < 2) {
      return std::nullopt;
    }
    const Tensor* w = model_.find_tensor(conv.inputs[1]);
    if (!w || w->shape.size() < 3 || !is_float_dtype(w->dtype)) return std::nullopt;
    const int64_t channels = w->shape[0];
    const int64_t spatial = static_cast<int64_t>(w->shape.size()) - 2;
    ConvFusion f;
    f.conv_output = conv.outputs[0];
    std::string v = conv.outputs[0];
    taken->clear();
    auto take = [&](size_t node) {
      taken->push_back(node);
      f.chain.push_back(g_.nodes[node]);
      v = g_.nodes[node].outputs[0];
    };
    // Affine: Mul by a constant, then Add a constant; or a BatchNormalization.
    if (auto n = sole(v, "Mul")) {
      if (auto c = other_constant(*n, v); c && channel_values(*c, channels, spatial, &f.scale))
        take(*n);
    }
    if (auto n = sole(v, "Add")) {
      if (auto c = other_constant(*n, v); c && channel_values(*c, channels, spatial, &f.shift))
        take(*n);
    }
    if (f.chain.empty()) {
      if (auto n = sole(v, "BatchNormalization"); n && batch_norm(*n, v, channels, &f)) take(*n);
    }
    // Residual: Add a tensor computed by the graph.
    if (auto n = sole(v, "Add")) {
      const Node& add = g_.nodes[*n];
      const std::string other = add.inputs.size() != 2 ? v
                                : add.inputs[0] == v   ? add.inputs[1]
                                                       : add.inputs[0];
      if (other != v && !other.empty() && !constant(other)) {
        f.residual = true;
        f.residual_name = other;
        f.chain.push_back(add);
        taken->push_back(*n);
        v = add.outputs[0];
      }
    }
    const size_t before_activation = f.chain.size();
    activation(v, &f, taken);
    // Affine after the activation (PP-OCRv4's learnable affine blocks): Mul by a constant, then
    // Add a constant.
    if (f.chain.size() > before_activation) {
      v = f.chain.back().outputs[0];
      if (auto n = sole(v, "Mul")) {
        if (auto c = other_constant(*n, v);
            c && channel_values(*c, channels, spatial, &f.post_scale)) {
          take(*n);
        }
      }
      if (auto n = sole(v, "Add")) {
        if (auto c = other_constant(*n, v);
            c && channel_values(*c, channels, spatial, &f.post_shift)) {
          take(*n);
        }
      }
    }
    if (f.chain.empty()) return std::nullopt;
    for (const Node& n : f.chain) {
      for (const std::string& in : n.inputs) {
        if (auto c = constant(in)) f.constants[in] = c;
      }
    }
    return f;
  }

 private:
  // The node reading `v` when it is the only reader, of type `op`, with one output, and `v` is
  // neither a graph output nor read by a subgraph.
  std::optional<size_t> sole(const std::string& v, const char* op) const {
    if (pinned_.count(v)) return std::nullopt;
    auto it = readers_.find(v);
    if (it == readers_.end() || it->second.size() != 1) return std::nullopt;
    const Node& n = g_.nodes[it->second[0]];
    if (n.op_type != op || !is_default_domain(n.domain) || n.outputs.size() != 1 ||
        n.outputs[0].empty()) {
      return std::nullopt;
    }
    return it->second[0];
  }

  // An initializer's or Constant node's value (float or integer), else nullptr.
  ValuePtr constant(const std::string& name) {
    if (name.empty()) return nullptr;
    if (auto it = cache_.find(name); it != cache_.end()) return it->second;
    ValuePtr v;
    if (initializer_.count(name)) {
      auto value = value_from_tensor(*model_.find_tensor(name));
      if (value.ok()) v = std::make_shared<const Value>(std::move(value).value());
    } else if (auto it2 = constant_node_.find(name); it2 != constant_node_.end()) {
      const ops::Builder* builder = ops::find_builder("Constant");
      ops::BuildContext ctx;
      ctx.node = &g_.nodes[it2->second];
      ctx.model = &model_;
      auto op = (*builder)(ctx);
      std::vector<Value> out(1);
      if (op.ok() && op->run({}, &out).ok()) v = std::make_shared<const Value>(std::move(out[0]));
    }
    cache_[name] = v;
    return v;
  }

  // The float constant among a binary node's two inputs, the other being `v`.
  ValuePtr other_constant(size_t node, const std::string& v) {
    const Node& n = g_.nodes[node];
    if (n.inputs.size() != 2) return nullptr;
    const std::string& other = n.inputs[0] == v ? n.inputs[1] : n.inputs[0];
    if (other == v) return nullptr;
    ValuePtr c = constant(other);
    return c && c->dtype == DType::kFloat32 ? c : nullptr;
  }

  // A constant that broadcasts along the output channels only, for a Conv of `spatial`
  // spatial dimensions: one value, or `channels` values shaped [channels, 1 x spatial] or
  // [1, channels, 1 x spatial] (never a shape that would grow the output).
  static bool channel_values(const Value& c, int64_t channels, int64_t spatial,
                             std::vector<float>* out) {
    if (c.numel() == 1 && c.rank() <= spatial + 2) {
      *out = c.f;
      return true;
    }
    if (c.numel() != channels || c.rank() < spatial + 1 || c.rank() > spatial + 2) return false;
    const int64_t at = c.rank() - 1 - spatial;
    if (c.shape[at] != channels || (at == 1 && c.shape[0] != 1)) return false;
    *out = c.f;
    return true;
  }

  bool batch_norm(size_t node, const std::string& v, int64_t channels, ConvFusion* f) {
    const Node& n = g_.nodes[node];
    if (n.inputs.size() != 5 || n.inputs[0] != v) return false;
    for (const Attribute& a : n.attributes) {
      if (a.name == "training_mode" && a.i != 0) return false;
      if (a.name == "spatial" && a.i != 1) return false;
      if (a.name != "epsilon" && a.name != "momentum" && a.name != "spatial" &&
          a.name != "training_mode" && a.name != "is_test") {
        return false;
      }
    }
    ValuePtr p[4];
    for (int k = 0; k < 4; ++k) {
      p[k] = constant(n.inputs[k + 1]);
      if (!p[k] || p[k]->dtype != DType::kFloat32 || p[k]->numel() != channels) return false;
    }
    const float eps = ops::attr_float(n, "epsilon", 1e-5f);
    f->scale.resize(channels);
    f->shift.resize(channels);
    // As runtime/ops_nn.cc computes them, so x * s + b gives its bits.
    for (int64_t ch = 0; ch < channels; ++ch) {
      const float s = p[0]->f[ch] / std::sqrt(p[3]->f[ch] + eps);
      f->scale[ch] = s;
      f->shift[ch] = p[1]->f[ch] - p[2]->f[ch] * s;
    }
    return true;
  }

  // A scalar float constant's value.
  std::optional<float> scalar(const std::string& name) {
    ValuePtr c = constant(name);
    if (!c || c->dtype != DType::kFloat32 || c->numel() != 1) return std::nullopt;
    return c->f[0];
  }

  // Clip's bounds (attributes before opset 11, optional constant inputs from 11).
  bool clip_bounds(const Node& n, float* lo, float* hi) {
    *lo = -std::numeric_limits<float>::infinity();
    *hi = std::numeric_limits<float>::infinity();
    for (const Attribute& a : n.attributes) {
      if (a.name == "min") {
        *lo = a.f;
      } else if (a.name == "max") {
        *hi = a.f;
      } else {
        return false;
      }
    }
    for (size_t k = 1; k < n.inputs.size() && k < 3; ++k) {
      if (n.inputs[k].empty()) continue;
      auto b = scalar(n.inputs[k]);
      if (!b) return false;
      (k == 1 ? *lo : *hi) = *b;
    }
    return n.inputs.size() <= 3;
  }

  void activation(const std::string& v, ConvFusion* f, std::vector<size_t>* taken) {
    kernels::Epilogue& e = f->activation;
    auto take = [&](size_t n) {
      taken->push_back(n);
      f->chain.push_back(g_.nodes[n]);
    };
    auto only = [&](size_t node, std::initializer_list<const char*> attrs) {
      const Node& n = g_.nodes[node];
      if (n.inputs.size() != 1) return false;
      for (const Attribute& a : n.attributes) {
        bool known = false;
        for (const char* name : attrs) known = known || a.name == name;
        if (!known) return false;
      }
      return true;
    };
    if (auto n = sole(v, "Relu"); n && only(*n, {})) {
      e.act = kernels::Activation::kRelu;
      take(*n);
    } else if (auto n2 = sole(v, "LeakyRelu"); n2 && only(*n2, {"alpha"})) {
      e.act = kernels::Activation::kLeakyRelu;
      e.alpha = ops::attr_float(g_.nodes[*n2], "alpha", 0.01f);
      take(*n2);
    } else if (auto n3 = sole(v, "HardSigmoid"); n3 && only(*n3, {"alpha", "beta"})) {
      e.act = kernels::Activation::kHardSigmoid;
      e.alpha = ops::attr_float(g_.nodes[*n3], "alpha", 0.2f);
      e.beta = ops::attr_float(g_.nodes[*n3], "beta", 0.5f);
      take(*n3);
    } else if (auto n4 = sole(v, "HardSwish"); n4 && only(*n4, {})) {
      e.act = kernels::Activation::kHardSwish;
      take(*n4);
    } else if (auto n5 = sole(v, "Sigmoid"); n5 && only(*n5, {})) {
      e.act = kernels::Activation::kSigmoid;
      take(*n5);
    } else if (auto n6 = sole(v, "Clip")) {
      float lo, hi;
      if (clip_bounds(g_.nodes[*n6], &lo, &hi) && g_.nodes[*n6].inputs[0] == v) {
        e.act = kernels::Activation::kClip;
        e.alpha = lo, e.beta = hi;
        take(*n6);
      }
    } else if (!silu(v, f, taken)) {
      hard_swish_parts(v, f, taken);
    }
  }

  // v -> Sigmoid(v) -> Mul(v, sigmoid) (in either order): SiLU / Swish as YOLO exports spell it.
  // v's two readers are the Sigmoid and the Mul, and the Sigmoid's output only the Mul.
  bool silu(const std::string& v, ConvFusion* f, std::vector<size_t>* taken) {
    if (pinned_.count(v)) return false;
    auto it = readers_.find(v);
    if (it == readers_.end() || it->second.size() != 2) return false;
    size_t sig = it->second[0], mul = it->second[1];
    if (g_.nodes[sig].op_type != "Sigmoid") std::swap(sig, mul);
    const Node& s = g_.nodes[sig];
    const Node& m = g_.nodes[mul];
    if (s.op_type != "Sigmoid" || m.op_type != "Mul" || s.inputs.size() != 1 ||
        s.outputs.size() != 1 || m.inputs.size() != 2 || !s.attributes.empty() ||
        !m.attributes.empty() || !is_default_domain(s.domain) ||
        !is_default_domain(m.domain)) {
      return false;
    }
    const std::string& sv = s.outputs[0];
    if (!((m.inputs[0] == v && m.inputs[1] == sv) || (m.inputs[1] == v && m.inputs[0] == sv)))
      return false;
    if (!sole(sv, "Mul")) return false;
    f->activation.act = kernels::Activation::kSilu;
    for (size_t n : {sig, mul}) {
      taken->push_back(n);
      f->chain.push_back(g_.nodes[n]);
    }
    return true;
  }

  // v -> Add(v, a) -> Clip(lo, hi) -> Mul(v, clip) -> Div(., d): v's two readers are the Add
  // and the Mul.
  void hard_swish_parts(const std::string& v, ConvFusion* f, std::vector<size_t>* taken) {
    if (pinned_.count(v)) return;
    auto it = readers_.find(v);
    if (it == readers_.end() || it->second.size() != 2) return;
    size_t add = it->second[0], mul = it->second[1];
    if (g_.nodes[add].op_type != "Add") std::swap(add, mul);
    const Node& a = g_.nodes[add];
    const Node& m = g_.nodes[mul];
    if (a.op_type != "Add" || m.op_type != "Mul" || a.inputs.size() != 2 || m.inputs.size() != 2 ||
        !a.attributes.empty() || !m.attributes.empty()) {
      return;
    }
    const std::optional<float> offset = scalar(a.inputs[0] == v ? a.inputs[1] : a.inputs[0]);
    auto clip = sole(a.outputs[0], "Clip");
    if (!offset || !clip || g_.nodes[*clip].inputs[0] != a.outputs[0]) return;
    float lo, hi;
    if (!clip_bounds(g_.nodes[*clip], &lo, &hi)) return;
    const std::string& c = g_.nodes[*clip].outputs[0];
    // The Mul reads v and the Clip's output (in either order), and the Clip's output only it.
    if (!((m.inputs[0] == v && m.inputs[1] == c) || (m.inputs[1] == v && m.inputs[0] == c))) return;
    if (!sole(c, "Mul")) return;
    auto div = sole(m.outputs[0], "Div");
    if (!div || g_.nodes[*div].inputs.size() != 2 || g_.nodes[*div].inputs[0] != m.outputs[0])
      return;
    const std::optional<float> d = scalar(g_.nodes[*div].inputs[1]);
    if (!d) return;
    kernels::Epilogue& e = f->activation;
    e.act = kernels::Activation::kHardSwishParts;
    e.alpha = *offset, e.beta = lo, e.gamma = hi, e.delta = *d;
    for (size_t n : {add, *clip, mul, *div}) {
      taken->push_back(n);
      f->chain.push_back(g_.nodes[n]);
    }
  }

  const Graph& g_;
  const Model& model_;
  std::unordered_map<std::string, std::vector<size_t>> readers_;
  std::set<std::string> pinned_, initializer_;
  std::unordered_map<std::string, size_t> constant_node_;
  std::unordered_map<std::string, ValuePtr> cache_;
};

std::atomic<bool> fusion_on{true};

}  // namespace

void set_conv_fusion(bool on) { fusion_on = on; }
bool conv_fusion() { return fusion_on; }

std::vector<Node> fuse_conv_chains(const Graph& g, const Model& model,
                                   std::map<size_t, ConvFusion>* fusions,
                                   std::vector<size_t>* original_index) {
  fusions->clear();
  original_index->clear();
  Matcher matcher(g, model);
  // For each node: dropped (fused into a Conv), or the Conv whose fused node goes here.
  std::vector<bool> dropped(g.nodes.size(), false);
  std::map<size_t, std::pair<size_t, ConvFusion>> placed;  // last chain node -> (conv, fusion)
  std::vector<size_t> taken;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (dropped[k]) continue;
    std::optional<ConvFusion> f = matcher.match(k, &taken);
    if (!f) continue;
    bool free = true;
    for (size_t t : taken) free = free && !dropped[t] && t > k;
    if (!free) continue;
    size_t last = k;
    for (size_t t : taken) {
      dropped[t] = true;
      last = std::max(last, t);
    }
    dropped[k] = true;
    placed[last] = {k, std::move(*f)};
  }
  std::vector<Node> nodes;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (auto it = placed.find(k); it != placed.end()) {
      ConvFusion& f = it->second.second;
      Node conv = g.nodes[it->second.first];
      conv.outputs[0] = f.chain.back().outputs[0];
      if (f.residual) {
        conv.inputs.resize(3);
        conv.inputs.push_back(f.residual_name);
      }
      (*fusions)[nodes.size()] = std::move(f);
      nodes.push_back(std::move(conv));
      original_index->push_back(it->second.first);
      continue;
    }
    if (!dropped[k]) {
      nodes.push_back(g.nodes[k]);
      original_index->push_back(k);
    }
  }
  return nodes;
}

}  // namespace deepcomp::runtime
