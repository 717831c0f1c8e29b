// Resize (opsets 10 to 19) and Upsample (7, 9): nearest, linear and cubic interpolation over any
// axes, applied one axis at a time (N-D linear and cubic are separable), with every
// coordinate_transformation_mode, nearest_mode, cubic_coeff_a, exclude_outside,
// extrapolation_value (tf_crop_and_resize with roi), scales or sizes, axes and
// keep_aspect_ratio_policy. Float tensors interpolate in double and store float (bilinear images
// in float, as ONNX Runtime does: bilinear_images); integer tensors round the interpolated value
// to nearest. Nearest mode gathers the output in one pass.
#include <algorithm>
#include <cmath>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

enum class Mode { kNearest, kLinear, kCubic };

struct ResizeAttrs {
  Mode mode = Mode::kNearest;
  std::string transform = "half_pixel";        // coordinate_transformation_mode
  std::string nearest = "round_prefer_floor";  // nearest_mode
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0;
  std::vector<int64_t> axes;       // opset 18 `axes`; empty = every axis
  std::string aspect = "stretch";  // keep_aspect_ratio_policy
  // Input positions: -1 when the op has no such input.
  int roi_input = -1, scales_input = -1, sizes_input = -1;
  std::vector<float> scales_attr;  // Upsample-7
};

// The input taps of one output position along one axis: `count` (index, weight) pairs, or the
// extrapolation value when the position falls outside the input (tf_crop_and_resize).
struct AxisTaps {
  int count = 1;
  std::vector<int64_t> index;  // out * count
  std::vector<double> weight;  // out * count
  std::vector<char> outside;   // out
};

// Position in the input of output index `o` along an axis of `in` -> `out` elements. `length`
// is ONNX's length_resized: the unrounded in * scale when scales were given (so align_corners
// with scale 0.6 on 4 elements divides by 1.4, not by 1), else the output size.
double original_coordinate(const std::string& transform, double o, double scale, int64_t in,
                           int64_t out, double length, double roi_start, double roi_end) {
  if (transform == "half_pixel") return (o + 0.5) / scale - 0.5;
  if (transform == "asymmetric") return o / scale;
  if (transform == "pytorch_half_pixel") return length > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
  if (transform == "tf_half_pixel_for_nn") return (o + 0.5) / scale;
  if (transform == "align_corners") {
    return length > 1 ? o * static_cast<double>(in - 1) / (length - 1) : 0.0;
  }
  if (transform == "half_pixel_symmetric") {
    const double adjustment = out / (scale * in);
    const double center = in / 2.0;
    return center * (1 - adjustment) + (o + 0.5) / scale - 0.5;
  }
  // tf_crop_and_resize: the roi (as fractions of in - 1) sampled at `out` evenly spaced points.
  if (length > 1) return roi_start * (in - 1) + o * (roi_end - roi_start) * (in - 1) / (length - 1);
  return 0.5 * (roi_start + roi_end) * (in - 1);
}

int64_t nearest_index(const std::string& mode, double x) {
  const double fl = std::floor(x);
  if (mode == "floor") return static_cast<int64_t>(fl);
  if (mode == "ceil") return static_cast<int64_t>(std::ceil(x));
  if (x - fl == 0.5) return static_cast<int64_t>(mode == "round_prefer_ceil" ? fl + 1 : fl);
  return static_cast<int64_t>(std::round(x));
}

// Keys' cubic convolution weights for the neighbours floor(x) - 1 .. floor(x) + 2.
void cubic_weights(double a, double t, double w[4]) {
  const double d0 = t + 1, d1 = t, d2 = 1 - t, d3 = 2 - t;
  w[0] = ((a * d0 - 5 * a) * d0 + 8 * a) * d0 - 4 * a;
  w[1] = ((a + 2) * d1 - (a + 3)) * d1 * d1 + 1;
  w[2] = ((a + 2) * d2 - (a + 3)) * d2 * d2 + 1;
  w[3] = ((a * d3 - 5 * a) * d3 + 8 * a) * d3 - 4 * a;
}

