// N-D (1 to 3 spatial dimensions) convolution (kernels/conv.h): parameter checks, im2col, and the
// entry points, which run the direct kernels of kernels/conv_direct.h. Depends only on OpenMP and
// the standard library.
#include "kernels/conv.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/conv_direct.h"

namespace deepcomp::kernels {

std::string ConvParams::check() const {
  if (N < 0 || C <= 0 || D <= 0 || H <= 0 || W <= 0 || M <= 0)
    return "non-positive tensor dimension";
  if (kd <= 0 || kh <= 0 || kw <= 0) return "non-positive kernel size";
  if (stride_d <= 0 || stride_h <= 0 || stride_w <= 0) return "non-positive stride";
  if (dil_d <= 0 || dil_h <= 0 || dil_w <= 0) return "non-positive dilation";
  if (pad_front < 0 || pad_top < 0 || pad_left < 0 || pad_back < 0 || pad_bottom < 0 ||
      pad_right < 0) {
    return "negative pad";
  }
  if (group <= 0 || C % group != 0 || M % group != 0) {
    return "group " + std::to_string(group) + " does not divide channels " + std::to_string(C) +
           " -> " + std::to_string(M);
  }
  if (D + pad_front + pad_back - dil_d * (kd - 1) - 1 < 0 ||
      H + pad_top + pad_bottom - dil_h * (kh - 1) - 1 < 0 ||
      W + pad_left + pad_right - dil_w * (kw - 1) - 1 < 0) {
    return "kernel larger than the padded input";
  }
  return {};
}

void im2col(const ConvParams& p, const float* image, float* cols) {
  const int64_t od = p.out_d(), oh = p.out_h(), ow = p.out_w();
  const int64_t taps = p.taps();
  const int64_t rows = p.C * taps;
  const int64_t spatial_out = od * oh * ow;
  const bool threaded = rows * spatial_out >= (1 << 16);
#pragma omp parallel for schedule(static) if (threaded)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t c = row / taps;
    const int64_t tap = row % taps;
    const int64_t kz = tap / (p.kh * p.kw);
    const int64_t ky = (tap / p.kw) % p.kh;
    const int64_t kx = tap % p.kw;
    const float* volume = image + c * p.D * p.H * p.W;
    float* dst = cols + row * spatial_out;
    const int64_t x_offset = kx * p.dil_w - p.pad_left;
    for (int64_t oz = 0; oz < od; ++oz) {
      const int64_t iz = oz * p.stride_d - p.pad_front + kz * p.dil_d;
      for (int64_t oy = 0; oy < oh; ++oy) {
        const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dil_h;
        float* out_row = dst + (oz * oh + oy) * ow;
        if (iz < 0 || iz >= p.D || iy < 0 || iy >= p.H) {
          std::fill(out_row, out_row + ow, 0.0f);
          continue;
        }
        const float* in_row = volume + (iz * p.H + iy) * p.W;
        for (int64_t ox = 0; ox < ow; ++ox) {
          const int64_t ix = ox * p.stride_w + x_offset;
          out_row[ox] = (ix >= 0 && ix < p.W) ? in_row[ix] : 0.0f;
        }
      }
    }
  }
}

const char* conv_simd_path_name() { return detail::conv_simd_path_name(); }

void conv_dense(const ConvParams& p, const float* input, const float* weight, const float* bias,
                float* output, const Epilogue& epilogue) {
  detail::conv_direct_dense(p, input, weight, bias, epilogue, output);
}

PackedConvWeight pack_conv_weight(const float* weight, int64_t M, int64_t group, int64_t patch) {
  return detail::pack_dense_panels(weight, M, group, patch);
}

void conv_dense(const ConvParams& p, const float* input, const PackedConvWeight& packed,
                const float* bias, float* output, const Epilogue& epilogue) {
  detail::conv_direct_dense(p, input, nullptr, bias, epilogue, output, &packed);
}

SparseChunkStarts sparse_chunk_starts(const std::vector<int64_t>& row_ptr,
                                      const std::vector<int32_t>& col_idx, int64_t cols) {
  SparseChunkStarts c;
  const int64_t chunks = detail::sparse_chunks(cols);
  if (chunks < 2) return c;  // one chunk: nothing to search for
  c.rows = static_cast<int64_t>(row_ptr.size()) - 1;
  c.cols = cols;
  c.nnz = static_cast<int64_t>(col_idx.size());
  c.starts.resize(static_cast<size_t>(c.rows * (chunks + 1)));
  detail::fill_chunk_starts(row_ptr.data(), col_idx.data(), c.rows, cols, c.starts.data());
  return c;
}

namespace {
// The table's starts when it was made for a weight of this shape, else nullptr (found per call).
const int64_t* starts_for(const ConvParams& p, int64_t nnz, const SparseChunkStarts* chunks) {
  return chunks && chunks->matches(p.M, p.patch_size(), nnz) ? chunks->starts.data() : nullptr;
}
}  // namespace

void conv_csr(const ConvParams& p, const float* input, const CsrMatrix& weight, const float* bias,
              float* output, const Epilogue& epilogue, const float* row_scale,
              const SparseChunkStarts* chunks) {
  detail::SparseConvWeight w;
  w.row_ptr = weight.row_ptr.data();
  w.col_idx = weight.col_idx.data();
  w.values = weight.values.data();
  w.row_scale = row_scale;
  w.chunk_starts = starts_for(p, weight.nnz(), chunks);
  detail::conv_direct_sparse(p, input, w, bias, epilogue, output);
}

void conv_codebook_csr(const ConvParams& p, const float* input, const CodebookCsrMatrix& weight,
                       const float* bias, float* output, const Epilogue& epilogue,
                       const float* row_scale, const SparseChunkStarts* chunks) {
  detail::SparseConvWeight w;
  w.row_ptr = weight.row_ptr.data();
  w.col_idx = weight.col_idx.data();
  if (weight.wide()) {
    w.cluster16 = weight.cluster16.data();
  } else {
    w.cluster = weight.cluster.data();
  }
  w.codebook = weight.codebook.data();
  w.row_scale = row_scale;
  w.chunk_starts = starts_for(p, weight.nnz(), chunks);
  detail::conv_direct_sparse(p, input, w, bias, epilogue, output);
}

}  // namespace deepcomp::kernels
