// Training ops: Gemm and MatMul (forward and backward with Eigen).
#include <Eigen/Dense>

#include "runtime/ops.h"
#include "train/ops.h"

namespace deepcomp::train {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<RowMat>;
using CMap = Eigen::Map<const RowMat>;

class GemmOp : public Op {
 public:
  GemmOp(float alpha, float beta, bool trans_a, bool trans_b)
      : alpha_(alpha), beta_(beta), ta_(trans_a), tb_(trans_b) {}
  bool differentiable_input(size_t) const override { return true; }

  Status forward(const std::vector<const Blob*>& in, Blob* out) const override {
    const Blob& a = *in[0];
    const Blob& b = *in[1];
    if (a.shape.size() != 2 || b.shape.size() != 2)
      return Status::Error("A " + shape_str(a.shape) + " and B " + shape_str(b.shape) +
                           " must be 2-D");
    const int64_t m = ta_ ? a.shape[1] : a.shape[0], k = ta_ ? a.shape[0] : a.shape[1];
    const int64_t kb = tb_ ? b.shape[1] : b.shape[0], n = tb_ ? b.shape[0] : b.shape[1];
    if (k != kb)
      return Status::Error("A " + shape_str(a.shape) + " and B " + shape_str(b.shape) +
                           " do not multiply");
    out->reset({m, n});
    Map y(out->v.data(), m, n);
    CMap am(a.v.data(), a.shape[0], a.shape[1]);
    CMap bm(b.v.data(), b.shape[0], b.shape[1]);
    if (ta_ && tb_) y.noalias() = am.transpose() * bm.transpose();
    else if (ta_) y.noalias() = am.transpose() * bm;
    else if (tb_) y.noalias() = am * bm.transpose();
    else y.noalias() = am * bm;
    if (alpha_ != 1.0f) y *= alpha_;
    if (in.size() > 2 && in[2] != nullptr) {
      const Blob& c = *in[2];
      std::vector<int64_t> cs = c.shape;
      while (cs.size() < 2) cs.insert(cs.begin(), 1);
      if (cs.size() != 2 || (cs[0] != 1 && cs[0] != m) || (cs[1] != 1 && cs[1] != n))
        return Status::Error("C " + shape_str(c.shape) + " does not broadcast to " +
                             shape_str({m, n}));
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j)
          y(i, j) += beta_ * c.v[static_cast<size_t>((cs[0] == 1 ? 0 : i) * cs[1] +
                                                     (cs[1] == 1 ? 0 : j))];
    }
    return Status::Ok();
  }

  Status backward(const std::vector<const Blob*>& in, const Blob& out, const Blob& dout,
                  const std::vector<Blob*>& din) const override {
    const Blob& a = *in[0];
    const Blob& b = *in[1];
    const int64_t m = out.shape[0], n = out.shape[1];
    CMap dy(dout.v.data(), m, n);
    CMap am(a.v.data(), a.shape[0], a.shape[1]);
    CMap bm(b.v.data(), b.shape[0], b.shape[1]);
    if (din[0] != nullptr) {  // dA = alpha dY op(B)^T (transposed back when transA)
      Map da(din[0]->v.data(), a.shape[0], a.shape[1]);
      if (!ta_ && !tb_) da.noalias() += alpha_ * dy * bm.transpose();
      else if (!ta_ && tb_) da.noalias() += alpha_ * dy * bm;
      else if (ta_ && !tb_) da.noalias() += alpha_ * bm * dy.transpose();
      else da.noalias() += alpha_ * bm.transpose() * dy.transpose();
    }
    if (din[1] != nullptr) {
      Map db(din[1]->v.data(), b.shape[0], b.shape[1]);
      if (!ta_ && !tb_) db.noalias() += alpha_ * am.transpose() * dy;
      else if (!ta_ && tb_) db.noalias() += alpha_ * dy.transpose() * am;
      else if (ta_ && !tb_) db.noalias() += alpha_ * am * dy;
      else db.noalias() += alpha_ * dy.transpose() * am.transpose();
    }
    if (in.size() > 2 && in[2] != nullptr && din.size() > 2 && din[2] != nullptr) {
      std::vector<int64_t> cs = in[2]->shape;
      while (cs.size() < 2) cs.insert(cs.begin(), 1);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j)
          din[2]->v[static_cast<size_t>((cs[0] == 1 ? 0 : i) * cs[1] + (cs[1] == 1 ? 0 : j))] +=
              beta_ * dy(i, j);
    }
    return Status::Ok();
  }

 private:
  float alpha_, beta_;
  bool ta_, tb_;
};

// MatMul of A [..., K] by a 2-D B [K, N] (the layer form), or 2-D by 2-D.
class MatMulOp : public Op {
 public:
  bool differentiable_input(size_t) const override { return true; }
  Status forward(const std::vector<const Blob*>& in, Blob* out) const override {
    const Blob& a = *in[0];
    const Blob& b = *in[1];
    if (a.shape.size() < 2 || b.shape.size() != 2 || a.shape.back() != b.shape[0])
      return Status::Error("A " + shape_str(a.shape) + " times B " + shape_str(b.shape) +
                           ": training supports A[..., K] x B[K, N] only");
    const int64_t k = b.shape[0], n = b.shape[1], rows = a.numel() / k;
    std::vector<int64_t> shape = a.shape;
    shape.back() = n;
    out->reset(shape);
    Map(out->v.data(), rows, n).noalias() = CMap(a.v.data(), rows, k) * CMap(b.v.data(), k, n);
    return Status::Ok();
  }
  Status backward(const std::vector<const Blob*>& in, const Blob&, const Blob& dout,
                  const std::vector<Blob*>& din) const override {
    const Blob& a = *in[0];
    const Blob& b = *in[1];
    const int64_t k = b.shape[0], n = b.shape[1], rows = a.numel() / k;
    CMap dy(dout.v.data(), rows, n);
    if (din[0] != nullptr)
      Map(din[0]->v.data(), rows, k).noalias() += dy * CMap(b.v.data(), k, n).transpose();
    if (din[1] != nullptr)
      Map(din[1]->v.data(), k, n).noalias() += CMap(a.v.data(), rows, k).transpose() * dy;
    return Status::Ok();
  }
};

}  // namespace

Result<std::unique_ptr<Op>> make_dense_op(const Node& node, const std::vector<ConstInput>&) {
  if (node.op_type == "Gemm") {
    DEEPCOMP_RETURN_IF_ERROR(
        runtime::ops::check_attributes(node, {"alpha", "beta", "transA", "transB"}));
    if (node.inputs.size() < 2) return Status::Error("Gemm needs inputs A and B");
    return std::unique_ptr<Op>(new GemmOp(runtime::ops::attr_float(node, "alpha", 1.0f),
                                          runtime::ops::attr_float(node, "beta", 1.0f),
                                          runtime::ops::attr_int(node, "transA", 0) != 0,
                                          runtime::ops::attr_int(node, "transB", 0) != 0));
  }
  if (node.op_type == "MatMul") {
    if (node.inputs.size() != 2) return Status::Error("MatMul needs 2 inputs");
    return std::unique_ptr<Op>(new MatMulOp());
  }
  return std::unique_ptr<Op>();
}

}  // namespace deepcomp::train
