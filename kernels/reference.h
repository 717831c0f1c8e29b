// Naive reference implementations of the kernels in dense.h, spmm.h and conv.h: plain loops with
// double accumulation, obviously right and slow, for tests to compare the fast kernels against.
// Header-only; depends only on the standard library.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/conv.h"

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
inline std::vector<double> conv2d(const Conv2dParams& p, const float* input, const float* weight,
                                  const float* bias) {
  const int64_t oh = p.out_h(), ow = p.out_w();
  const int64_t cg = p.C / p.group, mg = p.M / p.group;
  std::vector<double> out(p.N * p.M * oh * ow);
  for (int64_t n = 0; n < p.N; ++n) {
    for (int64_t m = 0; m < p.M; ++m) {
      const int64_t g = m / mg;
      for (int64_t oy = 0; oy < oh; ++oy) {
        for (int64_t ox = 0; ox < ow; ++ox) {
          double sum = bias ? bias[m] : 0.0;
          for (int64_t c = 0; c < cg; ++c) {
            for (int64_t ky = 0; ky < p.kh; ++ky) {
              for (int64_t kx = 0; kx < p.kw; ++kx) {
                const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
                const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dil_w;
                if (iy < 0 || iy >= p.H || ix < 0 || ix >= p.W) continue;
                const float x = input[((n * p.C + g * cg + c) * p.H + iy) * p.W + ix];
                const float w = weight[((m * cg + c) * p.kh + ky) * p.kw + kx];
                sum += double{x} * w;
              }
            }
          }
          out[((n * p.M + m) * oh + oy) * ow + ox] = sum;
        }
      }
    }
  }
  return out;
}

}  // namespace deepcomp::kernels::reference
