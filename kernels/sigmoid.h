// Sigmoid, 1 / (1 + exp(-x)) (computed as e / (1 + e) with e = exp(x) for x < 0, so it never
// overflows), and SiLU, x * sigmoid(x), over arrays on the AVX2 / AVX-512 clones,
// with a scalar twin that gives the same bits: exp is computed by the same float operations in
// both (round x * log2(e) to n, reduce with a two-part ln 2, a degree-6 polynomial, scale by 2^n
// in two halves so results down to the subnormals and the overflow to inf come out right), so a
// fused Conv epilogue and the separate Sigmoid / Mul operators agree bit for bit. Within 2 ulp of
// the correctly rounded sigmoid (tests/kernels/sigmoid_test.cc); NaN in, NaN out. glibc's expf is
// scalar only, ~20 cycles an element: YOLOX's 74 SiLU Sigmoids were 20% of its time.
// Depends only on the standard library.
#pragma once

#include <cstdint>
#include <cstring>

namespace deepcomp::kernels {

float exp_approx(float x);
float sigmoid(float x);
float silu(float x);
// y[k] = sigmoid(x[k]), or x[k] * sigmoid(x[k]), for k < n; y may be x.
void sigmoid(const float* x, float* y, int64_t n);
void silu(const float* x, float* y, int64_t n);

namespace detail {

// (The vector instantiations are always inlined into their callers' clones: GCC's note about the
// ABI of AVX vector returns does not apply.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

// The steps, for one float (T = float, I = int32_t) or a GCC vector of floats (I the int32
// vector of the same lanes), inlined into each caller's SIMD clone (kernels/conv_direct.cc
// applies them to its accumulators). Instantiate them only in kernels/, which is compiled with
// -ffp-contract=off: a fused multiply-add elsewhere would change the bits.

// Cephes' expf constants: ln 2 in two parts (n * kExpLn2Hi is exact for |n| < 2^9) and the
// polynomial for exp(r) - 1 - r on [-ln2/2, ln2/2].
constexpr float kExpLog2e = 1.44269504088896341f;
constexpr float kExpLn2Hi = 0.693359375f;
constexpr float kExpLn2Lo = -2.12194440e-4f;
constexpr float kExpRound = 12582912.0f;  // 1.5 * 2^23: adding, then subtracting, rounds
constexpr float kExpLo = -104.0f;         // exp below is 0 in float
constexpr float kExpHi = 89.0f;           // exp above is inf
constexpr float kExpPoly[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                              4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

// exp(c) = e * 2^n for a clamped, non-NaN c: n = round(c / ln 2) (as an integer `ni`), e =
// exp(r) of the reduced r = c - n ln 2, by the polynomial.
template <typename T, typename I>
__attribute__((always_inline)) inline T exp_reduced_steps(T c, I* ni) {
  const T n = (c * kExpLog2e + kExpRound) - kExpRound;
  const T r = (c - n * kExpLn2Hi) - n * kExpLn2Lo;
  T p = T{} + kExpPoly[0];
  for (int k = 1; k < 6; ++k) p = p * r + kExpPoly[k];
  if constexpr (sizeof(T) == sizeof(float)) {
    *ni = static_cast<int32_t>(n);
  } else {
    *ni = __builtin_convertvector(n, I);
  }
  return (p * (r * r) + r) + 1.0f;
}

template <typename T, typename I>
__attribute__((always_inline)) inline T exp_steps(T x) {
  T c = x < kExpLo ? T{} + kExpLo : x;
  c = c > kExpHi ? T{} + kExpHi : c;
  c = c != c ? T{} : c;  // NaN: computed as 0 (no NaN to int conversion), restored at the end
  I ni;
  const T e = exp_reduced_steps<T, I>(c, &ni);
  // 2^n as 2^h * 2^(n - h), h = n / 2: each half is a normal float for n in [-151, 129].
  const I h = ni >> 1;
  const I b1 = (h + 127) << 23, b2 = ((ni - h) + 127) << 23;
  T s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  const T y = (e * s1) * s2;
  return x != x ? x : y;
}

// exp(a) for a <= 0 (or NaN, computed as kExpLo: the caller discards that lane), the same bits
// as exp_steps with 13 fewer operations, for sigmoid_steps (a SiLU epilogue was ~0.6 ns an
// output, 5.7 ms of YOLOX's 42): no upper clamp or NaN handling, and 2^n, n in [-150, 0], as
// 2^(n + 64) * 2^-64: e * 2^(n + 64) is a normal float, exact, so the last product is the one
// rounding of e * 2^n, as in exp_steps' two halves.
constexpr float kExpTwoM64 = 5.42101086242752217e-20f;  // 2^-64
template <typename T, typename I>
__attribute__((always_inline)) inline T exp_nonpositive_steps(T a) {
  const T c = a > kExpLo ? a : T{} + kExpLo;  // one max instruction (NaN -> kExpLo)
  I ni;
  const T e = exp_reduced_steps<T, I>(c, &ni);
  const I b = (ni + (127 + 64)) << 23;
  T s;
  std::memcpy(&s, &b, sizeof s);
  return (e * s) * kExpTwoM64;
}

// -|x| by setting the sign bit (one operation; the comparison and select it replaces gave -0 for
// +0 and +0 for -0, whose exp is the same 1).
template <typename T, typename I>
__attribute__((always_inline)) inline T minus_abs(T x) {
  I bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits |= static_cast<int32_t>(0x80000000u);
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// With e = exp(-|x|) (never overflows): 1 / (1 + e) for x >= 0, e / (1 + e) below, so that
// large negative x give their subnormal results instead of 1 / inf. A NaN gives a finite value
// here (sigmoid_steps returns the NaN itself; silu_steps' product with x does).
template <typename T, typename I>
__attribute__((always_inline)) inline T sigmoid_number_steps(T x) {
  const T e = exp_nonpositive_steps<T, I>(minus_abs<T, I>(x));
  return (x < 0 ? e : T{} + 1.0f) / (1.0f + e);
}
template <typename T, typename I>
__attribute__((always_inline)) inline T sigmoid_steps(T x) {
  const T s = sigmoid_number_steps<T, I>(x);
  return x != x ? x : s;
}
// x * sigmoid(x): for a NaN x the product is x's NaN quieted, as x * x was when sigmoid_steps
// returned x (two operations fewer than x * sigmoid_steps(x), the same bits).
template <typename T, typename I>
__attribute__((always_inline)) inline T silu_steps(T x) {
  return x * sigmoid_number_steps<T, I>(x);
}

#pragma GCC diagnostic pop

}  // namespace detail

}  // namespace deepcomp::kernels
