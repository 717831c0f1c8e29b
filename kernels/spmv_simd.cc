// Sparse matrix-vector rows (kernels/spmm_detail.h matvec_rows) for CSR and codebook-CSR with
// 32- or 16-bit column indices, written once with Google Highway and compiled for every SIMD
// target Highway knows on this architecture (SSE4/AVX2/AVX-512 on x86, NEON/SVE on Arm, a
// portable fallback); HWY_DYNAMIC_DISPATCH picks the best one the CPU has at run time. x entries
// and codebook weights are gathered, 16 nonzeros per step. Depends on Highway and the standard
// library.
#include <cstdint>

#include "kernels/isa.h"
#include "kernels/spmm_detail.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/spmv_simd.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace deepcomp::kernels::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The 16 partial sums of the fixed order live in 16 / Lanes(d) vectors (1 on AVX-512, 2 on AVX2,
// 4 on SSE4/NEON); targets with fewer than 4 lanes (Highway's scalar fallback) run plain loops.
using D = hn::CappedTag<float, 16>;
using DI = hn::RebindToSigned<D>;

struct Int32Cols {
  const int32_t* col;
  HWY_INLINE hn::Vec<DI> load(DI di, int64_t k) const { return hn::LoadU(di, col + k); }
  HWY_INLINE int64_t operator[](int64_t k) const { return col[k]; }
};
struct Uint16Cols {
  const uint16_t* col;
  HWY_INLINE hn::Vec<DI> load(DI di, int64_t k) const {
    return hn::PromoteTo(di, hn::LoadU(hn::Rebind<uint16_t, DI>(), col + k));
  }
  HWY_INLINE int64_t operator[](int64_t k) const { return col[k]; }
};

struct FloatWeights {
  const float* values;
  HWY_INLINE hn::Vec<D> load(D d, DI, int64_t k) const { return hn::LoadU(d, values + k); }
  HWY_INLINE float operator[](int64_t k) const { return values[k]; }
};
template <typename Index>
struct CodebookWeights {
  const Index* cluster;
  const float* codebook;
  HWY_INLINE hn::Vec<D> load(D d, DI di, int64_t k) const {
    const auto idx = hn::PromoteTo(di, hn::LoadU(hn::Rebind<Index, DI>(), cluster + k));
    return hn::GatherIndex(d, codebook, idx);
  }
  HWY_INLINE float operator[](int64_t k) const { return codebook[cluster[k]]; }
};

// Adds the bias to the pairwise combination of the 16 partial sums.
HWY_INLINE float finish(float* sum, const float* bias) {
  for (int width = 8; width >= 1; width /= 2) {
    for (int i = 0; i < width; ++i) sum[i] += sum[i + width];
  }
  return bias ? sum[0] + *bias : sum[0];
}

// Codebooks of up to 32 entries with 8-bit clusters (the paper's 5-bit fc layers): the weights
// come from in-register table lookups (32 / Lanes(d) of them, blended by the cluster's high
// bits), which is cheaper than a gather from memory. Same values, so the same bits.
struct SmallCodebookWeights {
  const uint8_t* cluster;
  const float* table;  // 32 floats, zero-padded past the codebook
  HWY_INLINE hn::Vec<D> load(D d, DI di, int64_t k) const {
    const auto idx = hn::PromoteTo(di, hn::LoadU(hn::Rebind<uint8_t, DI>(), cluster + k));
    const int lanes = static_cast<int>(hn::Lanes(d));
    const auto low = hn::IndicesFromVec(d, hn::And(idx, hn::Set(di, lanes - 1)));
    auto v = hn::TableLookupLanes(hn::LoadU(d, table), low);
    for (int c = lanes; c < 32; c += lanes) {
      const auto high = hn::RebindMask(d, hn::Gt(idx, hn::Set(di, c - 1)));
      v = hn::IfThenElse(high, hn::TableLookupLanes(hn::LoadU(d, table + c), low), v);
    }
    return v;
  }
  HWY_INLINE float operator[](int64_t k) const { return table[cluster[k]]; }
};

