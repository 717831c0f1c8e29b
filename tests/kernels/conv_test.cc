// Convolution (kernels/conv.h) with dense, CSR and codebook-CSR weights against the direct
// reference loop: strides, asymmetric pads, dilations, groups (incl. depthwise), 1x1, and 3-D.
#include "kernels/conv.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/reference.h"
#include "tests/kernels/kernel_test_util.h"

namespace deepcomp::kernels {
namespace {

using testing::absolute;
using testing::expect_close;
using testing::random_vector;
using testing::random_weights;
using testing::to_codebook_csr;

ConvParams make(int64_t N, int64_t C, int64_t H, int64_t W, int64_t M, int64_t kh, int64_t kw,
                int64_t stride_h, int64_t stride_w, int64_t pt, int64_t pl, int64_t pb, int64_t pr,
                int64_t dh, int64_t dw, int64_t group) {
  ConvParams p;
  p.N = N, p.C = C, p.H = H, p.W = W, p.M = M, p.kh = kh, p.kw = kw;
  p.stride_h = stride_h, p.stride_w = stride_w;
  p.pad_top = pt, p.pad_left = pl, p.pad_bottom = pb, p.pad_right = pr;
  p.dil_h = dh, p.dil_w = dw, p.group = group;
  return p;
}

std::string describe(const ConvParams& p) {
  return "N" + std::to_string(p.N) + " C" + std::to_string(p.C) + " " + std::to_string(p.H) + "x" +
         std::to_string(p.W) + " M" + std::to_string(p.M) + " k" + std::to_string(p.kh) + "x" +
         std::to_string(p.kw) + " s" + std::to_string(p.stride_h) + std::to_string(p.stride_w) +
         " d" + std::to_string(p.dil_h) + std::to_string(p.dil_w) + " g" + std::to_string(p.group);
}

void check_conv(std::mt19937& rng, const ConvParams& p, double density) {
  ASSERT_EQ(p.check(), "") << describe(p);
  const std::string what = describe(p) + " density " + std::to_string(density);
  const int64_t k = p.patch_size();
  const auto w = random_weights(rng, p.M, k, density, 32, 4);
  const auto x = random_vector(rng, p.N * p.C * p.in_spatial());
  const auto bias = random_vector(rng, p.M);
  const auto want = reference::conv(p, x.data(), w.dense.data(), bias.data());
  const auto ax = absolute(x), aw = absolute(w.dense), ab = absolute(bias);
  const auto scale = reference::conv(p, ax.data(), aw.data(), ab.data());
  std::vector<float> y(p.N * p.M * p.out_spatial(), 55.0f);
  conv_dense(p, x.data(), w.dense.data(), bias.data(), y.data());
  expect_close(y, want, scale, "dense " + what);
  std::fill(y.begin(), y.end(), 55.0f);
  conv_csr(p, x.data(), CsrMatrix::from_dense(w.dense.data(), p.M, k), bias.data(), y.data());
  expect_close(y, want, scale, "csr " + what);
  std::fill(y.begin(), y.end(), 55.0f);
  conv_codebook_csr(p, x.data(), to_codebook_csr(w, p.M, k), bias.data(), y.data());
  expect_close(y, want, scale, "codebook-csr " + what);
}

TEST(Conv2d, HandWorkedTwoByTwoOnes) {
  // 3x3 image 1..9, 2x2 kernel of ones, stride 1, no pad: window sums.
  const ConvParams p = make(1, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1);
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w = {1, 1, 1, 1}, bias = {0.5f};
  std::vector<float> y(4);
  conv_dense(p, x.data(), w.data(), bias.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{12.5f, 16.5f, 24.5f, 28.5f}));
  conv_csr(p, x.data(), CsrMatrix::from_dense(w.data(), 1, 4), bias.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{12.5f, 16.5f, 24.5f, 28.5f}));
}

TEST(Conv2d, HandWorkedPaddedStrided) {
  // 2x2 image [[1,2],[3,4]], 1x1 kernel 2, stride 2, pad 1 all round: 4x4 padded -> 2x2 output
  // sampling padded (0,0), (0,2), (2,0), (2,2) = 0, 0, 0, 4.
  const ConvParams p = make(1, 1, 2, 2, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1);
  ASSERT_EQ(p.out_h(), 2);
  const std::vector<float> x = {1, 2, 3, 4}, w = {2};
  std::vector<float> y(4);
  conv_codebook_csr(
      p, x.data(),
      [&] {
        CodebookCsrMatrix m;
        std::string error;
        EXPECT_TRUE(codebook_csr_from(1, 1, std::vector<int64_t>{0}, std::vector<uint32_t>{0},
                                      std::vector<float>{2.0f}, &m, &error));
        return m;
      }(),
      nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{0, 0, 0, 8}));
}

