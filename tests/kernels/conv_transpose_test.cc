// Transposed convolution (kernels/conv_transpose.h) with dense, CSR and codebook-CSR weights
// against the direct scatter reference: 1-D to 3-D, strides, dilations, groups (incl.
// depthwise), begin pads (negative too: an output larger than the full one), hand-worked cases;
// the dense path bit for bit against its float order on 1 and 2 threads.
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

// The dense path's float order, written plainly: each column term sum_c W[c, j] * x[c, s] from
// 0 in channel order (rounded product, rounded add), then each output starts at its bias and
// receives its terms in tap order, then input-position order.
std::vector<float> float_order_reference(const ConvTransposeParams& p, const float* input,
                                         const float* weight, const float* bias) {
  const int64_t cg = p.C / p.group, mg = p.M / p.group, taps = p.taps();
  const int64_t in_sp = p.in_spatial(), out_sp = p.out_spatial(), cols = p.weight_cols();
  std::vector<float> out(p.N * p.M * out_sp);
  for (int64_t n = 0; n < p.N; ++n) {
    for (int64_t m = 0; m < p.M; ++m) {
      const int64_t g = m / mg, mi = m % mg;
      float* plane = out.data() + (n * p.M + m) * out_sp;
      std::fill(plane, plane + out_sp, bias ? bias[m] : 0.0f);
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t kz = t / (p.k[1] * p.k[2]), ky = (t / p.k[2]) % p.k[1], kx = t % p.k[2];
        for (int64_t s = 0; s < in_sp; ++s) {
          const int64_t iz = s / (p.in[1] * p.in[2]), iy = (s / p.in[2]) % p.in[1],
                        ix = s % p.in[2];
          const int64_t z = iz * p.stride[0] + kz * p.dil[0] - p.pad_begin[0];
          const int64_t y = iy * p.stride[1] + ky * p.dil[1] - p.pad_begin[1];
          const int64_t x = ix * p.stride[2] + kx * p.dil[2] - p.pad_begin[2];
          if (z < 0 || z >= p.out[0] || y < 0 || y >= p.out[1] || x < 0 || x >= p.out[2]) continue;
          float sum = 0.0f;
          for (int64_t c = 0; c < cg; ++c) {
            const int64_t ci = g * cg + c;
            const float product =
                weight[ci * cols + mi * taps + t] * input[(n * p.C + ci) * in_sp + s];
            sum = sum + product;
          }
          float& o = plane[(z * p.out[1] + y) * p.out[2] + x];
          o = o + sum;
        }
      }
    }
  }
  return out;
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
  const auto exact = float_order_reference(p, x.data(), w.dense.data(), bias.data());
  EXPECT_EQ(0, std::memcmp(y.data(), exact.data(), y.size() * sizeof(float))) << "dense " << what;
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

TEST(ConvTranspose, DenseBitIdenticalWithOneAndTwoThreadsOnRaggedShapes) {
  // Widths that are not whole 16-float tiles, channel counts that are not whole 4-row blocks,
  // and the non-overlapping 2x2 stride-2 upsampling of PaddleOCR's detection head.
  std::mt19937 rng(9);
  const ConvTransposeParams cases[] = {
      make(1, 24, 6, 1, {1, 13, 21}, {1, 2, 2}, {1, 2, 2}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}),
      make(2, 7, 5, 1, {1, 9, 11}, {1, 3, 3}, {1, 2, 2}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}),
      make(1, 6, 9, 3, {1, 8, 17}, {1, 2, 3}, {1, 1, 2}, {1, 2, 1}, {0, 0, 1}, {0, 0, 0}),
  };
  for (const auto& p : cases) {
    const auto w = random_vector(rng, p.C * p.weight_cols());
    const auto x = random_vector(rng, p.N * p.C * p.in_spatial());
    const auto bias = random_vector(rng, p.M);
    const int64_t size = p.N * p.M * p.out_spatial();
    std::vector<float> one(size), two(size);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    conv_transpose_dense(p, x.data(), w.data(), bias.data(), one.data());
    omp_set_num_threads(2);
    conv_transpose_dense(p, x.data(), w.data(), bias.data(), two.data());
    omp_set_num_threads(saved);
    const auto exact = float_order_reference(p, x.data(), w.data(), bias.data());
    EXPECT_EQ(0, std::memcmp(one.data(), exact.data(), size * sizeof(float))) << describe(p);
    EXPECT_EQ(0, std::memcmp(two.data(), exact.data(), size * sizeof(float))) << describe(p);
  }
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
