// Training ops: 2-D Conv (groups, strides, pads, dilations; im2col + Eigen), MaxPool and
// AveragePool (2-D), forward and backward.
#include <Eigen/Dense>
#include <cmath>
#include <limits>

#include "runtime/ops.h"
#include "train/ops.h"

namespace deepcomp::train {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<RowMat>;
using CMap = Eigen::Map<const RowMat>;
namespace rops = runtime::ops;

// Window geometry of a 2-D conv or pool over [N, C, H, W].
struct Geometry {
  std::string auto_pad = "NOTSET";
  std::vector<int64_t> kernel, strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0};
  bool ceil_mode = false;

  Status resolve(const std::vector<int64_t>& x, int64_t* oh, int64_t* ow, int64_t* pt,
                 int64_t* pl) const {
    std::vector<int64_t> begin, end;
    DEEPCOMP_RETURN_IF_ERROR(rops::resolve_pads(auto_pad, {x[2], x[3]}, kernel, strides,
                                                dilations, pads, &begin, &end));
    int64_t out[2];
    for (int d = 0; d < 2; ++d) {
      const int64_t span = x[2 + d] + begin[d] + end[d] - ((kernel[d] - 1) * dilations[d] + 1);
      if (span < 0)
        return Status::Error("window larger than the padded input " + shape_str(x));
      out[d] = (ceil_mode ? (span + strides[d] - 1) / strides[d] : span / strides[d]) + 1;
    }
    *oh = out[0];
    *ow = out[1];
    *pt = begin[0];
    *pl = begin[1];
    return Status::Ok();
  }
};

Status read_geometry(const Node& node, Geometry* g, bool pool) {
  g->auto_pad = rops::attr_string(node, "auto_pad", "NOTSET");
  DEEPCOMP_RETURN_IF_ERROR(rops::check_auto_pad(g->auto_pad));
  g->kernel = rops::attr_ints(node, "kernel_shape");
  g->strides = rops::attr_ints(node, "strides", {1, 1});
  g->dilations = rops::attr_ints(node, "dilations", {1, 1});
  g->pads = rops::attr_ints(node, "pads", {0, 0, 0, 0});
  g->ceil_mode = pool && rops::attr_int(node, "ceil_mode", 0) != 0;
  if ((!g->kernel.empty() && g->kernel.size() != 2) || g->strides.size() != 2 ||
      g->dilations.size() != 2 || g->pads.size() != 4)
    return Status::Error("training supports 2-D windows only");
  for (int64_t v : g->strides)
    if (v < 1) return Status::Error("strides must be >= 1");
  for (int64_t v : g->dilations)
    if (v < 1) return Status::Error("dilations must be >= 1");
  for (int64_t v : g->pads)
    if (v < 0) return Status::Error("negative pads are not supported");
  return Status::Ok();
}

class ConvOp : public Op {
 public:
  ConvOp(Geometry g, int64_t group) : g_(std::move(g)), group_(group) {}
  bool differentiable_input(size_t) const override { return true; }

  Status forward(const std::vector<const Blob*>& in, Blob* out) const override {
    const Blob& x = *in[0];
    const Blob& w = *in[1];
    if (x.shape.size() != 4 || w.shape.size() != 4)
      return Status::Error("X " + shape_str(x.shape) + " and W " + shape_str(w.shape) +
                           ": training supports 2-D convolution only");
    Geometry g = g_;
    if (g.kernel.empty()) g.kernel = {w.shape[2], w.shape[3]};
    if (x.shape[1] != w.shape[1] * group_ || w.shape[0] % group_ != 0 ||
        g.kernel[0] != w.shape[2] || g.kernel[1] != w.shape[3])
      return Status::Error("X " + shape_str(x.shape) + " and W " + shape_str(w.shape) +
                           " do not match (group " + std::to_string(group_) + ")");
    int64_t oh, ow, pt, pl;
    DEEPCOMP_RETURN_IF_ERROR(g.resolve(x.shape, &oh, &ow, &pt, &pl));
    const int64_t n = x.shape[0], m = w.shape[0];
    out->reset({n, m, oh, ow});
    const Blob* bias = in.size() > 2 ? in[2] : nullptr;
    if (bias != nullptr && bias->numel() != m)
      return Status::Error("bias " + shape_str(bias->shape) + " for " + std::to_string(m) +
                           " output channels");
    const int64_t cg = w.shape[1], mg = m / group_, kk = cg * w.shape[2] * w.shape[3];
    RowMat col(kk, oh * ow);
    for (int64_t s = 0; s < n; ++s) {
      for (int64_t gi = 0; gi < group_; ++gi) {
        im2col(g, x, s, gi * cg, cg, oh, ow, pt, pl, &col);
        Map y(out->v.data() + ((s * m) + gi * mg) * oh * ow, mg, oh * ow);
        y.noalias() = CMap(w.v.data() + gi * mg * kk, mg, kk) * col;
        if (bias != nullptr)
          for (int64_t o = 0; o < mg; ++o) y.row(o).array() += bias->v[static_cast<size_t>(gi * mg + o)];
      }
    }
    return Status::Ok();
  }

