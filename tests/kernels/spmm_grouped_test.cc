// The cluster-grouped codebook layout (sparse_matrix.h GroupedCodebookCsr) and its products
// (spmm.h): the layout against hand-worked examples, the batch-1 Highway kernel bit for bit
// against reference::grouped_spmv_row on every SIMD target this CPU has, the batch > 1 loops
// bit for bit against reference::grouped_gemm_row, every batch against the double-precision
// dense product within rounding, and the same bits on 1 and 2 threads. Shapes: ragged sizes,
// empty rows, 1x1, both sides of the 16-bit column limit, codebooks of 1 to 256 entries.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/reference.h"
#include "kernels/spmm.h"
#include "tests/kernels/kernel_test_util.h"

namespace deepcomp::kernels {
namespace {

using testing::absolute;
using testing::expect_close;
using testing::on_every_target;
using testing::random_vector;
using testing::random_weights;
using testing::same_bits;
using testing::ThreadCount;
using testing::to_codebook_csr;

struct Shape {
  int64_t rows, cols;
  double density;
};
// Row lengths that are not multiples of 8, empty rows (every 5th row of random_weights(..., 5)),
// the smallest matrices, and the largest column count 16-bit indices hold.
const Shape kShapes[] = {{1, 1, 1.0},     {1, 1, 0.0},      {3, 17, 1.0},   {7, 33, 0.6},
                         {40, 100, 0.37}, {64, 513, 0.1},   {9, 1000, 0.9}, {200, 300, 0.05},
                         {5, 2048, 0.5},  {4, 65536, 0.01}, {2, 65536, 0.0}};
const int64_t kCodebookSizes[] = {1, 2, 7, 32, 33, 200, 256};

// Y = X * W^T + b by the fixed-order references, row by row of the grouped layout.
template <typename RowFn>
std::vector<float> reference_product(const GroupedCodebookCsr& m, const float* X, int64_t batch,
                                     const float* bias, RowFn row_fn) {
  std::vector<float> y(batch * m.rows);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t r = 0; r < m.rows; ++r) {
      const int64_t t0 = m.run_ptr[r], e0 = m.row_ptr[r];
      y[b * m.rows + r] = row_fn(
          m.run_ptr[r + 1] - t0, [&](int64_t t) { return int64_t{m.run_length[t0 + t]}; },
          [&](int64_t t) { return m.codebook[m.run_cluster[t0 + t]]; },
          [&](int64_t j) { return int64_t{m.col_idx[e0 + j]}; }, X + b * m.cols,
          bias ? bias + r : nullptr);
    }
  }
  return y;
}

std::vector<float> reference_matvec(const GroupedCodebookCsr& m, const float* x,
                                    const float* bias) {
  return reference_product(m, x, 1, bias,
                           [](auto... a) { return reference::grouped_spmv_row(a...); });
}
std::vector<float> reference_gemm(const GroupedCodebookCsr& m, const float* X, int64_t batch,
                                  const float* bias) {
  return reference_product(m, X, batch, bias,
                           [](auto... a) { return reference::grouped_gemm_row(a...); });
}

CodebookCsrMatrix hand_matrix() {
  // Row 0: cols 0..5 with clusters 2 0 2 1 0 2; row 1 empty; row 2: col 4, cluster 1.
  CodebookCsrMatrix m;
  std::string error;
  const std::vector<int64_t> positions = {0, 1, 2, 3, 4, 5, 2 * 6 + 4};
  const std::vector<uint32_t> clusters = {2, 0, 2, 1, 0, 2, 1};
  const std::vector<float> codebook = {0.5f, -2.0f, 3.0f};
  EXPECT_TRUE(codebook_csr_from(3, 6, positions, clusters, codebook, &m, &error)) << error;
  return m;
}

TEST(SpmmGrouped, GroupsEachRowByClusterWithColumnsAscending) {
  const GroupedCodebookCsr g = GroupedCodebookCsr::from(hand_matrix());
  EXPECT_EQ(g.row_ptr, (std::vector<int64_t>{0, 6, 6, 7}));
  EXPECT_EQ(g.run_ptr, (std::vector<int64_t>{0, 3, 3, 4}));
  EXPECT_EQ(g.run_cluster, (std::vector<uint8_t>{0, 1, 2, 1}));
  EXPECT_EQ(g.run_length, (std::vector<uint16_t>{2, 1, 3, 1}));
  std::vector<uint16_t> cols = {1, 4, 3, 0, 2, 5, 4};
  cols.resize(7 + GroupedCodebookCsr::kPadding, 0);
  EXPECT_EQ(g.col_idx, cols);
  EXPECT_EQ(g.nnz(), 7);
  // 2 bytes per nonzero, 3 per run, two 4-entry offset arrays, 3 floats of codebook.
  EXPECT_EQ(g.bytes(), 2 * 7 + 3 * 4 + 2 * 8 * 4 + 4 * 3);
  std::vector<float> dense(18), want(18);
  g.to_dense(dense.data());
  hand_matrix().to_dense(want.data());
  EXPECT_EQ(dense, want);
}

