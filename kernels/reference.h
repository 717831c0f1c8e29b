// Naive reference implementations of the kernels in dense.h, spmm.h, conv.h and
// conv_transpose.h: plain loops with
// double accumulation, obviously right and slow, for tests to compare the fast kernels against;
// and spmv_row / grouped_spmv_row / grouped_gemm_row / cluster_block_*_row, the sparse products in
// the exact float order every SIMD path of spmm.h keeps, for bit-exact checks. Header-only; depends
// only on the standard library.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/conv.h"
#include "kernels/conv_transpose.h"

namespace deepcomp::kernels::reference {

// Y = X * W^T + b; X: batch x in, W: out x in (dense, row-major), bias nullable.
inline std::vector<double> gemm(const float* X, int64_t batch, int64_t in, const float* W,
                                int64_t out, const float* bias) {
  std::vector<double> y(batch * out);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t o = 0; o < out; ++o) {
      double sum = bias ? bias[o] : 0.0;
      for (int64_t i = 0; i < in; ++i) sum += double{X[b * in + i]} * W[o * in + i];
      y[b * out + o] = sum;
    }
  }
  return y;
}

// One output of the sparse matrix-vector product, in the fixed float order of
// spmm_detail.h's matvec_rows: nonzero j of the row (weight(j), column col(j), j in [0, count))
// goes to partial sum j % 16 as a rounded product then a rounded add; the 16 sums combine
// pairwise, then the bias is added. Callables keep it independent of the storage layout.
template <typename Weight, typename Column>
float spmv_row(int64_t count, Weight weight, Column col, const float* x, const float* bias) {
  float sum[16] = {};
  for (int64_t j = 0; j < count; ++j) {
    const float product = weight(j) * x[col(j)];
    sum[j % 16] = sum[j % 16] + product;
  }
  for (int width = 8; width >= 1; width /= 2) {
    for (int i = 0; i < width; ++i) sum[i] = sum[i] + sum[i + width];
  }
  return bias ? sum[0] + *bias : sum[0];
}

// One output of the cluster-grouped matrix-vector product (GroupedCodebookCsr), in the fixed
// float order of spmm_detail.h's grouped_matvec_rows: the row's runs t in [0, runs) have
// length(t) nonzeros and shared weight weight(t); col(j) is the column of the row's j-th stored
// nonzero (runs back to back). 8 row sums; per run, 8 run sums, element i of the run to sum i % 8;
// then row sum l += weight(t) * run sum l; the 8 row sums combine pairwise, then the bias.
template <typename Length, typename Weight, typename Column>
float grouped_spmv_row(int64_t runs, Length length, Weight weight, Column col, const float* x,
                       const float* bias) {
  float row[8] = {};
  int64_t j = 0;
  for (int64_t t = 0; t < runs; ++t) {
    float run[8] = {};
    const int64_t n = length(t);
    for (int64_t i = 0; i < n; ++i) run[i % 8] = run[i % 8] + x[col(j + i)];
    j += n;
    for (int l = 0; l < 8; ++l) {
      const float product = weight(t) * run[l];
      row[l] = row[l] + product;
    }
  }
  for (int width = 4; width >= 1; width /= 2) {
    for (int i = 0; i < width; ++i) row[i] = row[i] + row[i + width];
  }
  return bias ? row[0] + *bias : row[0];
}

// One output of the grouped product at batch > 1 (spmm_detail.h grouped_times_dense), for the
// batch row x: each run summed in stored order, times its weight, added to the row's sum in run
// order, then the bias.
template <typename Length, typename Weight, typename Column>
float grouped_gemm_row(int64_t runs, Length length, Weight weight, Column col, const float* x,
                       const float* bias) {
  float sum = 0.0f;
  int64_t j = 0;
  for (int64_t t = 0; t < runs; ++t) {
    float run = 0.0f;
    const int64_t n = length(t);
    for (int64_t i = 0; i < n; ++i) run = run + x[col(j + i)];
    j += n;
    const float product = weight(t) * run;
    sum = sum + product;
  }
  return sum + (bias ? *bias : 0.0f);
}

// One output of the "cluster blocks of 8" products (ClusterBlockCsr). The row has `blocks`
// blocks of 8 entries; block t has weight weight(t), entry i of the row (i in [0, 8 * blocks))
// column col(i), where col(i) == cols marks padding, whose input is 0. x has cols entries.
// Batch 1 (spmm_detail.h cluster_block_matvec_rows): 8 row sums; block t adds weight(t) * input
// of its entry l to row sum l (rounded product, rounded add); the 8 sums combine pairwise
// (s[i] += s[i + w] for w = 4, 2, 1), then the bias.
template <typename Weight, typename Column>
float cluster_block_spmv_row(int64_t blocks, Weight weight, Column col, const float* x,
                             int64_t cols, const float* bias) {
  float row[8] = {};
  for (int64_t t = 0; t < blocks; ++t) {
    for (int l = 0; l < 8; ++l) {
      const int64_t c = col(8 * t + l);
      const float input = c == cols ? 0.0f : x[c];
      const float product = weight(t) * input;
      row[l] = row[l] + product;
    }
  }
  for (int width = 4; width >= 1; width /= 2) {
    for (int i = 0; i < width; ++i) row[i] = row[i] + row[i + width];
  }
  return bias ? row[0] + *bias : row[0];
}

