// Layer operators: Gemm, MatMul (dense via kernels/dense.h or sparse via kernels/spmm.h),
// BatchNormalization (inference), Softmax, LogSoftmax and Hardmax. Conv is in ops_conv.cc.
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "kernels/dense.h"
#include "kernels/spmm.h"
#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

// A fully-connected weight in the kernels' "out x in" form (Y = X * W^T + b), dense or sparse.
struct FcWeight {
  int64_t out = 0, in = 0;
  std::vector<float> dense;  // out x in row-major, when not sparse
  SparseWeight sparse;
  // The codebook weight in cluster blocks of 8 (16-bit columns, ~2.4 bytes per nonzero at fc6,
  // one loop of equal blocks per row) when its padding stays small enough to pay
  // (ClusterBlockCsr::pays_off), else in the compact layout (16-bit columns, 3 bytes per
  // nonzero) when it fits; made at setup (docs/KERNELS.md, bench/RESULTS.md issue 14). Blocks
  // win at batch 1 but the cluster-grouped rows win at batch 16 (fc6 5.6 against 8.3 ms), so
  // when the grouped rows pay too (runs of >= 20) they are kept as well, for batch > 1: ~2.1
  // more bytes per nonzero (7 MB at fc6).
  std::shared_ptr<const kernels::ClusterBlockCsr> blocks;
  std::shared_ptr<const kernels::GroupedCodebookCsr> grouped;
  std::shared_ptr<const kernels::CompactCodebookCsr> compact;
  double density = 1;

  bool runs_sparse() const { return blocks || grouped || compact || sparse.present(); }

  // The sparse layout the kernel runs (Session::layer_kernels(), `deepcomp bench`).
  std::string layout() const {
    if (blocks && grouped) return "cluster-blocks+grouped";
    if (blocks) return "cluster-blocks";
    if (compact) return "compact-codebook-csr";
    if (sparse.codebook) return "codebook-csr";
    if (sparse.csr) return "csr";
    return "";
  }

  void apply(const float* x, int64_t batch, const float* bias, float* y) const {
    if (grouped && (batch > 1 || !blocks)) {
      kernels::gemm_codebook_csr(x, batch, *grouped, bias, y);
    } else if (blocks) {
      kernels::gemm_codebook_csr(x, batch, *blocks, bias, y);
    } else if (compact) {
      kernels::gemm_codebook_csr(x, batch, *compact, bias, y);
    } else if (sparse.codebook) {
      kernels::gemm_codebook_csr(x, batch, *sparse.codebook, bias, y);
    } else if (sparse.csr) {
      kernels::gemm_csr(x, batch, *sparse.csr, bias, y);
    } else {
      kernels::gemm_dense(x, batch, in, dense.data(), out, bias, y);
    }
  }
};

std::vector<float> transpose2d(const float* a, int64_t rows, int64_t cols) {
  std::vector<float> t(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) t[c * rows + r] = a[r * cols + c];
  }
  return t;
}

// Builds the FcWeight of a constant matrix B, sparse or dense per the session's kernel choice.
// `b_is_out_by_in` tells whether B is already out x in (Gemm transB=1) or in x out (Gemm
// transB=0, MatMul). With `copy_b` false a dense B that needs no expansion is left in place
// (FcWeight::dense empty, `*reads_b` set): the caller computes with B itself.
Result<FcWeight> make_fc_weight(const BuildContext& ctx, const Value& b, bool b_is_out_by_in,
                                const std::string& name, bool copy_b = true,
                                bool* reads_b = nullptr) {
  FcWeight w;
  w.out = b_is_out_by_in ? b.shape[0] : b.shape[1];
  w.in = b_is_out_by_in ? b.shape[1] : b.shape[0];
  const SparseWeight given = ctx.sparse_weight(name);
  if (given.present()) {
    const int64_t rows = given.csr ? given.csr->rows : given.codebook->rows;
    const int64_t cols = given.csr ? given.csr->cols : given.codebook->cols;
    if (rows != w.out || cols != w.in) {
      return Status::Error("sparse weight '" + name + "' is " + std::to_string(rows) + "x" +
                           std::to_string(cols) + ", expected " + std::to_string(w.out) + "x" +
                           std::to_string(w.in) + " (rows = output features)");
    }
  }
  LayerWeight chosen = choose_layer_weight(ctx, given, b, w.out, w.in, !b_is_out_by_in,
                                           ctx.dense_above_density);
  w.density = chosen.density;
  w.sparse = std::move(chosen.sparse);
  if (reads_b) *reads_b = false;
  if (w.sparse.codebook && kernels::CompactCodebookCsr::fits(*w.sparse.codebook)) {
    if (kernels::ClusterBlockCsr::pays_off(*w.sparse.codebook)) {
      w.blocks = std::make_shared<const kernels::ClusterBlockCsr>(
          kernels::ClusterBlockCsr::from(*w.sparse.codebook));
      if (kernels::GroupedCodebookCsr::pays_off(*w.sparse.codebook)) {
        w.grouped = std::make_shared<const kernels::GroupedCodebookCsr>(
            kernels::GroupedCodebookCsr::from(*w.sparse.codebook));
      }
    } else {
      w.compact = std::make_shared<const kernels::CompactCodebookCsr>(
          kernels::CompactCodebookCsr::from(*w.sparse.codebook));
    }
    // Only the 16-bit-column form runs: the int32-column form is dropped here (freed once the
    // Session has released its options), 5 of the 7-8 bytes per nonzero the layer held.
    w.sparse.codebook.reset();
  }
  if (w.runs_sparse()) return w;
  if (!chosen.expanded.empty()) {
    w.dense = std::move(chosen.expanded);  // already out x in
  } else if (copy_b) {
    w.dense = b_is_out_by_in ? b.f : transpose2d(b.f.data(), w.in, w.out);
  } else if (reads_b) {
    *reads_b = true;
  }
  return w;
}

