// Direct (implicit-GEMM) convolution kernels behind kernels/conv.h: no im2col matrix. Each image
// is copied once, zero-padded and split by horizontal stride phase, into a reused per-thread
// workspace, so that for every output row the input a kernel tap reads is a contiguous run of
// that buffer; the kernels then sum tap by tap over tiles of 8-float vectors (16-float ones for
// the dense and sparse tiles on AVX-512 CPUs):
//   dense:     6 (or 4) output channels x 16 outputs per tile (32 or 64 with 16-float vectors;
//              weights broadcast, inputs loaded), half a tile at a row's end,
//   depthwise: one channel per group, 32 outputs per tile,
//   sparse:    one output channel, its nonzeros only, 16-64 outputs per tile (a whole span of
//              128 over an aligned patch of its inputs on AVX-512: conv_direct.cc).
// A 1x1, stride-1, unpadded convolution is treated as one long row (the whole image), and so is
// any 2-D one of vertical stride 1 whose rows would leave tile lanes empty (over the padded
// width, the columns between rows dropped when the epilogue moves the sums to the output).
// On several threads each takes a contiguous run of output rows or spans (OpenMP static), and
// the padded copy is cut by rows the same way: neighbouring rows read the same input rows, which
// then stay in one core's cache (interleaved, YOLOX's .dcz ran 30.0 ms on two threads, now 25).
// Every output is summed in the same order (input channel, then tap, as the weight is laid
// out) with a rounded product and a rounded add per term, whatever the SIMD clone, vector width
// and thread count, so results are reproducible bit for bit. Bias and activation
// (kernels/conv_epilogue.h) are applied as the tile is stored. Depends only on OpenMP and the
// standard library.
#pragma once

#include <cstdint>

#include "kernels/conv.h"
#include "kernels/conv_epilogue.h"

namespace deepcomp::kernels::detail {

// weight: [M, patch_size()] row-major, or nullptr with `packed` given (its panels are then used
// instead of packing the weight per call); bias: M entries or nullptr.
void conv_direct_dense(const ConvParams& p, const float* input, const float* weight,
                       const float* bias, const Epilogue& epilogue, float* output,
                       const PackedConvWeight* packed = nullptr);

// kernels::conv_simd_path_name.
const char* conv_simd_path_name();

// kernels::pack_conv_weight.
PackedConvWeight pack_dense_panels(const float* weight, int64_t M, int64_t group, int64_t patch);

// A sparse weight matrix [M, patch_size()] in CSR form; value(k) is nonzero k's weight, read
// once per call. row_scale (M entries or nullptr) multiplies every weight of its row (a
// BatchNormalization folded into a codebook-CSR weight, whose shared values cannot be scaled
// per row in place).
struct SparseConvWeight {
  const int64_t* row_ptr = nullptr;
  const int32_t* col_idx = nullptr;
  const float* values = nullptr;     // CSR values, or
  const uint8_t* cluster = nullptr;  // codebook indices (8-bit), or
  const uint16_t* cluster16 = nullptr;
  const float* codebook = nullptr;
  const float* row_scale = nullptr;
  // Each row's chunk starts (fill_chunk_starts), or nullptr: then found per call.
  const int64_t* chunk_starts = nullptr;
};
void conv_direct_sparse(const ConvParams& p, const float* input, const SparseConvWeight& weight,
                        const float* bias, const Epilogue& epilogue, float* output);

// The chunks of kChunkColumns columns a sparse weight of `cols` columns is read in, and row m's
// starts of each (rows x (chunks + 1) entries: row m's nonzeros of chunk k are
// [starts[m * (chunks + 1) + k], starts[m * (chunks + 1) + k + 1]); columns ascend in a row).
int64_t sparse_chunks(int64_t cols);
void fill_chunk_starts(const int64_t* row_ptr, const int32_t* col_idx, int64_t rows,
                       int64_t cols, int64_t* starts);

}  // namespace deepcomp::kernels::detail
