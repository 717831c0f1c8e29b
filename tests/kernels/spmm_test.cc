// Y = X * W^T + b with CSR and codebook-CSR weights (kernels/spmm.h) against the naive double
// reference, on many shapes and densities, and bit-identical across thread counts.
#include "kernels/spmm.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/isa.h"
#include "kernels/reference.h"
#include "tests/kernels/kernel_test_util.h"

namespace deepcomp::kernels {
namespace {

using testing::absolute;
using testing::expect_close;
using testing::random_vector;
using testing::random_weights;
using testing::ThreadCount;
using testing::to_codebook_csr;

struct Case {
  int64_t rows, cols;
};

void check_all_forms(std::mt19937& rng, int64_t rows, int64_t cols, double density,
                     int64_t codebook_size, int64_t batch, bool with_bias) {
  const std::string what = std::to_string(rows) + "x" + std::to_string(cols) + " density " +
                           std::to_string(density) + " codebook " + std::to_string(codebook_size) +
                           " batch " + std::to_string(batch);
  const auto w = random_weights(rng, rows, cols, density, codebook_size, 5);
  const auto x = random_vector(rng, batch * cols);
  const auto bias = random_vector(rng, rows);
  const float* b = with_bias ? bias.data() : nullptr;
  const auto want = reference::gemm(x.data(), batch, cols, w.dense.data(), rows, b);
  const auto abs_x = absolute(x), abs_w = absolute(w.dense), abs_b = absolute(bias);
  const auto scale = reference::gemm(abs_x.data(), batch, cols, abs_w.data(), rows,
                                     with_bias ? abs_b.data() : nullptr);

  const CsrMatrix csr = CsrMatrix::from_dense(w.dense.data(), rows, cols);
  std::vector<float> y(batch * rows, 123.0f);
  gemm_csr(x.data(), batch, csr, b, y.data());
  expect_close(y, want, scale, "csr " + what);

  const CodebookCsrMatrix cb = to_codebook_csr(w, rows, cols);
  std::fill(y.begin(), y.end(), 123.0f);
  gemm_codebook_csr(x.data(), batch, cb, b, y.data());
  expect_close(y, want, scale, "codebook-csr " + what);
}

TEST(Spmm, MatchesReferenceOnRandomShapesDensitiesAndBatches) {
  std::mt19937 rng(2024);
  const Case cases[] = {{1, 1}, {1, 300}, {300, 1}, {5, 7}, {33, 17}, {64, 100}, {130, 257}};
  for (const Case& c : cases) {
    for (double density : {0.0, 0.01, 0.5, 1.0}) {
      for (int64_t batch : {1, 7, 16, 19}) {
        check_all_forms(rng, c.rows, c.cols, density, 32, batch, batch != 7);
      }
    }
  }
}

TEST(Spmm, HandlesFullAndWideCodebooks) {
  std::mt19937 rng(77);
  for (int64_t codebook_size : {1, 2, 16, 31, 33, 256, 300, 4096}) {
    for (int64_t batch : {1, 7}) check_all_forms(rng, 45, 90, 0.4, codebook_size, batch, true);
  }
}

TEST(Spmm, HandWorkedMatrixVector) {
  // W = [[1, 0, 2], [0, 0, 0], [0, -3, 0]], x = [1, 2, 3], b = [0.5, 1, 0].
  const std::vector<float> dense = {1, 0, 2, 0, 0, 0, 0, -3, 0};
  const CsrMatrix w = CsrMatrix::from_dense(dense.data(), 3, 3);
  const std::vector<float> x = {1, 2, 3}, bias = {0.5f, 1, 0};
  std::vector<float> y(3);
  gemm_csr(x.data(), 1, w, bias.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{7.5f, 1.0f, -6.0f}));
}

TEST(Spmm, EmptyMatricesProduceBiasOnly) {
  const CsrMatrix w = CsrMatrix::from_dense(std::vector<float>(12, 0.0f).data(), 4, 3);
  const std::vector<float> x(2 * 3, 1.0f), bias = {1, 2, 3, 4};
  std::vector<float> y(2 * 4, -9.0f);
  gemm_csr(x.data(), 2, w, bias.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 2, 3, 4, 1, 2, 3, 4}));
  gemm_csr(x.data(), 2, w, nullptr, y.data());
  EXPECT_EQ(y, std::vector<float>(8, 0.0f));
}

TEST(Spmm, ConstantOnTheRightThroughTransposedStorage) {
  // Y = X * W with W in x out, stored as CSR of W^T.
  std::mt19937 rng(8);
  const int64_t batch = 7, in = 40, out = 23;
  const auto w = random_weights(rng, in, out, 0.3, 32);  // in x out
  const auto x = random_vector(rng, batch * in);
  const auto want = reference::matmul(x.data(), w.dense.data(), batch, in, out);
  const auto abs_x = absolute(x), abs_w = absolute(w.dense);
  const auto scale = reference::matmul(abs_x.data(), abs_w.data(), batch, in, out);
  std::vector<float> y(batch * out);
  gemm_csr(x.data(), batch, CsrMatrix::from_dense_transposed(w.dense.data(), in, out), nullptr,
           y.data());
  expect_close(y, want, scale, "csr transposed");
  gemm_codebook_csr(x.data(), batch, codebook_csr_transpose(to_codebook_csr(w, in, out)), nullptr,
                    y.data());
  expect_close(y, want, scale, "codebook-csr transposed");
}