TEST(Conv2d, MatchesReferenceAcrossStridesPadsDilationsAndGroups) {
  std::mt19937 rng(99);
  const ConvParams cases[] = {
      make(1, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),      // same-padded 3x3
      make(2, 4, 9, 7, 6, 3, 2, 2, 1, 0, 1, 2, 0, 1, 1, 1),      // asymmetric pads, strides
      make(1, 2, 11, 10, 3, 3, 3, 1, 2, 2, 1, 0, 3, 2, 3, 1),    // dilations
      make(2, 6, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2),      // 2 groups
      make(1, 8, 6, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 8),      // depthwise
      make(1, 4, 5, 5, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4),     // depth multiplier 3
      make(2, 5, 6, 4, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),      // 1x1, no im2col
      make(1, 6, 6, 6, 4, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 2),      // 1x1 strided, grouped
      make(1, 3, 5, 5, 2, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1),      // 1x1 output (matrix-vector)
      make(1, 3, 227, 13, 5, 11, 3, 4, 1, 0, 1, 0, 1, 1, 1, 1),  // AlexNet-like stride 4
      make(1, 16, 20, 20, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),  // wide enough to thread
  };
  for (const auto& p : cases) {
    for (double density : {0.0, 0.3, 1.0}) check_conv(rng, p, density);
  }
}

// A 3-D problem: depth d, kernel depth kd, depth stride sd, depth pads pf/pk, depth dilation dd
// on top of a 2-D one.
ConvParams with_depth(ConvParams p, int64_t d, int64_t kd, int64_t sd, int64_t pf, int64_t pk,
                      int64_t dd) {
  p.D = d, p.kd = kd, p.stride_d = sd, p.pad_front = pf, p.pad_back = pk, p.dil_d = dd;
  return p;
}

TEST(Conv3d, MatchesReferenceAcrossStridesPadsDilationsAndGroups) {
  std::mt19937 rng(31);
  const ConvParams cases[] = {
      with_depth(make(1, 3, 5, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 4, 3, 1, 1, 1, 1),
      with_depth(make(2, 4, 6, 5, 6, 2, 3, 2, 1, 0, 1, 1, 0, 1, 2, 2), 7, 3, 2, 0, 2, 2),
      with_depth(make(1, 6, 4, 4, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6), 5, 3, 2, 1, 1,
                 1),  // depthwise
      with_depth(make(1, 5, 3, 4, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), 3, 1, 1, 0, 0, 1),  // 1x1x1
      with_depth(make(1, 2, 4, 4, 3, 4, 4, 1, 1, 0, 0, 0, 0, 1, 1, 1), 2, 2, 1, 0, 0,
                 1),  // 1 output
  };
  for (const auto& p : cases) {
    for (double density : {0.0, 0.3, 1.0}) check_conv(rng, p, density);
  }
}

TEST(Conv3d, HandWorkedDepthSum) {
  // 2x1x1 volume [1, 2] (depth 2), kernel 2x1x1 of [3, 5], pad 1 front and back:
  // padded [0, 1, 2, 0] -> windows (0,1), (1,2), (2,0) = 5, 3 + 10, 6.
  ConvParams p = with_depth(make(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), 2, 2, 1, 1, 1, 1);
  ASSERT_EQ(p.out_d(), 3);
  const std::vector<float> x = {1, 2}, w = {3, 5};
  std::vector<float> y(3);
  conv_dense(p, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{5, 13, 6}));
  conv_csr(p, x.data(), CsrMatrix::from_dense(w.data(), 1, 2), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{5, 13, 6}));
}

TEST(Conv2d, SparseBitIdenticalWithOneAndTwoThreads) {
  std::mt19937 rng(4);
  const ConvParams p = make(2, 16, 24, 24, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
  const auto w = random_weights(rng, p.M, p.patch_size(), 0.3, 32, 5);
  const CsrMatrix csr = CsrMatrix::from_dense(w.dense.data(), p.M, p.patch_size());
  const CodebookCsrMatrix cb = to_codebook_csr(w, p.M, p.patch_size());
  const auto x = random_vector(rng, p.N * p.C * p.H * p.W);
  const int64_t size = p.N * p.M * p.out_h() * p.out_w();
  std::vector<float> one(size), two(size), cb_one(size), cb_two(size);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  conv_csr(p, x.data(), csr, nullptr, one.data());
  conv_codebook_csr(p, x.data(), cb, nullptr, cb_one.data());
  omp_set_num_threads(2);
  conv_csr(p, x.data(), csr, nullptr, two.data());
  conv_codebook_csr(p, x.data(), cb, nullptr, cb_two.data());
  omp_set_num_threads(saved);
  EXPECT_EQ(0, std::memcmp(one.data(), two.data(), size * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(cb_one.data(), cb_two.data(), size * sizeof(float)));
}

TEST(Conv2d, CheckRejectsInvalidParameters) {
  EXPECT_EQ(make(1, 4, 5, 5, 6, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 2).check(), "");
  EXPECT_NE(make(1, 4, 5, 5, 6, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 3).check().find("group"),
            std::string::npos);
  EXPECT_NE(make(1, 4, 2, 2, 6, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1).check().find("kernel larger"),
            std::string::npos);
  EXPECT_NE(make(1, 4, 5, 5, 6, 3, 3, 0, 1, 0, 0, 0, 0, 1, 1, 1).check().find("stride"),
            std::string::npos);
  EXPECT_NE(make(1, 4, 5, 5, 6, 3, 3, 1, 1, -1, 0, 0, 0, 1, 1, 1).check().find("pad"),
            std::string::npos);
  EXPECT_NE(make(1, 4, 5, 5, 6, 3, 3, 1, 1, 0, 0, 0, 0, 0, 1, 1).check().find("dilation"),
            std::string::npos);
}

}  // namespace
}  // namespace deepcomp::kernels
