// Internal to kernels/: the one sparse x dense driver behind spmm.h and conv.h, with optional
// groups (a convolution's weight rows of group g read the g-th block of B). Not part of the API
// other folders should call. Depends only on the standard library.
#pragma once

#include <cstdint>

namespace deepcomp::kernels::detail {

// C[r, :] = bias[r] + sum_k value(k) * B_r[col[k], :] over row r's nonzeros, for r in [0, rows),
// where B_r = B + (r / rows_per_group) * b_group_stride and every row of B_r and C has n floats.
// n == 1 takes the matrix-vector path.
struct SparseProblem {
  const int64_t* row_ptr = nullptr;
  const int32_t* col_idx = nullptr;
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

// The n == 1 rows [r0, r1) with AVX-512 (spmv_avx512.cc). Call only when
// avx512_matvec_available(); elsewhere these do nothing.
bool avx512_matvec_available();
void matvec_rows_avx512(const SparseProblem& p, const float* values, int64_t r0, int64_t r1);
void matvec_rows_avx512(const SparseProblem& p, const uint8_t* cluster, const float* codebook,
                        int64_t codebook_size, int64_t r0, int64_t r1);
void matvec_rows_avx512(const SparseProblem& p, const uint16_t* cluster, const float* codebook,
                        int64_t codebook_size, int64_t r0, int64_t r1);

}  // namespace deepcomp::kernels::detail
