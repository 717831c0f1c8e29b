// The compact codebook-CSR layout (16-bit columns, sparse_matrix.h CompactCodebookCsr) against
// the int32 layout, and the Highway matrix-vector kernels (spmm_detail.h matvec_rows) against the
// plain fixed-order reference (reference::spmv_row), bit for bit, on every SIMD target this CPU
// has: random and ragged shapes, empty rows, 1x1, and 65536 / 65537 columns (the 16-bit limit).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/reference.h"
#include "kernels/spmm.h"
#include "tests/kernels/kernel_test_util.h"

namespace deepcomp::kernels {
namespace {

using testing::on_every_target;
using testing::random_vector;
using testing::random_weights;
using testing::same_bits;
using testing::to_codebook_csr;

struct Shape {
  int64_t rows, cols;
  double density;
};
// Ragged sizes (row lengths that are not multiples of the 16-nonzero step), empty rows (every
// 5th row of random_weights(..., 5)), the smallest matrix, and both sides of the 16-bit limit.
const Shape kShapes[] = {{1, 1, 1.0},      {1, 1, 0.0},      {3, 17, 1.0},   {7, 33, 0.6},
                         {40, 100, 0.37},  {64, 513, 0.1},   {9, 1000, 0.9}, {200, 300, 0.05},
                         {4, 65536, 0.01}, {4, 65537, 0.01}, {2, 65537, 0.0}};

// Batch-1 outputs of reference::spmv_row over a CSR-like matrix.
template <typename Matrix, typename Weight>
std::vector<float> reference_matvec(const Matrix& m, Weight weight, const float* x,
                                    const float* bias) {
  std::vector<float> y(m.rows);
  for (int64_t r = 0; r < m.rows; ++r) {
    const int64_t begin = m.row_ptr[r];
    y[r] = reference::spmv_row(
        m.row_ptr[r + 1] - begin, [&](int64_t j) { return weight(begin + j); },
        [&](int64_t j) { return m.col_idx[begin + j]; }, x, bias ? bias + r : nullptr);
  }
  return y;
}

TEST(SpmmLayout, MatvecIsBitIdenticalToFixedOrderReferenceOnEveryTarget) {
  std::mt19937 rng(1414);
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.cols));
    const auto w = random_weights(rng, s.rows, s.cols, s.density, 32, 5);
    const auto mid = random_weights(rng, s.rows, s.cols, s.density, 200, 5);  // > 32: gathers
    const auto wide = random_weights(rng, s.rows, s.cols, s.density, 300, 5);
    const auto x = random_vector(rng, s.cols);
    const auto bias = random_vector(rng, s.rows);
    const CsrMatrix csr = CsrMatrix::from_dense(w.dense.data(), s.rows, s.cols);
    const CodebookCsrMatrix cb = to_codebook_csr(w, s.rows, s.cols);
    const CodebookCsrMatrix cb200 = to_codebook_csr(mid, s.rows, s.cols);
    const CodebookCsrMatrix cb16 = to_codebook_csr(wide, s.rows, s.cols);
    ASSERT_TRUE(cb16.wide());
    for (const float* b : {bias.data(), static_cast<const float*>(nullptr)}) {
      const auto want_csr = reference_matvec(
          csr, [&](int64_t k) { return csr.values[k]; }, x.data(), b);
      const auto want_cb = reference_matvec(
          cb, [&](int64_t k) { return cb.value(k); }, x.data(), b);
      const auto want_cb200 = reference_matvec(
          cb200, [&](int64_t k) { return cb200.value(k); }, x.data(), b);
      const auto want_cb16 = reference_matvec(
          cb16, [&](int64_t k) { return cb16.value(k); }, x.data(), b);
      on_every_target([&] {
        std::vector<float> y(s.rows, 123.0f);
        gemm_csr(x.data(), 1, csr, b, y.data());
        EXPECT_TRUE(same_bits(y, want_csr)) << "csr";
        gemm_codebook_csr(x.data(), 1, cb, b, y.data());
        EXPECT_TRUE(same_bits(y, want_cb)) << "codebook-csr";
        gemm_codebook_csr(x.data(), 1, cb200, b, y.data());
        EXPECT_TRUE(same_bits(y, want_cb200)) << "codebook-csr, 200 clusters";
        gemm_codebook_csr(x.data(), 1, cb16, b, y.data());
        EXPECT_TRUE(same_bits(y, want_cb16)) << "codebook-csr, 16-bit clusters";
        if (CompactCodebookCsr::fits(cb)) {
          gemm_codebook_csr(x.data(), 1, CompactCodebookCsr::from(cb), b, y.data());
          EXPECT_TRUE(same_bits(y, want_cb)) << "compact codebook-csr";
        }
      });
    }
  }
}

