// What a convolution does to each output after its sum, in this order: add the channel's bias,
// multiply by a per-channel scale, add a per-channel shift (a Mul / Add by a constant, or a
// BatchNormalization as x * s + b), add a residual tensor of the output's shape, apply an
// activation, then multiply by a per-channel post_scale and add a per-channel post_shift (a Mul /
// Add by a constant after the activation: PP-OCRv4's learnable affine blocks). Each step is the
// float arithmetic of the runtime's separate operator (runtime/ops_elementwise.cc, ops_math.cc,
// ops_nn.cc), so a fused chain gives the bits of the unfused one for the same sums. Header-only;
// depends on kernels/sigmoid.h (Sigmoid and SiLU, which the Sigmoid operator computes too).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/sigmoid.h"

namespace deepcomp::kernels {

enum class Activation : uint8_t {
  kNone,
  kRelu,         // x > 0 ? x : 0
  kLeakyRelu,    // x >= 0 ? x : alpha * x
  kClip,         // min(max(x, alpha), beta)
  kHardSigmoid,  // max(0, min(1, alpha * x + beta))
  kHardSwish,    // x * max(0, min(1, x / 6 + 0.5))
  kSigmoid,      // 1 / (1 + exp(-x)), kernels::sigmoid
  kSilu,         // x * sigmoid(x): Sigmoid, then Mul of x by it (YOLO's SiLU / Swish)
  // x * Clip(x + alpha, beta, gamma) / delta: HardSwish as exporters spell it with Add, Clip,
  // Mul and Div (alpha 3, clip to [0, 6], delta 6), each step rounded as those operators do.
  kHardSwishParts,
};

struct Epilogue {
  Activation act = Activation::kNone;
  float alpha = 0, beta = 0, gamma = 0, delta = 1;
  const float* scale = nullptr;       // M entries, or nullptr
  const float* shift = nullptr;       // M entries, or nullptr
  const float* residual = nullptr;    // the output's shape (N x M x spatial), or nullptr
  const float* post_scale = nullptr;  // M entries, or nullptr
  const float* post_shift = nullptr;  // M entries, or nullptr
};

inline float activate(const Epilogue& e, float x) {
  switch (e.act) {
    case Activation::kNone:
      return x;
    case Activation::kRelu:
      return x > 0.0f ? x : 0.0f;
    case Activation::kLeakyRelu:
      return x >= 0.0f ? x : e.alpha * x;
    case Activation::kClip:
      return std::min(std::max(x, e.alpha), e.beta);
    case Activation::kHardSigmoid:
      return std::max(0.0f, std::min(1.0f, e.alpha * x + e.beta));
    case Activation::kHardSwish:
      return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f));
    case Activation::kSigmoid:
      return sigmoid(x);
    case Activation::kSilu:
      return silu(x);
    case Activation::kHardSwishParts: {
      const float clipped = std::min(std::max(x + e.alpha, e.beta), e.gamma);
      return x * clipped / e.delta;
    }
  }
  return x;
}

// y[0..n) = activate(y); the switch is outside the loops so the simple ones vectorize.
inline void apply_activation(const Epilogue& e, float* y, int64_t n) {
  switch (e.act) {
    case Activation::kNone:
      return;
    case Activation::kRelu:
      for (int64_t k = 0; k < n; ++k) y[k] = y[k] > 0.0f ? y[k] : 0.0f;
      return;
    case Activation::kClip:
      for (int64_t k = 0; k < n; ++k) y[k] = std::min(std::max(y[k], e.alpha), e.beta);
      return;
    case Activation::kSigmoid:
      sigmoid(y, y, n);
      return;
    case Activation::kSilu:
      silu(y, y, n);
      return;
    default:
      for (int64_t k = 0; k < n; ++k) y[k] = activate(e, y[k]);
  }
}

}  // namespace deepcomp::kernels