Result<CompiledOp> build_gemm(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(
      check_attributes(node, {"alpha", "beta", "transA", "transB", "broadcast"}));
  const float alpha = attr_float(node, "alpha", 1.0f), beta = attr_float(node, "beta", 1.0f);
  const bool trans_a = attr_int(node, "transA", 0) != 0, trans_b = attr_int(node, "transB", 0) != 0;
  std::shared_ptr<const FcWeight> constant_w;
  CompiledOp op;
  if (const Value* b = ctx.constant(1)) {
    if (!b->is_float() || b->rank() != 2) return Status::Error("B must be a 2-D float32 matrix");
    DEEPCOMP_ASSIGN_OR_RETURN(FcWeight w, make_fc_weight(ctx, *b, trans_b, node.inputs[1]));
    op.sparse = w.runs_sparse();
    op.density = w.density;
    op.layout = w.layout();
    op.weight = node.inputs[1];
    constant_w = std::make_shared<const FcWeight>(std::move(w));
  }
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "A"));
    if (in[0]->rank() != 2) return Status::Error("A must be 2-D, is " + describe(*in[0]));
    const Value& a = *in[0];
    const int64_t m = trans_a ? a.shape[1] : a.shape[0], k = trans_a ? a.shape[0] : a.shape[1];
    std::vector<float> a_t;
    const float* x = a.f.data();
    if (trans_a) {
      a_t = transpose2d(a.f.data(), a.shape[0], a.shape[1]);
      x = a_t.data();
    }
    FcWeight runtime_w;
    const FcWeight* w = constant_w.get();
    if (!w) {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[1], "B"));
      if (in[1]->rank() != 2) return Status::Error("B must be 2-D, is " + describe(*in[1]));
      const Value& b = *in[1];
      runtime_w.out = trans_b ? b.shape[0] : b.shape[1];
      runtime_w.in = trans_b ? b.shape[1] : b.shape[0];
      runtime_w.dense = trans_b ? b.f : transpose2d(b.f.data(), runtime_w.in, runtime_w.out);
      w = &runtime_w;
    }
    if (w->in != k) {
      return Status::Error("A " + describe(a) + " does not match B (" + std::to_string(w->in) +
                           " inputs)");
    }
    const int64_t n = w->out;
    const Value* c = in.size() > 2 ? in[2] : nullptr;
    std::vector<int64_t> c_shape;
    if (c) {
      DEEPCOMP_RETURN_IF_ERROR(require_float(c, "C"));
      std::vector<int64_t> bshape;
      if (!broadcast_shapes(c->shape, {m, n}, &bshape) || bshape != std::vector<int64_t>{m, n}) {
        return Status::Error("C " + describe(*c) + " does not broadcast to [" + std::to_string(m) +
                             "," + std::to_string(n) + "]");
      }
    }
    Value& y = (*out)[0];
    y = zeros_of(DType::kFloat32, {m, n});  // storage recycled by the Session
    // The common fully-connected case passes C as the kernel's bias; otherwise scale and add.
    const bool c_is_bias = c && alpha == 1.0f && beta == 1.0f && c->numel() == n &&
                           (c->rank() == 1 || (c->rank() == 2 && c->shape[0] == 1));
    w->apply(x, m, c_is_bias ? c->f.data() : nullptr, y.f.data());
    if (c_is_bias || (!c && alpha == 1.0f)) return Status::Ok();
    for (float& v : y.f) v *= alpha;
    if (c && beta != 0.0f) {
      const auto strides = broadcast_strides(c->shape, {m, n});
      for (int64_t r = 0; r < m; ++r) {
        for (int64_t col = 0; col < n; ++col) {
          y.f[r * n + col] += beta * c->f[r * strides[0] + col * strides[1]];
        }
      }
    }
    return Status::Ok();
  };
  return op;
}

