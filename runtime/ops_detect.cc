// Detection and sampling operators: NonMaxSuppression (corner or center boxes, per batch and
// class, score threshold, max_output_boxes_per_class), RoiAlign (avg/max, half_pixel or
// output_half_pixel, sampling_ratio) and GridSample (2-D: bilinear/nearest/bicubic, zeros/border/
// reflection padding, align_corners; opset 20's names linear/cubic too).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

struct Box {
  double y1, x1, y2, x2;  // y1 <= y2, x1 <= x2
};

Box read_box(const float* b, bool center) {
  if (center) {
    // [x_center, y_center, width, height]
    return {b[1] - b[3] / 2.0, b[0] - b[2] / 2.0, b[1] + b[3] / 2.0, b[0] + b[2] / 2.0};
  }
  // [y1, x1, y2, x2] with the corners in either order.
  return {std::min<double>(b[0], b[2]), std::min<double>(b[1], b[3]), std::max<double>(b[0], b[2]),
          std::max<double>(b[1], b[3])};
}

double iou(const Box& a, const Box& b) {
  const double ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  const double iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (ih <= 0 || iw <= 0) return 0;
  const double inter = ih * iw;
  const double uni = (a.y2 - a.y1) * (a.x2 - a.x1) + (b.y2 - b.y1) * (b.x2 - b.x1) - inter;
  return uni > 0 ? inter / uni : 0;
}

Result<CompiledOp> build_nms(const BuildContext& ctx) {
  DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 2, 5, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {"center_point_box"}));
  const int64_t cpb = attr_int(*ctx.node, "center_point_box", 0);
  if (cpb != 0 && cpb != 1) return Status::Error("attribute center_point_box must be 0 or 1");
  CompiledOp op;
  op.run = [cpb](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "boxes"));
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[1], "scores"));
    const Value& boxes = *in[0];
    const Value& scores = *in[1];
    if (boxes.rank() != 3 || boxes.shape[2] != 4)
      return Status::Error("boxes must be [batch, boxes, 4], is " + describe(boxes));
    const int64_t nb = boxes.shape[0], n = boxes.shape[1];
    if (scores.rank() != 3 || scores.shape[0] != nb || scores.shape[2] != n) {
      return Status::Error("scores " + describe(scores) + " does not match boxes " +
                           describe(boxes));
    }
    const int64_t nc = scores.shape[1];
    auto scalar = [&](size_t k, const char* what, bool integer, double* v) -> Status {
      if (k >= in.size() || !in[k]) return Status::Ok();
      DEEPCOMP_RETURN_IF_ERROR(integer ? require_int(in[k], what) : require_float(in[k], what));
      if (in[k]->numel() != 1) return Status::Error(std::string(what) + " must hold one value");
      *v = in[k]->as_double(0);
      return Status::Ok();
    };
    double max_out = 0, iou_threshold = 0, score_threshold = -INFINITY;
    DEEPCOMP_RETURN_IF_ERROR(scalar(2, "max_output_boxes_per_class", true, &max_out));
    DEEPCOMP_RETURN_IF_ERROR(scalar(3, "iou_threshold", false, &iou_threshold));
    const bool has_score_threshold = in.size() > 4 && in[4];
    DEEPCOMP_RETURN_IF_ERROR(scalar(4, "score_threshold", false, &score_threshold));
    std::vector<int64_t> selected;
    std::vector<Box> all(n);
    std::vector<int64_t> order;
    std::vector<Box> kept;
    for (int64_t b = 0; b < nb; ++b) {
      for (int64_t i = 0; i < n; ++i) all[i] = read_box(&boxes.f[(b * n + i) * 4], cpb == 1);
      for (int64_t c = 0; c < nc; ++c) {
        const float* s = &scores.f[(b * nc + c) * n];
        order.clear();
        for (int64_t i = 0; i < n; ++i) {
          if (!has_score_threshold || s[i] > score_threshold) order.push_back(i);
        }
        // Highest score first; equal scores keep box order.
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t a, int64_t bb) { return s[a] > s[bb]; });
        kept.clear();
        for (int64_t i : order) {
          if (static_cast<double>(kept.size()) >= max_out) break;
          bool suppressed = false;
          for (const Box& k : kept) suppressed = suppressed || iou(k, all[i]) > iou_threshold;
          if (suppressed) continue;
          kept.push_back(all[i]);
          selected.insert(selected.end(), {b, c, i});
        }
      }
    }
    const int64_t count = static_cast<int64_t>(selected.size() / 3);
    (*out)[0] = Value::ints({count, 3}, std::move(selected));
    return Status::Ok();
  };
  return op;
}

