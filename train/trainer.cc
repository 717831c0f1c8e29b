#include "train/trainer.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "runtime/value.h"

namespace deepcomp::train {

Status softmax_cross_entropy(const Blob& logits, const int32_t* labels, double scale,
                             double* loss_sum, int64_t* correct, Blob* dlogits) {
  if (logits.shape.size() != 2)
    return Status::Error("model output " + shape_str(logits.shape) + " is not [N, classes] logits");
  const int64_t n = logits.shape[0], c = logits.shape[1];
  if (dlogits != nullptr) dlogits->reset(logits.shape);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.v.data() + i * c;
    const int32_t label = labels[i];
    if (label < 0 || label >= c)
      return Status::Error("label " + std::to_string(label) + " outside the model's " +
                           std::to_string(c) + " classes");
    int64_t arg = 0;
    for (int64_t j = 1; j < c; ++j)
      if (row[j] > row[arg]) arg = j;
    *correct += arg == label;
    double sum = 0;
    for (int64_t j = 0; j < c; ++j) sum += std::exp(static_cast<double>(row[j]) - row[arg]);
    const double log_z = std::log(sum) + row[arg];
    *loss_sum += log_z - row[label];
    if (dlogits != nullptr)
      for (int64_t j = 0; j < c; ++j)
        dlogits->v[static_cast<size_t>(i * c + j)] = static_cast<float>(
            (std::exp(static_cast<double>(row[j]) - log_z) - (j == label ? 1.0 : 0.0)) * scale);
  }
  return Status::Ok();
}

Result<std::unique_ptr<Trainer>> Trainer::create(const Model& model) {
  std::unique_ptr<Trainer> t(new Trainer());
  const Graph& g = model.graph;
  std::map<std::string, int> slot_of;
  auto add_slot = [&](const std::string& name, Slot s) {
    slot_of[name] = static_cast<int>(t->slots_.size());
    t->slots_.push_back(s);
  };
  std::map<std::string, size_t> tensor_of;
  for (size_t i = 0; i < model.tensors.size(); ++i) tensor_of[model.tensors[i].name] = i;
  t->num_tensors_ = model.tensors.size();
  for (const ValueInfo& in : g.inputs) {
    if (tensor_of.count(in.name)) continue;
    if (!t->input_name_.empty())
      return Status::Error("graph has more than one data input ('" + t->input_name_ + "', '" +
                           in.name + "'); training supports one");
    t->input_name_ = in.name;
    if (in.dims.size() >= 1)
      t->sample_shape_.assign(in.dims.begin() + 1, in.dims.end());
    Slot s;
    s.kind = SlotKind::kInput;
    t->input_slot_ = static_cast<int>(t->slots_.size());
    add_slot(in.name, s);
  }
  if (t->input_name_.empty()) return Status::Error("graph has no data input");
  if (g.outputs.empty()) return Status::Error("graph has no output");

  // First pass: every node must have a backward pass, before any other work.
  for (const Node& node : g.nodes) {
    if (node.op_type == "Constant" || (!node.domain.empty() && node.domain != "ai.onnx")) {
      if (node.op_type == "Constant" && node.domain.empty()) continue;
      return Status::Error("node '" + node.name + "' (" + node.op_type +
                           "): no backward pass for training (supported: " +
                           trainable_op_list() + ")");
    }
    std::vector<ConstInput> probe(node.inputs.size());
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      auto it = tensor_of.find(node.inputs[k]);
      if (it != tensor_of.end()) probe[k].tensor = &model.tensors[it->second];
    }
    auto op = make_op(node, probe);
    if (!op.ok()) return op.status().WithContext("node '" + node.name + "' (" + node.op_type + ")");
  }

  for (const Node& node : g.nodes) {
    const std::string where = "node '" + node.name + "' (" + node.op_type + ")";
    if (node.op_type == "Constant") {
      const Attribute* value = node.attr("value");
      auto it = value != nullptr ? tensor_of.find(value->tensor) : tensor_of.end();
      if (it == tensor_of.end() || node.outputs.empty())
        return Status::Error(where + ": only tensor-valued Constant nodes are supported");
      Slot s;
      s.kind = SlotKind::kTensor;
      s.tensor = it->second;
      add_slot(node.outputs[0], s);
      continue;
    }
    NodeInfo info;
    info.name = node.name;
    info.op_type = node.op_type;
    std::vector<ConstInput> consts(node.inputs.size());
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const std::string& name = node.inputs[k];
      if (name.empty()) {
        info.inputs.push_back(-1);
        continue;
      }
      auto found = slot_of.find(name);
      if (found == slot_of.end()) {
        auto it = tensor_of.find(name);
        if (it == tensor_of.end())
          return Status::Error(where + ": input '" + name + "' is not produced by an earlier node");
        Slot s;
        s.kind = SlotKind::kTensor;
        s.tensor = it->second;
        const Tensor& tensor = model.tensors[it->second];
        const bool trainable = is_float_dtype(tensor.dtype) &&
                               (is_weight_role(tensor.role) || tensor.role == TensorRole::kBias);
        if (trainable) {
          s.param = static_cast<int>(t->params_.size());
          t->params_.push_back(it->second);
          s.needs_grad = true;
        }
        add_slot(name, s);
        found = slot_of.find(name);
      }
      info.inputs.push_back(found->second);
      const Slot& s = t->slots_[static_cast<size_t>(found->second)];
      if (s.kind == SlotKind::kTensor && s.param < 0) consts[k].tensor = &model.tensors[s.tensor];
    }
    DEEPCOMP_ASSIGN_OR_RETURN(info.op, make_op(node, consts));
    if (node.outputs.empty() || node.outputs[0].empty())
      return Status::Error(where + ": has no output");
    Slot out;
    for (size_t k = 0; k < info.inputs.size(); ++k)
      if (info.inputs[k] >= 0 && info.op->differentiable_input(k) &&
          t->slots_[static_cast<size_t>(info.inputs[k])].needs_grad)
        out.needs_grad = true;
    info.output = static_cast<int>(t->slots_.size());
    add_slot(node.outputs[0], out);
    t->nodes_.push_back(std::move(info));
  }
  auto it = slot_of.find(g.outputs[0].name);
  if (it == slot_of.end() || t->slots_[static_cast<size_t>(it->second)].kind != SlotKind::kActivation)
    return Status::Error("graph output '" + g.outputs[0].name + "' is not computed by a node");
  t->output_slot_ = it->second;
  return t;
}