AxisTaps axis_taps(const ResizeAttrs& a, int64_t in, int64_t out, double scale, double length,
                   double roi_start, double roi_end) {
  AxisTaps t;
  t.count = a.mode == Mode::kNearest ? 1 : a.mode == Mode::kLinear ? 2 : 4;
  t.index.assign(out * t.count, 0);
  t.weight.assign(out * t.count, 0.0);
  t.outside.assign(out, 0);
  const bool crop = a.transform == "tf_crop_and_resize";
  for (int64_t o = 0; o < out; ++o) {
    const double x = original_coordinate(a.transform, static_cast<double>(o), scale, in, out,
                                         length, roi_start, roi_end);
    if (crop && (x < 0 || x > static_cast<double>(in - 1))) {
      t.outside[o] = 1;
      continue;
    }
    int64_t* idx = &t.index[o * t.count];
    double* w = &t.weight[o * t.count];
    if (a.mode == Mode::kNearest) {
      idx[0] = std::clamp<int64_t>(nearest_index(a.nearest, x), 0, in - 1);
      w[0] = 1;
      continue;
    }
    const double fl = std::floor(x);
    const double frac = x - fl;
    const int64_t base = static_cast<int64_t>(fl);
    if (a.mode == Mode::kLinear) {
      // Out-of-range neighbours read the edge, as ONNX's edge padding does.
      idx[0] = std::clamp<int64_t>(base, 0, in - 1);
      idx[1] = std::clamp<int64_t>(base + 1, 0, in - 1);
      w[0] = 1 - frac;
      w[1] = frac;
      continue;
    }
    cubic_weights(a.cubic_a, frac, w);
    double sum = 0;
    for (int j = 0; j < 4; ++j) {
      const int64_t n = base - 1 + j;
      if (a.exclude_outside && (n < 0 || n >= in)) w[j] = 0;
      sum += w[j];
      idx[j] = std::clamp<int64_t>(n, 0, in - 1);
    }
    if (a.exclude_outside && sum != 0) {
      for (int j = 0; j < 4; ++j) w[j] /= sum;
    }
  }
  return t;
}

// Interpolates axis `axis` of `src` (shape `shape`) into `dst`, whose axis has taps.outside.size()
// elements.
template <typename T>
void apply_axis(const std::vector<T>& src, const std::vector<int64_t>& shape, size_t axis,
                const AxisTaps& taps, double extrapolation, bool round_result,
                std::vector<T>* dst) {
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= shape[d];
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t in = shape[axis], out = static_cast<int64_t>(taps.outside.size());
  dst->assign(outer * out * inner, T{});
  for (int64_t p = 0; p < outer; ++p) {
    const T* s = src.data() + p * in * inner;
    T* d = dst->data() + p * out * inner;
    for (int64_t o = 0; o < out; ++o) {
      T* row = d + o * inner;
      if (taps.outside[o]) {
        std::fill(row, row + inner, static_cast<T>(extrapolation));
        continue;
      }
      const int64_t* idx = &taps.index[o * taps.count];
      const double* w = &taps.weight[o * taps.count];
      for (int64_t k = 0; k < inner; ++k) {
        double v = 0;
        for (int j = 0; j < taps.count; ++j) v += w[j] * static_cast<double>(s[idx[j] * inner + k]);
        row[k] = static_cast<T>(round_result ? std::nearbyint(v) : v);
      }
    }
  }
}

// Nearest mode: every output element is one input element, so the output is gathered in one
// pass (the per-axis path would interpolate each axis with weight 1). The last axis goes through
// an index table; an output row whose source row equals the previous one's is a copy of it.
template <typename T>
void gather_nearest(const std::vector<T>& src, const std::vector<int64_t>& in_shape,
                    const std::vector<std::vector<int64_t>>& index,
                    const std::vector<int64_t>& out_shape, std::vector<T>* dst) {
  const size_t r = in_shape.size();
  const int64_t width = out_shape[r - 1];
  const int64_t* last = index[r - 1].data();
  std::vector<int64_t> in_stride(r, 1);
  for (size_t d = r - 1; d-- > 0;) in_stride[d] = in_stride[d + 1] * in_shape[d + 1];
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < r; ++d) rows *= out_shape[d];
  std::vector<int64_t> pos(r, 0);  // output row's index on each leading axis
  int64_t prev = -1;
  T* out = dst->data();
  for (int64_t row = 0; row < rows; ++row, out += width) {
    int64_t from = 0;
    for (size_t d = 0; d + 1 < r; ++d) from += index[d][pos[d]] * in_stride[d];
    if (from == prev) {
      std::copy(out - width, out, out);
    } else {
      const T* s = src.data() + from;
      for (int64_t k = 0; k < width; ++k) out[k] = s[last[k]];
      prev = from;
    }
    for (size_t d = r - 1; d-- > 0;) {
      if (++pos[d] < out_shape[d]) break;
      pos[d] = 0;
    }
  }
}

