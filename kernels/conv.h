// 2-D convolution (ONNX Conv semantics: NCHW, groups, strides, asymmetric pads, dilations) with
// dense weights (im2col + Eigen GEMM) or sparse weights (CSR / codebook-CSR of the
// [M, C/group * kh * kw] weight matrix times the im2col patches). Depends only on Eigen, OpenMP
// and the standard library.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/sparse_matrix.h"

namespace deepcomp::kernels {

struct Conv2dParams {
  int64_t N = 1, C = 1, H = 1, W = 1;  // input: N x C x H x W
  int64_t M = 1;                       // output channels
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t dil_h = 1, dil_w = 1;
  int64_t group = 1;

  int64_t out_h() const { return (H + pad_top + pad_bottom - dil_h * (kh - 1) - 1) / stride_h + 1; }
  int64_t out_w() const { return (W + pad_left + pad_right - dil_w * (kw - 1) - 1) / stride_w + 1; }
  // Columns of the weight matrix: one per (input channel of the group, ky, kx).
  int64_t patch_size() const { return (C / group) * kh * kw; }
  // Empty when the parameters describe a valid convolution (positive sizes, strides and
  // dilations, non-negative pads, C and M divisible by group, a non-empty output); otherwise what
  // is wrong. The conv functions below assume check() passed.
  std::string check() const;
};

// input: N x C x H x W; output: N x M x out_h x out_w; bias: M entries or nullptr.
// weight (dense): M x C/group x kh x kw, i.e. the row-major [M, patch_size()] matrix, which is
// also the shape the sparse forms must have.
void conv2d_dense(const Conv2dParams& p, const float* input, const float* weight, const float* bias,
                  float* output);
void conv2d_csr(const Conv2dParams& p, const float* input, const CsrMatrix& weight,
                const float* bias, float* output);
void conv2d_codebook_csr(const Conv2dParams& p, const float* input, const CodebookCsrMatrix& weight,
                         const float* bias, float* output);

// The patches of one image (C x H x W) as a [C * kh * kw, out_h * out_w] row-major matrix, zero
// where a tap falls in the padding. Group g's rows are the contiguous block g * patch_size().
void im2col(const Conv2dParams& p, const float* image, float* cols);

}  // namespace deepcomp::kernels
