// The kernel choice for a layer's constant weight (ops.h choose_layer_weight): keep the sparse
// form, build one from the dense weight, or expand the sparse form to dense once at create time.
#include <algorithm>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

LayerWeight choose_layer_weight(const BuildContext& ctx, const SparseWeight& given,
                                const Value& initializer, int64_t rows, int64_t cols,
                                bool transposed, double dense_above_density) {
  LayerWeight w;
  const int64_t elements = rows * cols;
  auto density_of = [&](int64_t nonzero) {
    return elements > 0 ? static_cast<double>(nonzero) / static_cast<double>(elements) : 0.0;
  };
  if (given.present()) {
    w.density = density_of(given.csr ? given.csr->nnz() : given.codebook->nnz());
    if (runs_sparse(ctx.kernel, w.density, dense_above_density)) {
      w.sparse = given;
      return w;
    }
    w.expanded.resize(static_cast<size_t>(elements));
    if (given.csr) {
      given.csr->to_dense(w.expanded.data());
    } else {
      given.codebook->to_dense(w.expanded.data());
    }
    return w;
  }
  const int64_t nonzero =
      std::count_if(initializer.f.begin(), initializer.f.end(), [](float v) { return v != 0.0f; });
  w.density = density_of(nonzero);
  if (ctx.sparse_from_dense && runs_sparse(ctx.kernel, w.density, dense_above_density)) {
    w.sparse.csr = std::make_shared<kernels::CsrMatrix>(
        transposed ? kernels::CsrMatrix::from_dense_transposed(initializer.f.data(), cols, rows)
                   : kernels::CsrMatrix::from_dense(initializer.f.data(), rows, cols));
  }
  return w;
}

}  // namespace deepcomp::runtime::ops
