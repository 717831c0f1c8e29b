// Transposed convolution (kernels/conv_transpose.h) with dense, CSR and codebook-CSR weights
// against the direct scatter reference: 1-D to 3-D, strides, dilations, groups (incl.
// depthwise), begin pads (negative too: an output larger than the full one), hand-worked cases.
#include "kernels/conv_transpose.h"

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

struct Dims {
  int64_t z, y, x;
};

// out = stride * (in - 1) + (k - 1) * dil + 1 - pad_begin - pad_end + extra.
ConvTransposeParams make(int64_t N, int64_t C, int64_t M, int64_t group, Dims in, Dims k, Dims s,
                         Dims d, Dims pb, Dims pe, Dims extra = {0, 0, 0}) {
  ConvTransposeParams p;
  p.N = N, p.C = C, p.M = M, p.group = group;
  const int64_t i3[3] = {in.z, in.y, in.x}, k3[3] = {k.z, k.y, k.x}, s3[3] = {s.z, s.y, s.x},
                d3[3] = {d.z, d.y, d.x}, b3[3] = {pb.z, pb.y, pb.x}, e3[3] = {pe.z, pe.y, pe.x},
                x3[3] = {extra.z, extra.y, extra.x};
  for (int t = 0; t < 3; ++t) {
    p.in[t] = i3[t], p.k[t] = k3[t], p.stride[t] = s3[t], p.dil[t] = d3[t], p.pad_begin[t] = b3[t];
    p.out[t] = s3[t] * (i3[t] - 1) + (k3[t] - 1) * d3[t] + 1 - b3[t] - e3[t] + x3[t];
  }
  return p;
}

std::string describe(const ConvTransposeParams& p) {
  std::string s = "N" + std::to_string(p.N) + " C" + std::to_string(p.C) + " M" +
                  std::to_string(p.M) + " g" + std::to_string(p.group);
  for (int t = 0; t < 3; ++t) {
    s += " [" + std::to_string(p.in[t]) + "->" + std::to_string(p.out[t]) + " k" +
         std::to_string(p.k[t]) + " s" + std::to_string(p.stride[t]) + " d" +
         std::to_string(p.dil[t]) + " p" + std::to_string(p.pad_begin[t]) + "]";
  }
  return s;
}

void check(std::mt19937& rng, const ConvTransposeParams& p, double density) {
  ASSERT_EQ(p.check(), "") << describe(p);
  const std::string what = describe(p) + " density " + std::to_string(density);
  const int64_t cols = p.weight_cols();
  const auto w = random_weights(rng, p.C, cols, density, 32, 3);
  const auto x = random_vector(rng, p.N * p.C * p.in_spatial());
  const auto bias = random_vector(rng, p.M);
  const auto want = reference::conv_transpose(p, x.data(), w.dense.data(), bias.data());
  const auto ax = absolute(x), aw = absolute(w.dense), ab = absolute(bias);
  const auto scale = reference::conv_transpose(p, ax.data(), aw.data(), ab.data());
  std::vector<float> y(p.N * p.M * p.out_spatial(), 55.0f);
  conv_transpose_dense(p, x.data(), w.dense.data(), bias.data(), y.data());
  expect_close(y, want, scale, "dense " + what);
  std::fill(y.begin(), y.end(), 55.0f);
  const CsrMatrix csr = CsrMatrix::from_dense(w.dense.data(), p.C, cols);
  const CsrMatrix prepared = prepare_conv_transpose_weight(csr, p.group);
  ASSERT_EQ(prepared.check_structure(), "");
  conv_transpose_csr(p, x.data(), prepared, bias.data(), y.data());
  expect_close(y, want, scale, "csr " + what);
  std::fill(y.begin(), y.end(), 55.0f);
  const CodebookCsrMatrix cb =
      prepare_conv_transpose_weight(to_codebook_csr(w, p.C, cols), p.group);
  ASSERT_EQ(cb.check_structure(), "");
  conv_transpose_codebook_csr(p, x.data(), cb, bias.data(), y.data());
  expect_close(y, want, scale, "codebook-csr " + what);
}

TEST(ConvTranspose, HandWorkedStride2) {
  // 1-D input [1, 2], kernel [1, 10, 100], stride 2: input 0 covers outputs 0..2, input 1 covers
  // 2..4, so y = [1, 10, 100 + 2, 20, 200].
  const ConvTransposeParams p =
      make(1, 1, 1, 1, {1, 1, 2}, {1, 1, 3}, {1, 1, 2}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0});
  ASSERT_EQ(p.out[2], 5);
  const std::vector<float> x = {1, 2}, w = {1, 10, 100};
  std::vector<float> y(5);
  conv_transpose_dense(p, x.data(), w.data(), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 10, 102, 20, 200}));
  conv_transpose_csr(p, x.data(),
                     prepare_conv_transpose_weight(CsrMatrix::from_dense(w.data(), 1, 3), 1),
                     nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 10, 102, 20, 200}));
}