std::vector<Blob> Trainer::tensor_blobs(const Model& model) const {
  std::vector<Blob> blobs(num_tensors_);
  for (const Slot& s : slots_) {
    if (s.kind != SlotKind::kTensor || !blobs[s.tensor].shape.empty() || !blobs[s.tensor].v.empty())
      continue;
    const Tensor& t = model.tensors[s.tensor];
    blobs[s.tensor].shape = t.shape;
    if (is_float_dtype(t.dtype)) {
      blobs[s.tensor].v = t.values;
    } else if (auto v = runtime::value_from_tensor(t); v.ok()) {
      for (int64_t k = 0; k < v->numel(); ++k) blobs[s.tensor].v.push_back(static_cast<float>(v->as_double(k)));
    }
  }
  return blobs;
}

Status Trainer::run_chunk(const std::vector<Blob>& tensors, const float* x, const int32_t* labels,
                          int64_t n, double scale, std::vector<std::vector<float>>* grads,
                          double* loss_sum, int64_t* correct, Blob* logits) const {
  std::vector<Blob> act(slots_.size());
  std::vector<const Blob*> val(slots_.size(), nullptr);
  Blob input;
  input.shape = sample_shape_;
  input.shape.insert(input.shape.begin(), n);
  input.v.assign(x, x + n * (input.numel() / std::max<int64_t>(n, 1)));
  val[static_cast<size_t>(input_slot_)] = &input;
  for (size_t s = 0; s < slots_.size(); ++s)
    if (slots_[s].kind == SlotKind::kTensor) val[s] = &tensors[slots_[s].tensor];
  std::vector<const Blob*> ins;
  for (const NodeInfo& node : nodes_) {
    ins.clear();
    for (int k : node.inputs) ins.push_back(k >= 0 ? val[static_cast<size_t>(k)] : nullptr);
    Blob& out = act[static_cast<size_t>(node.output)];
    DEEPCOMP_RETURN_IF_ERROR(node.op->forward(ins, &out).WithContext(
        "node '" + node.name + "' (" + node.op_type + ")"));
    val[static_cast<size_t>(node.output)] = &out;
  }
  const Blob& out = *val[static_cast<size_t>(output_slot_)];
  if (logits != nullptr) *logits = out;
  if (labels == nullptr) return Status::Ok();
  std::vector<Blob> grad(slots_.size());
  DEEPCOMP_RETURN_IF_ERROR(softmax_cross_entropy(out, labels, scale, loss_sum, correct,
                                                 &grad[static_cast<size_t>(output_slot_)]));
  std::vector<Blob*> din;
  for (size_t i = nodes_.size(); i-- > 0;) {
    const NodeInfo& node = nodes_[i];
    const Blob& dout = grad[static_cast<size_t>(node.output)];
    if (dout.v.empty()) continue;
    ins.clear();
    din.clear();
    bool any = false;
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const int s = node.inputs[k];
      ins.push_back(s >= 0 ? val[static_cast<size_t>(s)] : nullptr);
      Blob* d = nullptr;
      if (s >= 0 && slots_[static_cast<size_t>(s)].needs_grad && node.op->differentiable_input(k)) {
        d = &grad[static_cast<size_t>(s)];
        if (d->v.empty()) d->reset(val[static_cast<size_t>(s)]->shape);
        any = true;
      }
      din.push_back(d);
    }
    if (!any) continue;
    DEEPCOMP_RETURN_IF_ERROR(node.op->backward(ins, *val[static_cast<size_t>(node.output)], dout, din)
                                 .WithContext("node '" + node.name + "' (" + node.op_type + ") backward"));
  }
  for (size_t s = 0; s < slots_.size(); ++s) {
    const Slot& slot = slots_[s];
    if (slot.param < 0 || grad[s].v.empty()) continue;
    std::vector<float>& g = (*grads)[static_cast<size_t>(slot.param)];
    for (size_t k = 0; k < g.size(); ++k) g[k] += grad[s].v[k];
  }
  return Status::Ok();
}

