// Tensor roles from how the graph uses each tensor: the weight input of Conv/ConvTranspose, Gemm
// and MatMul, the W and R inputs of LSTM/GRU/RNN, Gather's embedding table, and biases. Works on
// the protobuf-free Graph, in the main graph and every subgraph (a subgraph may use a tensor of an
// outer graph). Identity nodes are looked through, since exporters sometimes put one between an
// initializer and its consumer; for Gemm/MatMul also Transpose and Reshape, since PyTorch exports
// a Linear layer as MatMul(x, Transpose(W)) and some exporters reshape a stored weight first.
// Conv weights that are a fixed Fourier basis (fourier_basis.cc) get the "basis" role instead.
#include <unordered_map>
#include <unordered_set>

#include "onnx_io/internal.h"

namespace deepcomp::onnx_io::internal {

namespace {

struct RoleContext {
  std::unordered_map<std::string, Tensor*> tensors;
  std::unordered_map<std::string, std::string> alias;     // Identity output -> tensor name
  std::unordered_map<std::string, std::string> view;      // Transpose/Reshape output -> tensor
  std::unordered_map<std::string, std::string> producer;  // value name -> op_type producing it

  Tensor* constant(const std::string& value) const {
    auto a = alias.find(value);
    auto it = tensors.find(a != alias.end() ? a->second : value);
    return it == tensors.end() ? nullptr : it->second;
  }
  Tensor* float_constant(const std::string& value) const {
    Tensor* t = constant(value);
    return t && is_float_dtype(t->dtype) ? t : nullptr;
  }
  // A matrix operand: a float constant, or a Transpose / Reshape (of ...) of one.
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
    if ((n.op_type == "Transpose" || n.op_type == "Reshape") && !n.inputs.empty() &&
        n.outputs.size() == 1) {
      const std::string& in = n.inputs[0];
      auto v = ctx->view.find(in);
      auto a = ctx->alias.find(in);
      const std::string& src = v != ctx->view.end()    ? v->second
                               : a != ctx->alias.end() ? a->second
                                                       : in;
      if (ctx->tensors.count(src)) ctx->view[n.outputs[0]] = src;
    }
    for (const std::string& out : n.outputs) ctx->producer[out] = n.op_type;
    for (const Attribute& attr : n.attributes)
      if (attr.graph) collect(*attr.graph, ctx);
  }
}

bool produced_by_layer(const RoleContext& ctx, const std::string& value) {
  auto it = ctx.producer.find(value);
  if (it == ctx.producer.end()) return false;
  return it->second == "MatMul" || it->second == "Conv" || it->second == "ConvTranspose";
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
      for (size_t k : {1, 2})
        if (auto* w = input(n, k)) set_role(ctx.float_constant(*w), TensorRole::kFcWeight);
      if (auto* b = input(n, 3)) set_role(ctx.float_constant(*b), TensorRole::kBias);
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
    if (t.role != TensorRole::kConvWeight) continue;
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
    ctx.tensors[t.name] = &t;
  }
  collect(model->graph, &ctx);
  classify(model->graph, ctx);
  mark_fourier_bases(model);
}

}  // namespace deepcomp::onnx_io::internal
