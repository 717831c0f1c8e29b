// Pooling: MaxPool (optional Indices output), AveragePool (1-D to 3-D, pads, dilations,
// ceil_mode, count_include_pad, auto_pad), GlobalAveragePool and GlobalMaxPool (reduce_axes'
// arithmetic over the spatial dimensions, read plane by plane).
#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

struct PoolAttrs {
  bool max = true;
  std::string auto_pad;
  std::vector<int64_t> kernel, strides, pads, dilations;
  bool ceil_mode = false;
  bool count_include_pad = false;
  int64_t storage_order = 0;
};

// MaxPool outputs [ox0, ox1) of one 2-D output row whose windows lie wholly inside the input
// (no clipping), undilated along x: `first` points at output ox0's first tap. Each output is
// max'd over its taps in the general loop's order with its comparison (`v > best`, starting from
// the first tap), so NaNs and ties give the same bits. KW is the window width when it is a
// compile-time 2 or 3 (the common pools: fully unrolled), else 0 and `kw` is used.
template <int KW>
void max_interior(const float* first, int64_t width, int64_t row_step, int64_t kh, int64_t kw,
                  int64_t stride, int64_t ox0, int64_t ox1, float* row) {
  const int64_t w = KW ? KW : kw;
  for (int64_t ox = ox0; ox < ox1; ++ox) {
    const float* p = first + (ox - ox0) * stride;
    float best = p[0];
    for (int64_t ky = 0; ky < kh; ++ky) {
      const float* line = p + ky * row_step * width;
      for (int64_t kx = 0; kx < w; ++kx) best = line[kx] > best ? line[kx] : best;
    }
    row[ox] = best;
  }
}

// A 2-D MaxPool plane (in_h x in_w -> oh x ow; k, s, d, b as pool()'s 3-D arrays, index 1 for y
// and 2 for x) in two passes: row[y][ox], the max along x of input row y over output ox's clipped
// window taken from -inf, then the max of those along y. It gives the general loop's bits: that
// loop starts from the window's first tap and replaces on `v > best`, so its result is the first
// tap if that is NaN, else the first tap in window order that equals the maximum (of the
// non-NaN taps); the row pass keeps each row's first maximum and skips NaNs, the column pass the
// first row holding the maximum, and the first tap is checked for NaN apart. `taps` is pool()'s
// window clipping.
template <typename Taps>
void max_separable(const float* src, int64_t in_h, int64_t in_w, int64_t oh, int64_t ow,
                   const int64_t* k, const int64_t* s, const int64_t* d, const int64_t* b,
                   const Taps& taps, float* dst) {
  constexpr float kLow = -std::numeric_limits<float>::infinity();
  thread_local std::vector<float> rows;
  rows.resize(static_cast<size_t>(in_h * ow));
  thread_local std::vector<int64_t> first_x;
  first_x.resize(static_cast<size_t>(ow));
  for (int64_t ox = 0; ox < ow; ++ox) {
    const int64_t x0 = ox * s[2] - b[2];
    int64_t kx0, kx1;
    taps(x0, k[2], d[2], in_w, &kx0, &kx1);
    first_x[ox] = kx1 > kx0 ? x0 + kx0 * d[2] : -1;
  }
  // Row pass over each input row set in a line of -inf padding (a tap there never wins `v >
  // best` from -inf, so a clipped window gives the bits of its taps inside), taps outer and
  // outputs inner: contiguous, vectorized, each output still seeing its taps in order (by
  // output, taps inner, YOLOX's three SPP pools over 13x13 maps, which clip almost every window,
  // took 0.60 ms; now 0.51).
  const int64_t span = (ow - 1) * s[2] + (k[2] - 1) * d[2] + 1;
  thread_local std::vector<float> line;
  line.assign(static_cast<size_t>(span), kLow);
  const int64_t x_begin = std::max<int64_t>(0, -b[2]), x_end = std::min(in_w, span - b[2]);
  for (int64_t y = 0; y < in_h; ++y) {
    if (x_end > x_begin) {
      std::copy(src + y * in_w + x_begin, src + y * in_w + x_end, line.data() + x_begin + b[2]);
    }
    float* row = rows.data() + y * ow;
    std::fill(row, row + ow, kLow);
    for (int64_t kx = 0; kx < k[2]; ++kx) {
      const float* from = line.data() + kx * d[2];
      if (s[2] == 1) {
        for (int64_t ox = 0; ox < ow; ++ox) row[ox] = from[ox] > row[ox] ? from[ox] : row[ox];
      } else {
        const int64_t st = s[2];
        for (int64_t ox = 0; ox < ow; ++ox) {
          row[ox] = from[ox * st] > row[ox] ? from[ox * st] : row[ox];
        }
      }
    }
  }
  // Column pass: rows outer, outputs inner. The first row of a window is taken as it is (so a
  // column whose first tap is NaN is fixed after), then each later row in order.
  for (int64_t oy = 0; oy < oh; ++oy) {
    const int64_t y0 = oy * s[1] - b[1];
    int64_t ky0, ky1;
    taps(y0, k[1], d[1], in_h, &ky0, &ky1);
    float* out = dst + oy * ow;
    if (ky1 <= ky0) {
      std::fill(out, out + ow, kLow);
      continue;
    }
    const int64_t fy = y0 + ky0 * d[1];
    std::copy_n(rows.data() + fy * ow, ow, out);
    for (int64_t ky = ky0 + 1; ky < ky1; ++ky) {
      const float* row = rows.data() + (y0 + ky * d[1]) * ow;
      for (int64_t ox = 0; ox < ow; ++ox) out[ox] = row[ox] > out[ox] ? row[ox] : out[ox];
    }
    // (A column without x taps is -inf already: its row entries are all padding.)
    for (int64_t ox = 0; ox < ow; ++ox) {
      if (first_x[ox] < 0) continue;
      if (const float first = src[fy * in_w + first_x[ox]]; std::isnan(first)) out[ox] = first;
    }
  }
}