TEST(ConvTranspose, HandWorkedGroupsAndPads) {
  // Two groups of one channel, 1x1 inputs 3 and 4, kernels [1, 2] and [5, 7], pad 1 at the
  // beginning: each output keeps its kernel's second tap, plus the bias.
  ConvTransposeParams p =
      make(1, 2, 2, 2, {1, 1, 1}, {1, 1, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 1}, {0, 0, 0});
  ASSERT_EQ(p.out[2], 1);
  const std::vector<float> x = {3, 4}, w = {1, 2, 5, 7}, bias = {0.5f, -1};
  std::vector<float> y(2);
  conv_transpose_dense(p, x.data(), w.data(), bias.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{6.5f, 27}));
  conv_transpose_csr(p, x.data(),
                     prepare_conv_transpose_weight(CsrMatrix::from_dense(w.data(), 2, 2), 2),
                     bias.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{6.5f, 27}));
}

TEST(ConvTranspose, PrepareTransposesEachGroup) {
  // W [C=4, cols=3], 2 groups: group 0 is rows 0-1, group 1 rows 2-3; the prepared matrix is
  // [2 * 3, 2] with group g's transpose in rows 3g..3g+2.
  const std::vector<float> w = {1, 0, 2,  //
                                0, 3, 0,  //
                                4, 5, 0,  //
                                0, 0, 6};
  const CsrMatrix prepared =
      prepare_conv_transpose_weight(CsrMatrix::from_dense(w.data(), 4, 3), 2);
  std::vector<float> dense(12);
  prepared.to_dense(dense.data());
  EXPECT_EQ(dense, (std::vector<float>{1, 0, 0, 3, 2, 0, 4, 0, 5, 0, 0, 6}));
}

TEST(ConvTranspose, MatchesReferenceAcrossShapes) {
  std::mt19937 rng(17);
  const ConvTransposeParams cases[] = {
      make(2, 3, 4, 1, {1, 1, 7}, {1, 1, 3}, {1, 1, 2}, {1, 1, 1}, {0, 0, 1}, {0, 0, 1}),  // 1-D
      make(1, 4, 6, 2, {1, 5, 4}, {1, 3, 3}, {1, 2, 3}, {1, 1, 2}, {0, 1, 0}, {0, 0, 2}),  // groups
      make(2, 6, 6, 6, {1, 4, 5}, {1, 3, 3}, {1, 2, 2}, {1, 1, 1}, {0, 1, 1},
           {0, 1, 1}),  // depthwise
      make(1, 4, 4, 2, {3, 4, 3}, {2, 3, 2}, {2, 1, 2}, {1, 2, 1}, {1, 1, 0}, {0, 1, 0}),  // 3-D
      make(1, 3, 5, 1, {2, 3, 3}, {3, 2, 2}, {1, 2, 2}, {2, 1, 1}, {0, 0, 0}, {0, 0, 0},
           {1, 0, 1}),  // output_padding
      make(1, 2, 3, 1, {1, 3, 3}, {1, 3, 3}, {1, 3, 2}, {1, 1, 1}, {0, -1, 0},
           {0, 0, 0}),  // out > full
      make(1, 16, 8, 1, {1, 12, 12}, {1, 4, 4}, {1, 2, 2}, {1, 1, 1}, {0, 1, 1},
           {0, 1, 1}),  // threads
  };
  for (const auto& p : cases) {
    for (double density : {0.0, 0.3, 1.0}) check(rng, p, density);
  }
}

TEST(ConvTranspose, SparseBitIdenticalWithOneAndTwoThreads) {
  std::mt19937 rng(5);
  const ConvTransposeParams p =
      make(2, 16, 32, 2, {1, 16, 16}, {1, 3, 3}, {1, 2, 2}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1});
  const auto w = random_weights(rng, p.C, p.weight_cols(), 0.3, 32, 5);
  const CsrMatrix csr =
      prepare_conv_transpose_weight(CsrMatrix::from_dense(w.dense.data(), p.C, p.weight_cols()), 2);
  const auto x = random_vector(rng, p.N * p.C * p.in_spatial());
  const int64_t size = p.N * p.M * p.out_spatial();
  std::vector<float> one(size), two(size);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  conv_transpose_csr(p, x.data(), csr, nullptr, one.data());
  omp_set_num_threads(2);
  conv_transpose_csr(p, x.data(), csr, nullptr, two.data());
  omp_set_num_threads(saved);
  EXPECT_EQ(0, std::memcmp(one.data(), two.data(), size * sizeof(float)));
}

TEST(ConvTranspose, CheckRejectsInvalidParameters) {
  ConvTransposeParams p =
      make(1, 4, 6, 2, {1, 3, 3}, {1, 2, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0});
  EXPECT_EQ(p.check(), "");
  p.group = 3;
  EXPECT_NE(p.check().find("group"), std::string::npos);
  p.group = 2;
  p.stride[1] = 0;
  EXPECT_NE(p.check().find("stride"), std::string::npos);
}

}  // namespace
}  // namespace deepcomp::kernels
