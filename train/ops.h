// Internal to train/: the operators the trainer can differentiate. Each op computes its forward
// output from its inputs and, given the output gradient, adds its input gradients (reverse mode).
// Training-specific code (float32 only, no sparse weights), kept separate from runtime/'s
// inference kernels so that the forward pass used for gradients is the one differentiated here.
// Depends on core/, runtime/value.h and runtime/ops.h helpers (attributes, pads, broadcasting);
// never on compress/ or onnx_io.
#pragma once

#define EIGEN_DONT_PARALLELIZE  // parallelism is over the batch, in fixed chunks (determinism)

#include <memory>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace deepcomp::train {

// A dense float32 array, row-major.
struct Blob {
  std::vector<int64_t> shape;
  std::vector<float> v;
  int64_t numel() const;
  void reset(std::vector<int64_t> new_shape);  // resizes and zero-fills
};

// Constant inputs known when the trainer is built (initializers, Constant nodes).
struct ConstInput {
  const Tensor* tensor = nullptr;  // nullptr: computed at run time
};

class Op {
 public:
  virtual ~Op() = default;
  virtual Status forward(const std::vector<const Blob*>& in, Blob* out) const = 0;
  // Adds dL/d(input k) into din[k] (already shaped like input k and zero-filled on first use);
  // din[k] is nullptr when no gradient is needed for input k. `out` is the forward output.
  virtual Status backward(const std::vector<const Blob*>& in, const Blob& out, const Blob& dout,
                          const std::vector<Blob*>& din) const = 0;
  // Inputs whose gradient this op never produces (shapes, pads, the divisor of Div).
  virtual bool differentiable_input(size_t k) const { return k == 0; }
};

// Builds the op for `node`; `consts[k]` tells which inputs are constants. Error (plain message,
// the trainer adds the node name) when the op has no backward pass or its attributes are not
// supported for training.
Result<std::unique_ptr<Op>> make_op(const Node& node, const std::vector<ConstInput>& consts);

// The op types make_op accepts, for error messages.
std::string trainable_op_list();

// Per-file factories (nullptr result with ok status: not this file's op).
Result<std::unique_ptr<Op>> make_dense_op(const Node& node, const std::vector<ConstInput>& consts);
Result<std::unique_ptr<Op>> make_conv_op(const Node& node, const std::vector<ConstInput>& consts);
Result<std::unique_ptr<Op>> make_elementwise_op(const Node& node,
                                                const std::vector<ConstInput>& consts);

std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace deepcomp::train