template <typename Cols, typename Weights>
HWY_INLINE void rows(const SparseProblem& p, Cols col, Weights w, int64_t r0, int64_t r1) {
  const D d;
  const DI di;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  if (lanes < 4) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = p.B + (r / p.rows_per_group) * p.b_group_stride;
      float sum[16] = {};
      const int64_t begin = p.row_ptr[r];
      for (int64_t k = begin; k < p.row_ptr[r + 1]; ++k) sum[(k - begin) % 16] += w[k] * x[col[k]];
      p.C[r] = finish(sum, p.bias ? p.bias + r : nullptr);
    }
    return;
  }
  for (int64_t r = r0; r < r1; ++r) {
    const float* x = p.B + (r / p.rows_per_group) * p.b_group_stride;
    const int64_t end = p.row_ptr[r + 1];
    int64_t k = p.row_ptr[r];
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    // Rounded product, then rounded add (no fused multiply-add; kernels/ builds with
    // -ffp-contract=off so the compiler does not fuse them either): targets without FMA give the
    // same bits.
    auto step = [&](int64_t at, hn::Vec<D> acc) {
      return hn::Add(acc, hn::Mul(w.load(d, di, at), hn::GatherIndex(d, x, col.load(di, at))));
    };
    for (; k + 16 <= end; k += 16) {
      a0 = step(k, a0);
      if (lanes < 16) a1 = step(k + lanes, a1);
      if (lanes < 8) {
        a2 = step(k + 2 * lanes, a2);
        a3 = step(k + 3 * lanes, a3);
      }
    }
    alignas(64) float sum[16];
    hn::Store(a0, d, sum);
    if (lanes < 16) hn::Store(a1, d, sum + lanes);
    if (lanes < 8) {
      hn::Store(a2, d, sum + 2 * lanes);
      hn::Store(a3, d, sum + 3 * lanes);
    }
    for (int64_t j = 0; k < end; ++k, ++j) sum[j] += w[k] * x[col[k]];
    p.C[r] = finish(sum, p.bias ? p.bias + r : nullptr);
  }
}

template <typename Weights>
HWY_INLINE void rows_any_cols(const SparseProblem& p, Weights w, int64_t r0, int64_t r1) {
  if (p.col_idx16) {
    rows(p, Uint16Cols{p.col_idx16}, w, r0, r1);
  } else {
    rows(p, Int32Cols{p.col_idx}, w, r0, r1);
  }
}

void MatvecF32(const SparseProblem& p, const float* values, int64_t r0, int64_t r1) {
  rows_any_cols(p, FloatWeights{values}, r0, r1);
}
void MatvecCb8(const SparseProblem& p, const uint8_t* cluster, const float* codebook,
               int64_t codebook_size, int64_t r0, int64_t r1) {
  if (codebook_size <= 32 && hn::Lanes(D()) >= 4) {
    alignas(64) float table[32] = {};
    for (int64_t i = 0; i < codebook_size; ++i) table[i] = codebook[i];
    rows_any_cols(p, SmallCodebookWeights{cluster, table}, r0, r1);
  } else {
    rows_any_cols(p, CodebookWeights<uint8_t>{cluster, codebook}, r0, r1);
  }
}
void MatvecCb16(const SparseProblem& p, const uint16_t* cluster, const float* codebook, int64_t r0,
                int64_t r1) {
  rows_any_cols(p, CodebookWeights<uint16_t>{cluster, codebook}, r0, r1);
}
// Cluster-grouped rows (GroupedCodebookCsr): per run, add up the inputs into 8 run sums, then
// one multiply by the run's weight into the 8 row sums (8 / Lanes(d8) vectors: 1 on AVX2 and
// AVX-512, 2 on SSE4/NEON). The run sums are scalar: on AVX2 (Zen 3) a gather of 8 x values
// measured slower than 8 scalar loads (fc6 batch 1: 3.2-3.6 against 2.6-2.9 ms, bench/RESULTS.md).
using D8 = hn::CappedTag<float, 8>;