Result<CompiledOp> build_matmul(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {}));
  std::shared_ptr<const FcWeight> fc_w;
  CompiledOp op;
  const Value* b_const = ctx.constant(1);
  if (b_const && b_const->is_float() && b_const->rank() == 2) {
    op.weight = node.inputs[1];
    // A dense constant keeps the plain MatMul path below; a sparse form, or one expanded from
    // it, needs the FcWeight.
    bool reads_b = false;
    DEEPCOMP_ASSIGN_OR_RETURN(
        FcWeight w, make_fc_weight(ctx, *b_const, false, node.inputs[1], false, &reads_b));
    op.sparse = w.runs_sparse();
    op.density = w.density;
    op.layout = w.layout();
    if (!reads_b) fc_w = std::make_shared<const FcWeight>(std::move(w));
  } else if (ctx.sparse_weight(ctx.has_input(1) ? node.inputs[1] : "").present()) {
    return Status::Error("a sparse weight needs a constant 2-D right operand");
  }
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "A"));
    if (!fc_w) {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[1], "B"));
    } else if (!in[1] || !in[1]->is_float()) {
      // B is held in fc_w; its value is read for its shape only (it may have no values).
      return Status::Error("B must be a float tensor");
    }
    std::vector<int64_t> as = in[0]->shape, bs = in[1]->shape;
    if (as.empty() || bs.empty()) return Status::Error("MatMul of a scalar");
    const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
    if (a_vec) as.insert(as.begin(), 1);
    if (b_vec) bs.push_back(1);
    const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    if (bs[bs.size() - 2] != k) {
      return Status::Error("shapes " + describe(*in[0]) + " and " + describe(*in[1]) +
                           " do not multiply");
    }
    std::vector<int64_t> batch_a(as.begin(), as.end() - 2), batch_b(bs.begin(), bs.end() - 2),
        batch;
    if (!broadcast_shapes(batch_a, batch_b, &batch))
      return Status::Error("batch dimensions do not broadcast");
    std::vector<int64_t> shape = batch;
    if (!a_vec) shape.push_back(m);
    if (!b_vec) shape.push_back(n);
    int64_t nb = 1;
    for (int64_t d : batch) nb *= d;
    Value& y = (*out)[0];
    y = zeros_of(DType::kFloat32, shape);  // storage recycled by the Session
    if (batch_b.empty() || nb == 1) {
      // One right operand for every row of A: a single product over all of A's rows.
      int64_t rows_a = 1;
      for (int64_t d : batch_a) rows_a *= d;
      if (rows_a == nb) {
        if (fc_w)
          fc_w->apply(in[0]->f.data(), nb * m, nullptr, y.f.data());
        else
          kernels::matmul(in[0]->f.data(), in[1]->f.data(), nb * m, k, n, y.f.data());
        return Status::Ok();
      }
    }
    const auto sa = broadcast_strides(batch_a, batch), sb = broadcast_strides(batch_b, batch);
    std::vector<int64_t> idx(batch.size(), 0);
    for (int64_t p = 0; p < nb; ++p) {
      int64_t oa = 0, ob = 0;
      for (size_t d = 0; d < batch.size(); ++d) {
        oa += idx[d] * sa[d];
        ob += idx[d] * sb[d];
      }
      kernels::matmul(in[0]->f.data() + oa * m * k, in[1]->f.data() + ob * k * n, m, k, n,
                      y.f.data() + p * m * n);
      for (size_t d = batch.size(); d-- > 0;) {
        if (++idx[d] < batch[d]) break;
        idx[d] = 0;
      }
    }
    return Status::Ok();
  };
  return op;
}

