// MatMulInteger and QLinearMatMul: numpy matmul broadcasting on zero-point-subtracted 8-bit
// integers, int32 accumulation (wrapping, as ONNX Runtime's int32 GEMM; each matrix product by
// kernels::exact_gemm), then for QLinearMatMul a
// float32 requantization round(acc * a_scale * b_scale / y_scale) + y_zero_point, saturated.
#include <algorithm>
#include <utility>

#include "runtime/ops_quant.h"

namespace deepcomp::runtime::ops {

namespace {

// Above this share of nonzero codes in A, a matrix product runs on the exact dense GEMM.
constexpr double kDenseGemmAboveDensity = 0.5;

// x - zero_point as int32, with the zero point a scalar (or one element), per-row of A (1-D of
// length M, or [..., M, 1]) or per-column of B (1-D of length N, or [..., 1, N]): `rows` selects
// the meaning of a 1-D zero point.
Status subtract_zero_point(const Value& x, const Value* zp, bool rows, const std::string& zp_label,
                           std::vector<int32_t>* out) {
  out->resize(x.i.size());
  if (!zp || zp->numel() == 1) {
    const int64_t z = zp ? zp->i[0] : 0;
    for (size_t k = 0; k < x.i.size(); ++k) (*out)[k] = static_cast<int32_t>(x.i[k] - z);
    return Status::Ok();
  }
  std::vector<int64_t> zshape = zp->shape;
  const int64_t r = x.rank();
  if (zp->rank() == 1 && r >= 2) {
    zshape = rows ? std::vector<int64_t>{zp->shape[0], 1} : std::vector<int64_t>{1, zp->shape[0]};
  }
  std::vector<int64_t> joint;
  if (r < 2 || !broadcast_shapes(zshape, x.shape, &joint) || joint != x.shape ||
      zshape.back() != (rows ? 1 : x.shape[r - 1]) ||
      (zshape.size() >= 2 && zshape[zshape.size() - 2] != (rows ? x.shape[r - 2] : 1))) {
    return Status::Error(zp_label + " " + describe(*zp) + " is neither a scalar nor per-" +
                         (rows ? "row" : "column") + " for " + describe(x));
  }
  const std::vector<int64_t> strides = broadcast_strides(zshape, x.shape);
  std::vector<int64_t> idx(r, 0);
  for (size_t k = 0; k < x.i.size(); ++k) {
    int64_t zk = 0;
    for (int64_t d = 0; d < r; ++d) zk += idx[d] * strides[d];
    (*out)[k] = static_cast<int32_t>(x.i[k] - zp->i[zk]);
    for (int64_t d = r - 1; d >= 0; --d) {
      if (++idx[d] < x.shape[d]) break;
      idx[d] = 0;
    }
  }
  return Status::Ok();
}

// numpy matmul of int32 operands with batch broadcasting and 1-D promotion; y wraps at 32 bits.
// `rows_m`/`cols_n` receive M and N of the (promoted) product.
Status int_matmul(std::vector<int64_t> as, const std::vector<int32_t>& a, std::vector<int64_t> bs,
                  const std::vector<int32_t>& b, std::vector<int64_t>* ys, std::vector<int32_t>* y,
                  int64_t* rows_m, int64_t* cols_n) {
  if (as.empty() || bs.empty()) return Status::Error("matrix product of a scalar");
  const bool a1 = as.size() == 1, b1 = bs.size() == 1;
  if (a1) as.insert(as.begin(), 1);
  if (b1) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), kb = bs[bs.size() - 2], n = bs.back();
  if (k != kb) {
    return Status::Error("inner dimensions differ: " + shape_string(as) + " x " + shape_string(bs));
  }
  const std::vector<int64_t> abatch(as.begin(), as.end() - 2), bbatch(bs.begin(), bs.end() - 2);
  std::vector<int64_t> batch;
  if (!broadcast_shapes(abatch, bbatch, &batch)) {
    return Status::Error("batch dimensions do not broadcast: " + shape_string(as) + " x " +
                         shape_string(bs));
  }
  std::vector<int64_t> full = batch;
  full.push_back(m);
  full.push_back(n);
  int64_t total = 0, nb = 0;
  if (!checked_numel(full, &total) || !checked_numel(batch, &nb)) {
    return Status::Error("product shape " + shape_string(full) + " is too large");
  }
  *ys = batch;
  if (!a1) ys->push_back(m);
  if (!b1) ys->push_back(n);
  *rows_m = m;
  *cols_n = n;
  y->assign(total, 0);
  const std::vector<int64_t> sa = broadcast_strides(abatch, batch),
                             sb = broadcast_strides(bbatch, batch);
  std::vector<int64_t> idx(batch.size(), 0);
  std::vector<uint32_t> acc(n);
  for (int64_t bi = 0; bi < nb; ++bi) {
    int64_t oa = 0, ob = 0;
    for (size_t d = 0; d < batch.size(); ++d) oa += idx[d] * sa[d], ob += idx[d] * sb[d];
    const int32_t* pa = a.data() + oa * m * k;
    const int32_t* pb = b.data() + ob * k * n;
    int32_t* py = y->data() + bi * m * n;
    // A is often mostly zero codes (ReLU outputs at their zero point, blank pixels): then the
    // loop over A's nonzeros does less work than the dense GEMM (bench/RESULTS.md, issue 19).
    const int64_t nonzero_a = m * k - std::count(pa, pa + m * k, 0);
    if (static_cast<double>(nonzero_a) > kDenseGemmAboveDensity * static_cast<double>(m * k)) {
      kernels::exact_gemm(pa, pb, m, k, n, py);
    } else {
      for (int64_t i = 0; i < m; ++i) {
        std::fill(acc.begin(), acc.end(), 0u);
        for (int64_t kk = 0; kk < k; ++kk) {
          const int32_t av = pa[i * k + kk];
          if (av == 0) continue;
          const int32_t* brow = pb + kk * n;
          for (int64_t j = 0; j < n; ++j) acc[j] += static_cast<uint32_t>(av * brow[j]);
        }
        for (int64_t j = 0; j < n; ++j) py[i * n + j] = static_cast<int32_t>(acc[j]);
      }
    }
    for (int64_t d = static_cast<int64_t>(batch.size()) - 1; d >= 0; --d) {
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
  return Status::Ok();
}

// int_matmul with B constant and 2-D, given as the sparse form bt of its centered codes (rows =
// B's columns): a's leading dimensions are flattened into rows.
Status sparse_matmul(const std::vector<int64_t>& as, const std::vector<int32_t>& a,
                     const kernels::IntCsrMatrix& bt, std::vector<int64_t>* ys,
                     std::vector<int32_t>* y, int64_t* rows_m, int64_t* cols_n) {
  const int64_t k = bt.cols, n = bt.rows;
  if (as.empty()) return Status::Error("matrix product of a scalar");
  if (as.back() != k) {
    return Status::Error("inner dimensions differ: " + shape_string(as) + " x [" +
                         std::to_string(k) + "," + std::to_string(n) + "]");
  }
  *ys = std::vector<int64_t>(as.begin(), as.end() - 1);
  ys->push_back(n);
  int64_t total = 0;
  if (!checked_numel(*ys, &total)) return Status::Error("product shape is too large");
  *rows_m = as.size() >= 2 ? as[as.size() - 2] : 1;
  *cols_n = n;
  y->assign(static_cast<size_t>(total), 0);
  const int64_t rows = k > 0 ? static_cast<int64_t>(a.size()) / k : total / std::max<int64_t>(n, 1);
  if (n > 0 && rows > 0) kernels::dense_times_csr_t(a.data(), rows, k, bt, y->data());
  return Status::Ok();
}

// MatMulInteger: (A - a_zero_point) x (B - b_zero_point) as int32.
Result<CompiledOp> build_matmul_integer(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 4, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {}));
  const std::string la = input_label(node, 0, "A"), lb = input_label(node, 1, "B");
  const std::string lza = input_label(node, 2, "a_zero_point");
  const std::string lzb = input_label(node, 3, "b_zero_point");
  CompiledOp op;
  if (ctx.has_input(1) && ctx.constant(1)) op.weight = node.inputs[1];
  const std::shared_ptr<const kernels::IntCsrMatrix> sparse =
      sparse_int_weight(ctx, 1, 3, true, &op.density);
  op.sparse = sparse != nullptr;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_8bit(in[0], la));
    DEEPCOMP_RETURN_IF_ERROR(require_8bit(in[1], lb));
    const Value* za = in.size() > 2 ? in[2] : nullptr;
    const Value* zb = in.size() > 3 ? in[3] : nullptr;
    DEEPCOMP_RETURN_IF_ERROR(check_zero_point(za, *in[0], lza, la));
    DEEPCOMP_RETURN_IF_ERROR(check_zero_point(zb, *in[1], lzb, lb));
    std::vector<int32_t> a, b, y;
    DEEPCOMP_RETURN_IF_ERROR(subtract_zero_point(*in[0], za, true, lza, &a));
    std::vector<int64_t> ys;
    int64_t m = 0, n = 0;
    if (sparse) {
      DEEPCOMP_RETURN_IF_ERROR(sparse_matmul(in[0]->shape, a, *sparse, &ys, &y, &m, &n));
    } else {
      DEEPCOMP_RETURN_IF_ERROR(subtract_zero_point(*in[1], zb, false, lzb, &b));
      DEEPCOMP_RETURN_IF_ERROR(int_matmul(in[0]->shape, a, in[1]->shape, b, &ys, &y, &m, &n));
    }
    Value v = zeros_like_dtype(DType::kInt32, ys);
    for (size_t k = 0; k < y.size(); ++k) v.i[k] = y[k];
    (*out)[0] = std::move(v);
    return Status::Ok();
  };
  return op;
}