TEST(SpmmGrouped, SumsInputsPerSharedWeightThenMultipliesOnce) {
  const GroupedCodebookCsr g = GroupedCodebookCsr::from(hand_matrix());
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};
  const std::vector<float> bias = {10, 20, 30};
  // Row 0: 0.5 * (2 + 5) - 2 * 4 + 3 * (1 + 3 + 6) = 25.5; row 1: bias only; row 2: -2 * 5.
  const std::vector<float> want = {35.5f, 20.0f, 20.0f};
  on_every_target([&] {
    std::vector<float> y(3, 99.0f);
    gemm_codebook_csr(x.data(), 1, g, bias.data(), y.data());
    EXPECT_EQ(y, want);
  });
  std::vector<float> x2(12), y2(6);
  for (int i = 0; i < 6; ++i) x2[i] = x2[6 + i] = x[i];
  gemm_codebook_csr(x2.data(), 2, g, bias.data(), y2.data());
  EXPECT_EQ(y2, (std::vector<float>{35.5f, 20.0f, 20.0f, 35.5f, 20.0f, 20.0f}));
}

TEST(SpmmGrouped, SplitsGroupsLongerThanARun) {
  // One row holding all 65536 columns in cluster 0: runs of 65535 and 1.
  CodebookCsrMatrix m;
  m.rows = 1;
  m.cols = 65536;
  m.row_ptr = {0, 65536};
  m.col_idx.resize(65536);
  for (int32_t c = 0; c < 65536; ++c) m.col_idx[c] = c;
  m.cluster.assign(65536, 0);
  m.codebook = {0.25f};
  ASSERT_EQ(m.check_structure(), "");
  ASSERT_TRUE(GroupedCodebookCsr::fits(m));
  const GroupedCodebookCsr g = GroupedCodebookCsr::from(m);
  EXPECT_EQ(g.run_length, (std::vector<uint16_t>{65535, 1}));
  EXPECT_EQ(g.run_cluster, (std::vector<uint8_t>{0, 0}));
  EXPECT_EQ(g.col_idx[65535], 65535);
  const std::vector<float> x(65536, 1.0f);
  on_every_target([&] {
    float y = 0;
    gemm_codebook_csr(x.data(), 1, g, nullptr, &y);
    EXPECT_EQ(y, 16384.0f);  // every partial sum is an exact integer
  });
}

TEST(SpmmGrouped, FitsUpTo65536ColumnsAnd256Clusters) {
  std::mt19937 rng(5);
  EXPECT_TRUE(GroupedCodebookCsr::fits(
      to_codebook_csr(random_weights(rng, 2, 65536, 0.01, 256), 2, 65536)));
  EXPECT_FALSE(
      GroupedCodebookCsr::fits(to_codebook_csr(random_weights(rng, 2, 65537, 0.01, 32), 2, 65537)));
  EXPECT_FALSE(
      GroupedCodebookCsr::fits(to_codebook_csr(random_weights(rng, 2, 100, 0.5, 257), 2, 100)));
}

TEST(SpmmGrouped, PaysOffWhenRunsAverageAtLeastTwentyNonzeros) {
  // The hand matrix: 4 runs of 7 nonzeros.
  EXPECT_EQ(GroupedCodebookCsr::count_runs(hand_matrix()), 4);
  EXPECT_FALSE(GroupedCodebookCsr::pays_off(hand_matrix()));
  // One row of 40 nonzeros in 2 clusters: runs of 20 pay; 41 nonzeros in 3 clusters do not.
  for (const auto& [n, clusters, pays] : {std::tuple{40, 2, true}, std::tuple{41, 3, false}}) {
    CodebookCsrMatrix m;
    m.rows = 1;
    m.cols = 100;
    m.row_ptr = {0, n};
    for (int c = 0; c < n; ++c) {
      m.col_idx.push_back(c);
      m.cluster.push_back(static_cast<uint8_t>(c % clusters));
    }
    m.codebook.assign(clusters, 1.0f);
    ASSERT_EQ(m.check_structure(), "");
    EXPECT_EQ(GroupedCodebookCsr::count_runs(m), clusters);
    EXPECT_EQ(GroupedCodebookCsr::pays_off(m), pays) << n << " nonzeros";
  }
}