Status pool(const PoolAttrs& a, const Value& x, std::vector<Value>* out) {
  const int64_t sr = x.rank() - 2;
  if (sr < 1 || sr > 3)
    return Status::Error("pooling needs 1 to 3 spatial dimensions, input is " + describe(x));
  if (static_cast<int64_t>(a.kernel.size()) != sr)
    return Status::Error("kernel_shape does not match input rank");
  auto per_dim = [sr](const std::vector<int64_t>& v) {
    return v.empty() ? std::vector<int64_t>(sr, 1) : v;
  };
  const std::vector<int64_t> strides = per_dim(a.strides), dil = per_dim(a.dilations);
  if (static_cast<int64_t>(strides.size()) != sr || static_cast<int64_t>(dil.size()) != sr) {
    return Status::Error("strides/dilations do not match input rank");
  }
  std::vector<int64_t> in_dims(x.shape.begin() + 2, x.shape.end()), pb, pe;
  DEEPCOMP_RETURN_IF_ERROR(
      resolve_pads(a.auto_pad, in_dims, a.kernel, strides, dil, a.pads, &pb, &pe));
  // Work in 3-D: leading spatial dimensions of size 1.
  int64_t in3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, s3[3] = {1, 1, 1}, d3[3] = {1, 1, 1},
          b3[3] = {0, 0, 0}, e3[3] = {0, 0, 0}, o3[3] = {1, 1, 1};
  std::vector<int64_t> shape = {x.shape[0], x.shape[1]};
  for (int64_t d = 0; d < sr; ++d) {
    const int64_t t = d + 3 - sr;
    in3[t] = in_dims[d];
    k3[t] = a.kernel[d];
    s3[t] = strides[d];
    d3[t] = dil[d];
    b3[t] = pb[d];
    e3[t] = pe[d];
    if (k3[t] < 1 || s3[t] < 1 || d3[t] < 1)
      return Status::Error("kernel, strides and dilations must be positive");
    const int64_t span = in3[t] + b3[t] + e3[t] - (k3[t] - 1) * d3[t] - 1;
    if (span < 0) return Status::Error("the pooling window is larger than the padded input");
    int64_t o = span / s3[t] + 1;
    if (a.ceil_mode && span % s3[t] != 0) {
      ++o;
      // The last window must start inside the input or its begin padding.
      if ((o - 1) * s3[t] >= in3[t] + b3[t]) --o;
    }
    o3[t] = o;
    shape.push_back(o);
  }
  const int64_t planes = x.shape[0] * x.shape[1];
  const int64_t in_plane = in3[0] * in3[1] * in3[2], out_plane = o3[0] * o3[1] * o3[2];
  Value& y = (*out)[0];
  y = zeros_of(DType::kFloat32, shape);  // float storage recycled by the Session
  const bool want_indices = out->size() > 1;
  if (a.max && !want_indices) {
    // MaxPool without Indices: each output's window clipped to the input once (no per-tap
    // bounds tests, no running sum), taps visited in the same order with the same comparison,
    // so NaN and tie handling are those of the general loop below.
    const bool threaded = planes * out_plane * k3[0] * k3[1] * k3[2] > (1 << 16);
    // Big 2-D windows (YOLOX's SPP: 5x5, 9x9 and 13x13 over 13x13 maps) as a max along x, then
    // along y: k_h + k_w comparisons per output instead of k_h * k_w.
    const bool separable = in3[0] == 1 && k3[0] == 1 && k3[1] * k3[2] >= 16;
#pragma omp parallel for schedule(static) if (threaded)
    for (int64_t pl = 0; pl < planes; ++pl) {
      const float* src = x.f.data() + pl * in_plane;
      float* dst = y.f.data() + pl * out_plane;
      // First and end tap of a window starting at `start` along a dimension of n, dilation d.
      auto taps = [](int64_t start, int64_t k, int64_t d, int64_t n, int64_t* t0, int64_t* t1) {
        *t0 = start < 0 ? (-start + d - 1) / d : 0;
        *t1 = start + (k - 1) * d < n ? k : std::max<int64_t>(*t0, (n - 1 - start) / d + 1);
        if (start + *t0 * d >= n) *t1 = *t0;
      };
      if (separable) {
        max_separable(src, in3[1], in3[2], o3[1], o3[2], k3, s3, d3, b3, taps, dst);
        continue;
      }
      for (int64_t oz = 0; oz < o3[0]; ++oz) {
        const int64_t z0 = oz * s3[0] - b3[0];
        int64_t kz0, kz1;
        taps(z0, k3[0], d3[0], in3[0], &kz0, &kz1);
        for (int64_t oy = 0; oy < o3[1]; ++oy) {
          const int64_t y0 = oy * s3[1] - b3[1];
          int64_t ky0, ky1;
          taps(y0, k3[1], d3[1], in3[1], &ky0, &ky1);
          float* row = dst + (oz * o3[1] + oy) * o3[2];
          // A 2-D row whose windows are whole in y: its outputs whose windows are whole in x
          // too (undilated) take max_interior; the rest (the borders) the clipped loop below.
          int64_t in0 = 0, in1 = 0;
          if (in3[0] == 1 && k3[0] == 1 && ky0 == 0 && ky1 == k3[1] && d3[2] == 1) {
            in0 = std::min(o3[2], (b3[2] + s3[2] - 1) / s3[2]);
            const int64_t last = in3[2] - k3[2] + b3[2];  // largest window start + pad inside
            in1 = last < 0 ? in0 : std::clamp<int64_t>(last / s3[2] + 1, in0, o3[2]);
            const float* first = src + y0 * in3[2] + in0 * s3[2] - b3[2];
            if (k3[2] == 2) {
              max_interior<2>(first, in3[2], d3[1], k3[1], 2, s3[2], in0, in1, row);
            } else if (k3[2] == 3) {
              max_interior<3>(first, in3[2], d3[1], k3[1], 3, s3[2], in0, in1, row);
            } else {
              max_interior<0>(first, in3[2], d3[1], k3[1], k3[2], s3[2], in0, in1, row);
            }
          }
          for (int64_t ox = 0; ox < o3[2]; ++ox) {
            if (ox == in0 && in1 > in0) {
              ox = in1 - 1;
              continue;
            }
            const int64_t x0 = ox * s3[2] - b3[2];
            int64_t kx0, kx1;
            taps(x0, k3[2], d3[2], in3[2], &kx0, &kx1);
            float best = -std::numeric_limits<float>::infinity();
            bool any = false;
            for (int64_t kz = kz0; kz < kz1; ++kz) {
              for (int64_t ky = ky0; ky < ky1; ++ky) {
                const float* line =
                    src + ((z0 + kz * d3[0]) * in3[1] + y0 + ky * d3[1]) * in3[2] + x0;
                for (int64_t kx = kx0; kx < kx1; ++kx) {
                  const float v = line[kx * d3[2]];
                  if (v > best || !any) best = v;
                  any = true;
                }
              }
            }
            row[ox] = best;
          }
        }
      }
    }
    return Status::Ok();
  }
  if (want_indices) (*out)[1] = Value::ints(shape, std::vector<int64_t>(planes * out_plane));
  std::vector<int64_t>* indices = want_indices ? &(*out)[1].i : nullptr;
  const bool threaded = planes * out_plane * k3[0] * k3[1] * k3[2] > (1 << 16);
#pragma omp parallel for schedule(static) if (threaded)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* src = x.f.data() + pl * in_plane;
    float* dst = y.f.data() + pl * out_plane;
    for (int64_t oz = 0; oz < o3[0]; ++oz) {
      for (int64_t oy = 0; oy < o3[1]; ++oy) {
        for (int64_t ox = 0; ox < o3[2]; ++ox) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t best_at = -1, count = 0, padded_count = 0;
          double sum = 0;
          for (int64_t kz = 0; kz < k3[0]; ++kz) {
            const int64_t iz = oz * s3[0] - b3[0] + kz * d3[0];
            for (int64_t ky = 0; ky < k3[1]; ++ky) {
              const int64_t iy = oy * s3[1] - b3[1] + ky * d3[1];
              for (int64_t kx = 0; kx < k3[2]; ++kx) {
                const int64_t ix = ox * s3[2] - b3[2] + kx * d3[2];
                // count_include_pad counts taps inside the padded input, not the ceil overhang.
                if (iz < in3[0] + e3[0] && iy < in3[1] + e3[1] && ix < in3[2] + e3[2])
                  ++padded_count;
                if (iz < 0 || iz >= in3[0] || iy < 0 || iy >= in3[1] || ix < 0 || ix >= in3[2])
                  continue;
                const int64_t at = (iz * in3[1] + iy) * in3[2] + ix;
                const float v = src[at];
                if (v > best || best_at < 0) {
                  best = v;
                  best_at = at;
                }
                sum += v;
                ++count;
              }
            }
          }
          const int64_t o = (oz * o3[1] + oy) * o3[2] + ox;
          if (a.max) {
            dst[o] = best;
            if (indices) {
              int64_t at = best_at;
              if (a.storage_order == 1) {  // column-major over the spatial dimensions
                const int64_t iz = at / (in3[1] * in3[2]), iy = at / in3[2] % in3[1],
                              ix = at % in3[2];
                at = (ix * in3[1] + iy) * in3[0] + iz;
              }
              (*indices)[pl * out_plane + o] = pl * in_plane + at;
            }
          } else {
            const int64_t div = a.count_include_pad ? padded_count : count;
            dst[o] = div > 0 ? static_cast<float>(sum / div) : 0.0f;
          }
        }
      }
    }
  }
  return Status::Ok();
}

