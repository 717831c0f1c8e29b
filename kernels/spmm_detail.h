// Internal to kernels/: the one sparse x dense driver behind spmm.h and conv.h, with optional
// groups (a convolution's weight rows of group g read the g-th block of B). Not part of the API
// other folders should call. Depends only on the standard library.
#pragma once

#include <cstdint>

namespace deepcomp::kernels::detail {

// C[r, :] = bias[r] + sum_k value(k) * B_r[col[k], :] over row r's nonzeros, for r in [0, rows),
// where B_r = B + (r / rows_per_group) * b_group_stride and every row of B_r and C has n floats.
// Column indices are col_idx (int32) or, in the compact layout, col_idx16 (uint16): exactly one
// of the two is set. n == 1 takes the matrix-vector path.
struct SparseProblem {
  const int64_t* row_ptr = nullptr;
  const int32_t* col_idx = nullptr;
  const uint16_t* col_idx16 = nullptr;
  int64_t rows = 0;
  const float* B = nullptr;
  int64_t n = 0;
  int64_t rows_per_group = 1;  // >= 1
  int64_t b_group_stride = 0;
  const float* bias = nullptr;  // rows entries or nullptr
  float* C = nullptr;
};

void sparse_times_dense(const SparseProblem& p, const float* values);
void sparse_times_dense(const SparseProblem& p, const uint8_t* cluster, const float* codebook,
                        int64_t codebook_size);
void sparse_times_dense(const SparseProblem& p, const uint16_t* cluster, const float* codebook,
                        int64_t codebook_size);

// The matrix-vector rows [r0, r1) (n == 1), vectorized with Google Highway for the best SIMD
// target of the CPU (spmv_simd.cc). Every target computes each row in the same fixed order, the
// one reference::spmv_row (kernels/reference.h) spells out: 16 partial sums, nonzero j of the
// row (j = k - row_ptr[r]) going to sum j % 16 as a rounded product then a rounded add, the 16
// combined pairwise (s[i] += s[i + w] for w = 8, 4, 2, 1), then the bias added. Results are
// therefore bit-identical on SSE4, AVX2, AVX-512, NEON and the scalar fallback.
void matvec_rows(const SparseProblem& p, const float* values, int64_t r0, int64_t r1);
void matvec_rows(const SparseProblem& p, const uint8_t* cluster, const float* codebook,
                 int64_t codebook_size, int64_t r0, int64_t r1);
void matvec_rows(const SparseProblem& p, const uint16_t* cluster, const float* codebook, int64_t r0,
                 int64_t r1);

// The runs of a cluster-grouped matrix (sparse_matrix.h GroupedCodebookCsr); the problem's
// row_ptr and col_idx16 hold its row offsets and grouped columns (col_idx16 padded so a vector
// load past the last nonzero stays in bounds).
struct GroupedRuns {
  const int64_t* run_ptr = nullptr;
  const uint8_t* cluster = nullptr;
  const uint16_t* length = nullptr;
  const float* codebook = nullptr;
};

// C = the grouped product: n == 1 runs grouped_matvec_rows, otherwise grouped_tile_rows,
// where output (r, j) = (sum over the row's runs t in order of w_t * s_t) + bias[r], each s_t
// the plain sum of B[col, j] over run t's nonzeros in stored order, rounded at every step
// (reference::grouped_gemm_row).
void grouped_times_dense(const SparseProblem& p, const GroupedRuns& g);

// The grouped matrix-vector rows [r0, r1) (n == 1), Highway-dispatched like matvec_rows, in the
// order reference::grouped_spmv_row spells out: 8 row sums; for each run, 8 run sums (element i
// of the run to sum i % 8, rounded adds), then row sum l += w_t * run sum l (rounded product,
// rounded add); the 8 row sums combined pairwise (w = 4, 2, 1), then the bias. Bit-identical on
// every target.
void grouped_matvec_rows(const SparseProblem& p, const GroupedRuns& g, int64_t r0, int64_t r1);
// The rows [r0, r1) at n > 1 (Highway, tiles of 16 columns), in grouped_times_dense's order.
void grouped_tile_rows(const SparseProblem& p, const GroupedRuns& g, int64_t r0, int64_t r1);

// The blocks of a "cluster blocks of 8" matrix (sparse_matrix.h ClusterBlockCsr): the problem's
// row_ptr holds its block offsets, col_idx16 its 8 columns per block, and B has one more row
// than the matrix has columns, all zero (the padding entries' input).
struct ClusterBlocks {
  const uint8_t* cluster = nullptr;
  const float* codebook = nullptr;
};

// C = the blocked product: n == 1 runs cluster_block_matvec_rows, otherwise
// cluster_block_tile_rows, where output (r, j) = (sum over the row's blocks t in order of w_t *
// s_t) + bias[r], s_t the sum of B[col, j] over block t's 8 entries in order from +0
// (reference::cluster_block_gemm_row).
void cluster_block_times_dense(const SparseProblem& p, const ClusterBlocks& b);

// The blocked matrix-vector rows [r0, r1) (n == 1), Highway-dispatched, in the order
// reference::cluster_block_spmv_row spells out: 8 row sums, block t adds w_t * input of its
// entry l to sum l (rounded product, rounded add), the 8 combined pairwise (w = 4, 2, 1), then the
// bias. Bit-identical on every target.
void cluster_block_matvec_rows(const SparseProblem& p, const ClusterBlocks& b, int64_t r0,
                               int64_t r1);

// The blocked rows [r0, r1) at n > 1 (Highway, tiles of 16 columns), in
// cluster_block_times_dense's order.
void cluster_block_tile_rows(const SparseProblem& p, const ClusterBlocks& b, int64_t r0,
                             int64_t r1);

// Name of the Highway target matvec_rows dispatches to on this CPU, e.g. "AVX2", "AVX3", "SSE4".
const char* simd_target_name();

}  // namespace deepcomp::kernels::detail