// The reference's order, with the 8 run sums in scalar registers: one index load, one x load
// and one add per nonzero. The last group of a run reads the next 8 indices (the next run's or
// the padding, all < cols) and adds +0.0 for those past the run: adding +0.0 to a sum that
// started at +0.0 leaves its bits unchanged, and no branch depends on the run's length mod 8.
HWY_INLINE void grouped_run_sums(const float* x, const uint16_t* c, int64_t n, float* run) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t left = n - i;
    s0 += x[c[i]];
    const float v1 = x[c[i + 1]], v2 = x[c[i + 2]], v3 = x[c[i + 3]], v4 = x[c[i + 4]];
    const float v5 = x[c[i + 5]], v6 = x[c[i + 6]], v7 = x[c[i + 7]];
    s1 += left > 1 ? v1 : 0.0f;
    s2 += left > 2 ? v2 : 0.0f;
    s3 += left > 3 ? v3 : 0.0f;
    s4 += left > 4 ? v4 : 0.0f;
    s5 += left > 5 ? v5 : 0.0f;
    s6 += left > 6 ? v6 : 0.0f;
    s7 += left > 7 ? v7 : 0.0f;
  }
  run[0] = s0, run[1] = s1, run[2] = s2, run[3] = s3;
  run[4] = s4, run[5] = s5, run[6] = s6, run[7] = s7;
}

void MatvecGrouped(const SparseProblem& p, const GroupedRuns& g, int64_t r0, int64_t r1) {
  const D8 d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const uint16_t* col = p.col_idx16;
  for (int64_t r = r0; r < r1; ++r) {
    const float* x = p.B + (r / p.rows_per_group) * p.b_group_stride;
    int64_t e = p.row_ptr[r];
    alignas(32) float row[8] = {};
    auto row0 = hn::Zero(d), row1 = hn::Zero(d);
    for (int64_t t = g.run_ptr[r]; t < g.run_ptr[r + 1]; ++t) {
      const int64_t n = g.length[t];
      alignas(32) float run[8];
      grouped_run_sums(x, col + e, n, run);
      e += n;
      // Rounded product, then rounded add (no FMA), as in the reference.
      const float weight = g.codebook[g.cluster[t]];
      if (lanes >= 4) {
        const auto w = hn::Set(d, weight);
        row0 = hn::Add(row0, hn::Mul(w, hn::Load(d, run)));
        if (lanes == 4) row1 = hn::Add(row1, hn::Mul(w, hn::Load(d, run + 4)));
      } else {
        for (int l = 0; l < 8; ++l) row[l] += weight * run[l];
      }
    }
    if (lanes >= 4) {
      hn::Store(row0, d, row);
      if (lanes == 4) hn::Store(row1, d, row + 4);
    }
    for (int width = 4; width >= 1; width /= 2) {
      for (int i = 0; i < width; ++i) row[i] += row[i + width];
    }
    p.C[r] = p.bias ? row[0] + p.bias[r] : row[0];
  }
}

