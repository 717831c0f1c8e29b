// Sigmoid and SiLU (kernels/sigmoid.h). The scalar and vector code run the same operations in the
// same order (no fused multiply-adds: -ffp-contract=off for kernels/), so every element gets the
// same bits whichever path, instruction set or tail computes it.
#include "kernels/sigmoid.h"

#include <cstring>

#include "kernels/isa_variants.h"

namespace deepcomp::kernels {
namespace {

#pragma GCC diagnostic ignored "-Wpsabi"
using v8 = float __attribute__((vector_size(32)));
using i8 = int32_t __attribute__((vector_size(32)));
using detail::exp_steps;
using detail::sigmoid_steps;
using detail::silu_steps;

inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }

// The loops, compiled per instruction set (kernels/isa_variants.h).
inline __attribute__((always_inline)) void sigmoid_loop(const float* x, float* y, int64_t n) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) store8(y + k, sigmoid_steps<v8, i8>(load8(x + k)));
  for (; k < n; ++k) y[k] = sigmoid_steps<float, int32_t>(x[k]);
}
inline __attribute__((always_inline)) void silu_loop(const float* x, float* y, int64_t n) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    store8(y + k, silu_steps<v8, i8>(load8(x + k)));
  }
  for (; k < n; ++k) y[k] = silu_steps<float, int32_t>(x[k]);
}
DEEPCOMP_ISA_VARIANTS(sigmoid_array, (const float* x, float* y, int64_t n), (sigmoid_loop(x, y, n)))
DEEPCOMP_ISA_VARIANTS(silu_array, (const float* x, float* y, int64_t n), (silu_loop(x, y, n)))

}  // namespace

float exp_approx(float x) { return exp_steps<float, int32_t>(x); }
float sigmoid(float x) { return sigmoid_steps<float, int32_t>(x); }
float silu(float x) { return silu_steps<float, int32_t>(x); }
void sigmoid(const float* x, float* y, int64_t n) { DEEPCOMP_ISA_PICK(sigmoid_array)(x, y, n); }
void silu(const float* x, float* y, int64_t n) { DEEPCOMP_ISA_PICK(silu_array)(x, y, n); }

}  // namespace deepcomp::kernels
