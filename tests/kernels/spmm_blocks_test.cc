// The "cluster blocks of 8" layout (sparse_matrix.h ClusterBlockCsr) and its products (spmm.h):
// the layout against hand-worked examples (padding, one cluster per block), the batch-1 Highway
// kernel bit for bit against reference::cluster_block_spmv_row on every SIMD target this CPU has,
// the batch > 1 tiles bit for bit against reference::cluster_block_gemm_row, every batch against
// the double-precision dense product within rounding, and the same bits on 1 and 2 threads.
// Shapes: ragged sizes, empty rows, 1x1, both sides of the 65535-column limit, codebooks of 1 to
// 256 entries, cluster groups of every length 1..17 (all remainders mod 8).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
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
// the smallest matrices, and the largest column count the layout takes.
const Shape kShapes[] = {{1, 1, 1.0},     {1, 1, 0.0},      {3, 17, 1.0},   {7, 33, 0.6},
                         {40, 100, 0.37}, {64, 513, 0.1},   {9, 1000, 0.9}, {200, 300, 0.05},
                         {5, 2048, 0.5},  {4, 65535, 0.01}, {2, 65535, 0.0}};
const int64_t kCodebookSizes[] = {1, 2, 7, 32, 33, 200, 256};

// Y = X * W^T + b by a fixed-order reference, row by row of the blocked layout.
template <typename RowFn>
std::vector<float> reference_product(const ClusterBlockCsr& m, const float* X, int64_t batch,
                                     const float* bias, RowFn row_fn) {
  std::vector<float> y(batch * m.rows);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t r = 0; r < m.rows; ++r) {
      const int64_t t0 = m.block_ptr[r];
      y[b * m.rows + r] = row_fn(
          m.block_ptr[r + 1] - t0, [&](int64_t t) { return m.codebook[m.block_cluster[t0 + t]]; },
          [&](int64_t i) { return int64_t{m.col_idx[8 * t0 + i]}; }, X + b * m.cols, m.cols,
          bias ? bias + r : nullptr);
    }
  }
  return y;
}
std::vector<float> reference_matvec(const ClusterBlockCsr& m, const float* x, const float* bias) {
  return reference_product(m, x, 1, bias,
                           [](auto... a) { return reference::cluster_block_spmv_row(a...); });
}
std::vector<float> reference_gemm(const ClusterBlockCsr& m, const float* X, int64_t batch,
                                  const float* bias) {
  return reference_product(m, X, batch, bias,
                           [](auto... a) { return reference::cluster_block_gemm_row(a...); });
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

TEST(SpmmBlocks, PadsEachClusterGroupToABlockOfEight) {
  const ClusterBlockCsr b = ClusterBlockCsr::from(hand_matrix());
  EXPECT_EQ(b.block_ptr, (std::vector<int64_t>{0, 3, 3, 4}));
  EXPECT_EQ(b.block_cluster, (std::vector<uint8_t>{0, 1, 2, 1}));
  const uint16_t pad = 6;  // the column count marks padding
  EXPECT_EQ(b.col_idx, (std::vector<uint16_t>{1, 4,   pad, pad, pad, pad, pad, pad,  //
                                              3, pad, pad, pad, pad, pad, pad, pad,  //
                                              0, 2,   5,   pad, pad, pad, pad, pad,  //
                                              4, pad, pad, pad, pad, pad, pad, pad}));
  EXPECT_EQ(b.nnz(), 7);
  EXPECT_EQ(b.blocks(), 4);
  // 16 bytes of columns and 1 cluster byte per block, a 4-entry offset array, 3 floats.
  EXPECT_EQ(b.bytes(), 17 * 4 + 8 * 4 + 4 * 3);
  std::vector<float> dense(18), want(18);
  b.to_dense(dense.data());
  hand_matrix().to_dense(want.data());
  EXPECT_EQ(dense, want);
}

TEST(SpmmBlocks, GroupsLongerThanABlockTakeSeveralBlocksOfOneCluster) {
  // One row, 17 nonzeros of cluster 1 and 8 of cluster 0: blocks 0 | 1 1 1 (the last 1 + 7 pads).
  CodebookCsrMatrix m;
  m.rows = 1;
  m.cols = 30;
  m.row_ptr = {0, 25};
  for (int c = 0; c < 25; ++c) {
    m.col_idx.push_back(c);
    m.cluster.push_back(c % 3 == 0 && c < 24 ? 0 : 1);
  }
  m.codebook = {1.0f, 2.0f};
  ASSERT_EQ(m.check_structure(), "");
  const ClusterBlockCsr b = ClusterBlockCsr::from(m);
  EXPECT_EQ(b.block_cluster, (std::vector<uint8_t>{0, 1, 1, 1}));
  EXPECT_EQ(b.col_idx[8], 1);        // cluster 1 starts at column 1
  EXPECT_EQ(b.col_idx[8 + 16], 24);  // its 17th nonzero
  for (int i = 8 + 17; i < 32; ++i) EXPECT_EQ(b.col_idx[i], 30) << i;
  const std::vector<float> x(30, 1.0f);
  on_every_target([&] {
    float y = 0;
    gemm_codebook_csr(x.data(), 1, b, nullptr, &y);
    EXPECT_EQ(y, 8.0f + 2.0f * 17);
  });
}

TEST(SpmmBlocks, MultipliesEachBlockByItsSharedWeight) {
  const ClusterBlockCsr b = ClusterBlockCsr::from(hand_matrix());
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};
  const std::vector<float> bias = {10, 20, 30};
  // Row 0: 0.5 * (2 + 5) - 2 * 4 + 3 * (1 + 3 + 6) = 25.5; row 1: bias only; row 2: -2 * 5.
  const std::vector<float> want = {35.5f, 20.0f, 20.0f};
  on_every_target([&] {
    std::vector<float> y(3, 99.0f);
    gemm_codebook_csr(x.data(), 1, b, bias.data(), y.data());
    EXPECT_EQ(y, want);
  });
  std::vector<float> x2(12), y2(6);
  for (int i = 0; i < 6; ++i) x2[i] = x2[6 + i] = x[i];
  gemm_codebook_csr(x2.data(), 2, b, bias.data(), y2.data());
  EXPECT_EQ(y2, (std::vector<float>{35.5f, 20.0f, 20.0f, 35.5f, 20.0f, 20.0f}));
}