// Grouped rows at n > 1 right-hand columns (the batch-transposed X): tiles of 16 columns in
// 16 / Lanes(d8) vectors; per run, the tile rows of B at the run's columns are added up (one
// vector add per nonzero and vector, no multiply), then multiplied once by the run's weight
// into the row's accumulators. Each column is its own chain of rounded adds and products in
// the reference's order (reference::grouped_gemm_row), so every target gives the same bits;
// columns past the last full tile, and targets with fewer than 4 lanes, run a plain loop.
void GroupedTiles(const SparseProblem& p, const GroupedRuns& g, int64_t r0, int64_t r1) {
  const D8 d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const int64_t n = p.n;
  const uint16_t* col = p.col_idx16;
  int64_t j0 = 0;
  for (; lanes >= 4 && j0 + 16 <= n; j0 += 16) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* b = p.B + (r / p.rows_per_group) * p.b_group_stride + j0;
      auto acc0 = hn::Zero(d), acc1 = hn::Zero(d), acc2 = hn::Zero(d), acc3 = hn::Zero(d);
      int64_t e = p.row_ptr[r];
      for (int64_t t = g.run_ptr[r]; t < g.run_ptr[r + 1]; ++t) {
        auto run0 = hn::Zero(d), run1 = hn::Zero(d), run2 = hn::Zero(d), run3 = hn::Zero(d);
        for (const int64_t end = e + g.length[t]; e < end; ++e) {
          const float* brow = b + static_cast<int64_t>(col[e]) * n;
          run0 = hn::Add(run0, hn::LoadU(d, brow));
          run1 = hn::Add(run1, hn::LoadU(d, brow + lanes));
          if (lanes == 4) {
            run2 = hn::Add(run2, hn::LoadU(d, brow + 8));
            run3 = hn::Add(run3, hn::LoadU(d, brow + 12));
          }
        }
        const auto w = hn::Set(d, g.codebook[g.cluster[t]]);
        acc0 = hn::Add(acc0, hn::Mul(w, run0));
        acc1 = hn::Add(acc1, hn::Mul(w, run1));
        if (lanes == 4) {
          acc2 = hn::Add(acc2, hn::Mul(w, run2));
          acc3 = hn::Add(acc3, hn::Mul(w, run3));
        }
      }
      const auto bias = hn::Set(d, p.bias ? p.bias[r] : 0.0f);
      float* c = p.C + r * n + j0;
      hn::StoreU(hn::Add(acc0, bias), d, c);
      hn::StoreU(hn::Add(acc1, bias), d, c + lanes);
      if (lanes == 4) {
        hn::StoreU(hn::Add(acc2, bias), d, c + 8);
        hn::StoreU(hn::Add(acc3, bias), d, c + 12);
      }
    }
  }
  if (j0 == n) return;
  for (int64_t r = r0; r < r1; ++r) {
    const float* b = p.B + (r / p.rows_per_group) * p.b_group_stride;
    for (int64_t j = j0; j < n; ++j) {
      float acc = 0.0f;
      int64_t e = p.row_ptr[r];
      for (int64_t t = g.run_ptr[r]; t < g.run_ptr[r + 1]; ++t) {
        float run = 0.0f;
        for (const int64_t end = e + g.length[t]; e < end; ++e) run += b[col[e] * n + j];
        acc += g.codebook[g.cluster[t]] * run;
      }
      p.C[r * n + j] = acc + (p.bias ? p.bias[r] : 0.0f);
    }
  }
}

// "Cluster blocks of 8" (ClusterBlockCsr): a row is one loop over blocks of 8 entries sharing a
// weight, so its only data-dependent branch is the row's end. Per block, the 8 inputs are
// scalar loads assembled into one 8-lane vector (two of 4 lanes on SSE4/NEON), times the
// broadcast weight, added to the row's 8 sums. On Zen 3 (AVX2) the scalar loads measured faster
// than a hardware gather (fc6 batch 1: 1.37 against 2.06 ms) and than 8 scalar sums (1.92 ms);
// two accumulators per row (even/odd blocks) did not help, so the order keeps one.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
#define DEEPCOMP_X86_LANES 8
#elif HWY_ARCH_X86 && (HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3)
#define DEEPCOMP_X86_LANES 4
#else
#define DEEPCOMP_X86_LANES 0
#endif
HWY_INLINE hn::Vec<D8> inputs4(D8 d, const float* x, const uint16_t* c) {
#if DEEPCOMP_X86_LANES == 4
  (void)d;
  return hn::Vec<D8>{_mm_setr_ps(x[c[0]], x[c[1]], x[c[2]], x[c[3]])};
#else
  alignas(16) const float v[4] = {x[c[0]], x[c[1]], x[c[2]], x[c[3]]};
  return hn::Load(d, v);
#endif
}
HWY_INLINE hn::Vec<D8> inputs8(D8 d, const float* x, const uint16_t* c) {
#if DEEPCOMP_X86_LANES == 8
  (void)d;
  return hn::Vec<D8>{
      _mm256_setr_ps(x[c[0]], x[c[1]], x[c[2]], x[c[3]], x[c[4]], x[c[5]], x[c[6]], x[c[7]])};
#else
  alignas(32)
      const float v[8] = {x[c[0]], x[c[1]], x[c[2]], x[c[3]], x[c[4]], x[c[5]], x[c[6]], x[c[7]]};
  return hn::Load(d, v);
#endif
}
#undef DEEPCOMP_X86_LANES