  Status backward(const std::vector<const Blob*>& in, const Blob& out, const Blob& dout,
                  const std::vector<Blob*>& din) const override {
    const Blob& x = *in[0];
    const Blob& w = *in[1];
    Geometry g = g_;
    if (g.kernel.empty()) g.kernel = {w.shape[2], w.shape[3]};
    int64_t oh, ow, pt, pl;
    DEEPCOMP_RETURN_IF_ERROR(g.resolve(x.shape, &oh, &ow, &pt, &pl));
    const int64_t n = x.shape[0], m = w.shape[0];
    const int64_t cg = w.shape[1], mg = m / group_, kk = cg * w.shape[2] * w.shape[3];
    RowMat col(kk, oh * ow), dcol(kk, oh * ow);
    for (int64_t s = 0; s < n; ++s) {
      for (int64_t gi = 0; gi < group_; ++gi) {
        CMap dy(dout.v.data() + ((s * m) + gi * mg) * oh * ow, mg, oh * ow);
        if (din[1] != nullptr) {
          im2col(g, x, s, gi * cg, cg, oh, ow, pt, pl, &col);
          Map(din[1]->v.data() + gi * mg * kk, mg, kk).noalias() += dy * col.transpose();
        }
        if (din[0] != nullptr) {
          dcol.noalias() = CMap(w.v.data() + gi * mg * kk, mg, kk).transpose() * dy;
          col2im(g, dcol, s, gi * cg, cg, oh, ow, pt, pl, din[0]);
        }
        if (din.size() > 2 && din[2] != nullptr)
          for (int64_t o = 0; o < mg; ++o) din[2]->v[static_cast<size_t>(gi * mg + o)] += dy.row(o).sum();
      }
    }
    (void)out;
    return Status::Ok();
  }

 private:
  static void im2col(const Geometry& g, const Blob& x, int64_t s, int64_t c0, int64_t cg,
                     int64_t oh, int64_t ow, int64_t pt, int64_t pl, RowMat* col) {
    const int64_t h = x.shape[2], wd = x.shape[3], c = x.shape[1];
    const int64_t kh = g.kernel[0], kw = g.kernel[1];
    for (int64_t ci = 0; ci < cg; ++ci)
      for (int64_t a = 0; a < kh; ++a)
        for (int64_t b = 0; b < kw; ++b) {
          float* row = col->data() + ((ci * kh + a) * kw + b) * oh * ow;
          const float* plane = x.v.data() + (s * c + c0 + ci) * h * wd;
          for (int64_t i = 0; i < oh; ++i) {
            const int64_t yi = i * g.strides[0] - pt + a * g.dilations[0];
            for (int64_t j = 0; j < ow; ++j) {
              const int64_t xj = j * g.strides[1] - pl + b * g.dilations[1];
              row[i * ow + j] = (yi >= 0 && yi < h && xj >= 0 && xj < wd) ? plane[yi * wd + xj] : 0.0f;
            }
          }
        }
  }
  static void col2im(const Geometry& g, const RowMat& dcol, int64_t s, int64_t c0, int64_t cg,
                     int64_t oh, int64_t ow, int64_t pt, int64_t pl, Blob* dx) {
    const int64_t h = dx->shape[2], wd = dx->shape[3], c = dx->shape[1];
    const int64_t kh = g.kernel[0], kw = g.kernel[1];
    for (int64_t ci = 0; ci < cg; ++ci)
      for (int64_t a = 0; a < kh; ++a)
        for (int64_t b = 0; b < kw; ++b) {
          const float* row = dcol.data() + ((ci * kh + a) * kw + b) * oh * ow;
          float* plane = dx->v.data() + (s * c + c0 + ci) * h * wd;
          for (int64_t i = 0; i < oh; ++i) {
            const int64_t yi = i * g.strides[0] - pt + a * g.dilations[0];
            if (yi < 0 || yi >= h) continue;
            for (int64_t j = 0; j < ow; ++j) {
              const int64_t xj = j * g.strides[1] - pl + b * g.dilations[1];
              if (xj >= 0 && xj < wd) plane[yi * wd + xj] += row[i * ow + j];
            }
          }
        }
  }

  Geometry g_;
  int64_t group_;
};