// RoiAlign's bilinear sample of one plane (caffe2 / ONNX Runtime rules: samples more than one
// pixel outside contribute 0, others are clamped to the edge). `w` receives the four weights of
// the neighbours low-low, low-high, high-low, high-high, `idx` their offsets.
bool roi_sample(double y, double x, int64_t h, int64_t w, double wt[4], int64_t idx[4]) {
  if (y < -1.0 || y > h || x < -1.0 || x > w) return false;
  y = std::max(y, 0.0);
  x = std::max(x, 0.0);
  int64_t yl = static_cast<int64_t>(y), xl = static_cast<int64_t>(x), yh, xh;
  if (yl >= h - 1) {
    yh = yl = h - 1;
    y = static_cast<double>(yl);
  } else {
    yh = yl + 1;
  }
  if (xl >= w - 1) {
    xh = xl = w - 1;
    x = static_cast<double>(xl);
  } else {
    xh = xl + 1;
  }
  const double ly = y - yl, lx = x - xl, hy = 1 - ly, hx = 1 - lx;
  wt[0] = hy * hx, wt[1] = hy * lx, wt[2] = ly * hx, wt[3] = ly * lx;
  idx[0] = yl * w + xl, idx[1] = yl * w + xh, idx[2] = yh * w + xl, idx[3] = yh * w + xh;
  return true;
}

Result<CompiledOp> build_roi_align(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 3, 3, 1));
  DEEPCOMP_RETURN_IF_ERROR(
      check_attributes(node, {"coordinate_transformation_mode", "mode", "output_height",
                              "output_width", "sampling_ratio", "spatial_scale"}));
  // Opset 10 had no attribute and behaved as output_half_pixel; 16 defaults to half_pixel.
  const std::string transform = attr_string(node, "coordinate_transformation_mode",
                                            ctx.opset >= 16 ? "half_pixel" : "output_half_pixel");
  if (transform != "half_pixel" && transform != "output_half_pixel") {
    return Status::Error("attribute coordinate_transformation_mode=" + transform +
                         " is not supported");
  }
  const std::string mode = attr_string(node, "mode", "avg");
  if (mode != "avg" && mode != "max")
    return Status::Error("attribute mode=" + mode + " is not supported");
  const int64_t oh = attr_int(node, "output_height", 1), ow = attr_int(node, "output_width", 1);
  const int64_t ratio = attr_int(node, "sampling_ratio", 0);
  const double scale = attr_float(node, "spatial_scale", 1.0f);
  if (oh < 1 || ow < 1 || ratio < 0)
    return Status::Error("output sizes must be positive, sampling_ratio non-negative");
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[1], "rois"));
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[2], "batch_indices"));
    const Value& x = *in[0];
    const Value& rois = *in[1];
    if (x.rank() != 4) return Status::Error("X must be 4-D, is " + describe(x));
    if (rois.rank() != 2 || rois.shape[1] != 4)
      return Status::Error("rois must be [num_rois, 4], is " + describe(rois));
    const int64_t nr = rois.shape[0];
    if (in[2]->numel() != nr) return Status::Error("batch_indices must have one entry per roi");
    const int64_t c = x.shape[1], h = x.shape[2], w = x.shape[3];
    Value& y = (*out)[0];
    y = zeros_of(x.dtype, {nr, c, oh, ow});
    const double offset = transform == "half_pixel" ? 0.5 : 0.0;
    for (int64_t r = 0; r < nr; ++r) {
      const int64_t b = in[2]->i[r];
      if (b < 0 || b >= x.shape[0])
        return Status::Error("batch index " + std::to_string(b) + " out of range");
      const float* roi = &rois.f[r * 4];
      const double x1 = roi[0] * scale - offset, y1 = roi[1] * scale - offset;
      double rw = roi[2] * scale - offset - x1, rh = roi[3] * scale - offset - y1;
      if (transform == "output_half_pixel") {
        rw = std::max(rw, 1.0);
        rh = std::max(rh, 1.0);
      }
      const double bh = rh / oh, bw = rw / ow;
      const int64_t gh = ratio > 0 ? ratio : static_cast<int64_t>(std::ceil(rh / oh));
      const int64_t gw = ratio > 0 ? ratio : static_cast<int64_t>(std::ceil(rw / ow));
      if (gh > (1 << 16) || gw > (1 << 16))
        return Status::Error("roi too large for its sampling grid");
      const double count = std::max<double>(static_cast<double>(gh * gw), 1.0);
      for (int64_t ch = 0; ch < c; ++ch) {
        const float* plane = &x.f[(b * c + ch) * h * w];
        for (int64_t py = 0; py < oh; ++py) {
          for (int64_t px = 0; px < ow; ++px) {
            double acc = 0;
            bool first = true;
            for (int64_t iy = 0; iy < gh; ++iy) {
              const double sy = y1 + py * bh + (iy + 0.5) * bh / static_cast<double>(gh);
              for (int64_t ix = 0; ix < gw; ++ix) {
                const double sx = x1 + px * bw + (ix + 0.5) * bw / static_cast<double>(gw);
                double wt[4] = {0, 0, 0, 0};
                int64_t idx[4] = {0, 0, 0, 0};
                const bool inside = roi_sample(sy, sx, h, w, wt, idx);
                if (mode == "avg") {
                  if (inside) {
                    for (int q = 0; q < 4; ++q) acc += wt[q] * plane[idx[q]];
                  }
                } else {
                  // ONNX Runtime's max mode: the largest weighted neighbour over all samples.
                  double v = 0;
                  if (inside) {
                    v = wt[0] * plane[idx[0]];
                    for (int q = 1; q < 4; ++q) v = std::max(v, wt[q] * plane[idx[q]]);
                  }
                  acc = first ? v : std::max(acc, v);
                  first = false;
                }
              }
            }
            y.f[((r * c + ch) * oh + py) * ow + px] =
                static_cast<float>(mode == "avg" ? acc / count : acc);
          }
        }
      }
    }
    return Status::Ok();
  };
  return op;
}

