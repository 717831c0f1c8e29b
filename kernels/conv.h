// Convolution over 1 to 3 spatial dimensions (ONNX Conv semantics: NC[D]HW, groups, strides,
// asymmetric pads, dilations) with dense weights or sparse weights (CSR / codebook-CSR of the
// [M, C/group * kd * kh * kw] weight matrix), by the direct kernels of kernels/conv_direct.h (no
// im2col matrix; depthwise and 1x1 fast paths), with an optional fused activation after the bias
// (kernels/conv_epilogue.h). 1-D and 2-D convolutions are 3-D ones with leading spatial sizes of
// 1. Depends only on OpenMP and the standard library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/conv_epilogue.h"
#include "kernels/sparse_matrix.h"

namespace deepcomp::kernels {

struct ConvParams {
  int64_t N = 1, C = 1, D = 1, H = 1, W = 1;  // input: N x C x D x H x W
  int64_t M = 1;                              // output channels
  int64_t kd = 1, kh = 1, kw = 1;
  int64_t stride_d = 1, stride_h = 1, stride_w = 1;
  int64_t pad_front = 0, pad_top = 0, pad_left = 0, pad_back = 0, pad_bottom = 0, pad_right = 0;
  int64_t dil_d = 1, dil_h = 1, dil_w = 1;
  int64_t group = 1;

  int64_t out_d() const { return (D + pad_front + pad_back - dil_d * (kd - 1) - 1) / stride_d + 1; }
  int64_t out_h() const { return (H + pad_top + pad_bottom - dil_h * (kh - 1) - 1) / stride_h + 1; }
  int64_t out_w() const { return (W + pad_left + pad_right - dil_w * (kw - 1) - 1) / stride_w + 1; }
  int64_t in_spatial() const { return D * H * W; }
  int64_t out_spatial() const { return out_d() * out_h() * out_w(); }
  int64_t taps() const { return kd * kh * kw; }
  // Columns of the weight matrix: one per (input channel of the group, kz, ky, kx).
  int64_t patch_size() const { return (C / group) * taps(); }
  // Empty when the parameters describe a valid convolution (positive sizes, strides and
  // dilations, non-negative pads, C and M divisible by group, a non-empty output); otherwise what
  // is wrong. The conv functions below assume check() passed.
  std::string check() const;
};

// input: N x C x D x H x W; output: N x M x out_d x out_h x out_w; bias: M entries or nullptr.
// weight (dense): M x C/group x kd x kh x kw, i.e. the row-major [M, patch_size()] matrix, which
// is also the shape the sparse forms must have. Each output is activation(sum + bias), the sum
// taken in weight order with separately rounded products and adds (the same bits on every SIMD
// clone and thread count). row_scale (sparse forms; M entries or nullptr) multiplies each row's
// weights, e.g. a BatchNormalization folded into a codebook-CSR weight.
void conv_dense(const ConvParams& p, const float* input, const float* weight, const float* bias,
                float* output, const Epilogue& epilogue = {});

// A dense weight [M, patch] (patch = C/group * taps) in the dense kernel's panel layout
// ([group][block of `rows` output channels][patch][rows], zero rows past each group's last
// channel), built once (e.g. when a session is built) so conv_dense does not repack it per
// call. Valid for every convolution whose M, group and patch_size() match and that has more
// than one output channel per group (depthwise layers read the plain weight: pass it).
struct PackedConvWeight {
  int64_t M = 0, group = 1, patch = 0;
  int64_t rows = 4;  // output channels per block: 6, or 4 where 6 would pad more
  std::vector<float> panels;
  bool matches(const ConvParams& p) const {
    return p.M == M && p.group == group && p.patch_size() == patch && M > group;
  }
};
PackedConvWeight pack_conv_weight(const float* weight, int64_t M, int64_t group, int64_t patch);
// conv_dense with a packed weight; `packed` must match p (PackedConvWeight::matches).
void conv_dense(const ConvParams& p, const float* input, const PackedConvWeight& packed,
                const float* bias, float* output, const Epilogue& epilogue = {});
// Where each row of a sparse weight [rows, cols] starts its nonzeros of every 128-column chunk
// (the sparse convolution reads a big weight chunk by chunk), found once (e.g. when a session is
// built) instead of by a binary search per row and chunk on every call: 15% of a 13x13 layer's
// time (YOLOX's Conv_132). rows x (chunks + 1) entries, 8 bytes each: under 3% of a
// codebook-CSR weight's bytes when its rows hold a few dozen nonzeros or more. Empty (matching
// nothing) for a weight of 128 columns or fewer, which is one chunk.
struct SparseChunkStarts {
  int64_t rows = 0, cols = 0, nnz = 0;
  std::vector<int64_t> starts;
  bool matches(int64_t M, int64_t patch, int64_t weight_nnz) const {
    return rows == M && cols == patch && nnz == weight_nnz;
  }
};
SparseChunkStarts sparse_chunk_starts(const std::vector<int64_t>& row_ptr,
                                      const std::vector<int32_t>& col_idx, int64_t cols);
// `chunks` (optional) must have been made from `weight` (it is ignored when its shape differs).
void conv_csr(const ConvParams& p, const float* input, const CsrMatrix& weight, const float* bias,
              float* output, const Epilogue& epilogue = {}, const float* row_scale = nullptr,
              const SparseChunkStarts* chunks = nullptr);
void conv_codebook_csr(const ConvParams& p, const float* input, const CodebookCsrMatrix& weight,
                       const float* bias, float* output, const Epilogue& epilogue = {},
                       const float* row_scale = nullptr,
                       const SparseChunkStarts* chunks = nullptr);

// Which instruction set and vector width the convolution kernels run with on this CPU (GCC's
// clone chosen at load time): "x86-64-v4, 16 floats" (AVX-512), "x86-64-v3, 8 floats" (AVX2),
// "x86-64, 8 floats as SSE2 pairs", or "portable, 8 floats" (other compilers and CPUs, and
// sanitized builds). Every path gives the same bits.
const char* conv_simd_path_name();

// The patches of one image (C x D x H x W) as a [C * taps(), out_spatial()] row-major matrix,
// zero where a tap falls in the padding. Group g's rows are the contiguous block g * patch_size().
void im2col(const ConvParams& p, const float* image, float* cols);

}  // namespace deepcomp::kernels
