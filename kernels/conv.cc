// N-D (1 to 3 spatial dimensions) convolution by im2col and a dense (Eigen) or sparse
// (kernels/spmm_detail.h) product (kernels/conv.h). Depends only on Eigen, OpenMP and the standard
// library.
#include "kernels/conv.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "kernels/spmm_detail.h"

namespace deepcomp::kernels {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A 1x1, stride-1, unpadded convolution's patch matrix is the image itself.
bool patches_are_image(const ConvParams& p) {
  return p.taps() == 1 && p.stride_d == 1 && p.stride_h == 1 && p.stride_w == 1 &&
         p.pad_front == 0 && p.pad_top == 0 && p.pad_left == 0 && p.pad_back == 0 &&
         p.pad_bottom == 0 && p.pad_right == 0;
}

// Runs `product(patches, out_image)` per image, building the patch matrix when needed.
template <typename Product>
void for_each_image(const ConvParams& p, const float* input, float* output, Product product) {
  const int64_t spatial_in = p.in_spatial();
  const int64_t spatial_out = p.out_spatial();
  std::vector<float> cols;
  if (!patches_are_image(p)) cols.resize(p.C * p.taps() * spatial_out);
  for (int64_t n = 0; n < p.N; ++n) {
    const float* image = input + n * p.C * spatial_in;
    const float* patches = image;
    if (!cols.empty()) {
      im2col(p, image, cols.data());
      patches = cols.data();
    }
    product(patches, output + n * p.M * spatial_out);
  }
}

template <typename RunSparse>
void conv_sparse(const ConvParams& p, const float* input, const int64_t* row_ptr,
                 const int32_t* col_idx, const float* bias, float* output, RunSparse run) {
  const int64_t spatial_out = p.out_spatial();
  for_each_image(p, input, output, [&](const float* patches, float* out) {
    detail::SparseProblem sp;
    sp.row_ptr = row_ptr;
    sp.col_idx = col_idx;
    sp.rows = p.M;
    sp.B = patches;
    sp.n = spatial_out;
    sp.rows_per_group = p.M / p.group;
    sp.b_group_stride = p.patch_size() * spatial_out;
    sp.bias = bias;
    sp.C = out;
    run(sp);
  });
}

}  // namespace

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

void conv_dense(const ConvParams& p, const float* input, const float* weight, const float* bias,
                float* output) {
  const int64_t spatial_out = p.out_spatial();
  const int64_t k = p.patch_size();
  const int64_t m_group = p.M / p.group;
  for_each_image(p, input, output, [&](const float* patches, float* out) {
    for (int64_t g = 0; g < p.group; ++g) {
      Eigen::Map<RowMajor> y(out + g * m_group * spatial_out, m_group, spatial_out);
      y.noalias() = Eigen::Map<const RowMajor>(weight + g * m_group * k, m_group, k) *
                    Eigen::Map<const RowMajor>(patches + g * k * spatial_out, k, spatial_out);
      if (bias) y.colwise() += Eigen::Map<const Eigen::VectorXf>(bias + g * m_group, m_group);
    }
  });
}

void conv_csr(const ConvParams& p, const float* input, const CsrMatrix& weight, const float* bias,
              float* output) {
  conv_sparse(p, input, weight.row_ptr.data(), weight.col_idx.data(), bias, output,
              [&](const detail::SparseProblem& sp) {
                detail::sparse_times_dense(sp, weight.values.data());
              });
}

void conv_codebook_csr(const ConvParams& p, const float* input, const CodebookCsrMatrix& weight,
                       const float* bias, float* output) {
  const int64_t size = static_cast<int64_t>(weight.codebook.size());
  conv_sparse(
      p, input, weight.row_ptr.data(), weight.col_idx.data(), bias, output,
      [&](const detail::SparseProblem& sp) {
        if (weight.wide()) {
          detail::sparse_times_dense(sp, weight.cluster16.data(), weight.codebook.data(), size);
        } else {
          detail::sparse_times_dense(sp, weight.cluster.data(), weight.codebook.data(), size);
        }
      });
}

}  // namespace deepcomp::kernels