// Batch > 1 (spmm_detail.h cluster_block_times_dense), for one batch row x: per block, its 8
// inputs added in entry order from +0, times the block's weight, added to one row sum in block
// order; then the bias.
template <typename Weight, typename Column>
float cluster_block_gemm_row(int64_t blocks, Weight weight, Column col, const float* x,
                             int64_t cols, const float* bias) {
  float sum = 0.0f;
  for (int64_t t = 0; t < blocks; ++t) {
    float block = 0.0f;
    for (int l = 0; l < 8; ++l) {
      const int64_t c = col(8 * t + l);
      block = block + (c == cols ? 0.0f : x[c]);
    }
    const float product = weight(t) * block;
    sum = sum + product;
  }
  return sum + (bias ? *bias : 0.0f);
}

// C = A * B; A: M x K, B: K x N.
inline std::vector<double> matmul(const float* A, const float* B, int64_t M, int64_t K, int64_t N) {
  std::vector<double> c(M * N);
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0.0;
      for (int64_t k = 0; k < K; ++k) sum += double{A[i * K + k]} * B[k * N + j];
      c[i * N + j] = sum;
    }
  }
  return c;
}

// ONNX Conv straight from its definition: every output tap visits its input window.
inline std::vector<double> conv(const ConvParams& p, const float* input, const float* weight,
                                const float* bias) {
  const int64_t od = p.out_d(), oh = p.out_h(), ow = p.out_w();
  const int64_t cg = p.C / p.group, mg = p.M / p.group;
  std::vector<double> out(p.N * p.M * od * oh * ow);
  for (int64_t n = 0; n < p.N; ++n) {
    for (int64_t m = 0; m < p.M; ++m) {
      const int64_t g = m / mg;
      for (int64_t o = 0; o < od * oh * ow; ++o) {
        const int64_t oz = o / (oh * ow), oy = (o / ow) % oh, ox = o % ow;
        double sum = bias ? bias[m] : 0.0;
        for (int64_t c = 0; c < cg; ++c) {
          for (int64_t t = 0; t < p.taps(); ++t) {
            const int64_t kz = t / (p.kh * p.kw), ky = (t / p.kw) % p.kh, kx = t % p.kw;
            const int64_t iz = oz * p.stride_d - p.pad_front + kz * p.dil_d;
            const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
            const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
            if (iz < 0 || iz >= p.D || iy < 0 || iy >= p.H || ix < 0 || ix >= p.W) continue;
            const float x = input[(((n * p.C + g * cg + c) * p.D + iz) * p.H + iy) * p.W + ix];
            const float w = weight[(m * cg + c) * p.taps() + t];
            sum += double{x} * w;
          }
        }
        out[(n * p.M + m) * od * oh * ow + o] = sum;
      }
    }
  }
  return out;
}

// ONNX ConvTranspose straight from its definition: every input element scatters its kernel
// window into the output (weight C x M/group x taps, output spatial dims from p.out).
inline std::vector<double> conv_transpose(const ConvTransposeParams& p, const float* input,
                                          const float* weight, const float* bias) {
  const int64_t cg = p.C / p.group, mg = p.M / p.group;
  const int64_t out_sp = p.out_spatial(), in_sp = p.in_spatial();
  std::vector<double> out(p.N * p.M * out_sp);
  for (int64_t n = 0; n < p.N; ++n) {
    for (int64_t m = 0; m < p.M; ++m) {
      for (int64_t o = 0; o < out_sp; ++o) out[(n * p.M + m) * out_sp + o] = bias ? bias[m] : 0.0;
    }
    for (int64_t c = 0; c < p.C; ++c) {
      const int64_t g = c / cg;
      for (int64_t i = 0; i < in_sp; ++i) {
        const int64_t iz = i / (p.in[1] * p.in[2]), iy = (i / p.in[2]) % p.in[1], ix = i % p.in[2];
        const double x = input[(n * p.C + c) * in_sp + i];
        for (int64_t m = 0; m < mg; ++m) {
          for (int64_t t = 0; t < p.taps(); ++t) {
            const int64_t kz = t / (p.k[1] * p.k[2]), ky = (t / p.k[2]) % p.k[1], kx = t % p.k[2];
            const int64_t z = iz * p.stride[0] + kz * p.dil[0] - p.pad_begin[0];
            const int64_t y = iy * p.stride[1] + ky * p.dil[1] - p.pad_begin[1];
            const int64_t xx = ix * p.stride[2] + kx * p.dil[2] - p.pad_begin[2];
            if (z < 0 || z >= p.out[0] || y < 0 || y >= p.out[1] || xx < 0 || xx >= p.out[2]) {
              continue;
            }
            const double w = weight[(c * mg + m) * p.taps() + t];
            out[(n * p.M + g * mg + m) * out_sp + (z * p.out[1] + y) * p.out[2] + xx] += x * w;
          }
        }
      }
    }
  }
  return out;
}

}  // namespace deepcomp::kernels::reference