Status read_floats(const Value* v, const char* what, std::vector<double>* out) {
  DEEPCOMP_RETURN_IF_ERROR(require_float(v, what));
  if (v->rank() > 1) return Status::Error(std::string(what) + " must be 1-D, is " + describe(*v));
  out->assign(v->f.begin(), v->f.end());
  return Status::Ok();
}

// Bilinear over the last two axes of float data with half_pixel coordinates, in ONNX Runtime's
// CPU arithmetic: each axis's source coordinate in float ((o + 0.5) / scale - 0.5 with the float
// scale), clamped into the input, its two neighbours and their distances in float, then the four
// weighted taps summed in float in ORT's order. The per-axis path (double weights, one axis at a
// time) differed from ORT by an ulp in 16% of IS-Net's upsampled values, and the dynamic
// quantizations after them turned those ulps into percent-level output differences.
struct BilinearAxis {
  std::vector<int64_t> lo, hi;
  std::vector<float> d_lo, d_hi;  // distance to lo, to hi
};
BilinearAxis bilinear_axis(int64_t in, int64_t out, float scale, bool pytorch) {
  BilinearAxis b;
  for (int64_t o = 0; o < out; ++o) {
    float x = pytorch && out == 1 ? 0.0f : (static_cast<float>(o) + 0.5f) / scale - 0.5f;
    x = std::max(0.0f, std::min(x, static_cast<float>(in - 1)));
    const int64_t lo = std::min(static_cast<int64_t>(x), in - 1), hi = std::min(lo + 1, in - 1);
    float d_lo = std::abs(x - static_cast<float>(lo)), d_hi = std::abs(x - static_cast<float>(hi));
    if (lo == hi) d_lo = d_hi = 0.5f;
    b.lo.push_back(lo), b.hi.push_back(hi), b.d_lo.push_back(d_lo), b.d_hi.push_back(d_hi);
  }
  return b;
}
void bilinear_images(const std::vector<float>& src, const std::vector<int64_t>& in_shape,
                     const std::vector<int64_t>& out_shape, float scale_h, float scale_w,
                     bool pytorch, std::vector<float>* dst) {
  const size_t r = in_shape.size();
  const int64_t H = in_shape[r - 2], W = in_shape[r - 1], OH = out_shape[r - 2],
                OW = out_shape[r - 1];
  int64_t images = 1;
  for (size_t d = 0; d + 2 < r; ++d) images *= in_shape[d];
  const BilinearAxis ys = bilinear_axis(H, OH, scale_h, pytorch);
  const BilinearAxis xs = bilinear_axis(W, OW, scale_w, pytorch);
  for (int64_t n = 0; n < images; ++n) {
    const float* x = src.data() + n * H * W;
    float* y = dst->data() + n * OH * OW;
    for (int64_t oy = 0; oy < OH; ++oy) {
      const float* r1 = x + ys.lo[oy] * W;
      const float* r2 = x + ys.hi[oy] * W;
      const float dy1 = ys.d_lo[oy], dy2 = ys.d_hi[oy];
      for (int64_t ox = 0; ox < OW; ++ox) {
        const int64_t x1 = xs.lo[ox], x2 = xs.hi[ox];
        const float dx1 = xs.d_lo[ox], dx2 = xs.d_hi[ox];
        y[oy * OW + ox] = dx2 * dy2 * r1[x1] + dx1 * dy2 * r1[x2] + dx2 * dy1 * r2[x1] +
                          dx1 * dy1 * r2[x2];
      }
    }
  }
}