TEST(SpmmBlocks, FitsUpTo65535ColumnsAnd256Clusters) {
  std::mt19937 rng(5);
  EXPECT_TRUE(
      ClusterBlockCsr::fits(to_codebook_csr(random_weights(rng, 2, 65535, 0.01, 256), 2, 65535)));
  // 65536 columns leave no 16-bit index for the padding's zero input.
  EXPECT_FALSE(
      ClusterBlockCsr::fits(to_codebook_csr(random_weights(rng, 2, 65536, 0.01, 32), 2, 65536)));
  EXPECT_FALSE(
      ClusterBlockCsr::fits(to_codebook_csr(random_weights(rng, 2, 100, 0.5, 257), 2, 100)));
}

// Rows whose cluster c holds exactly lengths[c] nonzeros, at scattered columns.
CodebookCsrMatrix run_lengths_matrix(std::mt19937& rng, int64_t rows, int64_t cols,
                                     const std::vector<int64_t>& lengths) {
  std::vector<int64_t> positions;
  std::vector<uint32_t> clusters;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<uint32_t> row_clusters;
    for (size_t c = 0; c < lengths.size(); ++c) {
      row_clusters.insert(row_clusters.end(), lengths[c], static_cast<uint32_t>(c));
    }
    std::shuffle(row_clusters.begin(), row_clusters.end(), rng);
    std::vector<int64_t> columns(cols);
    for (int64_t c = 0; c < cols; ++c) columns[c] = c;
    std::shuffle(columns.begin(), columns.end(), rng);
    columns.resize(row_clusters.size());
    std::vector<int64_t> order(columns.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return columns[a] < columns[b]; });
    for (int64_t i : order) {
      positions.push_back(r * cols + columns[i]);
      clusters.push_back(row_clusters[i]);
    }
  }
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> codebook(lengths.size());
  for (auto& v : codebook) v = uniform(rng);
  CodebookCsrMatrix m;
  std::string error;
  EXPECT_TRUE(codebook_csr_from(rows, cols, positions, clusters, codebook, &m, &error)) << error;
  return m;
}

TEST(SpmmBlocks, EveryGroupLengthFromOneToSeventeenOnEveryTarget) {
  std::mt19937 rng(17);
  std::vector<int64_t> lengths;
  for (int64_t n = 1; n <= 17; ++n) lengths.push_back(n);
  const CodebookCsrMatrix m = run_lengths_matrix(rng, 13, 400, lengths);
  const ClusterBlockCsr b = ClusterBlockCsr::from(m);
  // Group n takes ceil(n / 8) blocks: lengths 1..8 one each, 9..16 two, 17 three, per row.
  EXPECT_EQ(b.blocks(), 13 * (8 + 16 + 3));
  std::vector<float> dense(13 * 400);
  m.to_dense(dense.data());
  const auto x = random_vector(rng, 400);
  const auto bias = random_vector(rng, 13);
  const auto want = reference_matvec(b, x.data(), bias.data());
  const auto exact = reference::gemm(x.data(), 1, 400, dense.data(), 13, bias.data());
  const auto ax = absolute(x), ad = absolute(dense), ab = absolute(bias);
  const auto scale = reference::gemm(ax.data(), 1, 400, ad.data(), 13, ab.data());
  expect_close(want, exact, scale, "reference against dense");
  on_every_target([&] {
    std::vector<float> y(13, 5.0f);
    gemm_codebook_csr(x.data(), 1, b, bias.data(), y.data());
    EXPECT_TRUE(same_bits(y, want));
  });
}

