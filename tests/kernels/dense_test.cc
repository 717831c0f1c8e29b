// Dense Gemm and MatMul (kernels/dense.h) against the naive double reference.
#include "kernels/dense.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/reference.h"
#include "tests/kernels/kernel_test_util.h"

namespace deepcomp::kernels {
namespace {

using testing::absolute;
using testing::expect_close;
using testing::random_vector;

TEST(Dense, GemmMatchesReference) {
  std::mt19937 rng(1);
  const int64_t shapes[][2] = {{1, 1}, {1, 50}, {50, 1}, {33, 65}, {300, 200}};
  for (const auto& s : shapes) {
    for (int64_t batch : {1, 7, 16}) {
      const int64_t out = s[0], in = s[1];
      const auto w = random_vector(rng, out * in);
      const auto x = random_vector(rng, batch * in);
      const auto bias = random_vector(rng, out);
      const auto want = reference::gemm(x.data(), batch, in, w.data(), out, bias.data());
      const auto ax = absolute(x), aw = absolute(w), ab = absolute(bias);
      const auto scale = reference::gemm(ax.data(), batch, in, aw.data(), out, ab.data());
      std::vector<float> y(batch * out);
      gemm_dense(x.data(), batch, in, w.data(), out, bias.data(), y.data());
      expect_close(y, want, scale, "gemm_dense");
    }
  }
}

TEST(Dense, GemmHandWorked) {
  const std::vector<float> x = {1, 2}, w = {3, 4, -1, 0.5f, 0, 0}, bias = {1, 1, -2};
  std::vector<float> y(3);
  gemm_dense(x.data(), 1, 2, w.data(), 3, bias.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{12, 1, -2}));
  gemm_dense(x.data(), 1, 2, w.data(), 3, nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{11, 0, 0}));
}

TEST(Dense, MatMulMatchesReference) {
  std::mt19937 rng(2);
  const int64_t shapes[][3] = {{1, 1, 1},    {1, 9, 4},  {7, 1, 3},
                               {20, 30, 40}, {64, 3, 1}, {9, 50, 600}};
  for (const auto& s : shapes) {
    const auto a = random_vector(rng, s[0] * s[1]);
    const auto b = random_vector(rng, s[1] * s[2]);
    const auto want = reference::matmul(a.data(), b.data(), s[0], s[1], s[2]);
    const auto aa = absolute(a), ab = absolute(b);
    const auto scale = reference::matmul(aa.data(), ab.data(), s[0], s[1], s[2]);
    std::vector<float> c(s[0] * s[2]);
    matmul(a.data(), b.data(), s[0], s[1], s[2], c.data());
    expect_close(c, want, scale, "matmul");
  }
}

TEST(Dense, GemmAndMatMulBitIdenticalWithOneAndTwoThreads) {
  std::mt19937 rng(3);
  const int64_t out = 513, in = 700;
  const auto w = random_vector(rng, out * in);
  const auto bias = random_vector(rng, out);
  for (int64_t batch : {1, 16}) {
    const auto x = random_vector(rng, batch * in);
    std::vector<float> one(batch * out), two(batch * out);
    std::vector<float> mm_one(batch * out), mm_two(batch * out);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    gemm_dense(x.data(), batch, in, w.data(), out, bias.data(), one.data());
    matmul(x.data(), w.data(), batch, in, out, mm_one.data());  // w read as in x out
    omp_set_num_threads(2);
    gemm_dense(x.data(), batch, in, w.data(), out, bias.data(), two.data());
    matmul(x.data(), w.data(), batch, in, out, mm_two.data());
    omp_set_num_threads(saved);
    EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float)))
        << "gemm batch " << batch;
    EXPECT_EQ(0, std::memcmp(mm_one.data(), mm_two.data(), mm_one.size() * sizeof(float)))
        << "matmul batch " << batch;
  }
}

}  // namespace
}  // namespace deepcomp::kernels