Result<CompiledOp> build_batchnorm(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 5, 5, 1));
  DEEPCOMP_RETURN_IF_ERROR(
      check_attributes(node, {"epsilon", "momentum", "spatial", "training_mode", "is_test"}));
  if (attr_int(node, "training_mode", 0) != 0)
    return Status::Error("attribute training_mode=1 is not supported");
  if (attr_int(node, "spatial", 1) != 1)
    return Status::Error("attribute spatial=0 is not supported");
  const float eps = attr_float(node, "epsilon", 1e-5f);
  CompiledOp op;
  op.run = [eps](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
    const Value& x = *in[0];
    if (x.rank() < 2) return Status::Error("X must have a channel dimension, is " + describe(x));
    const int64_t c = x.shape[1];
    const char* names[] = {"scale", "B", "mean", "var"};
    for (int k = 1; k <= 4; ++k) {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[k], names[k - 1]));
      if (in[k]->numel() != c)
        return Status::Error(std::string(names[k - 1]) + " must have " + std::to_string(c) +
                             " entries");
    }
    int64_t inner = 1;
    for (int64_t d = 2; d < x.rank(); ++d) inner *= x.shape[d];
    const int64_t outer = x.shape[0];
    Value& y = (*out)[0];
    y = for_overwrite_like_dtype(DType::kFloat32, x.shape);  // every element written below
    for (int64_t ch = 0; ch < c; ++ch) {
      const float s = in[1]->f[ch] / std::sqrt(in[4]->f[ch] + eps);
      const float b = in[2]->f[ch] - in[3]->f[ch] * s;
      for (int64_t o = 0; o < outer; ++o) {
        const int64_t base = (o * c + ch) * inner;
        for (int64_t k = 0; k < inner; ++k) y.f[base + k] = x.f[base + k] * s + b;
      }
    }
    return Status::Ok();
  };
  return op;
}

enum class SoftKind { kSoftmax, kLogSoftmax, kHardmax };

// Normalizes rows of length `len` that are `stride` apart element to element.
void soft_rows(const float* x, float* y, int64_t outer, int64_t len, int64_t inner, SoftKind kind) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* px = x + o * len * inner + i;
      float* py = y + o * len * inner + i;
      float mx = -std::numeric_limits<float>::infinity();
      int64_t arg = 0;
      for (int64_t k = 0; k < len; ++k) {
        if (px[k * inner] > mx) {
          mx = px[k * inner];
          arg = k;
        }
      }
      if (kind == SoftKind::kHardmax) {
        for (int64_t k = 0; k < len; ++k) py[k * inner] = k == arg ? 1.0f : 0.0f;
        continue;
      }
      double sum = 0;
      for (int64_t k = 0; k < len; ++k) sum += std::exp(double{px[k * inner]} - mx);
      for (int64_t k = 0; k < len; ++k) {
        const double d = double{px[k * inner]} - mx;
        py[k * inner] =
            static_cast<float>(kind == SoftKind::kSoftmax ? std::exp(d) / sum : d - std::log(sum));
      }
    }
  }
}

Builder soft(SoftKind kind) {
  return [kind](const BuildContext& ctx) -> Result<CompiledOp> {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"axis"}));
    // Opset 13 changed the meaning: before, the input is coerced to 2-D at `axis` (default 1)
    // and each row normalized; from 13 on, only the single `axis` (default -1) is normalized.
    const bool coerce = ctx.opset < 13;
    const int64_t axis_attr = attr_int(*ctx.node, "axis", coerce ? 1 : -1);
    CompiledOp op;
    op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "input"));
      const Value& x = *in[0];
      const int64_t r = x.rank();
      int64_t axis = 0;
      if (coerce ? (axis_attr < -r || axis_attr > r) : !normalize_axis(axis_attr, r, &axis)) {
        return Status::Error("axis out of range for " + describe(x));
      }
      if (coerce) axis = axis_attr < 0 ? axis_attr + r : axis_attr;
      int64_t outer = 1, len = 1, inner = 1;
      for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
      if (coerce) {
        for (int64_t d = axis; d < r; ++d) len *= x.shape[d];
      } else {
        len = x.shape[axis];
        for (int64_t d = axis + 1; d < r; ++d) inner *= x.shape[d];
      }
      Value& y = (*out)[0];
      y = for_overwrite_like_dtype(DType::kFloat32, x.shape);  // soft_rows writes every element
      if (len > 0) soft_rows(x.f.data(), y.f.data(), outer, len, inner, kind);
      return Status::Ok();
    };
    return op;
  };
}

}  // namespace

Result<CompiledOp> build_conv(const BuildContext& ctx);  // ops_conv.cc

void register_nn_ops(Table* t) {
  (*t)["Gemm"] = build_gemm;
  (*t)["MatMul"] = build_matmul;
  (*t)["Conv"] = build_conv;
  (*t)["BatchNormalization"] = build_batchnorm;
  (*t)["Softmax"] = soft(SoftKind::kSoftmax);
  (*t)["LogSoftmax"] = soft(SoftKind::kLogSoftmax);
  (*t)["Hardmax"] = soft(SoftKind::kHardmax);
}

}  // namespace deepcomp::runtime::ops
