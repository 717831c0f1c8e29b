// Sparse x dense kernels for CSR and codebook-CSR weights (kernels/spmm.h, kernels/spmm_detail.h).
// Depends only on Eigen, OpenMP and the standard library.
#include "kernels/spmm.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/isa_variants.h"
#include "kernels/spmm_detail.h"

// Release builds are portable x86-64 (SSE2); the multi-column loops are also compiled for AVX2
// and AVX-512 and picked at run time (kernels/isa_variants.h; they vectorize over the tile of B
// columns, which GCC does well; the gather-bound matrix-vector rows are written with Highway
// instead). -ffp-contract=off (set for kernels/ in CMakeLists.txt; GCC would otherwise fuse into
// FMAs on the FMA variants) keeps every variant's arithmetic identical, so results do not depend
// on the variant.
#define DEEPCOMP_INLINE inline __attribute__((always_inline))

namespace deepcomp::kernels {
namespace detail {
namespace {

struct FloatValues {
  const float* v;
  DEEPCOMP_INLINE float operator()(int64_t k) const { return v[k]; }
};
template <typename Index>
struct CodebookValues {
  const Index* idx;
  const float* codebook;
  DEEPCOMP_INLINE float operator()(int64_t k) const { return codebook[idx[k]]; }
};

DEEPCOMP_INLINE const float* group_b(const SparseProblem& p, int64_t r) {
  return p.B + (r / p.rows_per_group) * p.b_group_stride;
}

// Several outputs per row: a tile of kTile columns of B is accumulated in registers while the
// row's nonzeros stream by. Tiles are the outer loop so a K x kTile panel of B stays in cache
// across all rows of the block. Each output sums its row's products in column order.
constexpr int64_t kTile = 16;

template <typename Col, typename Values, int64_t kWidth>
DEEPCOMP_INLINE void tile_row(const SparseProblem& p, const Col* col, Values value, int64_t r,
                              int64_t j0, int64_t width) {
  const int64_t w = kWidth > 0 ? kWidth : width;
  const int64_t n = p.n;
  const float* b = group_b(p, r) + j0;
  float acc[kTile] = {};
  for (int64_t k = p.row_ptr[r]; k < p.row_ptr[r + 1]; ++k) {
    const float v = value(k);
    const float* brow = b + static_cast<int64_t>(col[k]) * n;
    // Forced: GCC left this loop scalar for 16-bit column indices (2x slower at batch 16).
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) acc[j] += v * brow[j];
  }
  float* c = p.C + r * n + j0;
  const float bias = p.bias ? p.bias[r] : 0.0f;
  for (int64_t j = 0; j < w; ++j) c[j] = acc[j] + bias;
}

template <typename Col, typename Values>
DEEPCOMP_INLINE void spmm_rows(const SparseProblem& p, const Col* col, Values value, int64_t r0,
                               int64_t r1) {
  int64_t j0 = 0;
  for (; j0 + kTile <= p.n; j0 += kTile) {
    for (int64_t r = r0; r < r1; ++r) tile_row<Col, Values, kTile>(p, col, value, r, j0, kTile);
  }
  if (j0 < p.n) {
    for (int64_t r = r0; r < r1; ++r) tile_row<Col, Values, 0>(p, col, value, r, j0, p.n - j0);
  }
}

template <typename Values>
DEEPCOMP_INLINE void spmm_rows_any_cols(const SparseProblem& p, Values value, int64_t r0,
                                        int64_t r1) {
  if (p.col_idx16) {
    spmm_rows(p, p.col_idx16, value, r0, r1);
  } else {
    spmm_rows(p, p.col_idx, value, r0, r1);
  }
}

DEEPCOMP_ISA_VARIANTS(rows_f32, (const SparseProblem& p, const float* v, int64_t r0, int64_t r1),
                      (spmm_rows_any_cols(p, FloatValues{v}, r0, r1)))
DEEPCOMP_ISA_VARIANTS(rows_cb8,
                      (const SparseProblem& p, const uint8_t* c, const float* cb, int64_t r0,
                       int64_t r1),
                      (spmm_rows_any_cols(p, CodebookValues<uint8_t>{c, cb}, r0, r1)))
DEEPCOMP_ISA_VARIANTS(rows_cb16,
                      (const SparseProblem& p, const uint16_t* c, const float* cb, int64_t r0,
                       int64_t r1),
                      (spmm_rows_any_cols(p, CodebookValues<uint16_t>{c, cb}, r0, r1)))

constexpr int64_t kBlock = 8;  // ClusterBlockCsr::kBlock

// Splits [0, rows) into `parts` contiguous blocks of about equal cost (nonzeros plus a per-row
// overhead), so threads finish together even when row densities differ.
// row_ptr counts `unit` entries per step (8 for the blocks of ClusterBlockCsr).
std::vector<int64_t> balanced_row_blocks(const int64_t* row_ptr, int64_t rows, int64_t parts,
                                         int64_t unit) {
  constexpr int64_t kRowCost = 4;
  const int64_t total = unit * row_ptr[rows] + kRowCost * rows;
  std::vector<int64_t> bounds(parts + 1, rows);
  bounds[0] = 0;
  int64_t r = 0;
  for (int64_t p = 1; p < parts; ++p) {
    const int64_t target = total * p / parts;
    while (r < rows && unit * row_ptr[r] + kRowCost * r < target) ++r;
    bounds[p] = r;
  }
  return bounds;
}

template <typename RunRows>
void run_parallel(const SparseProblem& p, RunRows run_rows, int64_t unit = 1) {
  if (p.rows <= 0 || p.n <= 0) return;
  const int64_t work = (unit * p.row_ptr[p.rows] + p.rows) * p.n;
  const int threads = work < (1 << 15) ? 1 : std::max(1, omp_get_max_threads());
  if (threads == 1) {
    run_rows(int64_t{0}, p.rows);
    return;
  }
  // A few blocks per thread, handed out dynamically, absorb a core that is busy with something
  // else; which thread runs a block does not change its result.
  const int64_t parts = std::min<int64_t>(p.rows, int64_t{threads} * 4);
  const std::vector<int64_t> bounds = balanced_row_blocks(p.row_ptr, p.rows, parts, unit);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t b = 0; b < parts; ++b) {
    if (bounds[b] < bounds[b + 1]) run_rows(bounds[b], bounds[b + 1]);
  }
}

}  // namespace

