// AVX-512 matrix-vector rows for CSR and codebook-CSR (declared in kernels/spmm_detail.h), picked
// at run time when the CPU has AVX-512, since Release builds target plain x86-64. Sixteen
// nonzeros per step: their x entries are gathered, and for codebooks of up to 32 entries the
// weights come from a two-register permute instead of a memory lookup. Depends only on the
// standard library and compiler intrinsics.
#include <cstdint>

#include "kernels/spmm_detail.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DEEPCOMP_HAVE_AVX512_PATH 1
#define DEEPCOMP_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#endif

namespace deepcomp::kernels::detail {

#ifdef DEEPCOMP_HAVE_AVX512_PATH
namespace {

// Weights of 16 consecutive nonzeros starting at k; `mask` selects the valid lanes.
struct F32Weights {
  const float* values;
  DEEPCOMP_AVX512 __m512 load(int64_t k, __mmask16 mask) const {
    return _mm512_maskz_loadu_ps(mask, values + k);
  }
};
struct SmallCodebookWeights {  // <= 32 entries, 8-bit indices
  const uint8_t* cluster;
  __m512 lo, hi;
  DEEPCOMP_AVX512 __m512 load(int64_t k, __mmask16 mask) const {
    const __m512i idx = _mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_maskz_loadu_epi8(mask, cluster + k));
    return _mm512_permutex2var_ps(lo, idx, hi);
  }
};
template <typename Index>
struct GatherCodebookWeights {
  const Index* cluster;
  const float* codebook;
  DEEPCOMP_AVX512 __m512 load(int64_t k, __mmask16 mask) const {
    __m512i idx;
    if constexpr (sizeof(Index) == 1) {
      idx = _mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_maskz_loadu_epi8(mask, cluster + k));
    } else {
      idx = _mm512_maskz_cvtepu16_epi32(0xFFFF, _mm256_maskz_loadu_epi16(mask, cluster + k));
    }
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, idx, codebook, 4);
  }
};

// A fixed pairwise order, so a row's sum never depends on anything but the row. (The masked
// intrinsics above stand in for unmasked ones whose headers trip GCC 12's -Wmaybe-uninitialized.)
DEEPCOMP_AVX512 inline float horizontal_sum(__m512 v) {
  alignas(64) float lane[16];
  _mm512_store_ps(lane, v);
  for (int width = 8; width >= 1; width /= 2) {
    for (int i = 0; i < width; ++i) lane[i] += lane[i + width];
  }
  return lane[0];
}

template <typename Weights>
DEEPCOMP_AVX512 inline void rows(const SparseProblem& p, const Weights& w, int64_t r0, int64_t r1) {
  const int32_t* col = p.col_idx;
  for (int64_t r = r0; r < r1; ++r) {
    const float* x = p.B + (r / p.rows_per_group) * p.b_group_stride;
    const int64_t end = p.row_ptr[r + 1];
    int64_t k = p.row_ptr[r];
    // Four independent accumulators keep several gathers in flight.
    __m512 acc0 = _mm512_setzero_ps();
    __m512 acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps();
    __m512 acc3 = _mm512_setzero_ps();
    const __m512 zero = _mm512_setzero_ps();
    for (; k + 64 <= end; k += 64) {
      const __m512i c0 = _mm512_loadu_si512(col + k);
      const __m512i c1 = _mm512_loadu_si512(col + k + 16);
      const __m512i c2 = _mm512_loadu_si512(col + k + 32);
      const __m512i c3 = _mm512_loadu_si512(col + k + 48);
      const __m512 x0 = _mm512_mask_i32gather_ps(zero, 0xFFFF, c0, x, 4);
      const __m512 x1 = _mm512_mask_i32gather_ps(zero, 0xFFFF, c1, x, 4);
      const __m512 x2 = _mm512_mask_i32gather_ps(zero, 0xFFFF, c2, x, 4);
      const __m512 x3 = _mm512_mask_i32gather_ps(zero, 0xFFFF, c3, x, 4);
      acc0 = _mm512_fmadd_ps(w.load(k, 0xFFFF), x0, acc0);
      acc1 = _mm512_fmadd_ps(w.load(k + 16, 0xFFFF), x1, acc1);
      acc2 = _mm512_fmadd_ps(w.load(k + 32, 0xFFFF), x2, acc2);
      acc3 = _mm512_fmadd_ps(w.load(k + 48, 0xFFFF), x3, acc3);
    }
    while (k < end) {
      const int64_t left = end - k;
      const __mmask16 mask = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1);
      const __m512i c = _mm512_maskz_loadu_epi32(mask, col + k);
      const __m512 xv = _mm512_mask_i32gather_ps(zero, mask, c, x, 4);
      acc0 = _mm512_fmadd_ps(w.load(k, mask), xv, acc0);
      k += 16;
    }
    const float sum =
        horizontal_sum(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
    p.C[r] = p.bias ? sum + p.bias[r] : sum;
  }
}

}  // namespace

bool avx512_matvec_available() {
  static const bool available = __builtin_cpu_supports("avx512f") &&
                                __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl");
  return available;
}

DEEPCOMP_AVX512 void matvec_rows_avx512(const SparseProblem& p, const float* values, int64_t r0,
                                        int64_t r1) {
  rows(p, F32Weights{values}, r0, r1);
}

DEEPCOMP_AVX512 void matvec_rows_avx512(const SparseProblem& p, const uint8_t* cluster,
                                        const float* codebook, int64_t codebook_size, int64_t r0,
                                        int64_t r1) {
  if (codebook_size <= 32) {
    alignas(64) float table[32] = {};
    for (int64_t i = 0; i < codebook_size; ++i) table[i] = codebook[i];
    rows(p, SmallCodebookWeights{cluster, _mm512_load_ps(table), _mm512_load_ps(table + 16)}, r0,
         r1);
  } else {
    rows(p, GatherCodebookWeights<uint8_t>{cluster, codebook}, r0, r1);
  }
}

DEEPCOMP_AVX512 void matvec_rows_avx512(const SparseProblem& p, const uint16_t* cluster,
                                        const float* codebook, int64_t, int64_t r0, int64_t r1) {
  rows(p, GatherCodebookWeights<uint16_t>{cluster, codebook}, r0, r1);
}

#else  // no AVX-512 path on this compiler or architecture: callers use the portable loops.

bool avx512_matvec_available() { return false; }
void matvec_rows_avx512(const SparseProblem&, const float*, int64_t, int64_t) {}
void matvec_rows_avx512(const SparseProblem&, const uint8_t*, const float*, int64_t, int64_t,
                        int64_t) {}
void matvec_rows_avx512(const SparseProblem&, const uint16_t*, const float*, int64_t, int64_t,
                        int64_t) {}

#endif

}  // namespace deepcomp::kernels::detail