TEST(SpmmBlocks, MatvecIsBitIdenticalToFixedOrderReferenceOnEveryTarget) {
  std::mt19937 rng(1414);
  for (const Shape& s : kShapes) {
    for (int64_t k : kCodebookSizes) {
      SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.cols) + " k " +
                   std::to_string(k));
      const auto w = random_weights(rng, s.rows, s.cols, s.density, k, 5);
      const ClusterBlockCsr b = ClusterBlockCsr::from(to_codebook_csr(w, s.rows, s.cols));
      const auto x = random_vector(rng, s.cols);
      const auto bias = random_vector(rng, s.rows);
      for (const float* bp : {bias.data(), static_cast<const float*>(nullptr)}) {
        const auto want = reference_matvec(b, x.data(), bp);
        on_every_target([&] {
          std::vector<float> y(s.rows, 123.0f);
          gemm_codebook_csr(x.data(), 1, b, bp, y.data());
          EXPECT_TRUE(same_bits(y, want));
        });
      }
    }
  }
}

TEST(SpmmBlocks, BatchedIsBitIdenticalToFixedOrderReferenceOnEveryTarget) {
  std::mt19937 rng(99);
  for (const Shape& s : kShapes) {
    for (int64_t k : {int64_t{1}, int64_t{32}, int64_t{256}}) {
      const auto w = random_weights(rng, s.rows, s.cols, s.density, k, 5);
      const ClusterBlockCsr b = ClusterBlockCsr::from(to_codebook_csr(w, s.rows, s.cols));
      const auto bias = random_vector(rng, s.rows);
      for (int64_t batch : {2, 3, 16, 21, 33}) {
        if (batch * s.cols > 300000) continue;
        const auto x = random_vector(rng, batch * s.cols);
        const auto want = reference_gemm(b, x.data(), batch, bias.data());
        on_every_target([&] {
          std::vector<float> y(batch * s.rows, 7.0f);
          gemm_codebook_csr(x.data(), batch, b, bias.data(), y.data());
          EXPECT_TRUE(same_bits(y, want))
              << s.rows << "x" << s.cols << " k " << k << " batch " << batch;
        });
      }
    }
  }
}

TEST(SpmmBlocks, MatchesDenseProductWithinRounding) {
  std::mt19937 rng(2024);
  for (const Shape& s : kShapes) {
    for (int64_t k : kCodebookSizes) {
      const auto w = random_weights(rng, s.rows, s.cols, s.density, k, 5);
      const ClusterBlockCsr b = ClusterBlockCsr::from(to_codebook_csr(w, s.rows, s.cols));
      const auto bias = random_vector(rng, s.rows);
      for (int64_t batch : {1, 16}) {
        if (batch * s.cols > 300000) continue;
        const auto x = random_vector(rng, batch * s.cols);
        const auto want =
            reference::gemm(x.data(), batch, s.cols, w.dense.data(), s.rows, bias.data());
        const auto ax = absolute(x), aw = absolute(w.dense), ab = absolute(bias);
        const auto scale = reference::gemm(ax.data(), batch, s.cols, aw.data(), s.rows, ab.data());
        std::vector<float> y(batch * s.rows);
        gemm_codebook_csr(x.data(), batch, b, bias.data(), y.data());
        expect_close(y, want, scale,
                     std::to_string(s.rows) + "x" + std::to_string(s.cols) + " k " +
                         std::to_string(k) + " batch " + std::to_string(batch));
      }
    }
  }
}

TEST(SpmmBlocks, SameBitsOnOneAndTwoThreads) {
  std::mt19937 rng(3);
  // Large enough that the product is split over threads (spmm.cc run_parallel).
  const int64_t rows = 700, cols = 1500;
  const auto w = random_weights(rng, rows, cols, 0.12, 32, 7);
  const ClusterBlockCsr b = ClusterBlockCsr::from(to_codebook_csr(w, rows, cols));
  const auto bias = random_vector(rng, rows);
  for (int64_t batch : {1, 16}) {
    const auto x = random_vector(rng, batch * cols);
    std::vector<float> one(batch * rows), two(batch * rows);
    {
      ThreadCount threads(1);
      gemm_codebook_csr(x.data(), batch, b, bias.data(), one.data());
    }
    {
      ThreadCount threads(2);
      gemm_codebook_csr(x.data(), batch, b, bias.data(), two.data());
    }
    EXPECT_TRUE(same_bits(one, two)) << "batch " << batch;
    EXPECT_TRUE(same_bits(one, batch == 1 ? reference_matvec(b, x.data(), bias.data())
                                          : reference_gemm(b, x.data(), batch, bias.data())));
  }
}

}  // namespace
}  // namespace deepcomp::kernels