// Matrix-vector products go to the Highway rows (spmv_simd.cc, gathers on the best SIMD target);
// several right-hand columns to the cloned tile loops, which the compiler vectorizes over the
// tile.
void sparse_times_dense(const SparseProblem& p, const float* values) {
  if (p.n == 1) {
    run_parallel(p, [&](int64_t r0, int64_t r1) { matvec_rows(p, values, r0, r1); });
  } else {
    const auto rows = DEEPCOMP_ISA_PICK(rows_f32);
    run_parallel(p, [&](int64_t r0, int64_t r1) { rows(p, values, r0, r1); });
  }
}
void sparse_times_dense(const SparseProblem& p, const uint8_t* cluster, const float* codebook,
                        int64_t codebook_size) {
  if (p.n == 1) {
    run_parallel(p, [&](int64_t r0, int64_t r1) {
      matvec_rows(p, cluster, codebook, codebook_size, r0, r1);
    });
  } else {
    const auto rows = DEEPCOMP_ISA_PICK(rows_cb8);
    run_parallel(p, [&](int64_t r0, int64_t r1) { rows(p, cluster, codebook, r0, r1); });
  }
}
void sparse_times_dense(const SparseProblem& p, const uint16_t* cluster, const float* codebook,
                        int64_t) {
  if (p.n == 1) {
    run_parallel(p, [&](int64_t r0, int64_t r1) { matvec_rows(p, cluster, codebook, r0, r1); });
  } else {
    const auto rows = DEEPCOMP_ISA_PICK(rows_cb16);
    run_parallel(p, [&](int64_t r0, int64_t r1) { rows(p, cluster, codebook, r0, r1); });
  }
}

void grouped_times_dense(const SparseProblem& p, const GroupedRuns& g) {
  if (p.n == 1) {
    run_parallel(p, [&](int64_t r0, int64_t r1) { grouped_matvec_rows(p, g, r0, r1); });
  } else {
    run_parallel(p, [&](int64_t r0, int64_t r1) { grouped_tile_rows(p, g, r0, r1); });
  }
}

void cluster_block_times_dense(const SparseProblem& p, const ClusterBlocks& b) {
  if (p.n == 1) {
    run_parallel(
        p, [&](int64_t r0, int64_t r1) { cluster_block_matvec_rows(p, b, r0, r1); }, kBlock);
  } else {
    run_parallel(
        p, [&](int64_t r0, int64_t r1) { cluster_block_tile_rows(p, b, r0, r1); }, kBlock);
  }
}

}  // namespace detail

