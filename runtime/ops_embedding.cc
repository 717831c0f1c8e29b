// Gather as an embedding lookup: axis 0 of a constant float table [V, D] given in sparse form
// (SessionOptions csr / codebook weights, rows = V) or made sparse by sparse_from_dense. Each
// looked-up row is read straight from the CSR / codebook-CSR matrix, so a compressed table is
// never expanded. Gathers that are not embedding lookups stay in ops_shape.cc.
#include <algorithm>
#include <optional>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

struct EmbeddingTable {
  int64_t rows = 0, cols = 0;
  SparseWeight sparse;
  std::vector<float> expanded;  // rows x cols, when the sparse form was expanded (kernel choice)

  // Writes row r into out[0..cols): zeros, then the stored entries.
  void row(int64_t r, const Value& dense, float* out) const {
    if (const auto& m = sparse.codebook) {
      std::fill(out, out + cols, 0.0f);
      for (int64_t k = m->row_ptr[r]; k < m->row_ptr[r + 1]; ++k) out[m->col_idx[k]] = m->value(k);
    } else if (const auto& c = sparse.csr) {
      std::fill(out, out + cols, 0.0f);
      for (int64_t k = c->row_ptr[r]; k < c->row_ptr[r + 1]; ++k) out[c->col_idx[k]] = c->values[k];
    } else {
      const float* src = expanded.empty() ? dense.f.data() : expanded.data();
      std::copy(src + r * cols, src + (r + 1) * cols, out);
    }
  }
};

}  // namespace

// nullopt when the node is not an embedding lookup with a sparse form (the plain Gather applies).
std::optional<Result<CompiledOp>> build_embedding_gather(const BuildContext& ctx,
                                                         int64_t axis_attr) {
  const Value* data = ctx.constant(0);
  if (!data || !data->is_float() || data->rank() != 2 || (axis_attr != 0 && axis_attr != -2))
    return std::nullopt;
  const std::string& name = ctx.node->inputs[0];
  const SparseWeight given = ctx.sparse_weight(name);
  if (!given.present() && !ctx.sparse_from_dense) return std::nullopt;
  auto table = std::make_shared<EmbeddingTable>();
  table->rows = data->shape[0];
  table->cols = data->shape[1];
  if (given.present()) {
    const int64_t rows = given.csr ? given.csr->rows : given.codebook->rows;
    const int64_t cols = given.csr ? given.csr->cols : given.codebook->cols;
    if (rows != table->rows || cols != table->cols) {
      return Result<CompiledOp>(
          Status::Error("sparse weight '" + name + "' is " + std::to_string(rows) + "x" +
                        std::to_string(cols) + ", expected " + std::to_string(table->rows) + "x" +
                        std::to_string(table->cols) + " (rows = embeddings)"));
    }
  }
  LayerWeight chosen = choose_layer_weight(ctx, given, *data, table->rows, table->cols, false,
                                           ctx.dense_above_density);
  table->sparse = std::move(chosen.sparse);
  table->expanded = std::move(chosen.expanded);
  CompiledOp op;
  op.weight = name;
  op.sparse = table->sparse.present();
  op.density = chosen.density;
  const DType dtype = data->dtype;
  op.run = [table, dtype](const Inputs& in, std::vector<Value>* out) -> Status {
    // The table is held here; data may be a shape without values (runtime/session.cc).
    if (!in[0]) return Status::Error("data is missing");
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[1], "indices"));
    const Value& idx = *in[1];
    const int64_t v = table->rows, d = table->cols;
    std::vector<int64_t> shape = idx.shape;
    shape.push_back(d);
    const int64_t count = idx.numel();
    for (int64_t k = 0; k < count; ++k) {
      if (idx.i[k] < -v || idx.i[k] >= v) {
        return Status::Error("index " + std::to_string(idx.i[k]) + " out of range for dimension " +
                             std::to_string(v));
      }
    }
    Value y = zeros_of(dtype, shape);
    for (int64_t k = 0; k < count; ++k) {
      const int64_t r = idx.i[k] < 0 ? idx.i[k] + v : idx.i[k];
      table->row(r, *in[0], y.f.data() + k * d);
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return Result<CompiledOp>(std::move(op));
}

}  // namespace deepcomp::runtime::ops
