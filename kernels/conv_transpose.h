// Transposed convolution over 1 to 3 spatial dimensions (ONNX ConvTranspose semantics: groups,
// strides, dilations, begin pads; the caller resolves output_padding / output_shape / auto_pad
// into the output size and begin pads). Formulated as col2im: per image and group, the column
// matrix cols = W_g^T * X_g ([M/group * taps, in_spatial]) is scattered into the output. The weight
// W is [C, M/group, kd, kh, kw], i.e. the row-major [C, M/group * taps] matrix (rows = input
// channels), which is also the layout of its sparse forms; the sparse path runs the CSR /
// codebook-CSR product of kernels/spmm_detail.h on the per-group transpose of that matrix
// (prepare_conv_transpose_weight); the dense path runs it as a 1x1 convolution by the transposed
// weight (kernels/conv_direct.h's tiles). The column matrix lives in a per-thread buffer reused
// across calls. 1-D and 2-D problems are 3-D ones with leading sizes of 1. Depends only on
// OpenMP and the standard library.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/sparse_matrix.h"

namespace deepcomp::kernels {

struct ConvTransposeParams {
  int64_t N = 1, C = 1;  // input: N x C x in[0] x in[1] x in[2]
  int64_t M = 1;         // output channels (W.shape[1] * group)
  int64_t group = 1;
  int64_t in[3] = {1, 1, 1};
  int64_t out[3] = {1, 1, 1};  // output spatial size
  int64_t k[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1};
  int64_t dil[3] = {1, 1, 1};
  // Output position of input 0, tap 0 is -pad_begin; negative when output_shape asks for more
  // than the full output (the extra positions only get the bias).
  int64_t pad_begin[3] = {0, 0, 0};

  int64_t taps() const { return k[0] * k[1] * k[2]; }
  int64_t in_spatial() const { return in[0] * in[1] * in[2]; }
  int64_t out_spatial() const { return out[0] * out[1] * out[2]; }
  // Columns of the weight matrix: one per (output channel of the group, kz, ky, kx).
  int64_t weight_cols() const { return (M / group) * taps(); }
  // Empty when valid (positive sizes, strides, dilations; group divides C and M); otherwise what
  // is wrong. The functions below assume check() passed.
  std::string check() const;
};

// The sparse weight [C, M/group * taps] rearranged for the col2im product: group g's rows
// (input channels g*C/group ...) transposed and stacked, giving [group * M/group * taps, C/group].
CsrMatrix prepare_conv_transpose_weight(const CsrMatrix& w, int64_t group);
CodebookCsrMatrix prepare_conv_transpose_weight(const CodebookCsrMatrix& w, int64_t group);

// input: N x C x in; output: N x M x out; bias: M entries or nullptr.
void conv_transpose_dense(const ConvTransposeParams& p, const float* input, const float* weight,
                          const float* bias, float* output);
// `prepared` from prepare_conv_transpose_weight of the [C, M/group * taps] weight.
void conv_transpose_csr(const ConvTransposeParams& p, const float* input, const CsrMatrix& prepared,
                        const float* bias, float* output);
void conv_transpose_codebook_csr(const ConvTransposeParams& p, const float* input,
                                 const CodebookCsrMatrix& prepared, const float* bias,
                                 float* output);

}  // namespace deepcomp::kernels
