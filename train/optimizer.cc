#include "train/optimizer.h"

#include <cmath>

namespace deepcomp::train {

Result<OptimizerKind> parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::kSgd;
  if (name == "adam") return OptimizerKind::kAdam;
  return Status::Error("--optimizer '" + name + "': expected sgd or adam");
}

Result<LrSchedule> parse_lr_schedule(const std::string& name) {
  if (name == "constant") return LrSchedule::kConstant;
  if (name == "cosine") return LrSchedule::kCosine;
  if (name == "step") return LrSchedule::kStep;
  return Status::Error("--lr-schedule '" + name + "': expected constant, cosine or step");
}

Status validate_optimizer(const OptimizerOptions& o) {
  if (!(o.lr > 0) || !std::isfinite(o.lr)) return Status::Error("--lr must be > 0");
  if (!(o.momentum >= 0 && o.momentum < 1)) return Status::Error("--momentum must be in [0, 1)");
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay))
    return Status::Error("--weight-decay must be >= 0");
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
    return Status::Error("Adam betas must be in [0, 1)");
  if (!(o.eps > 0)) return Status::Error("Adam eps must be > 0");
  if (o.batch < 1) return Status::Error("--batch must be >= 1");
  return Status::Ok();
}

double scheduled_lr(const OptimizerOptions& o, int64_t step, int64_t total) {
  if (total <= 0) return o.lr;
  switch (o.schedule) {
    case LrSchedule::kConstant:
      return o.lr;
    case LrSchedule::kCosine:
      return o.lr * 0.5 *
             (1.0 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(total)));
    case LrSchedule::kStep:
      if (2 * step < total) return o.lr;
      return 4 * step < 3 * total ? o.lr * 0.1 : o.lr * 0.01;
  }
  return o.lr;
}

Optimizer::Optimizer(const OptimizerOptions& options, const std::vector<size_t>& sizes)
    : o_(options) {
  m_.resize(sizes.size());
  if (o_.kind == OptimizerKind::kAdam) v_.resize(sizes.size());
  for (size_t p = 0; p < sizes.size(); ++p) {
    m_[p].assign(sizes[p], 0.0f);
    if (o_.kind == OptimizerKind::kAdam) v_[p].assign(sizes[p], 0.0f);
  }
}

void Optimizer::update(size_t p, std::vector<float>& w, const std::vector<float>& g, double lr,
                       const std::vector<uint8_t>* mask) {
  std::vector<float>& m = m_[p];
  const float wd = static_cast<float>(o_.weight_decay);
  if (o_.kind == OptimizerKind::kSgd) {
    // torch.optim.SGD: d = g + wd*w; buf = momentum*buf + d; w -= lr*buf.
    const float rate = static_cast<float>(lr), mom = static_cast<float>(o_.momentum);
    for (size_t k = 0; k < w.size(); ++k) {
      if (mask != nullptr && !(*mask)[k]) {
        w[k] = 0.0f;
        m[k] = 0.0f;
        continue;
      }
      const float d = g[k] + wd * w[k];
      m[k] = mom * m[k] + d;
      w[k] -= rate * m[k];
    }
    return;
  }
  // torch.optim.Adam (amsgrad off): the scalars in double as Python computes them, the tensors in
  // float: denom = sqrt(v) / sqrt(1 - b2^t) + eps; w -= lr / (1 - b1^t) * m / denom.
  std::vector<float>& v = v_[p];
  const double t = static_cast<double>(t_ < 1 ? 1 : t_);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(o_.beta1, t)));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(o_.beta2, t)));
  const float b1 = static_cast<float>(o_.beta1), b2 = static_cast<float>(o_.beta2);
  const float c1 = static_cast<float>(1.0 - o_.beta1), c2 = static_cast<float>(1.0 - o_.beta2);
  const float eps = static_cast<float>(o_.eps);
  for (size_t k = 0; k < w.size(); ++k) {
    if (mask != nullptr && !(*mask)[k]) {
      w[k] = 0.0f;
      m[k] = 0.0f;
      v[k] = 0.0f;
      continue;
    }
    const float d = g[k] + wd * w[k];
    m[k] = b1 * m[k] + c1 * d;
    v[k] = b2 * v[k] + c2 * d * d;
    w[k] -= step_size * (m[k] / (std::sqrt(v[k]) / bc2_sqrt + eps));
  }
}

}  // namespace deepcomp::train
