// Transposed convolution by a column product and col2im (kernels/conv_transpose.h). Depends only
// on OpenMP and the standard library.
#include "kernels/conv_transpose.h"

#include <vector>

#include "kernels/conv.h"
#include "kernels/spmm_detail.h"

namespace deepcomp::kernels {
namespace {

// Scatters cols ([M * taps, in_spatial], row = output channel * taps + tap) of one image into its
// output (M x out_spatial), which already holds the bias. Each output channel is summed by one
// thread in a fixed order, so the result does not depend on the thread count.
void col2im(const ConvTransposeParams& p, const float* cols, float* out) {
  const int64_t taps = p.taps(), in_sp = p.in_spatial(), out_sp = p.out_spatial();
  const bool threaded = p.M * taps * in_sp >= (1 << 16);
#pragma omp parallel for schedule(static) if (threaded)
  for (int64_t m = 0; m < p.M; ++m) {
    float* plane = out + m * out_sp;
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t kz = t / (p.k[1] * p.k[2]), ky = (t / p.k[2]) % p.k[1], kx = t % p.k[2];
      const float* src = cols + (m * taps + t) * in_sp;
      for (int64_t iz = 0; iz < p.in[0]; ++iz) {
        const int64_t z = iz * p.stride[0] + kz * p.dil[0] - p.pad_begin[0];
        if (z < 0 || z >= p.out[0]) continue;
        for (int64_t iy = 0; iy < p.in[1]; ++iy) {
          const int64_t y = iy * p.stride[1] + ky * p.dil[1] - p.pad_begin[1];
          if (y < 0 || y >= p.out[1]) continue;
          const float* row = src + (iz * p.in[1] + iy) * p.in[2];
          float* dst = plane + (z * p.out[1] + y) * p.out[2];
          const int64_t x0 = kx * p.dil[2] - p.pad_begin[2];
          for (int64_t ix = 0; ix < p.in[2]; ++ix) {
            const int64_t x = ix * p.stride[2] + x0;
            if (x >= 0 && x < p.out[2]) dst[x] += row[ix];
          }
        }
      }
    }
  }
}

void fill_bias(const ConvTransposeParams& p, const float* bias, float* out) {
  const int64_t out_sp = p.out_spatial();
  for (int64_t m = 0; m < p.M; ++m) {
    std::fill(out + m * out_sp, out + (m + 1) * out_sp, bias ? bias[m] : 0.0f);
  }
}

// Runs `columns(image, cols)` then col2im for every image.
// One reused buffer per calling thread and purpose: no allocation once it has grown.
float* workspace(int which, size_t n) {
  thread_local std::vector<float> buffers[2];
  std::vector<float>& b = buffers[which];
  if (b.size() < n) b.resize(n);
  return b.data();
}

template <typename Columns>
void for_each_image(const ConvTransposeParams& p, const float* input, const float* bias,
                    float* output, Columns columns) {
  const int64_t in_sp = p.in_spatial(), out_sp = p.out_spatial();
  float* cols = workspace(0, static_cast<size_t>(p.M * p.taps() * in_sp));
  for (int64_t n = 0; n < p.N; ++n) {
    float* out = output + n * p.M * out_sp;
    columns(input + n * p.C * in_sp, cols);
    fill_bias(p, bias, out);
    col2im(p, cols, out);
  }
}

// The row structure of prepare_conv_transpose_weight's result and, for each of its nonzeros, the
// index of the source nonzero (so values or cluster indices can be gathered).
struct Rearranged {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> row_ptr;
  std::vector<int32_t> col_idx;
  std::vector<int64_t> source;
};

Rearranged rearrange(int64_t rows, int64_t cols, const std::vector<int64_t>& row_ptr,
                     const std::vector<int32_t>& col_idx, int64_t group) {
  const int64_t cg = rows / group;
  Rearranged r;
  r.rows = group * cols;
  r.cols = cg;
  r.row_ptr.assign(r.rows + 1, 0);
  // Entry (c, j) of group g = c / cg moves to (g * cols + j, c - g * cg): a counting sort by the
  // new row; visiting c in order keeps each new row's columns ascending.
  for (int64_t c = 0; c < rows; ++c) {
    for (int64_t k = row_ptr[c]; k < row_ptr[c + 1]; ++k)
      ++r.row_ptr[(c / cg) * cols + col_idx[k] + 1];
  }
  for (int64_t q = 0; q < r.rows; ++q) r.row_ptr[q + 1] += r.row_ptr[q];
  const int64_t nnz = row_ptr[rows];
  r.col_idx.resize(nnz);
  r.source.resize(nnz);
  std::vector<int64_t> next(r.row_ptr.begin(), r.row_ptr.end() - 1);
  for (int64_t c = 0; c < rows; ++c) {
    for (int64_t k = row_ptr[c]; k < row_ptr[c + 1]; ++k) {
      const int64_t dst = next[(c / cg) * cols + col_idx[k]]++;
      r.col_idx[dst] = static_cast<int32_t>(c % cg);
      r.source[dst] = k;
    }
  }
  return r;
}

detail::SparseProblem problem(const ConvTransposeParams& p, const std::vector<int64_t>& row_ptr,
                              const std::vector<int32_t>& col_idx, const float* image,
                              float* cols) {
  detail::SparseProblem sp;
  sp.row_ptr = row_ptr.data();
  sp.col_idx = col_idx.data();
  sp.rows = p.M * p.taps();
  sp.B = image;
  sp.n = p.in_spatial();
  sp.rows_per_group = p.weight_cols();
  sp.b_group_stride = (p.C / p.group) * p.in_spatial();
  sp.C = cols;
  return sp;
}

}  // namespace

