// Exact integer products for the quantized operators (runtime/ops_quant_*.cc: ConvInteger,
// MatMulInteger, QLinearConv, QLinearMatMul), dense and sparse. Operands are zero-point-centered
// 8-bit codes (|v| <= 255) held as int32; results are the int32 sums with wrap-around, as ONNX
// defines them, bit for bit whatever the kernel.
//   dense:  a float32 Eigen GEMM on chunks of K short enough that every partial sum is an integer
//           up to 2^24 (exact in float32; 258 products of two 8-bit codes), the chunks added in
//           int64, then wrapped to int32 (with larger operands: a double GEMM while sums stay
//           below 2^53, else an integer loop).
//   sparse: IntCsrMatrix, the nonzero centered codes of a constant weight by row (rows = output
//           channels / features, the layout of runtime/session.h), accumulated in uint32.
// Depends only on Eigen, OpenMP and the standard library.
#pragma once

#include <cstdint>
#include <vector>

namespace deepcomp::kernels {

struct IntCsrMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> row_ptr;  // rows + 1
  std::vector<int32_t> col_idx;
  std::vector<int32_t> values;  // centered codes, never 0
  int64_t nnz() const { return static_cast<int64_t>(values.size()); }

  // From row-major rows x cols centered codes (zeros dropped); `transposed`: `dense` is cols x
  // rows (a MatMul weight [K, N] whose rows here are its N columns).
  static IntCsrMatrix from_dense(const int32_t* dense, int64_t rows, int64_t cols, bool transposed);
};

// C (M x N, row-major) = A (M x K) * B (K x N), exact, wrapped to int32. C must not alias.
void exact_gemm(const int32_t* A, const int32_t* B, int64_t M, int64_t K, int64_t N, int32_t* C);

// Rows [row0, row0 + count) of W times the K x N row-major block X (leading dimension ldx):
// Y (count x N, leading dimension ldy) = W[rows] * X, wrapped to int32. For convolutions, X is
// the im2col buffer and the rows are one group's output channels.
void csr_times_dense(const IntCsrMatrix& W, int64_t row0, int64_t count, const int32_t* X,
                     int64_t ldx, int64_t N, int32_t* Y, int64_t ldy);

// C (M x N) = A (M x K, row-major) * B where Bt (N x K) holds B's columns as rows: C[i][j] =
// sum over the entries of row j of Bt. Wrapped to int32.
void dense_times_csr_t(const int32_t* A, int64_t M, int64_t K, const IntCsrMatrix& Bt, int32_t* C);

}  // namespace deepcomp::kernels
