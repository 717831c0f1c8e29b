#include "kernels/int_products.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace deepcomp::kernels {

namespace {

using RowMajorD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

int64_t max_abs(const int32_t* v, int64_t n) {
  int64_t m = 0;
  for (int64_t k = 0; k < n; ++k) m = std::max<int64_t>(m, std::llabs(static_cast<int64_t>(v[k])));
  return m;
}

// The int32 that an int32 accumulator holds after wrapping, from the exact (int64) sum.
int32_t wrap(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

int threads_for(int64_t work) { return work < (1 << 18) ? 1 : std::max(1, omp_get_max_threads()); }

}  // namespace

IntCsrMatrix IntCsrMatrix::from_dense(const int32_t* dense, int64_t rows, int64_t cols,
                                      bool transposed) {
  IntCsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.row_ptr.assign(static_cast<size_t>(rows) + 1, 0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const int32_t v = transposed ? dense[c * rows + r] : dense[r * cols + c];
      if (v == 0) continue;
      m.col_idx.push_back(static_cast<int32_t>(c));
      m.values.push_back(v);
    }
    m.row_ptr[r + 1] = static_cast<int64_t>(m.values.size());
  }
  return m;
}

void exact_gemm(const int32_t* A, const int32_t* B, int64_t M, int64_t K, int64_t N, int32_t* C) {
  if (M == 0 || N == 0) return;
  const double per_product =
      static_cast<double>(max_abs(A, M * K)) * static_cast<double>(max_abs(B, K * N));
  if (per_product == 0) {
    std::fill(C, C + M * N, 0);
    return;
  }
  // Float32 GEMM, twice the double throughput, on K-chunks short enough that every partial sum
  // (at most chunk x per_product in magnitude, whatever the summation order) is an integer up to
  // 2^24, which float32 holds exactly (8-bit centered codes: chunks of 258); the chunks' exact
  // results are added in int64 and wrapped once.
  const int64_t chunk = static_cast<int64_t>(std::floor(16777216.0 / per_product));
  if (chunk >= 64) {
    using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using IntMap =
        Eigen::Map<const Eigen::Matrix<int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
    const RowMajorF a_f = IntMap(A, M, K).cast<float>(), b_f = IntMap(B, K, N).cast<float>();
    RowMajorF c(M, N);
    if (chunk >= K) {
      c.noalias() = a_f * b_f;
      const float* src = c.data();
      for (int64_t k = 0; k < M * N; ++k) C[k] = wrap(static_cast<int64_t>(src[k]));
      return;
    }
    std::vector<int64_t> sum(static_cast<size_t>(M * N), 0);
    for (int64_t k0 = 0; k0 < K; k0 += chunk) {
      const int64_t kc = std::min(chunk, K - k0);
      c.noalias() = a_f.middleCols(k0, kc) * b_f.middleRows(k0, kc);
      const float* src = c.data();
      for (int64_t k = 0; k < M * N; ++k) sum[k] += static_cast<int64_t>(src[k]);
    }
    for (int64_t k = 0; k < M * N; ++k) C[k] = wrap(sum[k]);
    return;
  }
  const double bound = per_product * static_cast<double>(K);
  if (bound >= 9007199254740992.0) {  // 2^53: doubles would round; the integer loop wraps as int32
    for (int64_t i = 0; i < M; ++i) {
      for (int64_t j = 0; j < N; ++j) C[i * N + j] = 0;
      for (int64_t k = 0; k < K; ++k) {
        const uint32_t a = static_cast<uint32_t>(A[i * K + k]);
        for (int64_t j = 0; j < N; ++j)
          C[i * N + j] = static_cast<int32_t>(static_cast<uint32_t>(C[i * N + j]) +
                                              a * static_cast<uint32_t>(B[k * N + j]));
      }
    }
    return;
  }
  const Eigen::Map<const Eigen::Matrix<int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> a(
      A, M, K),
      b(B, K, N);
  const RowMajorD a_d = a.cast<double>(), b_d = b.cast<double>();
  RowMajorD c(M, N);
  c.noalias() = a_d * b_d;
  const double* src = c.data();
  for (int64_t k = 0; k < M * N; ++k) C[k] = wrap(static_cast<int64_t>(src[k]));
}

void csr_times_dense(const IntCsrMatrix& W, int64_t row0, int64_t count, const int32_t* X,
                     int64_t ldx, int64_t N, int32_t* Y, int64_t ldy) {
  const int64_t work = (W.row_ptr[row0 + count] - W.row_ptr[row0]) * N;
#pragma omp parallel num_threads(threads_for(work))
  {
    std::vector<uint32_t> acc(static_cast<size_t>(N));
#pragma omp for schedule(dynamic, 4)
    for (int64_t r = 0; r < count; ++r) {
      std::fill(acc.begin(), acc.end(), 0u);
      for (int64_t e = W.row_ptr[row0 + r]; e < W.row_ptr[row0 + r + 1]; ++e) {
        const uint32_t w = static_cast<uint32_t>(W.values[e]);
        const int32_t* x = X + static_cast<int64_t>(W.col_idx[e]) * ldx;
        for (int64_t t = 0; t < N; ++t) acc[t] += w * static_cast<uint32_t>(x[t]);
      }
      int32_t* y = Y + r * ldy;
      for (int64_t t = 0; t < N; ++t) y[t] = static_cast<int32_t>(acc[t]);
    }
  }
}

void dense_times_csr_t(const int32_t* A, int64_t M, int64_t K, const IntCsrMatrix& Bt, int32_t* C) {
  const int64_t N = Bt.rows;
  const int64_t work = M * Bt.nnz();
#pragma omp parallel for schedule(static) num_threads(threads_for(work))
  for (int64_t i = 0; i < M; ++i) {
    const int32_t* a = A + i * K;
    for (int64_t j = 0; j < N; ++j) {
      uint32_t acc = 0;
      for (int64_t e = Bt.row_ptr[j]; e < Bt.row_ptr[j + 1]; ++e)
        acc += static_cast<uint32_t>(a[Bt.col_idx[e]]) * static_cast<uint32_t>(Bt.values[e]);
      C[i * N + j] = static_cast<int32_t>(acc);
    }
  }
}

}  // namespace deepcomp::kernels
