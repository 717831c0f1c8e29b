// Training ops: Relu, Add, Sub, Div (by a constant), with numpy broadcasting, and the shape-only
// ops Flatten, Reshape, Identity, Dropout (inference: identity) and Pad (constant mode).
#include <cmath>

#include "runtime/ops.h"
#include "runtime/value.h"
#include "train/ops.h"

namespace deepcomp::train {
namespace {

namespace rops = runtime::ops;

class ReluOp : public Op {
 public:
  Status forward(const std::vector<const Blob*>& in, Blob* out) const override {
    out->shape = in[0]->shape;
    out->v.resize(in[0]->v.size());
    for (size_t k = 0; k < out->v.size(); ++k) out->v[k] = in[0]->v[k] > 0 ? in[0]->v[k] : 0.0f;
    return Status::Ok();
  }
  Status backward(const std::vector<const Blob*>& in, const Blob&, const Blob& dout,
                  const std::vector<Blob*>& din) const override {
    if (din[0] == nullptr) return Status::Ok();
    for (size_t k = 0; k < dout.v.size(); ++k)
      if (in[0]->v[k] > 0) din[0]->v[k] += dout.v[k];
    return Status::Ok();
  }
};

// Calls f(out_index, a_index, b_index) over the broadcast output.
template <typename F>
void for_broadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                   const std::vector<int64_t>& out, F f) {
  const std::vector<int64_t> sa = rops::broadcast_strides(a, out);
  const std::vector<int64_t> sb = rops::broadcast_strides(b, out);
  const size_t rank = out.size();
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  std::vector<int64_t> idx(rank, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t o = 0; o < total; ++o) {
    f(o, ia, ib);
    for (size_t d = rank; d-- > 0;) {
      ++idx[d];
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < out[d]) break;
      ia -= sa[d] * out[d];
      ib -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

class BinaryOp : public Op {
 public:
  enum Kind { kAdd, kSub, kDiv };
  explicit BinaryOp(Kind kind) : kind_(kind) {}
  bool differentiable_input(size_t k) const override { return kind_ != kDiv || k == 0; }

  Status forward(const std::vector<const Blob*>& in, Blob* out) const override {
    const Blob& a = *in[0];
    const Blob& b = *in[1];
    std::vector<int64_t> shape;
    if (!rops::broadcast_shapes(a.shape, b.shape, &shape))
      return Status::Error(shape_str(a.shape) + " and " + shape_str(b.shape) +
                           " do not broadcast");
    out->reset(shape);
    for_broadcast(a.shape, b.shape, shape, [&](int64_t o, int64_t ia, int64_t ib) {
      const float x = a.v[static_cast<size_t>(ia)], y = b.v[static_cast<size_t>(ib)];
      out->v[static_cast<size_t>(o)] = kind_ == kAdd ? x + y : kind_ == kSub ? x - y : x / y;
    });
    return Status::Ok();
  }
  Status backward(const std::vector<const Blob*>& in, const Blob& out, const Blob& dout,
                  const std::vector<Blob*>& din) const override {
    const Blob& b = *in[1];
    for_broadcast(in[0]->shape, b.shape, out.shape, [&](int64_t o, int64_t ia, int64_t ib) {
      const float g = dout.v[static_cast<size_t>(o)];
      if (din[0] != nullptr)
        din[0]->v[static_cast<size_t>(ia)] += kind_ == kDiv ? g / b.v[static_cast<size_t>(ib)] : g;
      if (kind_ != kDiv && din[1] != nullptr)
        din[1]->v[static_cast<size_t>(ib)] += kind_ == kAdd ? g : -g;
    });
    return Status::Ok();
  }

 private:
  Kind kind_;
};

// Ops whose output is the input with another shape (or the same one).
class ReshapeLikeOp : public Op {
 public:
  enum Kind { kIdentity, kFlatten, kReshape };
  ReshapeLikeOp(Kind kind, int64_t axis, std::vector<int64_t> target)
      : kind_(kind), axis_(axis), target_(std::move(target)) {}

  Status forward(const std::vector<const Blob*>& in, Blob* out) const override {
    const Blob& x = *in[0];
    std::vector<int64_t> shape = x.shape;
    if (kind_ == kFlatten) {
      int64_t axis = axis_;
      if (!rops::normalize_axis(axis, static_cast<int64_t>(x.shape.size()) + 1, &axis))
        return Status::Error("axis " + std::to_string(axis_) + " out of range for " + shape_str(x.shape));
      int64_t outer = 1, inner = 1;
      for (size_t d = 0; d < x.shape.size(); ++d) (static_cast<int64_t>(d) < axis ? outer : inner) *= x.shape[d];
      shape = {outer, inner};
    } else if (kind_ == kReshape) {
      shape = target_;
      int64_t known = 1, infer = -1;
      for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 0 && d < x.shape.size()) shape[d] = x.shape[d];
        if (shape[d] == -1) {
          if (infer >= 0) return Status::Error("more than one -1 in the shape");
          infer = static_cast<int64_t>(d);
        } else {
          known *= shape[d];
        }
      }
      if (infer >= 0 && known > 0) shape[static_cast<size_t>(infer)] = x.numel() / known;
      int64_t total = 1;
      for (int64_t d : shape) total *= d;
      if (total != x.numel())
        return Status::Error("cannot reshape " + shape_str(x.shape) + " to " + shape_str(target_));
    }
    out->shape = shape;
    out->v = x.v;
    return Status::Ok();
  }
  Status backward(const std::vector<const Blob*>&, const Blob&, const Blob& dout,
                  const std::vector<Blob*>& din) const override {
    if (din[0] == nullptr) return Status::Ok();
    for (size_t k = 0; k < dout.v.size(); ++k) din[0]->v[k] += dout.v[k];
    return Status::Ok();
  }

 private:
  Kind kind_;
  int64_t axis_;
  std::vector<int64_t> target_;
};

class PadOp : public Op {
 public:
  PadOp(std::vector<int64_t> pads, float value) : pads_(std::move(pads)), value_(value) {}
  Status forward(const std::vector<const Blob*>& in, Blob* out) const override {
    const Blob& x = *in[0];
    const size_t rank = x.shape.size();
    if (pads_.size() != 2 * rank)
      return Status::Error(std::to_string(pads_.size()) + " pads for rank " + std::to_string(rank));
    std::vector<int64_t> shape(rank);
    for (size_t d = 0; d < rank; ++d) shape[d] = x.shape[d] + pads_[d] + pads_[d + rank];
    out->reset(shape);
    std::fill(out->v.begin(), out->v.end(), value_);
    walk(x.shape, shape, [&](int64_t ix, int64_t io) { out->v[static_cast<size_t>(io)] = x.v[static_cast<size_t>(ix)]; });
    return Status::Ok();
  }
  Status backward(const std::vector<const Blob*>& in, const Blob& out, const Blob& dout,
                  const std::vector<Blob*>& din) const override {
    if (din[0] == nullptr) return Status::Ok();
    walk(in[0]->shape, out.shape, [&](int64_t ix, int64_t io) { din[0]->v[static_cast<size_t>(ix)] += dout.v[static_cast<size_t>(io)]; });
    return Status::Ok();
  }