std::string ConvTransposeParams::check() const {
  if (N < 0 || C <= 0 || M <= 0) return "non-positive tensor dimension";
  for (int d = 0; d < 3; ++d) {
    if (in[d] <= 0 || out[d] <= 0) return "non-positive spatial size";
    if (k[d] <= 0) return "non-positive kernel size";
    if (stride[d] <= 0) return "non-positive stride";
    if (dil[d] <= 0) return "non-positive dilation";
  }
  if (group <= 0 || C % group != 0 || M % group != 0) {
    return "group " + std::to_string(group) + " does not divide channels " + std::to_string(C) +
           " -> " + std::to_string(M);
  }
  return {};
}

CsrMatrix prepare_conv_transpose_weight(const CsrMatrix& w, int64_t group) {
  Rearranged r = rearrange(w.rows, w.cols, w.row_ptr, w.col_idx, group);
  CsrMatrix out;
  out.rows = r.rows;
  out.cols = r.cols;
  out.row_ptr = std::move(r.row_ptr);
  out.col_idx = std::move(r.col_idx);
  out.values.resize(r.source.size());
  for (size_t k = 0; k < r.source.size(); ++k) out.values[k] = w.values[r.source[k]];
  return out;
}

CodebookCsrMatrix prepare_conv_transpose_weight(const CodebookCsrMatrix& w, int64_t group) {
  Rearranged r = rearrange(w.rows, w.cols, w.row_ptr, w.col_idx, group);
  CodebookCsrMatrix out;
  out.rows = r.rows;
  out.cols = r.cols;
  out.row_ptr = std::move(r.row_ptr);
  out.col_idx = std::move(r.col_idx);
  out.codebook = w.codebook;
  if (w.wide()) {
    out.cluster16.resize(r.source.size());
    for (size_t k = 0; k < r.source.size(); ++k) out.cluster16[k] = w.cluster16[r.source[k]];
  } else {
    out.cluster.resize(r.source.size());
    for (size_t k = 0; k < r.source.size(); ++k) out.cluster[k] = w.cluster[r.source[k]];
  }
  return out;
}

void conv_transpose_dense(const ConvTransposeParams& p, const float* input, const float* weight,
                          const float* bias, float* output) {
  // The column product of each group is a 1x1 convolution of the group's input channels (a
  // row of in_spatial() pixels each) by the transposed weight [M/group * taps, C/group]: the
  // direct conv kernel's tiles, summing over the input channels in order from 0.
  const int64_t cg = p.C / p.group, cols_g = p.weight_cols();
  float* wt = workspace(1, static_cast<size_t>(p.C * cols_g));
  for (int64_t g = 0; g < p.group; ++g) {
    const float* wg = weight + g * cg * cols_g;
    float* tg = wt + g * cols_g * cg;
    for (int64_t c = 0; c < cg; ++c) {
      for (int64_t j = 0; j < cols_g; ++j) tg[j * cg + c] = wg[c * cols_g + j];
    }
  }
  ConvParams q;
  q.N = 1, q.C = p.C, q.W = p.in_spatial(), q.M = p.M * p.taps(), q.group = p.group;
  for_each_image(p, input, bias, output,
                 [&](const float* image, float* cols) { conv_dense(q, image, wt, nullptr, cols); });
}

void conv_transpose_csr(const ConvTransposeParams& p, const float* input, const CsrMatrix& prepared,
                        const float* bias, float* output) {
  for_each_image(p, input, bias, output, [&](const float* image, float* cols) {
    detail::sparse_times_dense(problem(p, prepared.row_ptr, prepared.col_idx, image, cols),
                               prepared.values.data());
  });
}

void conv_transpose_codebook_csr(const ConvTransposeParams& p, const float* input,
                                 const CodebookCsrMatrix& prepared, const float* bias,
                                 float* output) {
  const int64_t size = static_cast<int64_t>(prepared.codebook.size());
  for_each_image(p, input, bias, output, [&](const float* image, float* cols) {
    const detail::SparseProblem sp = problem(p, prepared.row_ptr, prepared.col_idx, image, cols);
    if (prepared.wide()) {
      detail::sparse_times_dense(sp, prepared.cluster16.data(), prepared.codebook.data(), size);
    } else {
      detail::sparse_times_dense(sp, prepared.cluster.data(), prepared.codebook.data(), size);
    }
  });
}

}  // namespace deepcomp::kernels