namespace {

detail::SparseProblem problem(const int64_t* row_ptr, const int32_t* col_idx, int64_t rows,
                              const float* B, int64_t n, const float* bias, float* C) {
  detail::SparseProblem p;
  p.row_ptr = row_ptr;
  p.col_idx = col_idx;
  p.rows = rows;
  p.B = B;
  p.n = n;
  p.rows_per_group = std::max<int64_t>(rows, 1);
  p.bias = bias;
  p.C = C;
  return p;
}

void run_codebook(const CodebookCsrMatrix& A, const detail::SparseProblem& p) {
  if (A.wide()) {
    detail::sparse_times_dense(p, A.cluster16.data(), A.codebook.data(),
                               static_cast<int64_t>(A.codebook.size()));
  } else {
    detail::sparse_times_dense(p, A.cluster.data(), A.codebook.data(),
                               static_cast<int64_t>(A.codebook.size()));
  }
}

// Y = X * W^T + b for batch > 1: X is transposed so each nonzero of W meets all batch rows in
// one contiguous stretch, then the (out x batch) result is transposed back.
template <typename Col>
void set_cols(detail::SparseProblem* p, const Col* col) {
  if constexpr (sizeof(Col) == 2) {
    p->col_idx = nullptr;
    p->col_idx16 = col;
  } else {
    p->col_idx = col;
  }
}

template <typename Matrix, typename Run>
void gemm_batched(const float* X, int64_t batch, const Matrix& W, const float* bias, float* Y,
                  Run run) {
  const int64_t in = W.cols;
  const int64_t out = W.rows;
  if (batch <= 0 || out <= 0) return;
  if (batch == 1) {
    detail::SparseProblem p = problem(W.row_ptr.data(), nullptr, out, X, 1, bias, Y);
    set_cols(&p, W.col_idx.data());
    run(p);
    return;
  }
  std::vector<float> xt(in * batch);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < in; ++i) xt[i * batch + b] = X[b * in + i];
  }
  std::vector<float> yt(out * batch);
  detail::SparseProblem p =
      problem(W.row_ptr.data(), nullptr, out, xt.data(), batch, bias, yt.data());
  set_cols(&p, W.col_idx.data());
  run(p);
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t b = 0; b < batch; ++b) Y[b * out + o] = yt[o * batch + b];
  }
}

}  // namespace

void gemm_csr(const float* X, int64_t batch, const CsrMatrix& W, const float* bias, float* Y) {
  gemm_batched(X, batch, W, bias, Y, [&](const detail::SparseProblem& p) {
    detail::sparse_times_dense(p, W.values.data());
  });
}

void gemm_codebook_csr(const float* X, int64_t batch, const CodebookCsrMatrix& W, const float* bias,
                       float* Y) {
  gemm_batched(X, batch, W, bias, Y, [&](const detail::SparseProblem& p) { run_codebook(W, p); });
}

void gemm_codebook_csr(const float* X, int64_t batch, const CompactCodebookCsr& W,
                       const float* bias, float* Y) {
  gemm_batched(X, batch, W, bias, Y, [&](const detail::SparseProblem& p) {
    detail::sparse_times_dense(p, W.cluster.data(), W.codebook.data(),
                               static_cast<int64_t>(W.codebook.size()));
  });
}

void gemm_codebook_csr(const float* X, int64_t batch, const GroupedCodebookCsr& W,
                       const float* bias, float* Y) {
  const detail::GroupedRuns g{W.run_ptr.data(), W.run_cluster.data(), W.run_length.data(),
                              W.codebook.data()};
  gemm_batched(X, batch, W, bias, Y,
               [&](const detail::SparseProblem& p) { detail::grouped_times_dense(p, g); });
}

void gemm_codebook_csr(const float* X, int64_t batch, const ClusterBlockCsr& W, const float* bias,
                       float* Y) {
  const int64_t in = W.cols, out = W.rows;
  if (batch <= 0 || out <= 0) return;
  const detail::ClusterBlocks blocks{W.block_cluster.data(), W.codebook.data()};
  // The input gets one more entry (batch 1) or row (batch > 1), all zero: the padding's input.
  // Reused per thread, so the steady state at batch 1 allocates nothing.
  thread_local std::vector<float> xt;
  xt.assign((in + 1) * batch, 0.0f);
  if (batch == 1) {
    std::copy(X, X + in, xt.begin());
  } else {
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t i = 0; i < in; ++i) xt[i * batch + b] = X[b * in + i];
    }
  }
  std::vector<float> yt(batch == 1 ? 0 : out * batch);
  detail::SparseProblem p =
      problem(W.block_ptr.data(), nullptr, out, xt.data(), batch, bias, batch == 1 ? Y : yt.data());
  p.col_idx16 = W.col_idx.data();
  detail::cluster_block_times_dense(p, blocks);
  if (batch == 1) return;
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t b = 0; b < batch; ++b) Y[b * out + o] = yt[o * batch + b];
  }
}

const char* simd_path_name() { return detail::simd_target_name(); }

void csr_times_dense(const CsrMatrix& A, const float* B, int64_t n, const float* bias, float* C) {
  detail::sparse_times_dense(problem(A.row_ptr.data(), A.col_idx.data(), A.rows, B, n, bias, C),
                             A.values.data());
}

void codebook_csr_times_dense(const CodebookCsrMatrix& A, const float* B, int64_t n,
                              const float* bias, float* C) {
  run_codebook(A, problem(A.row_ptr.data(), A.col_idx.data(), A.rows, B, n, bias, C));
}

}  // namespace deepcomp::kernels