TEST(SpmmGrouped, MatvecIsBitIdenticalToFixedOrderReferenceOnEveryTarget) {
  std::mt19937 rng(1414);
  for (const Shape& s : kShapes) {
    for (int64_t k : kCodebookSizes) {
      SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.cols) + " k " +
                   std::to_string(k));
      const auto w = random_weights(rng, s.rows, s.cols, s.density, k, 5);
      const GroupedCodebookCsr g = GroupedCodebookCsr::from(to_codebook_csr(w, s.rows, s.cols));
      const auto x = random_vector(rng, s.cols);
      const auto bias = random_vector(rng, s.rows);
      for (const float* b : {bias.data(), static_cast<const float*>(nullptr)}) {
        const auto want = reference_matvec(g, x.data(), b);
        on_every_target([&] {
          std::vector<float> y(s.rows, 123.0f);
          gemm_codebook_csr(x.data(), 1, g, b, y.data());
          EXPECT_TRUE(same_bits(y, want));
        });
      }
    }
  }
}

TEST(SpmmGrouped, BatchedIsBitIdenticalToFixedOrderReference) {
  std::mt19937 rng(99);
  for (const Shape& s : kShapes) {
    for (int64_t k : {int64_t{1}, int64_t{32}, int64_t{256}}) {
      const auto w = random_weights(rng, s.rows, s.cols, s.density, k, 5);
      const GroupedCodebookCsr g = GroupedCodebookCsr::from(to_codebook_csr(w, s.rows, s.cols));
      const auto bias = random_vector(rng, s.rows);
      for (int64_t batch : {2, 3, 16, 21, 33}) {
        if (batch * s.cols > 300000) continue;
        const auto x = random_vector(rng, batch * s.cols);
        std::vector<float> y(batch * s.rows, 7.0f);
        gemm_codebook_csr(x.data(), batch, g, bias.data(), y.data());
        EXPECT_TRUE(same_bits(y, reference_gemm(g, x.data(), batch, bias.data())))
            << s.rows << "x" << s.cols << " k " << k << " batch " << batch;
      }
    }
  }
}

TEST(SpmmGrouped, MatchesDenseProductWithinRounding) {
  std::mt19937 rng(2024);
  for (const Shape& s : kShapes) {
    for (int64_t k : kCodebookSizes) {
      const auto w = random_weights(rng, s.rows, s.cols, s.density, k, 5);
      const GroupedCodebookCsr g = GroupedCodebookCsr::from(to_codebook_csr(w, s.rows, s.cols));
      const auto bias = random_vector(rng, s.rows);
      for (int64_t batch : {1, 16}) {
        if (batch * s.cols > 300000) continue;
        const auto x = random_vector(rng, batch * s.cols);
        const auto want =
            reference::gemm(x.data(), batch, s.cols, w.dense.data(), s.rows, bias.data());
        const auto ax = absolute(x), aw = absolute(w.dense), ab = absolute(bias);
        const auto scale = reference::gemm(ax.data(), batch, s.cols, aw.data(), s.rows, ab.data());
        std::vector<float> y(batch * s.rows);
        gemm_codebook_csr(x.data(), batch, g, bias.data(), y.data());
        expect_close(y, want, scale,
                     std::to_string(s.rows) + "x" + std::to_string(s.cols) + " k " +
                         std::to_string(k) + " batch " + std::to_string(batch));
      }
    }
  }
}

TEST(SpmmGrouped, SameBitsOnOneAndTwoThreads) {
  std::mt19937 rng(3);
  // Large enough that the product is split over threads (spmm.cc run_parallel).
  const int64_t rows = 700, cols = 1500;
  const auto w = random_weights(rng, rows, cols, 0.12, 32, 7);
  const GroupedCodebookCsr g = GroupedCodebookCsr::from(to_codebook_csr(w, rows, cols));
  const auto bias = random_vector(rng, rows);
  for (int64_t batch : {1, 16}) {
    const auto x = random_vector(rng, batch * cols);
    std::vector<float> one(batch * rows), two(batch * rows);
    {
      ThreadCount threads(1);
      gemm_codebook_csr(x.data(), batch, g, bias.data(), one.data());
    }
    {
      ThreadCount threads(2);
      gemm_codebook_csr(x.data(), batch, g, bias.data(), two.data());
    }
    EXPECT_TRUE(same_bits(one, two)) << "batch " << batch;
    EXPECT_TRUE(same_bits(one, batch == 1 ? reference_matvec(g, x.data(), bias.data())
                                          : reference_gemm(g, x.data(), batch, bias.data())));
  }
}

}  // namespace
}  // namespace deepcomp::kernels
