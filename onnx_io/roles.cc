// Tensor roles from how the graph uses each tensor: the weight input of Conv/ConvTranspose, Gemm
// and MatMul, the W and R inputs of LSTM/GRU/RNN, Gather's embedding table, and biases. Works on
// the protobuf-free Graph, in the main graph and every subgraph (a subgraph may use a tensor of an
// outer graph). Identity nodes are looked through, since exporters sometimes put one between an
// initializer and its consumer; for Gemm/MatMul and LSTM/GRU/RNN also Transpose, Reshape, Squeeze
// and Unsqueeze (and Slice / Concat of pieces of one tensor), since PyTorch exports a Linear layer
// as MatMul(x, Transpose(W)) and an LSTM cell with W = Unsqueeze(Concat(Slice(weight_ih), ...)),
// its gates reordered, and some exporters reshape a stored weight first.
// Conv weights that are a fixed Fourier basis (fourier_basis.cc) get the "basis" role instead.
// 8-bit weights of quantized layers (ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul, a
// DequantizeLinear feeding a layer) get the layer's role and their QuantParams.
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "onnx_io/internal.h"

namespace deepcomp::onnx_io::internal {

namespace {

struct RoleContext {
  std::unordered_map<std::string, Tensor*> tensors;
  std::unordered_map<std::string, std::string> alias;     // Identity output -> tensor name
  std::unordered_map<std::string, std::string> view;      // Transpose/Reshape/.. -> tensor
  std::unordered_map<std::string, std::string> producer;  // value name -> op_type producing it
  std::unordered_map<std::string, const Node*> producer_node;
  std::unordered_map<std::string, std::vector<const Node*>> consumers;  // value -> reading nodes

