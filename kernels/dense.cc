// Dense products through Eigen maps (kernels/dense.h). Depends only on Eigen and OpenMP.
#include "kernels/dense.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>

namespace deepcomp::kernels {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajor>;
using ConstStrided = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;
using Strided = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;
using ConstVec = Eigen::Map<const Eigen::VectorXf>;
using Vec = Eigen::Map<Eigen::VectorXf>;

// Output columns are split into blocks of a fixed width, each computed by one single-threaded
// Eigen product, and the blocks are spread over the OpenMP threads. Eigen's own threaded GEMM
// picks its cache blocking from the thread count, which changes the summation order; fixed-width
// blocks (a multiple of Eigen's 8-row GEMV groups) keep results identical for any thread count.
constexpr int64_t kBlock = 256;

template <typename Block>
void for_each_block(int64_t columns, int64_t work, Block block) {
  const int64_t blocks = (columns + kBlock - 1) / kBlock;
  const int threads = work < (1 << 16) ? 1 : std::max(1, omp_get_max_threads());
  // Always inside a parallel region (of one thread if need be): Eigen then never threads the
  // block's product itself, whatever the thread count.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t j0 = b * kBlock;
    block(j0, std::min(columns, j0 + kBlock) - j0);
  }
}

}  // namespace

void gemm_dense(const float* X, int64_t batch, int64_t in, const float* W, int64_t out,
                const float* bias, float* Y) {
  if (batch <= 0 || out <= 0) return;
  if (in == 0) {
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t o = 0; o < out; ++o) Y[b * out + o] = bias ? bias[o] : 0.0f;
    }
    return;
  }
  for_each_block(out, batch * out * in, [&](int64_t o0, int64_t width) {
    ConstMap w(W + o0 * in, width, in);
    if (batch == 1) {  // Eigen's matrix-vector kernel, one dot product per row of W
      Vec y(Y + o0, width);
      y.noalias() = w * ConstVec(X, in);
      if (bias) y += ConstVec(bias + o0, width);
      return;
    }
    Strided y(Y + o0, batch, width, Eigen::OuterStride<>(out));
    y.noalias() = ConstMap(X, batch, in) * w.transpose();
    if (bias) y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias + o0, width);
  });
}

void matmul(const float* A, const float* B, int64_t M, int64_t K, int64_t N, float* C) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    std::fill(C, C + M * N, 0.0f);
    return;
  }
  for_each_block(N, M * N * K, [&](int64_t j0, int64_t width) {
    Strided c(C + j0, M, width, Eigen::OuterStride<>(N));
    c.noalias() = ConstMap(A, M, K) * ConstStrided(B + j0, K, width, Eigen::OuterStride<>(N));
  });
}

}  // namespace deepcomp::kernels