 private:
  template <typename F>
  void walk(const std::vector<int64_t>& in, const std::vector<int64_t>& out, F f) const {
    const size_t rank = in.size();
    int64_t total = 1;
    for (int64_t d : in) total *= d;
    std::vector<int64_t> idx(rank, 0), ostride(rank, 1);
    for (size_t d = rank; d-- > 1;) ostride[d - 1] = ostride[d] * out[d];
    for (int64_t k = 0; k < total; ++k) {
      int64_t o = 0;
      for (size_t d = 0; d < rank; ++d) o += (idx[d] + pads_[d]) * ostride[d];
      f(k, o);
      for (size_t d = rank; d-- > 0;) {
        if (++idx[d] < in[d]) break;
        idx[d] = 0;
      }
    }
  }
  std::vector<int64_t> pads_;
  float value_;
};

Result<std::vector<int64_t>> const_ints(const std::vector<ConstInput>& consts, size_t k,
                                        const char* what) {
  if (k >= consts.size() || consts[k].tensor == nullptr)
    return Status::Error(std::string(what) + " must be a constant (initializer) for training");
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::Value v, runtime::value_from_tensor(*consts[k].tensor));
  std::vector<int64_t> out;
  for (int64_t i = 0; i < v.numel(); ++i) out.push_back(v.as_int(i));
  return out;
}

}  // namespace

