// Dense float products on row-major arrays, via Eigen (the baseline the sparse kernels of spmm.h
// are measured against). Depends only on Eigen and OpenMP.
#pragma once

#include <cstdint>

namespace deepcomp::kernels {

// Y = X * W^T + b, the Gemm/fully-connected contract shared with spmm.h.
// X: batch x in, W: out x in, bias: out entries or nullptr, Y: batch x out; all row-major.
// Y must not alias X or W. For batch 1 the output rows are split over the OpenMP threads.
void gemm_dense(const float* X, int64_t batch, int64_t in, const float* W, int64_t out,
                const float* bias, float* Y);

// C = A * B with A: M x K, B: K x N, C: M x N, all row-major (ONNX MatMul of 2-D operands).
// C must not alias A or B.
void matmul(const float* A, const float* B, int64_t M, int64_t K, int64_t N, float* C);

}  // namespace deepcomp::kernels