void check_sparse_times_dense() {
  std::mt19937 rng(9);
  for (int64_t n : {1, 3, 16, 37}) {
    const int64_t rows = 50, cols = 60;
    const auto w = random_weights(rng, rows, cols, 0.2, 32, 3);
    const auto b = random_vector(rng, cols * n);
    const auto bias = random_vector(rng, rows);
    auto want = reference::matmul(w.dense.data(), b.data(), rows, cols, n);
    const auto abs_w = absolute(w.dense), abs_b = absolute(b);
    auto scale = reference::matmul(abs_w.data(), abs_b.data(), rows, cols, n);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < n; ++j) {
        want[r * n + j] += bias[r];
        scale[r * n + j] += std::fabs(bias[r]);
      }
    }
    std::vector<float> c(rows * n);
    csr_times_dense(CsrMatrix::from_dense(w.dense.data(), rows, cols), b.data(), n, bias.data(),
                    c.data());
    expect_close(c, want, scale, "csr_times_dense n=" + std::to_string(n));
    codebook_csr_times_dense(to_codebook_csr(w, rows, cols), b.data(), n, bias.data(), c.data());
    expect_close(c, want, scale, "codebook_csr_times_dense n=" + std::to_string(n));
  }
}

TEST(Spmm, SparseTimesDenseMatchesReference) { check_sparse_times_dense(); }

// The multi-column loops on every instruction set this CPU has (kernels/isa.h), batches from 1
// to 19: the reference's values, and the baseline's bits.
TEST(Spmm, EveryInstructionSetGivesTheSameBits) {
  std::mt19937 rng(31);
  const auto w = random_weights(rng, 70, 90, 0.3, 32, 5);
  const CsrMatrix csr = CsrMatrix::from_dense(w.dense.data(), 70, 90);
  const CodebookCsrMatrix cb = to_codebook_csr(w, 70, 90);
  const auto b = random_vector(rng, 90 * 37), x = random_vector(rng, 19 * 90);
  auto outputs = [&] {
    std::vector<std::vector<float>> out;
    for (int64_t n : {1, 5, 16, 37}) {
      std::vector<float> c(70 * n);
      csr_times_dense(csr, b.data(), n, nullptr, c.data());
      out.push_back(c);
      codebook_csr_times_dense(cb, b.data(), n, nullptr, c.data());
      out.push_back(c);
    }
    for (int64_t batch : {2, 19}) {
      std::vector<float> y(batch * 70);
      gemm_codebook_csr(x.data(), batch, cb, nullptr, y.data());
      out.push_back(y);
    }
    return out;
  };
  ASSERT_EQ(set_isa_for_test(Isa::kSse2), Isa::kSse2);
  const auto baseline = outputs();
  for (const Isa level : {Isa::kSse2, Isa::kAvx2, Isa::kAvx512}) {
    if (set_isa_for_test(level) != level) continue;
    SCOPED_TRACE(isa_name(level));
    check_sparse_times_dense();
    const auto got = outputs();
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], baseline[i]) << "output " << i;
  }
  set_isa_for_test(std::nullopt);
}

TEST(Spmm, BitIdenticalWithOneAndTwoThreads) {
  std::mt19937 rng(31);
  // Big enough that the kernels do split the rows over threads; uneven row densities.
  const int64_t rows = 700, cols = 900;
  auto w = random_weights(rng, rows, cols, 0.15, 32, 7);
  for (int64_t r = 0; r < 50; ++r) {  // a dense band to unbalance the rows
    for (int64_t c = 0; c < cols; ++c) w.dense[r * cols + c] = 0.001f * (c % 17 + 1);
  }
  const CsrMatrix csr = CsrMatrix::from_dense(w.dense.data(), rows, cols);
  const auto cb256 = random_weights(rng, rows, cols, 0.15, 256);
  const auto cb300 = random_weights(rng, rows, cols, 0.15, 300);
  const CodebookCsrMatrix m256 = to_codebook_csr(cb256, rows, cols);
  const CodebookCsrMatrix m300 = to_codebook_csr(cb300, rows, cols);
  const auto bias = random_vector(rng, rows);
  for (int64_t batch : {1, 7, 16}) {
    const auto x = random_vector(rng, batch * cols);
    std::vector<float> one[3], two[3];
    for (int threads : {1, 2}) {
      ThreadCount scoped(threads);
      auto& out = threads == 1 ? one : two;
      for (auto& v : out) v.assign(batch * rows, 0.0f);
      gemm_csr(x.data(), batch, csr, bias.data(), out[0].data());
      gemm_codebook_csr(x.data(), batch, m256, bias.data(), out[1].data());
      gemm_codebook_csr(x.data(), batch, m300, bias.data(), out[2].data());
    }
    for (int f = 0; f < 3; ++f) {
      EXPECT_EQ(0, std::memcmp(one[f].data(), two[f].data(), one[f].size() * sizeof(float)))
          << "form " << f << " batch " << batch;
    }
  }
}

}  // namespace
}  // namespace deepcomp::kernels
