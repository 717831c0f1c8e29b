// kernels::exact_gemm against a direct int64 evaluation wrapped to int32 (ONNX's int32
// accumulation): 8-bit centered codes with K from 1 to 2,000 (one float32 chunk, and several of
// 258), all-extreme operands whose sum wraps, and wider operands that take the double GEMM and
// the integer loop.
#include "kernels/int_products.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace deepcomp::kernels {
namespace {

std::vector<int32_t> reference(const std::vector<int32_t>& a, const std::vector<int32_t>& b,
                               int64_t m, int64_t k, int64_t n) {
  std::vector<int32_t> c(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      uint64_t s =
          0;  // modulo 2^64 (no signed overflow with the widest operands); low 32 bits kept
      for (int64_t t = 0; t < k; ++t)
        s += static_cast<uint64_t>(static_cast<int64_t>(a[i * k + t])) *
             static_cast<uint64_t>(static_cast<int64_t>(b[t * n + j]));
      c[i * n + j] = static_cast<int32_t>(static_cast<uint32_t>(s));
    }
  return c;
}

void check(int64_t m, int64_t k, int64_t n, int32_t lo, int32_t hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> u(lo, hi);
  std::vector<int32_t> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n));
  for (int32_t& v : a) v = u(rng);
  for (int32_t& v : b) v = u(rng);
  std::vector<int32_t> c(static_cast<size_t>(m * n), 12345);
  exact_gemm(a.data(), b.data(), m, k, n, c.data());
  EXPECT_EQ(c, reference(a, b, m, k, n))
      << m << " x " << k << " x " << n << " in [" << lo << ", " << hi << "]";
}

TEST(IntProducts, ExactGemmOnEightBitCodes) {
  uint32_t seed = 1;
  for (int64_t k : {1, 7, 257, 258, 259, 600, 2000})
    for (auto [lo, hi] : {std::pair{-255, 255}, std::pair{0, 255}, std::pair{-3, 3}})
      check(5, k, 9, lo, hi, seed++);
  check(0, 10, 4, -255, 255, seed++);  // empty output
  check(3, 0, 4, -255, 255, seed++);   // empty sum: zeros
}

TEST(IntProducts, ExactGemmWrapsAtThirtyTwoBits) {
  // 40,000 products of 255 x 255 = 2,601,000,000 > 2^31 - 1 (and of -255 x 255 below -2^31).
  const int64_t k = 40000;
  std::vector<int32_t> a(static_cast<size_t>(2 * k), 255), b(static_cast<size_t>(k), 255);
  for (int64_t t = 0; t < k; ++t) a[k + t] = -255;
  std::vector<int32_t> c(2);
  exact_gemm(a.data(), b.data(), 2, k, 1, c.data());
  EXPECT_EQ(c, reference(a, b, 2, k, 1));
  EXPECT_EQ(c[0], static_cast<int32_t>(static_cast<uint32_t>(int64_t{2601000000})));
}

TEST(IntProducts, ExactGemmOnWiderOperands) {
  check(4, 300, 6, -30000, 30000, 7);            // double GEMM (sums below 2^53)
  check(4, 300, 6, -2000000000, 2000000000, 8);  // integer loop
}

}  // namespace
}  // namespace deepcomp::kernels
