// Sparse-weight products for fully-connected layers: Y = X * W^T + b with W stored as CSR or as
// codebook-CSR (Deep Compression's shared weights), and the general sparse x dense product the
// sparse convolution (conv.h) is built on. Depends on Eigen, OpenMP, Google Highway and the
// standard library.
//
// Threading: output rows are split into nnz-balanced blocks over the OpenMP threads, and every
// output element is summed by one thread in a fixed order (its row's nonzeros in column order), so
// results are bit-identical whatever the number of threads. Small problems run single-threaded.
// All arrays are row-major; outputs must not alias inputs. Matrices must be structurally valid
// (see check_structure() in sparse_matrix.h).
#pragma once

#include <cstdint>

#include "kernels/sparse_matrix.h"

namespace deepcomp::kernels {

// Y = X * W^T + b. X: batch x W.cols, Y: batch x W.rows, bias: W.rows entries or nullptr.
// Batch 1 is a matrix-vector product; larger batches are processed against all batch rows at
// once per nonzero. For MatMul with a constant right operand (Y = X * W, W in x out), pass the
// transpose (CsrMatrix::from_dense_transposed or csr_transpose / codebook_csr_transpose).
void gemm_csr(const float* X, int64_t batch, const CsrMatrix& W, const float* bias, float* Y);
void gemm_codebook_csr(const float* X, int64_t batch, const CodebookCsrMatrix& W, const float* bias,
                       float* Y);
// The same product on the compact layout (16-bit columns): bit-identical to the overload above
// on the matrix it was made from, with 3 instead of 5 bytes of weight traffic per nonzero.
void gemm_codebook_csr(const float* X, int64_t batch, const CompactCodebookCsr& W,
                       const float* bias, float* Y);

// The same product on cluster-grouped rows (2 bytes per nonzero, one multiply per run): the
// layout the runtime picks for Gemm/MatMul when it fits. Sums in its own order (spmm_detail.h
// grouped_times_dense), so it agrees with the overloads above within rounding; batch 1 gives the
// same bits on every SIMD target and any thread count.
void gemm_codebook_csr(const float* X, int64_t batch, const GroupedCodebookCsr& W,
                       const float* bias, float* Y);

// The same product on "cluster blocks of 8" (ClusterBlockCsr): the batch-1 layout, one loop of
// equal blocks per row. Sums in its own orders (spmm_detail.h cluster_block_times_dense), so it
// agrees with the overloads above within rounding; batch 1 gives the same bits on every SIMD
// target and any thread count, batch > 1 the same bits on any thread count.
void gemm_codebook_csr(const float* X, int64_t batch, const ClusterBlockCsr& W, const float* bias,
                       float* Y);

// Which SIMD target the matrix-vector kernels run on this CPU (Highway's name: "AVX2", "AVX3",
// "SSE4", "NEON", "EMU128", ...). Batch-1 results are the same bits on every target.
const char* simd_path_name();

// C = A * B (+ bias per row of C): A sparse rows x cols, B dense cols x n, C dense rows x n.
// bias: A.rows entries or nullptr.
void csr_times_dense(const CsrMatrix& A, const float* B, int64_t n, const float* bias, float* C);
void codebook_csr_times_dense(const CodebookCsrMatrix& A, const float* B, int64_t n,
                              const float* bias, float* C);

}  // namespace deepcomp::kernels
