// A small trainer over a core::Model graph: forward pass with cached activations, softmax
// cross-entropy on the model's first output (logits [N, classes]), then reverse mode over the
// nodes. Gradients of a mini-batch are computed in fixed chunks of samples in parallel (OpenMP)
// and reduced in chunk order, so results do not depend on the number of threads.
// Depends on core/ and runtime/ helpers; never on compress/ or onnx_io.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "train/ops.h"

namespace deepcomp::train {

// Samples per parallel chunk (fixed: part of the determinism contract).
inline constexpr int64_t kChunk = 16;

struct BatchResult {
  double loss = 0;      // mean cross-entropy over the batch
  int64_t correct = 0;  // top-1 hits
};

class Trainer {
 public:
  // Checks, before any work, that every node has a backward pass (error names node and op) and
  // that the graph has one float input and produces its first output.
  static Result<std::unique_ptr<Trainer>> create(const Model& model);

  // Indices into Model::tensors of the trainable tensors: float initializers of role conv, fc,
  // embedding or bias that feed a node.
  const std::vector<size_t>& params() const { return params_; }
  // Shape of one sample of the graph input (without the batch dimension); -1 where unknown.
  const std::vector<int64_t>& sample_shape() const { return sample_shape_; }
  const std::string& input_name() const { return input_name_; }

  // Gradient of the mean cross-entropy over `n` samples (x: n * sample size floats, labels in
  // [0, classes)). grads[p] is resized to params()[p]'s size and overwritten. Errors for
  // non-finite loss, bad labels or shapes.
  Result<BatchResult> gradients(const Model& model, const float* x, const int32_t* labels,
                                int64_t n, std::vector<std::vector<float>>* grads) const;
  // Logits for n samples.
  Status forward(const Model& model, const float* x, int64_t n, Blob* logits) const;

 private:
  Trainer() = default;
  struct NodeInfo {
    std::string name, op_type;
    std::unique_ptr<Op> op;
    std::vector<int> inputs;  // value slots, -1 for omitted
    int output = -1;
  };
  enum class SlotKind { kInput, kTensor, kActivation };
  struct Slot {
    SlotKind kind = SlotKind::kActivation;
    size_t tensor = 0;   // kTensor
    int param = -1;      // index in params_, -1 if constant
    bool needs_grad = false;
  };
  // Forward (and backward when labels != nullptr) over one chunk.
  Status run_chunk(const std::vector<Blob>& tensors, const float* x, const int32_t* labels,
                   int64_t n, double scale, std::vector<std::vector<float>>* grads,
                   double* loss_sum, int64_t* correct, Blob* logits) const;
  std::vector<Blob> tensor_blobs(const Model& model) const;

  std::vector<NodeInfo> nodes_;
  std::vector<Slot> slots_;
  std::vector<size_t> params_;
  std::vector<int64_t> sample_shape_;
  std::string input_name_;
  int input_slot_ = -1, output_slot_ = -1;
  size_t num_tensors_ = 0;
};

// Cross-entropy of softmax(logits[i]) against labels[i], summed over the n rows; optionally
// writes d(sum)/d(logits) * scale into dlogits. Counts top-1 hits. Error for a label out of range.
Status softmax_cross_entropy(const Blob& logits, const int32_t* labels, double scale,
                             double* loss_sum, int64_t* correct, Blob* dlogits);

}  // namespace deepcomp::train