Status run_resize(const ResizeAttrs& a, const Inputs& in, std::vector<Value>* out) {
  DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "X"));
  const Value& x = *in[0];
  if (!x.is_float() && !x.is_integer())
    return Status::Error("X must be numeric, is " + describe(x));
  const int64_t r = x.rank();
  if (r < 1) return Status::Error("X must have at least one dimension");
  auto given = [&](int k) -> const Value* {
    if (k < 0 || static_cast<size_t>(k) >= in.size() || !in[k] || in[k]->numel() == 0)
      return nullptr;
    return in[k];
  };
  // The axes scales/sizes/roi talk about.
  std::vector<int64_t> axes;
  for (int64_t ax : a.axes) {
    int64_t n = 0;
    if (!normalize_axis(ax, r, &n))
      return Status::Error("axes entry out of range for " + describe(x));
    if (std::find(axes.begin(), axes.end(), n) != axes.end())
      return Status::Error("repeated axes entry");
    axes.push_back(n);
  }
  if (axes.empty()) {
    for (int64_t d = 0; d < r; ++d) axes.push_back(d);
  }
  const size_t na = axes.size();
  std::vector<double> scale(r, 1.0), roi_start(r, 0.0), roi_end(r, 1.0), length(r, 0.0);
  std::vector<int64_t> out_shape = x.shape;
  for (int64_t d = 0; d < r; ++d) length[d] = static_cast<double>(x.shape[d]);
  std::vector<double> scales;
  if (!a.scales_attr.empty()) {
    scales.assign(a.scales_attr.begin(), a.scales_attr.end());
  } else if (const Value* s = given(a.scales_input)) {
    DEEPCOMP_RETURN_IF_ERROR(read_floats(s, "scales", &scales));
  }
  const Value* sizes_v = given(a.sizes_input);
  if (!scales.empty() && sizes_v) return Status::Error("only one of scales and sizes may be given");
  if (scales.empty() && !sizes_v) return Status::Error("one of scales and sizes must be given");
  const bool crop = a.transform == "tf_crop_and_resize";
  if (crop) {
    const Value* roi = given(a.roi_input);
    if (!roi) return Status::Error("tf_crop_and_resize needs roi");
    std::vector<double> rv;
    DEEPCOMP_RETURN_IF_ERROR(read_floats(roi, "roi", &rv));
    if (rv.size() != 2 * na) {
      return Status::Error("roi has " + std::to_string(rv.size()) + " entries for " +
                           std::to_string(na) + " axes");
    }
    for (size_t k = 0; k < na; ++k) {
      roi_start[axes[k]] = rv[k];
      roi_end[axes[k]] = rv[k + na];
    }
  }
  if (!scales.empty()) {
    if (scales.size() != na) {
      return Status::Error("scales has " + std::to_string(scales.size()) + " entries for " +
                           std::to_string(na) + " axes");
    }
    for (size_t k = 0; k < na; ++k) {
      const int64_t d = axes[k];
      if (!(scales[k] > 0) || !std::isfinite(scales[k]))
        return Status::Error("scales must be positive");
      scale[d] = scales[k];
      const double extent = crop ? roi_end[d] - roi_start[d] : 1.0;
      length[d] = static_cast<double>(x.shape[d]) * extent * scales[k];
      if (!(length[d] <= 1e12)) return Status::Error("scales give an output size out of range");
      out_shape[d] = static_cast<int64_t>(std::floor(length[d]));
    }
  } else {
    std::vector<int64_t> sizes;
    DEEPCOMP_RETURN_IF_ERROR(int_list(sizes_v, "sizes", &sizes));
    if (sizes.size() != na) {
      return Status::Error("sizes has " + std::to_string(sizes.size()) + " entries for " +
                           std::to_string(na) + " axes");
    }
    for (int64_t v : sizes) {
      if (v < 0) return Status::Error("sizes must not be negative");
    }
    if (a.aspect == "stretch") {
      for (size_t k = 0; k < na; ++k) {
        const int64_t d = axes[k];
        out_shape[d] = sizes[k];
        length[d] = static_cast<double>(sizes[k]);
        scale[d] =
            x.shape[d] > 0 ? static_cast<double>(sizes[k]) / static_cast<double>(x.shape[d]) : 1.0;
      }
    } else {
      // One scale for every axis: the largest that fits in sizes (not_larger) or the smallest
      // that covers it (not_smaller).
      double s = a.aspect == "not_larger" ? INFINITY : 0.0;
      for (size_t k = 0; k < na; ++k) {
        if (x.shape[axes[k]] == 0) continue;
        const double q = static_cast<double>(sizes[k]) / static_cast<double>(x.shape[axes[k]]);
        s = a.aspect == "not_larger" ? std::min(s, q) : std::max(s, q);
      }
      if (!std::isfinite(s)) s = 1.0;
      for (size_t k = 0; k < na; ++k) {
        const int64_t d = axes[k];
        scale[d] = s;
        out_shape[d] = static_cast<int64_t>(std::floor(s * static_cast<double>(x.shape[d]) + 0.5));
        length[d] = static_cast<double>(out_shape[d]);
      }
    }
  }
  int64_t elements = 0;
  if (!checked_numel(out_shape, &elements) || elements > (int64_t{1} << 32)) {
    return Status::Error("output " + shape_string(out_shape) + " is too large");
  }
  Value& y = (*out)[0];
  y = zeros_of(x.dtype, out_shape);
  if (elements == 0) return Status::Ok();
  for (int64_t d = 0; d < r; ++d) {
    if (x.shape[d] == 0) return Status::Error("cannot resize an empty axis to a non-empty one");
  }
  if (a.mode == Mode::kNearest && !crop) {
    std::vector<std::vector<int64_t>> index(r);
    for (int64_t d = 0; d < r; ++d) {
      if (out_shape[d] == x.shape[d] && scale[d] == 1.0) {
        index[d].resize(out_shape[d]);
        for (int64_t k = 0; k < out_shape[d]; ++k) index[d][k] = k;
      } else {
        index[d] =
            axis_taps(a, x.shape[d], out_shape[d], scale[d], length[d], roi_start[d], roi_end[d])
                .index;
      }
    }
    if (x.is_float()) {
      gather_nearest(x.f, x.shape, index, out_shape, &y.f);
    } else {
      gather_nearest(x.i, x.shape, index, out_shape, &y.i);
    }
    return Status::Ok();
  }
  // Images (only the last two axes resized), half_pixel, stretched: ORT's bilinear arithmetic.
  bool images = a.mode == Mode::kLinear && x.dtype == DType::kFloat32 && r >= 2 &&
                a.aspect == "stretch" &&
                (a.transform == "half_pixel" || a.transform == "pytorch_half_pixel");
  for (int64_t d = 0; d + 2 < r && images; ++d) {
    images = out_shape[d] == x.shape[d] && scale[d] == 1.0;
  }
  if (images) {
    // ORT's float scale: the given one, or output / input in float when sizes were given.
    auto float_scale = [&](int64_t d) {
      return scales.empty() ? static_cast<float>(out_shape[d]) / static_cast<float>(x.shape[d])
                            : static_cast<float>(scale[d]);
    };
    bilinear_images(x.f, x.shape, out_shape, float_scale(r - 2), float_scale(r - 1),
                    a.transform == "pytorch_half_pixel", &y.f);
    return Status::Ok();
  }
  std::vector<int64_t> shape = x.shape;
  std::vector<float> fcur = x.f, fnext;
  std::vector<int64_t> icur = x.i, inext;
  for (int64_t d = 0; d < r; ++d) {
    const bool identity = out_shape[d] == shape[d] && scale[d] == 1.0 && !crop;
    if (identity) continue;
    const AxisTaps taps =
        axis_taps(a, shape[d], out_shape[d], scale[d], length[d], roi_start[d], roi_end[d]);
    if (x.is_float()) {
      apply_axis(fcur, shape, d, taps, a.extrapolation, false, &fnext);
      fcur.swap(fnext);
    } else {
      apply_axis(icur, shape, d, taps, a.extrapolation, true, &inext);
      icur.swap(inext);
    }
    shape[d] = out_shape[d];
  }
  if (x.is_float()) {
    y.f = std::move(fcur);
  } else {
    y.i = std::move(icur);
  }
  return Status::Ok();
}

