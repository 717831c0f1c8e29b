// The optimizers and learning-rate schedules of train/: SGD with momentum and weight decay as
// torch.optim.SGD, Adam as torch.optim.Adam (L2 weight decay added to the gradient, bias-corrected
// moments), and constant / cosine / step schedules over a phase's mini-batch steps.
// Masked updates keep pruned weights at exactly 0 with zero optimizer state.
// Depends only on core/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace deepcomp::train {

enum class OptimizerKind { kSgd, kAdam };
enum class LrSchedule { kConstant, kCosine, kStep };

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kSgd;
  double lr = 0.01;
  double momentum = 0.9;  // SGD only
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam only (torch's defaults)
  LrSchedule schedule = LrSchedule::kConstant;
  int batch = 64;
  uint64_t seed = 0;  // of the batch order (train::epoch_order)
};

Result<OptimizerKind> parse_optimizer(const std::string& name);  // "sgd" | "adam"
Result<LrSchedule> parse_lr_schedule(const std::string& name);   // "constant" | "cosine" | "step"
// Rejects settings out of range, naming the option (--lr, --momentum, ...).
Status validate_optimizer(const OptimizerOptions& o);

// Learning rate of step `step` (0-based) of a phase of `total` steps:
//   constant: lr;  cosine: lr * (1 + cos(pi * step / total)) / 2;
//   step: lr, then lr/10 from step total/2, lr/100 from step 3*total/4.
double scheduled_lr(const OptimizerOptions& o, int64_t step, int64_t total);

// Optimizer state for a list of parameter vectors (momentum buffers, Adam moments).
class Optimizer {
 public:
  Optimizer(const OptimizerOptions& options, const std::vector<size_t>& sizes);
  // Call once per mini-batch before the updates of that batch (Adam's bias-correction count).
  void begin_step() { ++t_; }
  // Updates parameter p in place from its gradient at learning rate lr. Where mask[k] == 0 the
  // weight is set to 0 and its state cleared (pruned weights never come back).
  void update(size_t p, std::vector<float>& w, const std::vector<float>& g, double lr,
              const std::vector<uint8_t>* mask);
  const OptimizerOptions& options() const { return o_; }

 private:
  OptimizerOptions o_;
  int64_t t_ = 0;
  std::vector<std::vector<float>> m_, v_;  // SGD: m_ = momentum buffer; Adam: both moments
};

}  // namespace deepcomp::train