enum class GridMode { kLinear, kNearest, kCubic };
enum class GridPad { kZeros, kBorder, kReflection };

// Reflects x into [lo, hi] (repeatedly, as a mirror would).
double reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const double d = lo - x;
    const int64_t n = static_cast<int64_t>(d / range);
    const double r = d - static_cast<double>(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double d = x - hi;
    const int64_t n = static_cast<int64_t>(d / range);
    const double r = d - static_cast<double>(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

void cubic_coeffs(double t, double c[4]) {
  const double a = -0.75;
  t = std::fabs(t);
  c[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
  c[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  c[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
  c[3] = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a;
}

Result<CompiledOp> build_grid_sample(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 2, 1));
  DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"align_corners", "mode", "padding_mode"}));
  const bool align = attr_int(node, "align_corners", 0) != 0;
  const std::string ms = attr_string(node, "mode", ctx.opset >= 20 ? "linear" : "bilinear");
  GridMode mode;
  if (ms == "bilinear" || ms == "linear") {
    mode = GridMode::kLinear;
  } else if (ms == "nearest") {
    mode = GridMode::kNearest;
  } else if (ms == "bicubic" || ms == "cubic") {
    mode = GridMode::kCubic;
  } else {
    return Status::Error("attribute mode=" + ms + " is not supported");
  }
  const std::string ps = attr_string(node, "padding_mode", "zeros");
  GridPad pad;
  if (ps == "zeros") {
    pad = GridPad::kZeros;
  } else if (ps == "border") {
    pad = GridPad::kBorder;
  } else if (ps == "reflection") {
    pad = GridPad::kReflection;
  } else {
    return Status::Error("attribute padding_mode=" + ps + " is not supported");
  }
  CompiledOp op;
  op.run = [=](const Inputs& in, std::vector<Value>* out) -> Status {
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[1], "grid"));
    const Value& x = *in[0];
    const Value& grid = *in[1];
    if (x.rank() != 4)
      return Status::Error("X must be 4-D (2-D GridSample only), is " + describe(x));
    const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
    if (grid.rank() != 4 || grid.shape[0] != n || grid.shape[3] != 2) {
      return Status::Error("grid " + describe(grid) + " must be [N, H_out, W_out, 2] for X " +
                           describe(x));
    }
    const int64_t oh = grid.shape[1], ow = grid.shape[2];
    Value& y = (*out)[0];
    y = zeros_of(x.dtype, {n, c, oh, ow});
    // The extent the normalized [-1, 1] maps to: pixel centers (align_corners) or pixel edges.
    const double xmin = align ? 0.0 : -0.5, xmax = align ? w - 1.0 : w - 0.5;
    const double ymin = align ? 0.0 : -0.5, ymax = align ? h - 1.0 : h - 0.5;
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t ch = 0; ch < c; ++ch) {
        const float* plane = &x.f[(b * c + ch) * h * w];
        // A pixel read with the padding rule for taps outside the image.
        auto pixel = [&](int64_t py, int64_t px) -> double {
          if (pad == GridPad::kZeros) {
            return (py < 0 || py >= h || px < 0 || px >= w) ? 0.0 : plane[py * w + px];
          }
          if (pad == GridPad::kReflection) {
            py = static_cast<int64_t>(reflect(static_cast<double>(py), ymin, ymax));
            px = static_cast<int64_t>(reflect(static_cast<double>(px), xmin, xmax));
          }
          return plane[std::clamp<int64_t>(py, 0, h - 1) * w + std::clamp<int64_t>(px, 0, w - 1)];
        };
        for (int64_t p = 0; p < oh * ow; ++p) {
          const float* g = &grid.f[(b * oh * ow + p) * 2];
          double gx = align ? (g[0] + 1.0) / 2.0 * (w - 1) : ((g[0] + 1.0) * w - 1.0) / 2.0;
          double gy = align ? (g[1] + 1.0) / 2.0 * (h - 1) : ((g[1] + 1.0) * h - 1.0) / 2.0;
          if (mode == GridMode::kNearest) {
            gx = std::nearbyint(gx);
            gy = std::nearbyint(gy);
          }
          // Nearest and linear move an outside point into the image first; cubic keeps it and
          // pads each of its 16 taps (PyTorch's grid_sample; moving the point too would drop
          // interior taps near the border, ONNX Runtime issue 10607).
          if (mode != GridMode::kCubic && (gx < xmin || gx > xmax || gy < ymin || gy > ymax)) {
            if (pad == GridPad::kBorder) {
              gx = std::clamp(gx, 0.0, w - 1.0);
              gy = std::clamp(gy, 0.0, h - 1.0);
            } else if (pad == GridPad::kReflection) {
              gx = reflect(gx, xmin, xmax);
              gy = reflect(gy, ymin, ymax);
            }
          }
          double v = 0;
          if (mode == GridMode::kNearest) {
            v = pixel(static_cast<int64_t>(gy), static_cast<int64_t>(gx));
          } else if (mode == GridMode::kLinear) {
            const int64_t x1 = static_cast<int64_t>(std::floor(gx)),
                          y1 = static_cast<int64_t>(std::floor(gy));
            const double dx = gx - x1, dy = gy - y1;
            v = (1 - dy) * ((1 - dx) * pixel(y1, x1) + dx * pixel(y1, x1 + 1)) +
                dy * ((1 - dx) * pixel(y1 + 1, x1) + dx * pixel(y1 + 1, x1 + 1));
          } else {
            const int64_t x0 = static_cast<int64_t>(std::floor(gx)) - 1,
                          y0 = static_cast<int64_t>(std::floor(gy)) - 1;
            double cx[4], cy[4];
            cubic_coeffs(gx - x0 - 1, cx);
            cubic_coeffs(gy - y0 - 1, cy);
            for (int i = 0; i < 4; ++i) {
              double row = 0;
              for (int j = 0; j < 4; ++j) row += cx[j] * pixel(y0 + i, x0 + j);
              v += cy[i] * row;
            }
          }
          y.f[(b * c + ch) * oh * ow + p] = static_cast<float>(v);
        }
      }
    }
    return Status::Ok();
  };
  return op;
}

}  // namespace

void register_detect_ops(Table* t) {
  (*t)["NonMaxSuppression"] = build_nms;
  (*t)["RoiAlign"] = build_roi_align;
  (*t)["GridSample"] = build_grid_sample;
}

}  // namespace deepcomp::runtime::ops