void MatvecBlocks(const SparseProblem& p, const ClusterBlocks& b, int64_t r0, int64_t r1) {
  const D8 d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const uint16_t* col = p.col_idx16;
  for (int64_t r = r0; r < r1; ++r) {
    const float* x = p.B + (r / p.rows_per_group) * p.b_group_stride;
    const int64_t end = p.row_ptr[r + 1];
    alignas(32) float row[8] = {};
    if (lanes == 8) {
      auto acc = hn::Zero(d);
      for (int64_t t = p.row_ptr[r]; t < end; ++t) {
        // Rounded product, then rounded add (no FMA), as in the reference.
        const auto w = hn::Set(d, b.codebook[b.cluster[t]]);
        acc = hn::Add(acc, hn::Mul(w, inputs8(d, x, col + 8 * t)));
      }
      hn::Store(acc, d, row);
    } else if (lanes == 4) {
      auto acc0 = hn::Zero(d), acc1 = hn::Zero(d);
      for (int64_t t = p.row_ptr[r]; t < end; ++t) {
        const auto w = hn::Set(d, b.codebook[b.cluster[t]]);
        acc0 = hn::Add(acc0, hn::Mul(w, inputs4(d, x, col + 8 * t)));
        acc1 = hn::Add(acc1, hn::Mul(w, inputs4(d, x, col + 8 * t + 4)));
      }
      hn::Store(acc0, d, row);
      hn::Store(acc1, d, row + 4);
    } else {
      for (int64_t t = p.row_ptr[r]; t < end; ++t) {
        const float w = b.codebook[b.cluster[t]];
        for (int l = 0; l < 8; ++l) row[l] += w * x[col[8 * t + l]];
      }
    }
    for (int width = 4; width >= 1; width /= 2) {
      for (int i = 0; i < width; ++i) row[i] += row[i + width];
    }
    p.C[r] = p.bias ? row[0] + p.bias[r] : row[0];
  }
}

// Blocked rows at n > 1 right-hand columns, like GroupedTiles with a block of 8 for a run: per
// block, the 8 tile rows of B at its columns are added up (B has a zero row at index cols for
// the padding), then multiplied once by the block's weight into the row's accumulators, in
// reference::cluster_block_gemm_row's order for each column.
void BlockTiles(const SparseProblem& p, const ClusterBlocks& blk, int64_t r0, int64_t r1) {
  const D8 d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const int64_t n = p.n;
  const uint16_t* col = p.col_idx16;
  int64_t j0 = 0;
  for (; lanes >= 4 && j0 + 16 <= n; j0 += 16) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* b = p.B + (r / p.rows_per_group) * p.b_group_stride + j0;
      auto acc0 = hn::Zero(d), acc1 = hn::Zero(d), acc2 = hn::Zero(d), acc3 = hn::Zero(d);
      for (int64_t t = p.row_ptr[r]; t < p.row_ptr[r + 1]; ++t) {
        auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
        for (int64_t e = 8 * t; e < 8 * t + 8; ++e) {
          const float* brow = b + static_cast<int64_t>(col[e]) * n;
          s0 = hn::Add(s0, hn::LoadU(d, brow));
          s1 = hn::Add(s1, hn::LoadU(d, brow + lanes));
          if (lanes == 4) {
            s2 = hn::Add(s2, hn::LoadU(d, brow + 8));
            s3 = hn::Add(s3, hn::LoadU(d, brow + 12));
          }
        }
        const auto w = hn::Set(d, blk.codebook[blk.cluster[t]]);
        acc0 = hn::Add(acc0, hn::Mul(w, s0));
        acc1 = hn::Add(acc1, hn::Mul(w, s1));
        if (lanes == 4) {
          acc2 = hn::Add(acc2, hn::Mul(w, s2));
          acc3 = hn::Add(acc3, hn::Mul(w, s3));
        }
      }
      const auto bias = hn::Set(d, p.bias ? p.bias[r] : 0.0f);
      float* c = p.C + r * n + j0;
      hn::StoreU(hn::Add(acc0, bias), d, c);
      hn::StoreU(hn::Add(acc1, bias), d, c + lanes);
      if (lanes == 4) {
        hn::StoreU(hn::Add(acc2, bias), d, c + 8);
        hn::StoreU(hn::Add(acc3, bias), d, c + 12);
      }
    }
  }
  if (j0 == n) return;
  for (int64_t r = r0; r < r1; ++r) {
    const float* b = p.B + (r / p.rows_per_group) * p.b_group_stride;
    for (int64_t j = j0; j < n; ++j) {
      float acc = 0.0f;
      for (int64_t t = p.row_ptr[r]; t < p.row_ptr[r + 1]; ++t) {
        float sum = 0.0f;
        for (int64_t e = 8 * t; e < 8 * t + 8; ++e) sum += b[col[e] * n + j];
        acc += blk.codebook[blk.cluster[t]] * sum;
      }
      p.C[r * n + j] = acc + (p.bias ? p.bias[r] : 0.0f);
    }
  }
}