  Tensor* constant(const std::string& value) const {
    auto a = alias.find(value);
    auto it = tensors.find(a != alias.end() ? a->second : value);
    return it == tensors.end() ? nullptr : it->second;
  }
  Tensor* float_constant(const std::string& value) const {
    Tensor* t = constant(value);
    return t && is_float_dtype(t->dtype) ? t : nullptr;
  }
  // A matrix operand: a float constant, or a Transpose / Reshape / Squeeze / Unsqueeze (of ...)
  // of one.
  Tensor* matrix_constant(const std::string& value) const {
    auto v = view.find(value);
    Tensor* t = constant(v != view.end() ? v->second : value);
    return t && is_float_dtype(t->dtype) ? t : nullptr;
  }
};

// Weight roles win over bias, bias over other; among equals the first use decides.
int rank(TensorRole r) {
  if (is_weight_role(r)) return 2;
  return r == TensorRole::kBias ? 1 : 0;
}

void set_role(Tensor* t, TensorRole role) {
  if (t && rank(role) > rank(t->role)) t->role = role;
}

const std::string* input(const Node& n, size_t i) {
  return i < n.inputs.size() && !n.inputs[i].empty() ? &n.inputs[i] : nullptr;
}

// First pass: Identity aliases of constants and the op producing each value, in all graphs.
void collect(const Graph& g, RoleContext* ctx) {
  for (const Node& n : g.nodes) {
    if (n.op_type == "Identity" && n.inputs.size() == 1 && n.outputs.size() == 1) {
      auto a = ctx->alias.find(n.inputs[0]);
      const std::string& src = a != ctx->alias.end() ? a->second : n.inputs[0];
      if (ctx->tensors.count(src)) ctx->alias[n.outputs[0]] = src;
      if (auto v = ctx->view.find(n.inputs[0]); v != ctx->view.end())
        ctx->view[n.outputs[0]] = v->second;
    }
    // The tensor a value rearranges, or "" when it is none.
    auto source = [ctx](const std::string& in) -> std::string {
      auto v = ctx->view.find(in);
      auto a = ctx->alias.find(in);
      const std::string& src = v != ctx->view.end()    ? v->second
                               : a != ctx->alias.end() ? a->second
                                                       : in;
      return ctx->tensors.count(src) ? src : "";
    };
    // Slice and Concat of pieces of one tensor: PyTorch reorders LSTM gates this way.
    const bool rearranges = n.op_type == "Transpose" || n.op_type == "Reshape" ||
                            n.op_type == "Squeeze" || n.op_type == "Unsqueeze" ||
                            n.op_type == "Slice";
    if (rearranges && !n.inputs.empty() && n.outputs.size() == 1) {
      if (std::string src = source(n.inputs[0]); !src.empty()) ctx->view[n.outputs[0]] = src;
    }
    if (n.op_type == "Concat" && !n.inputs.empty() && n.outputs.size() == 1) {
      std::string src = source(n.inputs[0]);
      for (const std::string& in : n.inputs)
        if (source(in) != src) src.clear();
      if (!src.empty()) ctx->view[n.outputs[0]] = src;
    }
    for (const std::string& out : n.outputs) {
      ctx->producer[out] = n.op_type;
      ctx->producer_node[out] = &n;
    }
    for (const std::string& in : n.inputs)
      if (!in.empty()) ctx->consumers[in].push_back(&n);
    for (const Attribute& attr : n.attributes)
      if (attr.graph) collect(*attr.graph, ctx);
  }
}

bool produced_by_layer(const RoleContext& ctx, const std::string& value) {
  auto it = ctx.producer.find(value);
  if (it == ctx.producer.end()) return false;
  return it->second == "MatMul" || it->second == "Conv" || it->second == "ConvTranspose";
}

bool is_8bit(const Tensor* t) {
  return t && (t->dtype == DType::kInt8 || t->dtype == DType::kUInt8);
}

// Records how the 8-bit weight `t` is dequantized (scale / zero point values, the channel axis
// when either holds more than one value) and gives it its layer role. A second reader with other
// parameters leaves a note, and the weight is then stored losslessly.
void set_quant(const RoleContext& ctx, Tensor* t, TensorRole role, const std::string* scale,
               const std::string* zp, int64_t axis, std::string note) {
  if (!is_8bit(t)) return;
  set_role(t, role);
  QuantParams q;
  q.present = true;
  q.axis = axis;
  q.note = std::move(note);
  if (scale) {
    const Tensor* s = ctx.float_constant(*scale);
    if (s)
      q.scale = s->name;
    else if (q.note.empty())
      q.note = "scale '" + *scale + "' is not a float constant";
  }
  if (zp) {
    const Tensor* z = ctx.constant(*zp);
    if (z)
      q.zero_point = z->name;
    else if (q.note.empty())
      q.note = "zero point '" + *zp + "' is not a constant";
  }
  if (!t->quant.present) {
    t->quant = std::move(q);
  } else if (t->quant.scale != q.scale || t->quant.zero_point != q.zero_point ||
             t->quant.axis != q.axis) {
    t->quant.note = "read by layers with different scales, zero points or axes";
  } else if (t->quant.note.empty()) {
    t->quant.note = q.note;
  }
}

// Values holding more than one element decide a per-channel axis.
int64_t numel_of(const RoleContext& ctx, const std::string* value) {
  const Tensor* t = value ? ctx.constant(*value) : nullptr;
  return t ? t->numel() : 1;
}

// The weight scale of ConvInteger / MatMulInteger, which carry none: ONNX Runtime's dynamic
// quantizer multiplies Cast(output) by Mul(x_scale, w_scale) (or by one constant). Returns the
// float constant with 1 or `channels` values found there, or nullptr.
const std::string* integer_layer_scale(const Node& n, const RoleContext& ctx, int64_t channels) {
  auto readers = [&ctx](const std::string& v) {
    auto it = ctx.consumers.find(v);
    return it == ctx.consumers.end() ? std::vector<const Node*>{} : it->second;
  };
  auto fits = [&](const std::string& v) {
    const Tensor* c = ctx.float_constant(v);
    return c && (c->numel() == 1 || c->numel() == channels);
  };
  for (const Node* cast : readers(n.outputs.empty() ? "" : n.outputs[0])) {
    if (cast->op_type != "Cast" || cast->outputs.size() != 1) continue;
    for (const Node* mul : readers(cast->outputs[0])) {
      if (mul->op_type != "Mul" || mul->inputs.size() != 2) continue;
      const std::string& other =
          mul->inputs[0] == cast->outputs[0] ? mul->inputs[1] : mul->inputs[0];
      if (fits(other)) return &other;
      auto p = ctx.producer_node.find(other);
      if (p == ctx.producer_node.end() || p->second->op_type != "Mul" ||
          p->second->inputs.size() != 2)
        continue;
      const std::string& a = p->second->inputs[0];
      const std::string& b = p->second->inputs[1];
      // Exactly one constant factor: the other is the dynamic x_scale.
      if (fits(a) != fits(b)) return fits(a) ? &a : &b;
    }
  }
  return nullptr;
}

// The role of a DequantizeLinear output by what reads it: a Conv / ConvTranspose weight, a Gemm /
// MatMul operand (also through Transpose / Reshape / Identity), a Gather table.
std::optional<TensorRole> dequantized_role(const RoleContext& ctx, const std::string& value,
                                           int depth = 0) {
  auto it = ctx.consumers.find(value);
  if (it == ctx.consumers.end() || depth > 3) return std::nullopt;
  for (const Node* r : it->second) {
    if ((r->op_type == "Conv" || r->op_type == "ConvTranspose") && r->inputs.size() > 1 &&
        r->inputs[1] == value)
      return TensorRole::kConvWeight;
    if (r->op_type == "Gemm" || r->op_type == "MatMul") return TensorRole::kFcWeight;
    if (r->op_type == "Gather" && !r->inputs.empty() && r->inputs[0] == value)
      return TensorRole::kEmbedding;
    if ((r->op_type == "Transpose" || r->op_type == "Reshape" || r->op_type == "Identity") &&
        r->outputs.size() == 1) {
      if (auto role = dequantized_role(ctx, r->outputs[0], depth + 1)) return role;
    }
  }
  return std::nullopt;
}

void classify_quantized(const Node& n, const RoleContext& ctx) {
  const std::string& op = n.op_type;
  if (op == "ConvInteger" || op == "MatMulInteger") {
    const bool conv = op == "ConvInteger";
    Tensor* w = input(n, 1) ? ctx.constant(*input(n, 1)) : nullptr;
    if (!is_8bit(w) || w->shape.size() < 2) return;
    const int64_t axis = conv ? 0 : static_cast<int64_t>(w->shape.size()) - 1;
    const int64_t channels = w->shape[static_cast<size_t>(axis)];
    const std::string* zp = input(n, 3);
    const std::string* scale = integer_layer_scale(n, ctx, channels);
    const bool per_channel = numel_of(ctx, zp) > 1 || numel_of(ctx, scale) > 1;
    set_quant(ctx, w, conv ? TensorRole::kConvWeight : TensorRole::kFcWeight, scale, zp,
              per_channel ? axis : -1, "");
  } else if (op == "QLinearConv" || op == "QLinearMatMul") {
    const bool conv = op == "QLinearConv";
    Tensor* w = input(n, 3) ? ctx.constant(*input(n, 3)) : nullptr;
    if (!is_8bit(w) || w->shape.size() < 2) return;
    const int64_t axis = conv ? 0 : static_cast<int64_t>(w->shape.size()) - 1;
    const bool per_channel = numel_of(ctx, input(n, 4)) > 1 || numel_of(ctx, input(n, 5)) > 1;
    set_quant(ctx, w, conv ? TensorRole::kConvWeight : TensorRole::kFcWeight, input(n, 4),
              input(n, 5), per_channel ? axis : -1, "");
    if (conv)
      if (auto* b = input(n, 8)) set_role(ctx.constant(*b), TensorRole::kBias);
  } else if (op == "DequantizeLinear") {
    Tensor* x = input(n, 0) ? ctx.constant(*input(n, 0)) : nullptr;
    if (!is_8bit(x) || n.outputs.empty()) return;
    const auto role = dequantized_role(ctx, n.outputs[0]);
    if (!role) return;
    std::string note;
    const Attribute* block = n.attr("block_size");
    if (block && block->i > 0) note = "blocked DequantizeLinear (block_size) is stored losslessly";
    int64_t axis = -1;
    if (numel_of(ctx, input(n, 1)) > 1 || numel_of(ctx, input(n, 2)) > 1) {
      const Attribute* a = n.attr("axis");
      axis = a ? a->i : 1;
      const int64_t rank = static_cast<int64_t>(x->shape.size());
      if (axis < 0) axis += rank;
      if (axis < 0 || axis >= rank) {
        if (note.empty())
          note = "DequantizeLinear axis " + std::to_string(a ? a->i : 1) + " is out of range";
        axis = -1;
      }
    }
    set_quant(ctx, x, *role, input(n, 1), input(n, 2), axis, note);
  }
}

void classify(const Graph& g, const RoleContext& ctx) {
  for (const Node& n : g.nodes) {
    const std::string& op = n.op_type;
    const bool onnx_domain = n.domain.empty() || n.domain == "ai.onnx";
    if (!onnx_domain) {
      // custom ops: nothing is known about their inputs
    } else if (op == "Conv" || op == "ConvTranspose") {
      if (auto* w = input(n, 1)) set_role(ctx.constant(*w), TensorRole::kConvWeight);
      if (auto* b = input(n, 2)) set_role(ctx.constant(*b), TensorRole::kBias);
    } else if (op == "Gemm") {
      Tensor* b = input(n, 1) ? ctx.matrix_constant(*input(n, 1)) : nullptr;
      Tensor* a = input(n, 0) ? ctx.matrix_constant(*input(n, 0)) : nullptr;
      if (b)
        set_role(b, TensorRole::kFcWeight);
      else if (a)
        set_role(a, TensorRole::kFcWeight);
      if (auto* c = input(n, 2)) set_role(ctx.constant(*c), TensorRole::kBias);
    } else if (op == "MatMul") {
      Tensor* a = input(n, 0) ? ctx.matrix_constant(*input(n, 0)) : nullptr;
      Tensor* b = input(n, 1) ? ctx.matrix_constant(*input(n, 1)) : nullptr;
      if ((a != nullptr) != (b != nullptr)) set_role(a ? a : b, TensorRole::kFcWeight);
    } else if (op == "LSTM" || op == "GRU" || op == "RNN") {
      // W [D, G*H, I] and R [D, G*H, H] are fully-connected maps (one per gate and direction);
      // B [D, 2*G*H] is their bias. Peepholes and initial states stay "other".
      // Exporters of LSTMCell-style layers pass W as Unsqueeze(weight_ih): look through.
      for (size_t k : {1, 2})
        if (auto* w = input(n, k)) set_role(ctx.matrix_constant(*w), TensorRole::kFcWeight);
      if (auto* b = input(n, 3)) set_role(ctx.matrix_constant(*b), TensorRole::kBias);
    } else if (op == "ConvInteger" || op == "MatMulInteger" || op == "QLinearConv" ||
               op == "QLinearMatMul" || op == "DequantizeLinear") {
      classify_quantized(n, ctx);
    } else if (op == "Gather") {
      if (auto* d = input(n, 0)) set_role(ctx.float_constant(*d), TensorRole::kEmbedding);
    } else if (op == "Add" && n.inputs.size() == 2) {
      for (int side = 0; side < 2; ++side) {
        Tensor* c = ctx.float_constant(n.inputs[side]);
        if (c && c->shape.size() == 1 && produced_by_layer(ctx, n.inputs[1 - side]))
          set_role(c, TensorRole::kBias);
      }
    }
    for (const Attribute& attr : n.attributes)
      if (attr.graph) classify(*attr.graph, ctx);
  }
}

// Conv weights that are a fixed Fourier basis, alone or as the cosine / sine halves of one bank
// in two same-shaped weights (the sine half alone has no window row to go by), become "basis".
// Pairs are only tried among a bounded number of conv weights (an STFT front end has a few).
void mark_fourier_bases(Model* model) {
  std::vector<Tensor*> conv;
  for (Tensor& t : model->tensors) {
    if (t.role != TensorRole::kConvWeight || !is_float_dtype(t.dtype)) continue;
    conv.push_back(&t);
    if (is_fourier_basis(t)) t.role = TensorRole::kFixedBasis;
  }
  constexpr size_t kMaxPairCandidates = 64;
  if (conv.size() > kMaxPairCandidates) return;
  for (Tensor* t : conv) {
    for (Tensor* partner : conv) {
      if (t->role == TensorRole::kFixedBasis) break;
      if (partner != t && partner->shape == t->shape && is_fourier_basis_pair(*partner, *t)) {
        t->role = TensorRole::kFixedBasis;
        partner->role = TensorRole::kFixedBasis;
      }
    }
  }
}

}  // namespace

void assign_roles(Model* model) {
  RoleContext ctx;
  for (Tensor& t : model->tensors) {
    t.role = TensorRole::kOther;
    t.quant = QuantParams();
    ctx.tensors[t.name] = &t;
  }
  collect(model->graph, &ctx);
  classify(model->graph, ctx);
  mark_fourier_bases(model);
}

}  // namespace deepcomp::onnx_io::internal