Builder pool_builder(bool max) {
  return [max](const BuildContext& ctx) -> Result<CompiledOp> {
    const Node& node = *ctx.node;
    DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 1, 1, max ? 2 : 1));
    if (max) {
      DEEPCOMP_RETURN_IF_ERROR(
          check_attributes(node, {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                                  "storage_order", "strides"}));
    } else {
      DEEPCOMP_RETURN_IF_ERROR(
          check_attributes(node, {"auto_pad", "ceil_mode", "count_include_pad", "dilations",
                                  "kernel_shape", "pads", "strides"}));
    }
    PoolAttrs a;
    a.max = max;
    a.auto_pad = attr_string(node, "auto_pad", "NOTSET");
    DEEPCOMP_RETURN_IF_ERROR(check_auto_pad(a.auto_pad));
    if (!has_attr(node, "kernel_shape")) return Status::Error("attribute kernel_shape is required");
    a.kernel = attr_ints(node, "kernel_shape");
    a.strides = attr_ints(node, "strides");
    a.pads = attr_ints(node, "pads");
    a.dilations = attr_ints(node, "dilations");
    a.ceil_mode = attr_int(node, "ceil_mode", 0) != 0;
    a.count_include_pad = attr_int(node, "count_include_pad", 0) != 0;
    a.storage_order = attr_int(node, "storage_order", 0);
    CompiledOp op;
    op.run = [a](const Inputs& in, std::vector<Value>* out) -> Status {
      DEEPCOMP_RETURN_IF_ERROR(require_present(in[0], "X"));
      const DType dtype = in[0]->dtype;
      if (dtype == DType::kFloat32) return pool(a, *in[0], out);
      if (dtype == DType::kBool || (!a.max && !in[0]->is_float())) {
        return Status::Error("X must be a float tensor (or an integer one for MaxPool), is " +
                             describe(*in[0]));
      }
      // Other dtypes pool in float32 (exact for the 8-bit integers MaxPool takes since opset
      // 12) and return to the input's dtype.
      DEEPCOMP_RETURN_IF_ERROR(pool(a, cast_value(*in[0], DType::kFloat32), out));
      (*out)[0] = cast_value((*out)[0], dtype);
      return Status::Ok();
    };
    return op;
  };
}

