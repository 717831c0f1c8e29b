// Direct convolution kernels (kernels/conv_direct.h). Depends only on OpenMP and the standard
// library.
#include "kernels/conv_direct.h"

#include "kernels/sigmoid.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

// Release builds are portable x86-64 (SSE2); cloning the tile loops lets the loader pick an
// AVX2/AVX-512 version. -ffp-contract=off (kernels/ in CMakeLists.txt) keeps products and adds
// separately rounded on every clone, so every clone gives the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define DEEPCOMP_CONV_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DEEPCOMP_CONV_CLONES
#endif

namespace deepcomp::kernels::detail {
namespace {

// Eight floats; GCC lowers it to one AVX register, or two SSE ones on the default clone. (The
// helpers below are inlined into the clones, so the ABI note GCC gives for them does not apply.)
#pragma GCC diagnostic ignored "-Wpsabi"
using v8 = float __attribute__((vector_size(32)));

inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }
// Spelled as a shuffle of lane 0: GCC 12 then emits one vbroadcastss from memory, where the
// v8{x, x, ...} initializer became a chain of lane inserts (or a store and reload) per weight.
inline v8 splat(float x) {
  const v8 v = {x};
  return __builtin_shufflevector(v, v, 0, 0, 0, 0, 0, 0, 0, 0);
}

// Lanes a tile may compute past the end of an output row (they read the buffer further on and
// are never stored): the buffer keeps this many floats of slack at its end.
constexpr int64_t kSlack = 64;

// One reused buffer per calling thread and purpose: no allocation once it has grown.
float* workspace(int which, size_t n) {
  thread_local std::vector<float> buffers[4];
  std::vector<float>& b = buffers[which];
  if (b.size() < n) b.resize(n);
  return b.data();
}
int64_t* index_workspace(size_t n) {
  thread_local std::vector<int64_t> buffer;
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

// The padded, phase-split layout of one image: channel c, phase ph (ix % stride_w), depth z,
// row y, column q holds input (z - pad_front, y - pad_top, q * stride_w + ph - pad_left), zero
// outside. Output (oz, oy, ox) with tap (kz, ky, kx) then reads
//   c * channel + row_base(oz, oy) + tap_off[tap] + ox.
struct Geometry {
  ConvParams p;       // the convolution, flattened to one row when it is a plain 1x1
  bool flat = false;  // a plain 1x1, one row per channel
  // A flat one whose row is a whole number of tiles (no tile reads past it): the image itself
  // is the buffer, no copy.
  bool direct = false;
  int64_t od, oh, ow;
  int64_t Dp, Hp, Wq;
  int64_t plane, phase, channel;
  std::vector<int64_t> tap_off;

  explicit Geometry(const ConvParams& given) : p(given) {
    if (p.taps() == 1 && p.stride_d == 1 && p.stride_h == 1 && p.stride_w == 1 &&
        p.pad_front == 0 && p.pad_back == 0 && p.pad_top == 0 && p.pad_bottom == 0 &&
        p.pad_left == 0 && p.pad_right == 0) {
      p.W = p.D * p.H * p.W;
      p.D = p.H = 1;
      flat = true;
      direct = p.W % 64 == 0;
    }
    od = p.out_d(), oh = p.out_h(), ow = p.out_w();
    Dp = p.D + p.pad_front + p.pad_back;
    Hp = p.H + p.pad_top + p.pad_bottom;
    Wq = (p.W + p.pad_left + p.pad_right + p.stride_w - 1) / p.stride_w;
    plane = Hp * Wq;
    phase = Dp * plane;
    channel = p.stride_w * phase;
    for (int64_t kz = 0; kz < p.kd; ++kz) {
      for (int64_t ky = 0; ky < p.kh; ++ky) {
        for (int64_t kx = 0; kx < p.kw; ++kx) {
          const int64_t x = kx * p.dil_w;
          tap_off.push_back((x % p.stride_w) * phase + kz * p.dil_d * plane + ky * p.dil_h * Wq +
                            x / p.stride_w);
        }
      }
    }
  }
  int64_t rows() const { return od * oh; }
  int64_t row_base(int64_t r) const {
    const int64_t oz = r / oh, oy = r % oh;
    return oz * p.stride_d * plane + oy * p.stride_h * Wq;
  }
  size_t buffer_size() const { return static_cast<size_t>(p.C * channel + kSlack); }
};

// Channel `c` of `image` into its padded, phase-split block `dst` (g.channel floats).
void pad_channel(const Geometry& g, const float* image, int64_t c, float* dst) {
  const ConvParams& p = g.p;
  const int64_t sw = p.stride_w;
  for (int64_t ph = 0; ph < sw; ++ph) {
    // Columns q whose input column q * sw + ph - pad_left lies in [0, W).
    const int64_t first = std::max<int64_t>(0, (p.pad_left - ph + sw - 1) / sw);
    const int64_t end = std::clamp<int64_t>((p.W - 1 + p.pad_left - ph) / sw + 1, first, g.Wq);
    for (int64_t z = 0; z < g.Dp; ++z) {
      const int64_t iz = z - p.pad_front;
      for (int64_t y = 0; y < g.Hp; ++y) {
        const int64_t iy = y - p.pad_top;
        float* row = dst + ph * g.phase + z * g.plane + y * g.Wq;
        if (iz < 0 || iz >= p.D || iy < 0 || iy >= p.H) {
          std::fill(row, row + g.Wq, 0.0f);
          continue;
        }
        const float* src = image + ((c * p.D + iz) * p.H + iy) * p.W + ph - p.pad_left;
        std::fill(row, row + first, 0.0f);
        if (sw == 1) {
          std::memcpy(row + first, src + first, (end - first) * sizeof(float));
        } else {
          for (int64_t q = first; q < end; ++q) row[q] = src[q * sw];
        }
        std::fill(row + end, row + g.Wq, 0.0f);
      }
    }
  }
}

void pad_image(const Geometry& g, const float* image, float* buf) {
  const ConvParams& p = g.p;
  const bool threaded = p.C * g.channel >= (1 << 16);
#pragma omp parallel for schedule(static) if (threaded)
  for (int64_t c = 0; c < p.C; ++c) pad_channel(g, image, c, buf + c * g.channel);
  std::fill(buf + p.C * g.channel, buf + g.buffer_size(), 0.0f);
}

// One output channel's row: where its outputs go and the per-channel epilogue terms (each
// nullptr when absent).
struct RowOut {
  float* y;
  const float* res;  // the residual at y's position
  const float* bias;
  const float* scale;
  const float* shift;
};
inline RowOut row_out(const Epilogue& e, float* output, const float* bias, int64_t m,
                      int64_t offset) {
  return {output + offset, e.residual ? e.residual + offset : nullptr, bias ? bias + m : nullptr,
          e.scale ? e.scale + m : nullptr, e.shift ? e.shift + m : nullptr};
}

// activate() (kernels/conv_epilogue.h) on eight lanes: each case the same comparisons and
// operations, std::min / std::max spelled as their (b < a) ? b : a, so every lane gets the bits
// the scalar function gives (NaNs included).
__attribute__((always_inline)) inline v8 activate8(const Epilogue& e, v8 x) {
  using i8 = int32_t __attribute__((vector_size(32)));
  const v8 zero = {}, one = zero + 1.0f;
  switch (e.act) {
    case Activation::kNone:
      return x;
    case Activation::kRelu:
      return x > 0.0f ? x : zero;
    case Activation::kLeakyRelu:
      return x >= 0.0f ? x : e.alpha * x;
    case Activation::kClip: {
      const v8 lo = x < e.alpha ? zero + e.alpha : x;  // std::max(x, alpha)
      return e.beta < lo ? zero + e.beta : lo;         // std::min(lo, beta)
    }
    case Activation::kHardSigmoid: {
      const v8 t = e.alpha * x + e.beta;
      const v8 m = t < 1.0f ? t : one;  // std::min(1, t)
      return 0.0f < m ? m : zero;       // std::max(0, m)
    }
    case Activation::kHardSwish: {
      const v8 t = x / 6.0f + 0.5f;
      const v8 m = t < 1.0f ? t : one;
      return x * (0.0f < m ? m : zero);
    }
    case Activation::kSigmoid:
      return sigmoid_steps<v8, i8>(x);
    case Activation::kSilu:
      return x * sigmoid_steps<v8, i8>(x);
    case Activation::kHardSwishParts: {
      const v8 a = x + e.alpha;
      const v8 lo = a < e.beta ? zero + e.beta : a;      // std::max(x + alpha, beta)
      const v8 c = e.gamma < lo ? zero + e.gamma : lo;  // std::min(., gamma)
      return x * c / e.delta;
    }
  }
  return x;
}

// Stores outputs x .. x + n (n <= 8 * V) of a row: acc, then the epilogue steps. A whole tile
// runs them in its vectors; a partial one (a row's end) through a buffer, element by element.
// The tile helpers are always inlined, so that each clone compiles them for its own instruction
// set: a helper left out of line is compiled for the default (SSE2) target, where 8 vector
// accumulators do not fit the registers (sparse_tile<8> ran that way, spilling every sum).
template <int V>
__attribute__((always_inline)) inline void store_tile(const v8* acc, const RowOut& o,
                                                      const Epilogue& e, int64_t x, int64_t n) {
  float* y = o.y + x;
  if (n == 8 * V) {
    for (int j = 0; j < V; ++j) {
      v8 v = acc[j];
      if (o.bias) v = v + *o.bias;
      if (o.scale) v = v * *o.scale;
      if (o.shift) v = v + *o.shift;
      if (o.res) v = v + load8(o.res + x + 8 * j);
      store8(y + 8 * j, activate8(e, v));
    }
    return;
  }
  float tmp[8 * V];
  for (int j = 0; j < V; ++j) {
    v8 v = acc[j];
    if (o.bias) v = v + *o.bias;
    if (o.scale) v = v * *o.scale;
    if (o.shift) v = v + *o.shift;
    store8(tmp + 8 * j, v);
  }
  if (o.res) {
    const float* r = o.res + x;
    for (int64_t k = 0; k < n; ++k) tmp[k] = tmp[k] + r[k];
  }
  apply_activation(e, tmp, n);
  std::copy(tmp, tmp + n, y);
}

// Dense: R output channels (rows < R of them real) of one group, outputs [x0, x1) of one row,
// in tiles of R x 16 outputs (R * 2 vector accumulators: 8 for R = 4, 12 for R = 6, which with
// the 2 input loads and a broadcast fills AVX2's 16 registers). wpack: the group's R-row block
// as [k][R]; src: the group's first channel at this row. Every accumulator sums its terms in
// (channel, tap) order from 0, so R does not change the bits.
// Always inlined, so that each clone below compiles it for its own instruction set.
template <int R>
__attribute__((always_inline)) inline void dense_rows_tiles(const Geometry& g, const float* src,
                                                            const float* wpack, int64_t cg,
                                                            const RowOut* outs, const Epilogue& e,
                                                            int rows, int64_t x0, int64_t x1) {
  const int64_t taps = static_cast<int64_t>(g.tap_off.size());
  const int64_t* tap_off = g.tap_off.data();
  for (int64_t x = x0; x < x1; x += 16) {
    v8 acc[R][2] = {};
    const float* w = wpack;
    for (int64_t c = 0; c < cg; ++c) {
      const float* sc = src + c * g.channel + x;
      for (int64_t t = 0; t < taps; ++t, w += R) {
        const v8 b0 = load8(sc + tap_off[t]), b1 = load8(sc + tap_off[t] + 8);
#pragma GCC unroll 8
        for (int i = 0; i < R; ++i) {
          const v8 wi = splat(w[i]);
          acc[i][0] += wi * b0, acc[i][1] += wi * b1;
        }
      }
    }
    // The accumulators stay in registers only while every index is a constant: the stores,
    // indexed by the run-time row count, read a copy.
    v8 done[R][2];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) done[i][0] = acc[i][0], done[i][1] = acc[i][1];
    const int64_t n = std::min<int64_t>(16, x1 - x);
    for (int i = 0; i < rows; ++i) store_tile<2>(done[i], outs[i], e, x, n);
  }
}

DEEPCOMP_CONV_CLONES
void dense_rows4(const Geometry& g, const float* src, const float* wpack, int64_t cg,
                 const RowOut* outs, const Epilogue& e, int rows, int64_t x0, int64_t x1) {
  dense_rows_tiles<4>(g, src, wpack, cg, outs, e, rows, x0, x1);
}

DEEPCOMP_CONV_CLONES
void dense_rows6(const Geometry& g, const float* src, const float* wpack, int64_t cg,
                 const RowOut* outs, const Epilogue& e, int rows, int64_t x0, int64_t x1) {
  dense_rows_tiles<6>(g, src, wpack, cg, outs, e, rows, x0, x1);
}

// Depthwise: one input channel, one output channel, outputs [x0, x1) of one row.
DEEPCOMP_CONV_CLONES
void depthwise_row(const Geometry& g, const float* src, const float* w, const RowOut& out,
                   const Epilogue& e, int64_t x0, int64_t x1) {
  const int64_t taps = static_cast<int64_t>(g.tap_off.size());
  const int64_t* tap_off = g.tap_off.data();
  for (int64_t x = x0; x < x1; x += 32) {
    v8 acc[4] = {};
    for (int64_t t = 0; t < taps; ++t) {
      const float* s = src + x + tap_off[t];
      const v8 wt = splat(w[t]);
      acc[0] += wt * load8(s), acc[1] += wt * load8(s + 8);
      acc[2] += wt * load8(s + 16), acc[3] += wt * load8(s + 24);
    }
    store_tile<4>(acc, out, e, x, std::min<int64_t>(32, x1 - x));
  }
}

// Sparse: one output channel, its `nnz` terms (offset into the buffer, weight), outputs
// [x0, x1) of one row.
template <int V>
__attribute__((always_inline)) inline void sparse_tile(const float* src, const int64_t* off,
                                                       const float* val, int64_t nnz,
                                                       const RowOut& out, const Epilogue& e,
                                                       int64_t x, int64_t n) {
  v8 acc[V] = {};
  for (int64_t k = 0; k < nnz; ++k) {
    const float* s = src + off[k];
    const v8 wk = splat(val[k]);
    for (int j = 0; j < V; ++j) acc[j] += wk * load8(s + 8 * j);
  }
  store_tile<V>(acc, out, e, x, n);
}

DEEPCOMP_CONV_CLONES
void sparse_row(const float* src, const int64_t* off, const float* val, int64_t nnz,
                const RowOut& out, const Epilogue& e, int64_t x0, int64_t x1) {
  int64_t x = x0;
  for (; x1 - x > 32; x += 64)
    sparse_tile<8>(src + x, off, val, nnz, out, e, x, std::min<int64_t>(64, x1 - x));
  if (x < x1) sparse_tile<4>(src + x, off, val, nnz, out, e, x, x1 - x);
}

// Work items: (output row, a span of it). A flattened 1x1 is one long row, cut into spans so
// threads share it.
struct Span {
  int64_t row, x0, x1;
};
std::vector<Span> spans(const Geometry& g) {
  const int64_t width = g.flat ? 256 : g.ow;
  std::vector<Span> s;
  for (int64_t r = 0; r < g.rows(); ++r) {
    for (int64_t x = 0; x < g.ow; x += width) s.push_back({r, x, std::min(g.ow, x + width)});
  }
  return s;
}

// Outputs narrower than a tile waste lanes on every row (LeNet's 8-wide maps use half of each
// 16-wide tile): such convolutions run as a 1x1 over their im2col matrix instead, whose row is
// the whole output image. Calls `run(q, cols, n)` per image with the 1x1 parameters.
bool narrow(const Geometry& g) {
  if (g.flat) return false;
  const int64_t tiles = (g.ow + 15) / 16;
  return g.ow < 0.8 * 16 * tiles && g.rows() > 1;
}
template <typename Run>
void per_image_im2col(const ConvParams& p, const float* input, Run run) {
  ConvParams q;
  q.N = 1, q.C = p.C * p.taps(), q.W = p.out_spatial(), q.M = p.M, q.group = p.group;
  float* cols = workspace(3, static_cast<size_t>(q.C * q.W));
  for (int64_t n = 0; n < p.N; ++n) {
    im2col(p, input + n * p.C * p.in_spatial(), cols);
    run(q, cols, n);
  }
}
Epilogue for_image(Epilogue e, int64_t offset) {
  if (e.residual) e.residual += offset;
  return e;
}

// Output channels per dense block: 6, or 4 when 6 would pad more rows (16 or 32 channels).
int64_t panel_rows(int64_t mg) { return (mg + 5) / 6 * 6 <= (mg + 3) / 4 * 4 ? 6 : 4; }

// The weight [M, k] as [group][R-row block][k][R], zero rows past each group's last channel.
void pack_panels(const float* weight, int64_t M, int64_t group, int64_t k, float* dst) {
  const int64_t mg = M / group, R = panel_rows(mg), blocks = (mg + R - 1) / R;
  for (int64_t gr = 0; gr < group; ++gr) {
    for (int64_t b = 0; b < blocks; ++b) {
      float* block = dst + (gr * blocks + b) * k * R;
      for (int64_t i = 0; i < R; ++i) {
        const int64_t m = b * R + i;
        const float* row = weight + (gr * mg + m) * k;
        for (int64_t j = 0; j < k; ++j) block[j * R + i] = m < mg ? row[j] : 0.0f;
      }
    }
  }
}

}  // namespace