Result<std::unique_ptr<Op>> make_elementwise_op(const Node& node,
                                                const std::vector<ConstInput>& consts) {
  const std::string& op = node.op_type;
  if (op == "Relu") return std::unique_ptr<Op>(new ReluOp());
  if (op == "Add" || op == "Sub" || op == "Div") {
    if (node.inputs.size() != 2) return Status::Error(op + " needs 2 inputs");
    if (op == "Div" && (consts.size() < 2 || consts[1].tensor == nullptr))
      return Status::Error("training supports Div by a constant (initializer) only");
    return std::unique_ptr<Op>(new BinaryOp(op == "Add" ? BinaryOp::kAdd
                                            : op == "Sub" ? BinaryOp::kSub
                                                          : BinaryOp::kDiv));
  }
  if (op == "Identity") return std::unique_ptr<Op>(new ReshapeLikeOp(ReshapeLikeOp::kIdentity, 0, {}));
  if (op == "Dropout") {
    if (node.outputs.size() > 1 && !node.outputs[1].empty())
      return Status::Error("the Dropout mask output is not supported in training");
    return std::unique_ptr<Op>(new ReshapeLikeOp(ReshapeLikeOp::kIdentity, 0, {}));
  }
  if (op == "Flatten")
    return std::unique_ptr<Op>(
        new ReshapeLikeOp(ReshapeLikeOp::kFlatten, rops::attr_int(node, "axis", 1), {}));
  if (op == "Reshape") {
    if (rops::attr_int(node, "allowzero", 0) != 0)
      return Status::Error("allowzero=1 is not supported in training");
    DEEPCOMP_ASSIGN_OR_RETURN(std::vector<int64_t> shape, const_ints(consts, 1, "the shape input"));
    return std::unique_ptr<Op>(new ReshapeLikeOp(ReshapeLikeOp::kReshape, 0, std::move(shape)));
  }
  if (op == "Pad") {
    if (rops::attr_string(node, "mode", "constant") != "constant")
      return Status::Error("training supports mode=constant only");
    std::vector<int64_t> pads;
    if (node.inputs.size() > 1 && !node.inputs[1].empty()) {
      DEEPCOMP_ASSIGN_OR_RETURN(pads, const_ints(consts, 1, "the pads input"));
    } else {
      pads = rops::attr_ints(node, "pads");
    }
    if (node.inputs.size() > 3 && !node.inputs[3].empty())
      return Status::Error("the axes input is not supported in training");
    for (int64_t p : pads)
      if (p < 0) return Status::Error("negative pads are not supported in training");
    float value = rops::attr_float(node, "value", 0.0f);
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
      if (consts[2].tensor == nullptr || consts[2].tensor->values.size() != 1)
        return Status::Error("constant_value must be a constant scalar for training");
      value = consts[2].tensor->values[0];
    }
    return std::unique_ptr<Op>(new PadOp(std::move(pads), value));
  }
  return std::unique_ptr<Op>();
}

int64_t Blob::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void Blob::reset(std::vector<int64_t> new_shape) {
  shape = std::move(new_shape);
  v.assign(static_cast<size_t>(numel()), 0.0f);
}

std::string shape_str(const std::vector<int64_t>& shape) { return runtime::shape_string(shape); }

std::string trainable_op_list() {
  return "Add, AveragePool, Conv, Div (by a constant), Dropout, Flatten, Gemm, Identity, MatMul, "
         "MaxPool, Pad (constant), Relu, Reshape, Sub";
}

Result<std::unique_ptr<Op>> make_op(const Node& node, const std::vector<ConstInput>& consts) {
  for (auto* factory : {&make_dense_op, &make_conv_op, &make_elementwise_op}) {
    DEEPCOMP_ASSIGN_OR_RETURN(std::unique_ptr<Op> op, factory(node, consts));
    if (op) return op;
  }
  return Status::Error("no backward pass for training (supported: " + trainable_op_list() + ")");
}

}  // namespace deepcomp::train