// GlobalAveragePool / GlobalMaxPool of a float tensor: each (image, channel) plane is contiguous,
// so it is read straight through, eight planes at a time (eight independent dependency chains
// instead of one). Each plane is still summed in double from 0 in element order, as
// reduce_axes does, so the result has reduce_axes' bits.
template <bool kMax>
void global_pool_planes(const float* x, int64_t planes, int64_t size, float* y) {
  constexpr int64_t kWay = 8;
  const double init = kMax ? -std::numeric_limits<double>::infinity() : 0.0;
  int64_t p = 0;
  for (; p + kWay <= planes; p += kWay) {
    double acc[kWay];
    std::fill(acc, acc + kWay, init);
    const float* src = x + p * size;
    for (int64_t k = 0; k < size; ++k) {
      for (int64_t j = 0; j < kWay; ++j) {
        const double v = src[j * size + k];
        if constexpr (kMax) {
          if (!std::isnan(acc[j]) && (std::isnan(v) || v > acc[j])) acc[j] = v;
        } else {
          acc[j] += v;
        }
      }
    }
    for (int64_t j = 0; j < kWay; ++j) {
      y[p + j] = static_cast<float>(kMax ? acc[j] : acc[j] / static_cast<double>(size));
    }
  }
  for (; p < planes; ++p) {
    double acc = init;
    const float* src = x + p * size;
    for (int64_t k = 0; k < size; ++k) {
      const double v = src[k];
      if constexpr (kMax) {
        if (!std::isnan(acc) && (std::isnan(v) || v > acc)) acc = v;
      } else {
        acc += v;
      }
    }
    y[p] = static_cast<float>(kMax ? acc : acc / static_cast<double>(size));
  }
}

