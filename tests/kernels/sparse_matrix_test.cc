// Conversions and structural checks of CsrMatrix / CodebookCsrMatrix (kernels/sparse_matrix.h):
// hand-worked small cases and bit-exact round trips on random matrices.
#include "kernels/sparse_matrix.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tests/kernels/kernel_test_util.h"

namespace deepcomp::kernels {
namespace {

using testing::random_weights;
using testing::to_codebook_csr;

TEST(CsrMatrix, FromDenseKeepsNonzerosInRowOrder) {
  const std::vector<float> dense = {0, 2, 0,  //
                                    0, 0, 0,  //
                                    5, 0, -1};
  const CsrMatrix m = CsrMatrix::from_dense(dense.data(), 3, 3);
  EXPECT_EQ(m.row_ptr, (std::vector<int64_t>{0, 1, 1, 3}));
  EXPECT_EQ(m.col_idx, (std::vector<int32_t>{1, 0, 2}));
  EXPECT_EQ(m.values, (std::vector<float>{2, 5, -1}));
  EXPECT_EQ(m.check_structure(), "");
}

TEST(CsrMatrix, FromDenseTransposedIsCsrOfTheTranspose) {
  const std::vector<float> dense = {1, 0, 2,   //
                                    0, 3, 0};  // 2 x 3
  const CsrMatrix t = CsrMatrix::from_dense_transposed(dense.data(), 2, 3);
  EXPECT_EQ(t.rows, 3);
  EXPECT_EQ(t.cols, 2);
  EXPECT_EQ(t.row_ptr, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(t.col_idx, (std::vector<int32_t>{0, 1, 0}));
  EXPECT_EQ(t.values, (std::vector<float>{1, 3, 2}));
}

TEST(CsrMatrix, DenseRoundTripAndTransposesAreExactOnRandomShapes) {
  std::mt19937 rng(11);
  const int64_t shapes[][2] = {{1, 1}, {1, 37}, {29, 1}, {17, 23}, {64, 5}, {0, 4}, {3, 0}};
  for (const auto& shape : shapes) {
    for (double density : {0.0, 0.01, 0.5, 1.0}) {
      const int64_t rows = shape[0], cols = shape[1];
      const auto w = random_weights(rng, rows, cols, density, 32, 4);
      const CsrMatrix m = CsrMatrix::from_dense(w.dense.data(), rows, cols);
      ASSERT_EQ(m.check_structure(), "");
      std::vector<float> back(rows * cols, 7.0f);
      m.to_dense(back.data());
      EXPECT_EQ(back, w.dense);

      std::vector<float> dense_t(rows * cols);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) dense_t[c * rows + r] = w.dense[r * cols + c];
      }
      const CsrMatrix t = csr_transpose(m);
      ASSERT_EQ(t.check_structure(), "");
      std::vector<float> t_back(rows * cols);
      t.to_dense(t_back.data());
      EXPECT_EQ(t_back, dense_t);
      const CsrMatrix t2 = CsrMatrix::from_dense_transposed(w.dense.data(), rows, cols);
      EXPECT_EQ(t2.row_ptr, t.row_ptr);
      EXPECT_EQ(t2.col_idx, t.col_idx);
      EXPECT_EQ(t2.values, t.values);

      const CodebookCsrMatrix cb = to_codebook_csr(w, rows, cols);
      ASSERT_EQ(cb.check_structure(), "");
      std::vector<float> cb_back(rows * cols, 7.0f);
      cb.to_dense(cb_back.data());
      EXPECT_EQ(cb_back, w.dense);
      const CodebookCsrMatrix cbt = codebook_csr_transpose(cb);
      ASSERT_EQ(cbt.check_structure(), "");
      cbt.to_dense(cb_back.data());
      EXPECT_EQ(cb_back, dense_t);
    }
  }
}

TEST(CodebookCsr, BuildsRowsFromFlattenedPositions) {
  // 3 x 4: (0,1)=cb[2], (2,0)=cb[0], (2,3)=cb[1]; row 1 empty.
  const std::vector<int64_t> positions = {1, 8, 11};
  const std::vector<uint32_t> clusters = {2, 0, 1};
  const std::vector<float> codebook = {-0.5f, 0.25f, 1.5f};
  CodebookCsrMatrix m;
  std::string error;
  ASSERT_TRUE(codebook_csr_from(3, 4, positions, clusters, codebook, &m, &error)) << error;
  EXPECT_EQ(m.row_ptr, (std::vector<int64_t>{0, 1, 1, 3}));
  EXPECT_EQ(m.col_idx, (std::vector<int32_t>{1, 0, 3}));
  EXPECT_EQ(m.cluster, (std::vector<uint8_t>{2, 0, 1}));
  EXPECT_FALSE(m.wide());
  std::vector<float> dense(12);
  m.to_dense(dense.data());
  EXPECT_EQ(dense, (std::vector<float>{0, 1.5f, 0, 0, 0, 0, 0, 0, -0.5f, 0, 0, 0.25f}));
}

TEST(CodebookCsr, CodebooksOver256EntriesUseSixteenBitIndices) {
  std::mt19937 rng(5);
  const auto w = random_weights(rng, 20, 30, 0.6, 300);
  const CodebookCsrMatrix m = testing::to_codebook_csr(w, 20, 30);
  EXPECT_TRUE(m.wide());
  EXPECT_TRUE(m.cluster.empty());
  EXPECT_EQ(m.cluster16.size(), w.positions.size());
  std::vector<float> dense(600);
  m.to_dense(dense.data());
  EXPECT_EQ(dense, w.dense);
}

TEST(CodebookCsr, RejectsBadStreamsWithAMessage) {
  const std::vector<float> codebook = {1.0f, 2.0f};
  CodebookCsrMatrix m;
  std::string error;
  auto build = [&](int64_t rows, int64_t cols, std::vector<int64_t> positions,
                   std::vector<uint32_t> clusters) {
    error.clear();
    return codebook_csr_from(rows, cols, positions, clusters, codebook, &m, &error);
  };
  EXPECT_FALSE(build(2, 2, {4}, {0}));
  EXPECT_NE(error.find("out of range"), std::string::npos) << error;
  EXPECT_FALSE(build(2, 2, {-1}, {0}));
  EXPECT_NE(error.find("out of range"), std::string::npos) << error;
  EXPECT_FALSE(build(2, 2, {2, 1}, {0, 0}));
  EXPECT_NE(error.find("ascending"), std::string::npos) << error;
  EXPECT_FALSE(build(2, 2, {1, 1}, {0, 0}));
  EXPECT_NE(error.find("ascending"), std::string::npos) << error;
  EXPECT_FALSE(build(2, 2, {1}, {2}));
  EXPECT_NE(error.find("codebook size"), std::string::npos) << error;
  EXPECT_FALSE(build(2, 2, {1, 2}, {0}));
  EXPECT_NE(error.find("cluster indices"), std::string::npos) << error;
  EXPECT_FALSE(build(-1, 2, {}, {}));
  EXPECT_NE(error.find("negative"), std::string::npos) << error;
  EXPECT_FALSE(codebook_csr_from(2, 2, std::vector<int64_t>{0}, std::vector<uint32_t>{0},
                                 std::vector<float>{}, &m, &error));
  EXPECT_NE(error.find("empty codebook"), std::string::npos) << error;
  EXPECT_TRUE(build(2, 2, {0, 3}, {1, 0})) << error;
}

TEST(CsrMatrix, CheckStructureNamesTheProblem) {
  const std::vector<float> dense = {1, 0, 2, 3};
  CsrMatrix m = CsrMatrix::from_dense(dense.data(), 2, 2);
  ASSERT_EQ(m.check_structure(), "");
  CsrMatrix bad = m;
  bad.col_idx[1] = 2;
  EXPECT_NE(bad.check_structure().find("out of range"), std::string::npos);
  bad = m;
  bad.row_ptr[1] = 4;  // {0, 4, 3}
  EXPECT_NE(bad.check_structure().find("decreases"), std::string::npos);
  bad = m;
  bad.row_ptr.pop_back();
  EXPECT_NE(bad.check_structure().find("row_ptr has"), std::string::npos);
  bad = m;
  bad.values.pop_back();
  EXPECT_NE(bad.check_structure().find("differ in length"), std::string::npos);

  CodebookCsrMatrix cb;
  cb.rows = 1;
  cb.cols = 2;
  cb.row_ptr = {0, 1};
  cb.col_idx = {1};
  cb.cluster = {3};
  cb.codebook = {1.0f, 2.0f};
  EXPECT_NE(cb.check_structure().find("codebook size"), std::string::npos);
  cb.cluster = {1};
  EXPECT_EQ(cb.check_structure(), "");
}

}  // namespace
}  // namespace deepcomp::kernels