// A QLinearMatMul scale: one value, or 1-D of `len` (per row of a / per column of b); its zero
// point has the same shape.
Status check_side_scale(const Value* s, const Value* zp, int64_t len, const std::string& s_label,
                        const std::string& z_label) {
  DEEPCOMP_RETURN_IF_ERROR(require_scale(s, s_label));
  if (s->numel() != 1 && !(s->rank() == 1 && s->shape[0] == len)) {
    return Status::Error(s_label + " " + describe(*s) + " must be a scalar or 1-D of length " +
                         std::to_string(len));
  }
  if (zp && zp->shape != s->shape && !(zp->numel() == 1 && s->numel() == 1)) {
    return Status::Error(z_label + " " + describe(*zp) + " does not match the shape of " + s_label +
                         " " + describe(*s));
  }
  return Status::Ok();
}

// QLinearMatMul: inputs a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale,
// y_zero_point; the output dtype is y_zero_point's.
Result<CompiledOp> build_qlinear_matmul(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 8, 8, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {}));
  std::vector<std::string> l;
  for (const char* role : {"a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point",
                           "y_scale", "y_zero_point"}) {
    l.push_back(input_label(node, l.size(), role));
  }
  CompiledOp op;
  if (ctx.has_input(3) && ctx.constant(3)) op.weight = node.inputs[3];
  const std::shared_ptr<const kernels::IntCsrMatrix> sparse =
      sparse_int_weight(ctx, 3, 5, true, &op.density);
  op.sparse = sparse != nullptr;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_8bit(in[0], l[0]));
    DEEPCOMP_RETURN_IF_ERROR(require_8bit(in[3], l[3]));
    DEEPCOMP_RETURN_IF_ERROR(check_zero_point(in[2], *in[0], l[2], l[0]));
    DEEPCOMP_RETURN_IF_ERROR(check_zero_point(in[5], *in[3], l[5], l[3]));
    DEEPCOMP_RETURN_IF_ERROR(require_8bit(in[7], l[7]));
    DEEPCOMP_RETURN_IF_ERROR(require_scale(in[6], l[6]));
    if (in[6]->numel() != 1 || in[7]->numel() != 1) {
      return Status::Error(l[6] + " and " + l[7] + " must be scalars");
    }
    const Value& a = *in[0];
    const Value& b = *in[3];
    const int64_t m = a.rank() >= 2 ? a.shape[a.rank() - 2] : 1;
    const int64_t n = b.rank() >= 2 ? b.shape[b.rank() - 1] : 1;
    DEEPCOMP_RETURN_IF_ERROR(check_side_scale(in[1], in[2], m, l[1], l[2]));
    DEEPCOMP_RETURN_IF_ERROR(check_side_scale(in[4], in[5], n, l[4], l[5]));
    std::vector<int32_t> ad, bd, acc;
    DEEPCOMP_RETURN_IF_ERROR(subtract_zero_point(a, in[2], true, l[2], &ad));
    std::vector<int64_t> ys;
    int64_t pm = 0, pn = 0;
    if (sparse) {
      DEEPCOMP_RETURN_IF_ERROR(sparse_matmul(a.shape, ad, *sparse, &ys, &acc, &pm, &pn));
    } else {
      DEEPCOMP_RETURN_IF_ERROR(subtract_zero_point(b, in[5], false, l[5], &bd));
      DEEPCOMP_RETURN_IF_ERROR(int_matmul(a.shape, ad, b.shape, bd, &ys, &acc, &pm, &pn));
    }
    int64_t lo = 0, hi = 0;
    quant_range(in[7]->dtype, &lo, &hi);
    const int64_t yzp = in[7]->i[0];
    const float ysc = in[6]->f[0];
    const Value& sa = *in[1];
    const Value& sb = *in[4];
    // One multiplier per (row, column), in ONNX Runtime's order: a_scale * b_scale / y_scale.
    std::vector<float> mult(pm * pn);
    for (int64_t i = 0; i < pm; ++i) {
      for (int64_t j = 0; j < pn; ++j) {
        mult[i * pn + j] = sa.f[sa.numel() == 1 ? 0 : i] * sb.f[sb.numel() == 1 ? 0 : j] / ysc;
      }
    }
    Value y = zeros_like_dtype(in[7]->dtype, ys);
    for (size_t k = 0; k < acc.size(); ++k) {
      y.i[k] = requantize(acc[k], mult[k % mult.size()], yzp, lo, hi);
    }
    (*out)[0] = std::move(y);
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_quant_matmul_ops(Table* t) {
  (*t)["MatMulInteger"] = build_matmul_integer;
  (*t)["QLinearMatMul"] = build_qlinear_matmul;
}

}  // namespace deepcomp::runtime::ops