PackedConvWeight pack_dense_panels(const float* weight, int64_t M, int64_t group, int64_t patch) {
  PackedConvWeight out;
  out.M = M, out.group = group, out.patch = patch;
  const int64_t mg = M / group;
  out.rows = panel_rows(mg);
  out.panels.resize(
      static_cast<size_t>(group * ((mg + out.rows - 1) / out.rows) * patch * out.rows));
  pack_panels(weight, M, group, patch, out.panels.data());
  return out;
}

void conv_direct_dense(const ConvParams& given, const float* input, const float* weight,
                       const float* bias, const Epilogue& epilogue, float* output,
                       const PackedConvWeight* packed) {
  const Geometry g(given);
  const ConvParams& p = g.p;
  const int64_t cg = p.C / p.group, mg = p.M / p.group, k = p.patch_size();
  const int64_t out_sp = g.rows() * g.ow;
  const std::vector<Span> work = spans(g);
  const int64_t items = static_cast<int64_t>(work.size());
  const double macs = double(p.M) * k * out_sp;
  if (narrow(g) && !(cg == 1 && mg == 1)) {
    per_image_im2col(p, input, [&](const ConvParams& q, const float* cols, int64_t n) {
      conv_direct_dense(q, cols, weight, bias, for_image(epilogue, n * p.M * out_sp),
                        output + n * p.M * out_sp, packed);
    });
    return;
  }
  if (cg == 1 && mg == 1) {
    // Depthwise: each channel padded on its own into a per-thread buffer that stays in cache.
    for (int64_t n = 0; n < p.N; ++n) {
      const float* image = input + n * p.C * p.in_spatial();
      const int64_t off = n * p.M * out_sp;
#pragma omp parallel for schedule(dynamic, 1) if (macs >= 1e6)
      for (int64_t c = 0; c < p.C; ++c) {
        const float* src = image + c * g.channel;
        if (!g.direct) {
          float* own = workspace(2, static_cast<size_t>(g.channel + kSlack));
          pad_channel(g, image, c, own);
          std::fill(own + g.channel, own + g.channel + kSlack, 0.0f);
          src = own;
        }
        for (const Span& s : work) {
          depthwise_row(g, src + g.row_base(s.row), weight + c * k,
                        row_out(epilogue, output, bias, c, off + c * out_sp + s.row * g.ow),
                        epilogue, s.x0, s.x1);
        }
      }
    }
    return;
  }
  const int64_t R = panel_rows(mg);
  const int64_t blocks = (mg + R - 1) / R;
  const float* wpack = nullptr;
  if (packed) {
    wpack = packed->panels.data();
  } else {
    float* own = workspace(1, static_cast<size_t>(p.group * blocks * k * R));
    pack_panels(weight, p.M, p.group, k, own);
    wpack = own;
  }
  // Spans outer (their input rows stay in cache across the channel blocks), unless the group's
  // weights are the bigger stream (many channels, few outputs): then blocks outer.
  const bool blocks_outer = mg * k > cg * g.channel;
  float* buf = g.direct ? nullptr : workspace(0, g.buffer_size());
  for (int64_t n = 0; n < p.N; ++n) {
    const float* image = input + n * p.C * p.in_spatial();
    if (!g.direct) pad_image(g, image, buf);
    const float* base = g.direct ? image : buf;
    const int64_t off = n * p.M * out_sp;
    auto tile = [&](int64_t gr, int64_t b, const Span& s) {
      const int rows = static_cast<int>(std::min<int64_t>(R, mg - b * R));
      RowOut outs[6];
      for (int i = 0; i < rows; ++i) {
        const int64_t m = gr * mg + b * R + i;
        outs[i] = row_out(epilogue, output, bias, m, off + m * out_sp + s.row * g.ow);
      }
      const float* src = base + gr * cg * g.channel + g.row_base(s.row);
      const float* wb = wpack + (gr * blocks + b) * k * R;
      if (R == 6) {
        dense_rows6(g, src, wb, cg, outs, epilogue, rows, s.x0, s.x1);
      } else {
        dense_rows4(g, src, wb, cg, outs, epilogue, rows, s.x0, s.x1);
      }
    };
    if (blocks_outer) {
#pragma omp parallel for schedule(dynamic, 1) collapse(2) if (macs >= 1e6)
      for (int64_t gr = 0; gr < p.group; ++gr) {
        for (int64_t b = 0; b < blocks; ++b) {
          for (const Span& s : work) tile(gr, b, s);
        }
      }
    } else {
#pragma omp parallel for schedule(dynamic, 4) collapse(2) if (macs >= 1e6)
      for (int64_t gr = 0; gr < p.group; ++gr) {
        for (int64_t it = 0; it < items; ++it) {
          for (int64_t b = 0; b < blocks; ++b) tile(gr, b, work[it]);
        }
      }
    }
  }
}