int64_t Target() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace deepcomp::kernels::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace deepcomp::kernels::detail {

HWY_EXPORT(MatvecF32);
HWY_EXPORT(MatvecCb8);
HWY_EXPORT(MatvecCb16);
HWY_EXPORT(MatvecGrouped);
HWY_EXPORT(GroupedTiles);
HWY_EXPORT(MatvecBlocks);
HWY_EXPORT(BlockTiles);
HWY_EXPORT(Target);

void matvec_rows(const SparseProblem& p, const float* values, int64_t r0, int64_t r1) {
  isa();  // applies DEEPCOMP_MAX_CPU_ISA to Highway's dispatch before the first call
  HWY_DYNAMIC_DISPATCH(MatvecF32)(p, values, r0, r1);
}
void matvec_rows(const SparseProblem& p, const uint8_t* cluster, const float* codebook,
                 int64_t codebook_size, int64_t r0, int64_t r1) {
  isa();
  HWY_DYNAMIC_DISPATCH(MatvecCb8)(p, cluster, codebook, codebook_size, r0, r1);
}
void matvec_rows(const SparseProblem& p, const uint16_t* cluster, const float* codebook, int64_t r0,
                 int64_t r1) {
  isa();
  HWY_DYNAMIC_DISPATCH(MatvecCb16)(p, cluster, codebook, r0, r1);
}
void grouped_matvec_rows(const SparseProblem& p, const GroupedRuns& g, int64_t r0, int64_t r1) {
  isa();
  HWY_DYNAMIC_DISPATCH(MatvecGrouped)(p, g, r0, r1);
}
void grouped_tile_rows(const SparseProblem& p, const GroupedRuns& g, int64_t r0, int64_t r1) {
  isa();
  HWY_DYNAMIC_DISPATCH(GroupedTiles)(p, g, r0, r1);
}
void cluster_block_matvec_rows(const SparseProblem& p, const ClusterBlocks& b, int64_t r0,
                               int64_t r1) {
  isa();
  HWY_DYNAMIC_DISPATCH(MatvecBlocks)(p, b, r0, r1);
}
void cluster_block_tile_rows(const SparseProblem& p, const ClusterBlocks& b, int64_t r0,
                             int64_t r1) {
  isa();
  HWY_DYNAMIC_DISPATCH(BlockTiles)(p, b, r0, r1);
}
const char* simd_target_name() {
  isa();
  return hwy::TargetName(HWY_DYNAMIC_DISPATCH(Target)());
}

}  // namespace deepcomp::kernels::detail
#endif