Builder global_pool(ReduceKind kind) {
  return [kind](const BuildContext& ctx) -> Result<CompiledOp> {
    DEEPCOMP_RETURN_IF_ERROR(check_arity(*ctx.node, 1, 1, 1));
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(*ctx.node, {}));
    CompiledOp op;
    op.run = [kind](const Inputs& in, std::vector<Value>* out) -> Status {
      DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
      if (in[0]->rank() < 3)
        return Status::Error("input needs spatial dimensions, is " + describe(*in[0]));
      const Value& x = *in[0];
      int64_t size = 1;
      for (int64_t d = 2; d < x.rank(); ++d) size *= x.shape[d];
      if (size > 0) {
        std::vector<int64_t> shape(x.rank(), 1);
        shape[0] = x.shape[0];
        shape[1] = x.shape[1];
        Value& y = (*out)[0];
        y = zeros_like_dtype(x.dtype, shape);
        const int64_t planes = x.shape[0] * x.shape[1];
        if (kind == ReduceKind::kMax) {
          global_pool_planes<true>(x.f.data(), planes, size, y.f.data());
        } else {
          global_pool_planes<false>(x.f.data(), planes, size, y.f.data());
        }
        return Status::Ok();
      }
      // Empty planes: reduce_axes' rules (NaN means, -inf maxima).
      std::vector<int64_t> axes;
      for (int64_t d = 2; d < x.rank(); ++d) axes.push_back(d);
      return reduce_axes(x, axes, true, kind, &(*out)[0]);
    };
    return op;
  };
}

}  // namespace

void register_pool_ops(Table* t) {
  (*t)["MaxPool"] = pool_builder(true);
  (*t)["AveragePool"] = pool_builder(false);
  (*t)["GlobalAveragePool"] = global_pool(ReduceKind::kMean);
  (*t)["GlobalMaxPool"] = global_pool(ReduceKind::kMax);
}

}  // namespace deepcomp::runtime::ops
