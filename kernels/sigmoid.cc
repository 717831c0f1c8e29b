// Sigmoid and SiLU (kernels/sigmoid.h). The scalar and vector code run the same operations in the
// same order (no fused multiply-adds: -ffp-contract=off for kernels/), so every element gets the
// same bits whichever path, clone or tail computes it.
#include "kernels/sigmoid.h"

#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define DEEPCOMP_SIGMOID_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DEEPCOMP_SIGMOID_CLONES
#endif

namespace deepcomp::kernels {
namespace {

#pragma GCC diagnostic ignored "-Wpsabi"
using v8 = float __attribute__((vector_size(32)));
using i8 = int32_t __attribute__((vector_size(32)));
using detail::exp_steps;
using detail::sigmoid_steps;

inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }

}  // namespace

float exp_approx(float x) { return exp_steps<float, int32_t>(x); }
float sigmoid(float x) { return sigmoid_steps<float, int32_t>(x); }

DEEPCOMP_SIGMOID_CLONES
void sigmoid(const float* x, float* y, int64_t n) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) store8(y + k, sigmoid_steps<v8, i8>(load8(x + k)));
  for (; k < n; ++k) y[k] = sigmoid_steps<float, int32_t>(x[k]);
}

DEEPCOMP_SIGMOID_CLONES
void silu(const float* x, float* y, int64_t n) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const v8 v = load8(x + k);
    store8(y + k, v * sigmoid_steps<v8, i8>(v));
  }
  for (; k < n; ++k) y[k] = x[k] * sigmoid_steps<float, int32_t>(x[k]);
}

}  // namespace deepcomp::kernels