// MaxPool / AveragePool over [N, C, H, W]. Max routes the gradient to the first maximum of each
// window (the same element the forward pass picked, scanning in row-major order).
class PoolOp : public Op {
 public:
  PoolOp(Geometry g, bool max, bool count_pad) : g_(std::move(g)), max_(max), count_pad_(count_pad) {}

  Status forward(const std::vector<const Blob*>& in, Blob* out) const override {
    return run(*in[0], out, nullptr, nullptr);
  }
  Status backward(const std::vector<const Blob*>& in, const Blob&, const Blob& dout,
                  const std::vector<Blob*>& din) const override {
    if (din[0] == nullptr) return Status::Ok();
    return run(*in[0], nullptr, &dout, din[0]);
  }

 private:
  Status run(const Blob& x, Blob* out, const Blob* dout, Blob* dx) const {
    if (x.shape.size() != 4) return Status::Error("X " + shape_str(x.shape) + " must be 4-D");
    int64_t oh, ow, pt, pl;
    DEEPCOMP_RETURN_IF_ERROR(g_.resolve(x.shape, &oh, &ow, &pt, &pl));
    const int64_t planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3];
    if (out != nullptr) out->reset({x.shape[0], x.shape[1], oh, ow});
    for (int64_t p = 0; p < planes; ++p) {
      const float* src = x.v.data() + p * h * w;
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t best_at = -1, count = 0;
          double sum = 0;
          for (int64_t a = 0; a < g_.kernel[0]; ++a) {
            const int64_t yi = i * g_.strides[0] - pt + a * g_.dilations[0];
            for (int64_t b = 0; b < g_.kernel[1]; ++b) {
              const int64_t xj = j * g_.strides[1] - pl + b * g_.dilations[1];
              const bool inside = yi >= 0 && yi < h && xj >= 0 && xj < w;
              // Padding counts for the average when count_include_pad, except beyond the
              // explicit pads (ceil_mode overhang), as ONNX specifies.
              if (!inside) {
                if (count_pad_ && yi < h + (g_.pads[2]) && xj < w + g_.pads[3]) ++count;
                continue;
              }
              const float v = src[yi * w + xj];
              ++count;
              sum += v;
              if (best_at < 0 || v > best) {
                best = v;
                best_at = yi * w + xj;
              }
            }
          }
          const int64_t o = (p * oh + i) * ow + j;
          if (out != nullptr) {
            out->v[static_cast<size_t>(o)] =
                max_ ? best : (count > 0 ? static_cast<float>(sum / count) : 0.0f);
            continue;
          }
          const float g = dout->v[static_cast<size_t>(o)];
          float* dplane = dx->v.data() + p * h * w;
          if (max_) {
            if (best_at >= 0) dplane[best_at] += g;
            continue;
          }
          if (count == 0) continue;
          const float share = g / static_cast<float>(count);
          for (int64_t a = 0; a < g_.kernel[0]; ++a) {
            const int64_t yi = i * g_.strides[0] - pt + a * g_.dilations[0];
            for (int64_t b = 0; b < g_.kernel[1]; ++b) {
              const int64_t xj = j * g_.strides[1] - pl + b * g_.dilations[1];
              if (yi >= 0 && yi < h && xj >= 0 && xj < w) dplane[yi * w + xj] += share;
            }
          }
        }
    }
    return Status::Ok();
  }

  Geometry g_;
  bool max_, count_pad_;
};

}  // namespace

Result<std::unique_ptr<Op>> make_conv_op(const Node& node, const std::vector<ConstInput>&) {
  if (node.op_type == "Conv") {
    DEEPCOMP_RETURN_IF_ERROR(rops::check_attributes(
        node, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}));
    if (node.inputs.size() < 2) return Status::Error("Conv needs inputs X and W");
    Geometry g;
    DEEPCOMP_RETURN_IF_ERROR(read_geometry(node, &g, false));
    const int64_t group = rops::attr_int(node, "group", 1);
    if (group < 1) return Status::Error("group must be >= 1");
    return std::unique_ptr<Op>(new ConvOp(std::move(g), group));
  }
  const bool max = node.op_type == "MaxPool";
  if (max || node.op_type == "AveragePool") {
    DEEPCOMP_RETURN_IF_ERROR(rops::check_attributes(
        node, {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads",
               "storage_order", "strides"}));
    if (node.outputs.size() > 1 && !node.outputs[1].empty())
      return Status::Error("the Indices output is not supported in training");
    Geometry g;
    DEEPCOMP_RETURN_IF_ERROR(read_geometry(node, &g, true));
    if (g.kernel.size() != 2) return Status::Error("kernel_shape must have 2 entries");
    return std::unique_ptr<Op>(
        new PoolOp(std::move(g), max, rops::attr_int(node, "count_include_pad", 0) != 0));
  }
  return std::unique_ptr<Op>();
}

}  // namespace deepcomp::train