Result<BatchResult> Trainer::gradients(const Model& model, const float* x, const int32_t* labels,
                                       int64_t n, std::vector<std::vector<float>>* grads) const {
  if (n <= 0) return Status::Error("empty batch");
  const std::vector<Blob> tensors = tensor_blobs(model);
  int64_t sample = 1;
  for (int64_t d : sample_shape_) sample *= d;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<std::vector<std::vector<float>>> part(static_cast<size_t>(chunks));
  std::vector<double> losses(static_cast<size_t>(chunks), 0.0);
  std::vector<int64_t> hits(static_cast<size_t>(chunks), 0);
  std::vector<Status> status(static_cast<size_t>(chunks));
  const double scale = 1.0 / static_cast<double>(n);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const size_t ci = static_cast<size_t>(c);
    part[ci].resize(params_.size());
    for (size_t p = 0; p < params_.size(); ++p) part[ci][p].assign(model.tensors[params_[p]].values.size(), 0.0f);
    const int64_t begin = c * kChunk, count = std::min(kChunk, n - begin);
    status[ci] = run_chunk(tensors, x + begin * sample, labels + begin, count, scale, &part[ci],
                           &losses[ci], &hits[ci], nullptr);
  }
  BatchResult r;
  grads->resize(params_.size());
  for (size_t p = 0; p < params_.size(); ++p) (*grads)[p].assign(model.tensors[params_[p]].values.size(), 0.0f);
  for (size_t c = 0; c < part.size(); ++c) {
    DEEPCOMP_RETURN_IF_ERROR(status[c]);
    r.loss += losses[c];
    r.correct += hits[c];
    for (size_t p = 0; p < params_.size(); ++p)
      for (size_t k = 0; k < part[c][p].size(); ++k) (*grads)[p][k] += part[c][p][k];
  }
  r.loss /= static_cast<double>(n);
  if (!std::isfinite(r.loss))
    return Status::Error("training diverged: the loss is " + std::to_string(r.loss) +
                         " (try a smaller --lr)");
  return r;
}

Status Trainer::forward(const Model& model, const float* x, int64_t n, Blob* logits) const {
  const std::vector<Blob> tensors = tensor_blobs(model);
  return run_chunk(tensors, x, nullptr, n, 0, nullptr, nullptr, nullptr, logits);
}

}  // namespace deepcomp::train