void conv_direct_sparse(const ConvParams& given, const float* input, const SparseConvWeight& w,
                        const float* bias, const Epilogue& epilogue, float* output) {
  const Geometry g(given);
  const ConvParams& p = g.p;
  const int64_t cg = p.C / p.group, mg = p.M / p.group;
  const int64_t taps = p.taps();
  const int64_t out_sp = g.rows() * g.ow;
  if (narrow(g) && !(cg == 1 && mg == 1)) {
    per_image_im2col(p, input, [&](const ConvParams& q, const float* cols, int64_t n) {
      conv_direct_sparse(q, cols, w, bias, for_image(epilogue, n * p.M * out_sp),
                         output + n * p.M * out_sp);
    });
    return;
  }
  const int64_t nnz = w.row_ptr[p.M];
  // Each nonzero as its buffer offset (relative to its group's first channel) and its weight.
  float* values = workspace(1, static_cast<size_t>(nnz + 1));
  int64_t* offsets = index_workspace(static_cast<size_t>(nnz + 1));
  for (int64_t m = 0; m < p.M; ++m) {
    const float scale = w.row_scale ? w.row_scale[m] : 1.0f;
    for (int64_t j = w.row_ptr[m]; j < w.row_ptr[m + 1]; ++j) {
      const int64_t col = w.col_idx[j];
      offsets[j] = (col / taps) * g.channel + g.tap_off[col % taps];
      float v = w.values      ? w.values[j]
                : w.cluster16 ? w.codebook[w.cluster16[j]]
                              : w.codebook[w.cluster[j]];
      values[j] = w.row_scale ? v * scale : v;
    }
  }
  float* buf = g.direct ? nullptr : workspace(0, g.buffer_size());
  const std::vector<Span> work = spans(g);
  const int64_t items = static_cast<int64_t>(work.size());
  const double macs = double(nnz) * out_sp;
  for (int64_t n = 0; n < p.N; ++n) {
    const float* image = input + n * p.C * p.in_spatial();
    if (!g.direct) pad_image(g, image, buf);
    const float* base = g.direct ? image : buf;
    const int64_t off = n * p.M * out_sp;
    // Rows outer: the input rows a span reads stay in cache while every channel sums over them.
#pragma omp parallel for schedule(dynamic, 4) collapse(2) if (macs >= 1e6)
    for (int64_t it = 0; it < items; ++it) {
      for (int64_t m = 0; m < p.M; ++m) {
        const Span& s = work[it];
        const int64_t j0 = w.row_ptr[m];
        const float* src = base + (m / mg) * cg * g.channel + g.row_base(s.row);
        sparse_row(src, offsets + j0, values + j0, w.row_ptr[m + 1] - j0,
                   row_out(epilogue, output, bias, m, off + m * out_sp + s.row * g.ow), epilogue,
                   s.x0, s.x1);
      }
    }
  }
}

}  // namespace deepcomp::kernels::detail