TEST(SpmmLayout, CompactFitsUpTo65536ColumnsAnd256Clusters) {
  std::mt19937 rng(5);
  EXPECT_TRUE(CompactCodebookCsr::fits(
      to_codebook_csr(random_weights(rng, 2, 65536, 0.01, 256), 2, 65536)));
  EXPECT_FALSE(
      CompactCodebookCsr::fits(to_codebook_csr(random_weights(rng, 2, 65537, 0.01, 32), 2, 65537)));
  EXPECT_FALSE(
      CompactCodebookCsr::fits(to_codebook_csr(random_weights(rng, 2, 100, 0.5, 257), 2, 100)));
}

TEST(SpmmLayout, CompactKeepsEveryIndexAndCountsThreeBytesPerNonzero) {
  std::mt19937 rng(6);
  // The last column (65535) must survive the narrowing.
  auto w = random_weights(rng, 3, 65536, 0.001, 32);
  const CodebookCsrMatrix cb = to_codebook_csr(w, 3, 65536);
  CodebookCsrMatrix with_last = cb;
  const CompactCodebookCsr c = CompactCodebookCsr::from(cb);
  ASSERT_EQ(c.nnz(), cb.nnz());
  for (int64_t k = 0; k < cb.nnz(); ++k) {
    ASSERT_EQ(int64_t{c.col_idx[k]}, int64_t{cb.col_idx[k]});
    ASSERT_EQ(c.cluster[k], cb.cluster[k]);
  }
  EXPECT_EQ(c.row_ptr, cb.row_ptr);
  EXPECT_EQ(c.bytes(), 3 * cb.nnz() + 8 * 4 + 4 * 32);
  const std::vector<int64_t> positions = {0, 65535, 2 * 65536 + 65535};
  const std::vector<uint32_t> clusters = {1, 2, 3};
  std::string error;
  ASSERT_TRUE(codebook_csr_from(3, 65536, positions, clusters, w.codebook, &with_last, &error));
  const CompactCodebookCsr last = CompactCodebookCsr::from(with_last);
  EXPECT_EQ(last.col_idx, (std::vector<uint16_t>{0, 65535, 65535}));
  std::vector<float> x(65536, 0.0f);
  x[65535] = 2.0f;
  std::vector<float> y(3);
  gemm_codebook_csr(x.data(), 1, last, nullptr, y.data());
  // Row 0 holds columns 0 and 65535, row 1 nothing, row 2 column 65535.
  EXPECT_EQ(y, (std::vector<float>{2.0f * w.codebook[2], 0.0f, 2.0f * w.codebook[3]}));
}

TEST(SpmmLayout, CompactIsBitIdenticalToInt32LayoutAtEveryBatch) {
  std::mt19937 rng(77);
  for (const Shape& s : kShapes) {
    const auto w = random_weights(rng, s.rows, s.cols, s.density, 16, 5);
    const CodebookCsrMatrix cb = to_codebook_csr(w, s.rows, s.cols);
    if (!CompactCodebookCsr::fits(cb)) continue;
    const CompactCodebookCsr compact = CompactCodebookCsr::from(cb);
    const auto bias = random_vector(rng, s.rows);
    for (int64_t batch : {1, 3, 16, 21}) {
      if (batch * s.cols > 300000) continue;
      const auto x = random_vector(rng, batch * s.cols);
      std::vector<float> want(batch * s.rows), got(batch * s.rows, 7.0f);
      gemm_codebook_csr(x.data(), batch, cb, bias.data(), want.data());
      gemm_codebook_csr(x.data(), batch, compact, bias.data(), got.data());
      EXPECT_TRUE(same_bits(got, want)) << s.rows << "x" << s.cols << " batch " << batch;
    }
  }
}

TEST(SpmmLayout, NamesTheSimdPath) {
  const std::string name = simd_path_name();
  EXPECT_FALSE(name.empty());
  EXPECT_NE(name, "Unknown");
}

}  // namespace
}  // namespace deepcomp::kernels