Result<Mode> parse_mode(const std::string& mode) {
  if (mode == "nearest") return Mode::kNearest;
  // Upsample-7 called linear interpolation "bilinear".
  if (mode == "linear" || mode == "bilinear") return Mode::kLinear;
  if (mode == "cubic") return Mode::kCubic;
  return Status::Error("attribute mode=" + mode + " is not supported");
}

Result<CompiledOp> build_resize(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  ResizeAttrs a;
  if (ctx.opset < 11) {
    // Resize-10: (X, scales), asymmetric coordinates, nearest rounds down.
    DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 2, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"mode"}));
    a.transform = "asymmetric";
    a.nearest = "floor";
    a.scales_input = 1;
  } else {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 4, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(
        node,
        {"antialias", "axes", "coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
         "extrapolation_value", "keep_aspect_ratio_policy", "mode", "nearest_mode"}));
    if (attr_int(node, "antialias", 0) != 0) {
      return Status::Error("attribute antialias=1 is not supported");
    }
    a.transform = attr_string(node, "coordinate_transformation_mode", "half_pixel");
    static const char* kTransforms[] = {
        "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
        "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    if (std::none_of(std::begin(kTransforms), std::end(kTransforms),
                     [&](const char* t) { return a.transform == t; })) {
      return Status::Error("attribute coordinate_transformation_mode=" + a.transform +
                           " is not supported");
    }
    a.nearest = attr_string(node, "nearest_mode", "round_prefer_floor");
    if (a.nearest != "round_prefer_floor" && a.nearest != "round_prefer_ceil" &&
        a.nearest != "floor" && a.nearest != "ceil") {
      return Status::Error("attribute nearest_mode=" + a.nearest + " is not supported");
    }
    a.cubic_a = attr_float(node, "cubic_coeff_a", -0.75f);
    a.exclude_outside = attr_int(node, "exclude_outside", 0) != 0;
    a.extrapolation = attr_float(node, "extrapolation_value", 0.0f);
    a.axes = attr_ints(node, "axes");
    a.aspect = attr_string(node, "keep_aspect_ratio_policy", "stretch");
    if (a.aspect != "stretch" && a.aspect != "not_larger" && a.aspect != "not_smaller") {
      return Status::Error("attribute keep_aspect_ratio_policy=" + a.aspect + " is not supported");
    }
    a.roi_input = 1;
    a.scales_input = 2;
    a.sizes_input = 3;
  }
  DEEPCOMP_ASSIGN_OR_RETURN(a.mode, parse_mode(attr_string(node, "mode", "nearest")));
  if (a.mode == Mode::kCubic && ctx.opset < 11) return Status::Error("mode=cubic needs opset 11");
  CompiledOp op;
  op.run = [a](const Inputs& in, std::vector<Value>* out) { return run_resize(a, in, out); };
  return op;
}

Result<CompiledOp> build_upsample(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  ResizeAttrs a;
  a.transform = "asymmetric";
  a.nearest = "floor";
  if (ctx.opset < 9) {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 1, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"mode", "scales"}));
    const Attribute* s = node.attr("scales");
    if (!s || s->floats.empty()) return Status::Error("attribute scales is required");
    a.scales_attr = s->floats;
  } else {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 2, 2, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(node, {"mode"}));
    a.scales_input = 1;
  }
  DEEPCOMP_ASSIGN_OR_RETURN(a.mode, parse_mode(attr_string(node, "mode", "nearest")));
  if (a.mode == Mode::kCubic)
    return Status::Error("attribute mode=cubic is not supported by Upsample");
  CompiledOp op;
  op.run = [a](const Inputs& in, std::vector<Value>* out) { return run_resize(a, in, out); };
  return op;
}

}  // namespace

void register_resize_ops(Table* t) {
  (*t)["Resize"] = build_resize;
  (*t)["Upsample"] = build_upsample;
}

}  // namespace deepcomp::runtime::ops
