// Direct convolution kernels (kernels/conv_direct.h). Depends only on OpenMP and the standard
// library.
#include "kernels/conv_direct.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/isa_variants.h"
#include "kernels/sigmoid.h"

// Release builds are portable x86-64 (SSE2); the tile loops are also compiled for AVX2
// (x86-64-v3) and AVX-512 (x86-64-v4), picked at run time by kernels::isa() (kernels/
// isa_variants.h). On AVX-512 the dense and sparse tiles run with 16-float vectors (the *_x16
// functions): twice the outputs per instruction, the same terms in the same order per output, so
// every path gives the same bits.
#define DEEPCOMP_CONV_X16 DEEPCOMP_ISA_VARIANTS_ON

namespace deepcomp::kernels::detail {
namespace {

// L floats: 4 (one SSE or NEON register: the baseline), 8 (one AVX register) or 16 (one AVX-512
// register). Wider vectors than the target has are split by GCC through the stack (8 floats on
// SSE2 ran 14x slower than 4). (The helpers below are inlined into each variant, so the ABI note
// GCC gives for them does not apply.)
#pragma GCC diagnostic ignored "-Wpsabi"
template <int L>
struct Lanes;
template <>
struct Lanes<4> {
  using f = float __attribute__((vector_size(16)));
  using i = int32_t __attribute__((vector_size(16)));
};
template <>
struct Lanes<8> {
  using f = float __attribute__((vector_size(32)));
  using i = int32_t __attribute__((vector_size(32)));
};
template <>
struct Lanes<16> {
  using f = float __attribute__((vector_size(64)));
  using i = int32_t __attribute__((vector_size(64)));
};
template <int L>
using vec = typename Lanes<L>::f;

template <int L>
__attribute__((always_inline)) inline vec<L> load(const float* p) {
  vec<L> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <int L>
__attribute__((always_inline)) inline void store(float* p, vec<L> v) {
  std::memcpy(p, &v, sizeof v);
}
// Spelled as a shuffle of lane 0: GCC 12 then emits one vbroadcastss from memory, where the
// v8{x, x, ...} initializer became a chain of lane inserts (or a store and reload) per weight.
template <int L>
__attribute__((always_inline)) inline vec<L> splat(float x) {
  const vec<L> v = {x};
  if constexpr (L == 4) {
    return __builtin_shufflevector(v, v, 0, 0, 0, 0);
  } else if constexpr (L == 8) {
    return __builtin_shufflevector(v, v, 0, 0, 0, 0, 0, 0, 0, 0);
  } else {
    return __builtin_shufflevector(v, v, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  }
}

// Lanes a tile may compute past the end of an output row (they read the buffer further on and
// are never stored): the buffer keeps this many floats of slack at its end.
constexpr int64_t kSlack = 64;

// One reused buffer per calling thread and purpose: no allocation once it has grown.
float* workspace(int which, size_t n) {
  thread_local std::vector<float> buffers[6];
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
  // Summed as one long row (long_row()), cut into spans like a flat one.
  bool long_rows = false;
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
  // A 2-D convolution of vertical stride 1 (od == 1) as one row over the padded width: output
  // (oy, ox) at oy * Wq + ox, which reads the buffer at row_base(oy) + ox + tap offset. The
  // Wq - ow columns between rows are computed and dropped (finish_rows), so tiles fill their
  // lanes on maps whose width is not a multiple of the tile (YOLOX's 52, 26 and 13).
  Geometry long_row() const {
    Geometry l = *this;
    l.ow = (oh - 1) * Wq + ow;
    l.oh = 1;
    l.long_rows = true;
    return l;
  }
  int64_t row_base(int64_t r) const {
    const int64_t oz = r / oh, oy = r % oh;
    return oz * p.stride_d * plane + oy * p.stride_h * Wq;
  }
  size_t buffer_size() const { return static_cast<size_t>(p.C * channel + kSlack); }
};

// Channel `c` of `image` into its padded, phase-split block `dst` (g.channel floats): its padded
// rows [r0, r1) of every phase (row r: depth r / Hp, row r % Hp), or all of them.
void pad_channel(const Geometry& g, const float* image, int64_t c, float* dst, int64_t r0 = 0,
                 int64_t r1 = -1) {
  const ConvParams& p = g.p;
  const int64_t sw = p.stride_w;
  if (r1 < 0) r1 = g.Dp * g.Hp;
  for (int64_t ph = 0; ph < sw; ++ph) {
    // Columns q whose input column q * sw + ph - pad_left lies in [0, W): none when even q = 0
    // lies past the row (a phase beyond a short row; C++ division would round -1 / 2 up to 0).
    const int64_t last_in = p.W - 1 + p.pad_left - ph;
    const int64_t first = std::max<int64_t>(0, (p.pad_left - ph + sw - 1) / sw);
    const int64_t end =
        last_in < 0 ? first : std::clamp<int64_t>(last_in / sw + 1, first, g.Wq);
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t z = r / g.Hp, y = r % g.Hp;
      const int64_t iz = z - p.pad_front, iy = y - p.pad_top;
      float* row = dst + ph * g.phase + z * g.plane + y * g.Wq;
      if (iz < 0 || iz >= p.D || iy < 0 || iy >= p.H) {
        std::fill(row, row + g.Wq, 0.0f);
        continue;
      }
      const float* src = image + ((c * p.D + iz) * p.H + iy) * p.W + ph - p.pad_left;
      std::fill(row, row + first, 0.0f);
      if (sw == 1) {
        std::memcpy(row + first, src + first, (end - first) * sizeof(float));
      } else if (sw == 2) {
        for (int64_t q = first; q < end; ++q)
          row[q] = src[2 * q];  // a constant stride vectorizes
      } else {
        for (int64_t q = first; q < end; ++q) row[q] = src[q * sw];
      }
      std::fill(row + end, row + g.Wq, 0.0f);
    }
  }
}

// On several threads each pads a run of rows of every channel, in proportion: the kernels'
// static split of output rows and spans then finds most of a thread's input rows in its own
// core's cache (split by channels, half of every patch came from the other core).
void pad_image(const Geometry& g, const float* image, float* buf) {
  const ConvParams& p = g.p;
  const bool threaded = p.C * g.channel >= (1 << 16);
  const int64_t rows = g.Dp * g.Hp;
#pragma omp parallel if (threaded)
  {
    const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    if (rows == 1) {
      // One row per channel (a plain 1x1): channels shared out (by columns it measured slower:
      // YOLOX's 1x1 layers on two threads 10-30%).
      for (int64_t c = p.C * t / n; c < p.C * (t + 1) / n; ++c) {
        pad_channel(g, image, c, buf + c * g.channel);
      }
    } else {
      const int64_t r0 = rows * t / n, r1 = rows * (t + 1) / n;
      for (int64_t c = 0; c < p.C; ++c) pad_channel(g, image, c, buf + c * g.channel, r0, r1);
    }
  }
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
  const float* post_scale;
  const float* post_shift;
};
inline RowOut row_out(const Epilogue& e, float* output, const float* bias, int64_t m,
                      int64_t offset) {
  return {output + offset,
          e.residual ? e.residual + offset : nullptr,
          bias ? bias + m : nullptr,
          e.scale ? e.scale + m : nullptr,
          e.shift ? e.shift + m : nullptr,
          e.post_scale ? e.post_scale + m : nullptr,
          e.post_shift ? e.post_shift + m : nullptr};
}

// activate() (kernels/conv_epilogue.h) on L lanes: each case the same comparisons and
// operations, std::min / std::max spelled as their (b < a) ? b : a, so every lane gets the bits
// the scalar function gives (NaNs included).
template <int L>
__attribute__((always_inline)) inline vec<L> activate(const Epilogue& e, vec<L> x) {
  using V = vec<L>;
  using I = typename Lanes<L>::i;
  const V zero = {}, one = zero + 1.0f;
  switch (e.act) {
    case Activation::kNone:
      return x;
    case Activation::kRelu:
      return x > 0.0f ? x : zero;
    case Activation::kLeakyRelu:
      return x >= 0.0f ? x : e.alpha * x;
    case Activation::kClip: {
      const V lo = x < e.alpha ? zero + e.alpha : x;  // std::max(x, alpha)
      return e.beta < lo ? zero + e.beta : lo;        // std::min(lo, beta)
    }
    case Activation::kHardSigmoid: {
      const V t = e.alpha * x + e.beta;
      const V m = t < 1.0f ? t : one;  // std::min(1, t)
      return 0.0f < m ? m : zero;      // std::max(0, m)
    }
    case Activation::kHardSwish: {
      const V t = x / 6.0f + 0.5f;
      const V m = t < 1.0f ? t : one;
      return x * (0.0f < m ? m : zero);
    }
    case Activation::kSigmoid:
      return sigmoid_steps<V, I>(x);
    case Activation::kSilu:
      return silu_steps<V, I>(x);
    case Activation::kHardSwishParts: {
      const V a = x + e.alpha;
      const V lo = a < e.beta ? zero + e.beta : a;     // std::max(x + alpha, beta)
      const V c = e.gamma < lo ? zero + e.gamma : lo;  // std::min(., gamma)
      return x * c / e.delta;
    }
  }
  return x;
}

// Stores outputs x .. x + n (n <= L * V) of a row: acc, then the epilogue steps, in the tile's
// vectors. A partial tile (a row's end) runs them on every lane through a buffer (its residual
// copied in, zeros past n) and stores the first n: lanes are independent, so the stored ones get
// the bits of a whole tile, and the lanes past n are dropped.
// The tile helpers are always inlined, so that each clone compiles them for its own instruction
// set: a helper left out of line is compiled for the default (SSE2) target, where 8 vector
// accumulators do not fit the registers (sparse_tile ran that way, spilling every sum).
template <int L, int V>
__attribute__((always_inline)) inline void store_tile(const vec<L>* acc, const RowOut& o,
                                                      const Epilogue& e, int64_t x, int64_t n) {
  const bool whole = n == L * V;
  float tmp[L * V];
  const float* res = o.res ? o.res + x : nullptr;
  if (res && !whole) {
    std::copy(res, res + n, tmp);
    std::fill(tmp + n, tmp + L * V, 0.0f);
    res = tmp;
  }
  // Step by step over the tile's vectors: each test once per tile.
  vec<L> v[V];
  for (int j = 0; j < V; ++j) v[j] = acc[j];
  if (o.bias) {
    for (int j = 0; j < V; ++j) v[j] = v[j] + *o.bias;
  }
  if (o.scale) {
    for (int j = 0; j < V; ++j) v[j] = v[j] * *o.scale;
  }
  if (o.shift) {
    for (int j = 0; j < V; ++j) v[j] = v[j] + *o.shift;
  }
  if (res) {
    for (int j = 0; j < V; ++j) v[j] = v[j] + load<L>(res + L * j);
  }
  if (e.act != Activation::kNone) {
    for (int j = 0; j < V; ++j) v[j] = activate<L>(e, v[j]);
  }
  if (o.post_scale) {
    for (int j = 0; j < V; ++j) v[j] = v[j] * *o.post_scale;
  }
  if (o.post_shift) {
    for (int j = 0; j < V; ++j) v[j] = v[j] + *o.post_shift;
  }
  if (whole) {
    for (int j = 0; j < V; ++j) store<L>(o.y + x + L * j, v[j]);
  } else {
    for (int j = 0; j < V; ++j) store<L>(tmp + L * j, v[j]);
    std::copy(tmp, tmp + n, o.y + x);
  }
}

// Dense: R output channels (rows < R of them real) of one group, outputs [x, x + n) of one row
// (n <= V * L), as one tile of R x V vectors (R * 2 accumulators: 8 for R = 4, 12 for R = 6,
// which with the 2 input loads and a broadcast fills AVX2's 16 registers). wpack: the group's
// R-row block as [k][R]; src: the group's first channel at this row. Every accumulator sums its
// terms in (channel, tap) order from 0, so neither R, L nor V changes the bits.
// Always inlined, so that each clone below compiles it for its own instruction set.
template <int R, int L, int V>
__attribute__((always_inline)) inline void dense_tile(const Geometry& g, const float* src,
                                                      const float* wpack, int64_t cg,
                                                      const RowOut* outs, const Epilogue& e,
                                                      int rows, int64_t x, int64_t n) {
  const int64_t taps = static_cast<int64_t>(g.tap_off.size());
  const int64_t* tap_off = g.tap_off.data();
  vec<L> acc[R][V] = {};
  const float* w = wpack;
  for (int64_t c = 0; c < cg; ++c) {
    const float* sc = src + c * g.channel + x;
    for (int64_t t = 0; t < taps; ++t, w += R) {
      // One address and constant displacements (a sum per vector costs two instructions more).
      const float* at = sc + tap_off[t];
      vec<L> b[V];
      for (int j = 0; j < V; ++j) b[j] = load<L>(at + L * j);
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        const vec<L> wi = splat<L>(w[i]);
        for (int j = 0; j < V; ++j) acc[i][j] += wi * b[j];
      }
    }
  }
  // The accumulators stay in registers only while every index is a constant: the stores,
  // indexed by the run-time row count, read a copy.
  vec<L> done[R][V];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < V; ++j) done[i][j] = acc[i][j];
  }
  for (int i = 0; i < rows; ++i) store_tile<L, V>(done[i], outs[i], e, x, n);
}
// Outputs [x0, x1) of the rows in tiles of W vectors (W = 2, or 4 where AVX-512's 32 registers
// hold R x 4 accumulators: fewer broadcasts per product), then of 2 and 1 at a row's end.
template <int R, int L, int W = 2>
__attribute__((always_inline)) inline void dense_rows_tiles(const Geometry& g, const float* src,
                                                            const float* wpack, int64_t cg,
                                                            const RowOut* outs, const Epilogue& e,
                                                            int rows, int64_t x0, int64_t x1) {
  int64_t x = x0;
  if constexpr (W == 4) {
    for (; x1 - x > 2 * L; x += 4 * L) {
      dense_tile<R, L, 4>(g, src, wpack, cg, outs, e, rows, x, std::min<int64_t>(4 * L, x1 - x));
    }
  }
  for (; x1 - x > L; x += 2 * L) {
    dense_tile<R, L, 2>(g, src, wpack, cg, outs, e, rows, x, std::min<int64_t>(2 * L, x1 - x));
  }
  if (x < x1) dense_tile<R, L, 1>(g, src, wpack, cg, outs, e, rows, x, x1 - x);
}

// Depthwise: one input channel, one output channel, outputs [x, x + n) of one row, V vectors.
template <int L, int V>
__attribute__((always_inline)) inline void depthwise_tile(const Geometry& g, const float* src,
                                                          const float* w, const RowOut& out,
                                                          const Epilogue& e, int64_t x, int64_t n) {
  const int64_t taps = static_cast<int64_t>(g.tap_off.size());
  const int64_t* tap_off = g.tap_off.data();
  vec<L> acc[V] = {};
  for (int64_t t = 0; t < taps; ++t) {
    const float* s = src + x + tap_off[t];
    const vec<L> wt = splat<L>(w[t]);
    for (int j = 0; j < V; ++j) acc[j] += wt * load<L>(s + L * j);
  }
  store_tile<L, V>(acc, out, e, x, n);
}
// Outputs [x0, x1) in tiles of 4 vectors, then of 2 and 1 at the row's end (a 24-wide row of
// 8-float vectors: 16 + 8).
template <int L>
__attribute__((always_inline)) inline void depthwise_tiles(const Geometry& g, const float* src,
                                                           const float* w, const RowOut& out,
                                                           const Epilogue& e, int64_t x0,
                                                           int64_t x1) {
  int64_t x = x0;
  for (; x1 - x > 2 * L; x += 4 * L)
    depthwise_tile<L, 4>(g, src, w, out, e, x, std::min<int64_t>(4 * L, x1 - x));
  if (x1 - x > L) {
    depthwise_tile<L, 2>(g, src, w, out, e, x, x1 - x);
    x += 2 * L;
  }
  if (x < x1) depthwise_tile<L, 1>(g, src, w, out, e, x, x1 - x);
}

// Sparse: one output channel, its `nnz` terms (at(k): where term k's inputs start, its weight
// val[k]), outputs [x, x + n) of one row, in tiles of V vectors of L.
template <int L, int V, typename At>
__attribute__((always_inline)) inline void sparse_tile(At at, const float* val, int64_t nnz,
                                                       const float* init, const RowOut& out,
                                                       const Epilogue& e, int64_t x, int64_t n) {
  vec<L> acc[V] = {};
  if (init) {
    for (int j = 0; j < V; ++j) acc[j] = load<L>(init + x + L * j);
  }
  for (int64_t k = 0; k < nnz; ++k) {
    const float* s = at(k) + x;
    const vec<L> wk = splat<L>(val[k]);
    for (int j = 0; j < V; ++j) acc[j] += wk * load<L>(s + L * j);
  }
  store_tile<L, V>(acc, out, e, x, n);
}
// T outputs per tile (64: 8 AVX2 or 4 AVX-512 accumulators; 32 for 4-float vectors, which have 16
// registers), T / 2 or T / 4 at a row's end.
template <int L, int T = 64, typename At>
__attribute__((always_inline)) inline void sparse_row_tiles(At at, const float* val, int64_t nnz,
                                                            const float* init, const RowOut& out,
                                                            const Epilogue& e, int64_t x0,
                                                            int64_t x1) {
  int64_t x = x0;
  for (; x1 - x > T / 2; x += T)
    sparse_tile<L, T / L>(at, val, nnz, init, out, e, x, std::min<int64_t>(T, x1 - x));
  if (x1 - x > T / 4) {
    sparse_tile<L, T / 2 / L>(at, val, nnz, init, out, e, x, x1 - x);
  } else if (x < x1) {
    sparse_tile<L, T / 4 / L>(at, val, nnz, init, out, e, x, x1 - x);
  }
}
// Term k of a row read straight from the padded image: its buffer offset.
struct AtOffset {
  const float* src;
  const int64_t* off;
  __attribute__((always_inline)) const float* operator()(int64_t k) const { return src + off[k]; }
};

// The row functions, one per instruction set, picked by the *_fn functions below. Every one sums
// each output's terms in the same order, so all give the same bits.
// Baseline (SSE2; also NEON and sanitized builds): 4-float vectors.
void dense_rows4(const Geometry& g, const float* src, const float* wpack, int64_t cg,
                 const RowOut* outs, const Epilogue& e, int rows, int64_t x0, int64_t x1) {
  dense_rows_tiles<4, 4>(g, src, wpack, cg, outs, e, rows, x0, x1);
}
void dense_rows6(const Geometry& g, const float* src, const float* wpack, int64_t cg,
                 const RowOut* outs, const Epilogue& e, int rows, int64_t x0, int64_t x1) {
  dense_rows_tiles<6, 4>(g, src, wpack, cg, outs, e, rows, x0, x1);
}
void depthwise_row(const Geometry& g, const float* src, const float* w, const RowOut& out,
                   const Epilogue& e, int64_t x0, int64_t x1) {
  depthwise_tiles<4>(g, src, w, out, e, x0, x1);
}
void sparse_row(const float* src, const int64_t* off, const float* val, int64_t nnz,
                const float* init, const RowOut& out, const Epilogue& e, int64_t x0, int64_t x1) {
  sparse_row_tiles<4, 32>(AtOffset{src, off}, val, nnz, init, out, e, x0, x1);
}
#if DEEPCOMP_CONV_X16
// AVX2 (x86-64-v3): 8-float vectors.
DEEPCOMP_TARGET_V3
void dense_rows4_v3(const Geometry& g, const float* src, const float* wpack, int64_t cg,
                    const RowOut* outs, const Epilogue& e, int rows, int64_t x0, int64_t x1) {
  dense_rows_tiles<4, 8>(g, src, wpack, cg, outs, e, rows, x0, x1);
}
DEEPCOMP_TARGET_V3
void dense_rows6_v3(const Geometry& g, const float* src, const float* wpack, int64_t cg,
                    const RowOut* outs, const Epilogue& e, int rows, int64_t x0, int64_t x1) {
  dense_rows_tiles<6, 8>(g, src, wpack, cg, outs, e, rows, x0, x1);
}
DEEPCOMP_TARGET_V3
void depthwise_row_v3(const Geometry& g, const float* src, const float* w, const RowOut& out,
                      const Epilogue& e, int64_t x0, int64_t x1) {
  depthwise_tiles<8>(g, src, w, out, e, x0, x1);
}
DEEPCOMP_TARGET_V3
void sparse_row_v3(const float* src, const int64_t* off, const float* val, int64_t nnz,
                   const float* init, const RowOut& out, const Epilogue& e, int64_t x0,
                   int64_t x1) {
  sparse_row_tiles<8>(AtOffset{src, off}, val, nnz, init, out, e, x0, x1);
}
// AVX-512 (x86-64-v4): 16-float vectors, 4 per dense tile (32 registers); depthwise keeps 8-float
// ones (16-float tiles would leave lanes empty on its short rows) encoded for AVX-512.
DEEPCOMP_TARGET_V4
void dense_rows4_x16(const Geometry& g, const float* src, const float* wpack, int64_t cg,
                     const RowOut* outs, const Epilogue& e, int rows, int64_t x0, int64_t x1) {
  dense_rows_tiles<4, 16, 4>(g, src, wpack, cg, outs, e, rows, x0, x1);
}
DEEPCOMP_TARGET_V4
void dense_rows6_x16(const Geometry& g, const float* src, const float* wpack, int64_t cg,
                     const RowOut* outs, const Epilogue& e, int rows, int64_t x0, int64_t x1) {
  dense_rows_tiles<6, 16, 4>(g, src, wpack, cg, outs, e, rows, x0, x1);
}
DEEPCOMP_TARGET_V4
void depthwise_row_v4(const Geometry& g, const float* src, const float* w, const RowOut& out,
                      const Epilogue& e, int64_t x0, int64_t x1) {
  depthwise_tiles<8>(g, src, w, out, e, x0, x1);
}
DEEPCOMP_TARGET_V4
void sparse_row_x16(const float* src, const int64_t* off, const float* val, int64_t nnz,
                    const float* init, const RowOut& out, const Epilogue& e, int64_t x0,
                    int64_t x1) {
  sparse_row_tiles<16>(AtOffset{src, off}, val, nnz, init, out, e, x0, x1);
}
#endif
// Whether the 16-float (AVX-512) or 8-float AVX2 functions run: kernels::isa(), this CPU's level
// or lower with DEEPCOMP_MAX_CPU_ISA.
bool wide() { return DEEPCOMP_CONV_X16 && isa() >= Isa::kAvx512; }
bool avx2() { return DEEPCOMP_CONV_X16 && isa() >= Isa::kAvx2; }

}  // namespace

const char* conv_simd_path_name() {
#if DEEPCOMP_CONV_X16
  if (wide()) return "x86-64-v4, 16 floats";
  if (avx2()) return "x86-64-v3, 8 floats";
  return "x86-64, 4 floats (SSE2)";
#else
  return "portable, 4 floats";
#endif
}

namespace {

// The row functions for this CPU.
using DenseRowsFn = void (*)(const Geometry&, const float*, const float*, int64_t, const RowOut*,
                             const Epilogue&, int, int64_t, int64_t);
DenseRowsFn dense_rows_fn(int64_t R) {
#if DEEPCOMP_CONV_X16
  if (wide()) return R == 6 ? dense_rows6_x16 : dense_rows4_x16;
  if (avx2()) return R == 6 ? dense_rows6_v3 : dense_rows4_v3;
#endif
  return R == 6 ? dense_rows6 : dense_rows4;
}
// The sums start from `init` (outputs x0.. of a row of partial sums) when it is not null.
using SparseRowFn = void (*)(const float*, const int64_t*, const float*, int64_t, const float*,
                             const RowOut&, const Epilogue&, int64_t, int64_t);
SparseRowFn sparse_row_fn() {
#if DEEPCOMP_CONV_X16
  if (wide()) return sparse_row_x16;
  if (avx2()) return sparse_row_v3;
#endif
  return sparse_row;
}
// One chunk of a span's patch summed into a block of output channels (the sparse convolution
// through patches, conv_direct_sparse): channel m0 + i sums its nonzeros of the chunk,
// [chunk_ptr[i * cp_stride], chunk_ptr[i * cp_stride + 1]), over the patch rows, starting from
// its carried sums (`sums`, kPatchSpan floats per channel) unless this is the first chunk, and
// leaves them there, or, at the last chunk, sends them through the epilogue into the output. One
// call per chunk, the loop over channels inside each clone: a call per channel cost as much as
// its few dozen nonzeros.
struct PatchChunk {
  const float* patch;
  // Every nonzero's column; its patch row is (column & mask): the column within its chunk
  // (chunks are kChunkColumns, a power of two, or one chunk with mask -1). Read in the loop
  // instead of a table of offsets built per call (1.7 ns a nonzero in a whole YOLOX run, where
  // the weights come cold from memory).
  const int32_t* cols;
  int32_t mask;
  const float* values;
  const int64_t* chunk_ptr;
  int64_t cp_stride;
  int64_t m0, channels;
  int64_t n;    // outputs of the span (<= kPatchSpan)
  float* sums;  // nullptr when the patch is one chunk
  bool first, last;
  const Epilogue* epilogue;
  float* output;
  const float* bias;
  int64_t out_off, out_sp;  // channel m's outputs from out_off + m * out_sp (of output, residual)
};
constexpr int64_t kPatchSpan = 128;
template <int L, int T>
__attribute__((always_inline)) inline void patch_chunk_lanes(const PatchChunk& c) {
  const Epilogue none;
  for (int64_t i = 0; i < c.channels; ++i) {
    const int64_t j0 = c.chunk_ptr[i * c.cp_stride], j1 = c.chunk_ptr[i * c.cp_stride + 1];
    const int64_t m = c.m0 + i;
    float* carried = c.sums ? c.sums + i * kPatchSpan : nullptr;
    const RowOut out = c.last ? row_out(*c.epilogue, c.output, c.bias, m, c.out_off + m * c.out_sp)
                              : row_out(none, carried, nullptr, m, 0);
    const float* patch = c.patch;
    const int32_t* cols = c.cols + j0;
    const int32_t mask = c.mask;
    auto at = [patch, cols, mask](int64_t k) __attribute__((always_inline)) {
      return patch + int64_t{cols[k] & mask} * kPatchSpan;
    };
    sparse_row_tiles<L, T>(at, c.values + j0, j1 - j0, c.first ? nullptr : carried, out,
                           c.last ? *c.epilogue : none, 0, c.n);
  }
}
void patch_chunk(const PatchChunk& c) { patch_chunk_lanes<4, 32>(c); }
#if DEEPCOMP_CONV_X16
DEEPCOMP_TARGET_V3
void patch_chunk_v3(const PatchChunk& c) { patch_chunk_lanes<8, 64>(c); }
// A whole span per tile: 8 accumulators of 16 floats, each patch row read once per channel.
DEEPCOMP_TARGET_V4
void patch_chunk_x16(const PatchChunk& c) { patch_chunk_lanes<16, 128>(c); }
#endif
using PatchChunkFn = void (*)(const PatchChunk&);
PatchChunkFn patch_chunk_fn() {
#if DEEPCOMP_CONV_X16
  if (wide()) return patch_chunk_x16;
  if (avx2()) return patch_chunk_v3;
#endif
  return patch_chunk;
}
using DepthwiseRowFn = void (*)(const Geometry&, const float*, const float*, const RowOut&,
                                const Epilogue&, int64_t, int64_t);
DepthwiseRowFn depthwise_row_fn() {
#if DEEPCOMP_CONV_X16
  if (wide()) return depthwise_row_v4;
  if (avx2()) return depthwise_row_v3;
#endif
  return depthwise_row;
}

// Work items: (output row, a span of it). A flattened 1x1 is one long row, cut into spans so
// threads share it.
struct Span {
  int64_t row, x0, x1;
};
std::vector<Span> spans(const Geometry& g) {
  const int64_t width = g.flat || g.long_rows ? 256 : g.ow;
  std::vector<Span> s;
  for (int64_t r = 0; r < g.rows(); ++r) {
    for (int64_t x = 0; x < g.ow; x += width) s.push_back({r, x, std::min(g.ow, x + width)});
  }
  return s;
}

// Whether a convolution computes fewer lanes as one long row (Geometry::long_row) than row by row
// in tiles of `tile` outputs, by more than the 10% its extra pass over the outputs is given.
bool long_row_pays(const Geometry& g, int64_t tile) {
  if (g.flat || g.od != 1 || g.oh < 2 || g.p.stride_h != 1) return false;
  const int64_t by_rows = (g.ow + tile - 1) / tile * tile * g.oh;
  return (g.oh - 1) * g.Wq + g.ow < 0.9 * static_cast<double>(by_rows);
}

// The epilogue of a long row's sums (`oh` rows of `ow`, `stride` apart in `sums`) on their way to
// channel m's output rows, in the steps and order store_tile takes (the same bits). sums holds
// 16 floats of slack past its last row.
template <int L>
__attribute__((always_inline)) inline void finish_rows_lanes(const float* sums, int64_t stride,
                                                             int64_t oh, int64_t ow,
                                                             const Epilogue& e, float* output,
                                                             const float* bias, int64_t m,
                                                             int64_t offset) {
  for (int64_t oy = 0; oy < oh; ++oy) {
    const RowOut o = row_out(e, output, bias, m, offset + oy * ow);
    const float* row = sums + oy * stride;
    for (int64_t x = 0; x < ow; x += L) {
      const vec<L> v = load<L>(row + x);
      store_tile<L, 1>(&v, o, e, x, std::min<int64_t>(L, ow - x));
    }
  }
}
void finish_rows(const float* sums, int64_t stride, int64_t oh, int64_t ow, const Epilogue& e,
                 float* output, const float* bias, int64_t m, int64_t offset) {
  finish_rows_lanes<4>(sums, stride, oh, ow, e, output, bias, m, offset);
}
#if DEEPCOMP_CONV_X16
DEEPCOMP_TARGET_V3
void finish_rows_v3(const float* sums, int64_t stride, int64_t oh, int64_t ow, const Epilogue& e,
                    float* output, const float* bias, int64_t m, int64_t offset) {
  finish_rows_lanes<8>(sums, stride, oh, ow, e, output, bias, m, offset);
}
DEEPCOMP_TARGET_V4
void finish_rows_x16(const float* sums, int64_t stride, int64_t oh, int64_t ow, const Epilogue& e,
                     float* output, const float* bias, int64_t m, int64_t offset) {
  finish_rows_lanes<16>(sums, stride, oh, ow, e, output, bias, m, offset);
}
#endif
using FinishRowsFn = void (*)(const float*, int64_t, int64_t, int64_t, const Epilogue&, float*,
                              const float*, int64_t, int64_t);
FinishRowsFn finish_rows_fn() {
#if DEEPCOMP_CONV_X16
  if (wide()) return finish_rows_x16;
  if (avx2()) return finish_rows_v3;
#endif
  return finish_rows;
}

// Every output channel's long-row sums (`stride` = the long row's length apart in `sums`) through
// finish_rows into image `off` of the output (channel m at off + m * oh * ow).
void finish_channels(const Geometry& g, const float* sums, int64_t stride, const Epilogue& e,
                     float* output, const float* bias, int64_t off, bool threaded) {
  const FinishRowsFn finish = finish_rows_fn();
  const int64_t out_sp = g.oh * g.ow;
#pragma omp parallel for schedule(static) if (threaded)
  for (int64_t m = 0; m < g.p.M; ++m) {
    finish(sums + m * stride, g.Wq, g.oh, g.ow, e, output, bias, m, off + m * out_sp);
  }
}

// Outputs narrower than a tile waste lanes on every row (LeNet's 8-wide maps use half of each
// 16-wide tile): such convolutions run as a 1x1 over their im2col matrix instead, whose row is
// the whole output image (per_image_im2col calls `run(q, cols, n)` per image with the 1x1
// parameters). Those of vertical stride 1 take long rows instead (long_row_pays).
bool narrow(const Geometry& g, int64_t tile = 16) {
  if (g.flat) return false;
  const int64_t tiles = (g.ow + tile - 1) / tile;
  return g.ow < 0.8 * tile * tiles && g.rows() > 1;
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
  const double macs = double(p.M) * k * out_sp;
  const bool depthwise = cg == 1 && mg == 1;
  const int64_t tile = wide() ? 32 : avx2() ? 16 : 8;
  const bool long_rows = !depthwise && long_row_pays(g, tile);
  if (!long_rows && narrow(g, tile) && !depthwise) {
    per_image_im2col(p, input, [&](const ConvParams& q, const float* cols, int64_t n) {
      conv_direct_dense(q, cols, weight, bias, for_image(epilogue, n * p.M * out_sp),
                        output + n * p.M * out_sp, packed);
    });
    return;
  }
  if (depthwise) {
    // Depthwise: each channel padded on its own into a per-thread buffer that stays in cache;
    // maps whose rows leave tile lanes empty (ocr_det's 12x24) summed as long rows into another.
    const bool dw_long = long_row_pays(g, 32);
    const Geometry dg = dw_long ? g.long_row() : g;
    const std::vector<Span> dwork = dw_long ? spans(dg) : std::vector<Span>();
    const FinishRowsFn finish = finish_rows_fn();
    const DepthwiseRowFn dw_row = depthwise_row_fn();
    const Epilogue none;
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
        if (dw_long) {
          float* sums = workspace(4, static_cast<size_t>(dg.ow + 16));
          for (const Span& s : dwork) {
            dw_row(dg, src, weight + c * k, row_out(none, sums, nullptr, 0, 0), none, s.x0, s.x1);
          }
          finish(sums, g.Wq, g.oh, g.ow, epilogue, output, bias, c, off + c * out_sp);
          continue;
        }
        for (const Span& s : work) {
          dw_row(g, src + g.row_base(s.row), weight + c * k,
                 row_out(epilogue, output, bias, c, off + c * out_sp + s.row * g.ow), epilogue,
                 s.x0, s.x1);
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
  const DenseRowsFn rows_fn = dense_rows_fn(R);
  float* buf = g.direct ? nullptr : workspace(0, g.buffer_size());
  // Long rows: the tiles sum into `sums` (no epilogue), finish_rows moves them to the output.
  const Geometry gk = long_rows ? g.long_row() : g;
  const std::vector<Span> tiles = long_rows ? spans(gk) : work;
  const int64_t tile_items = static_cast<int64_t>(tiles.size());
  float* sums = long_rows ? workspace(4, static_cast<size_t>(p.M * gk.ow + 16)) : nullptr;
  const Epilogue none;
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
        outs[i] = long_rows ? row_out(none, sums, nullptr, m, m * gk.ow)
                            : row_out(epilogue, output, bias, m, off + m * out_sp + s.row * g.ow);
      }
      const float* src = base + gr * cg * g.channel + gk.row_base(s.row);
      const float* wb = wpack + (gr * blocks + b) * k * R;
      rows_fn(gk, src, wb, cg, outs, long_rows ? none : epilogue, rows, s.x0, s.x1);
    };
    if (blocks_outer) {
#pragma omp parallel for schedule(dynamic, 1) collapse(2) if (macs >= 1e6)
      for (int64_t gr = 0; gr < p.group; ++gr) {
        for (int64_t b = 0; b < blocks; ++b) {
          for (const Span& s : tiles) tile(gr, b, s);
        }
      }
    } else {
#pragma omp parallel for schedule(static) collapse(2) if (macs >= 1e6)
      for (int64_t gr = 0; gr < p.group; ++gr) {
        for (int64_t it = 0; it < tile_items; ++it) {
          for (int64_t b = 0; b < blocks; ++b) tile(gr, b, tiles[it]);
        }
      }
    }
    if (long_rows) finish_channels(g, sums, gk.ow, epilogue, output, bias, off, macs >= 1e6);
  }
}

namespace {

// Sparse convolution through patches: the outputs of an image are cut into spans of kPatchSpan
// positions (a span may cross output rows), and each span's inputs are gathered once into a
// patch of one row per weight column (input channel x tap), kPatchSpan floats apart and 64-byte
// aligned. Every output channel of the group then sums its nonzeros over aligned rows of the
// patch. Used where it measured faster (bench/RESULTS.md, "Sparse convolution through aligned
// patches"): on AVX-512, reading the padded image at each nonzero's own offset splits 15 of 16
// 64-byte loads across two cache lines, and a patch costs one copy per column and span, paid
// back when a column is read by 4 or more channels' nonzeros (8 before the copies were inline
// and one call served every channel of a chunk; at 4, yolox_3x3_208 at 30% 1.14 -> 1.01 ms,
// blazeface_1x1 0.148 -> 0.116; of four layers at 10-30%, none more than 3% slower); and on
// every CPU where row tiles would leave over 10% of their lanes empty and long rows do not apply
// (13-wide maps of stride 2; narrow maps, which took an im2col of the whole image before), since
// a span fills its lanes across rows. The sums are the same terms in the same order, so the bits
// are the same either way.
// Patch rows gathered at a time when 32 or more channels read them: a bigger patch (YOLOX's 96
// channels x 9 taps: 442 KB) is cut into chunks of columns that stay in cache while every
// channel sums over them, the sums carried from one chunk to the next in a per-thread buffer
// (exact floats, so the same bits). yolox_3x3_52 at 30%: 2.16 -> 1.91 ms; with 24 channels
// (ocrdet_conv58) the carried sums cost more than they save (bench/RESULTS.md).
constexpr int64_t kChunkColumns = 128;  // a power of two: PatchChunk::mask

// One piece of a span: `n` consecutive outputs of one output row, which read the buffer from
// `src` (row base + first column) on and go to patch column `dst`. A span has at most
// kPatchSpan + 1 pieces (one per output row it touches).
struct Piece {
  int64_t dst, src, n;
};
int64_t span_pieces(const Geometry& g, int64_t p0, int64_t p1, Piece* pieces) {
  int64_t count = 0;
  for (int64_t p = p0; p < p1;) {
    const int64_t r = p / g.ow, x = p % g.ow, n = std::min(g.ow - x, p1 - p);
    pieces[count++] = {p - p0, g.row_base(r) + x, n};
    p += n;
  }
  return count;
}

// n floats from `from` to `to` in vectors of L (the last one overlapping its predecessor, so
// nothing outside either run is read or written), halving L for a run shorter than a vector.
template <int L>
__attribute__((always_inline)) inline void copy_run(const float* from, float* to, int64_t n) {
  if (n >= L) {
    for (int64_t i = 0; i + L < n; i += L) store<L>(to + i, load<L>(from + i));
    store<L>(to + n - L, load<L>(from + n - L));
  } else if constexpr (L > 4) {
    copy_run<L / 2>(from, to, n);
  } else {
    for (int64_t i = 0; i < n; ++i) to[i] = from[i];
  }
}
// The patch of one span: row col (channel c, tap t of the group whose first channel is `group`)
// holds the span's inputs of that column. Inline vector copies: a library memmove per piece
// (a few dozen floats) was 9% of yolox_3x3_52's time.
template <int L>
__attribute__((always_inline)) inline void gather_lanes(const float* group,
                                                        const int64_t* column_offset,
                                                        int64_t columns, const Piece* pieces,
                                                        int64_t count, float* patch) {
  for (int64_t col = 0; col < columns; ++col) {
    const float* from = group + column_offset[col];
    float* to = patch + col * kPatchSpan;
    for (int64_t i = 0; i < count; ++i) {
      copy_run<L>(from + pieces[i].src, to + pieces[i].dst, pieces[i].n);
    }
  }
}
void gather_patch(const float* group, const int64_t* column_offset, int64_t columns,
                  const Piece* pieces, int64_t count, float* patch) {
  gather_lanes<4>(group, column_offset, columns, pieces, count, patch);
}
#if DEEPCOMP_CONV_X16
DEEPCOMP_TARGET_V3
void gather_patch_v3(const float* group, const int64_t* column_offset, int64_t columns,
                     const Piece* pieces, int64_t count, float* patch) {
  gather_lanes<8>(group, column_offset, columns, pieces, count, patch);
}
DEEPCOMP_TARGET_V4
void gather_patch_x16(const float* group, const int64_t* column_offset, int64_t columns,
                      const Piece* pieces, int64_t count, float* patch) {
  gather_lanes<16>(group, column_offset, columns, pieces, count, patch);
}
#endif
using GatherFn = void (*)(const float*, const int64_t*, int64_t, const Piece*, int64_t, float*);
GatherFn gather_fn() {
#if DEEPCOMP_CONV_X16
  if (wide()) return gather_patch_x16;
  if (avx2()) return gather_patch_v3;
#endif
  return gather_patch;
}

// A per-thread patch buffer, 64-byte aligned.
float* patch_buffer(int64_t columns) {
  float* raw = workspace(2, static_cast<size_t>(columns * kPatchSpan + 16));
  const uintptr_t at = (reinterpret_cast<uintptr_t>(raw) + 63) & ~uintptr_t(63);
  return reinterpret_cast<float*>(at);
}

// Row [j0, j1)'s chunk starts into cp[0..chunks]: `chunks` of `chunk_cols` columns, by binary
// search (columns ascend within a row; a linear pass measured twice as slow).
void row_chunk_starts(const int32_t* col, int64_t j0, int64_t j1, int64_t chunk_cols,
                      int64_t chunks, int64_t* cp) {
  for (int64_t k = 0; k <= chunks; ++k) {
    cp[k] = std::lower_bound(col + j0, col + j1, k * chunk_cols) - col;
  }
}

}  // namespace

int64_t sparse_chunks(int64_t cols) { return (cols + kChunkColumns - 1) / kChunkColumns; }

void fill_chunk_starts(const int64_t* row_ptr, const int32_t* col_idx, int64_t rows, int64_t cols,
                       int64_t* starts) {
  const int64_t chunks = sparse_chunks(cols);
  for (int64_t m = 0; m < rows; ++m) {
    row_chunk_starts(col_idx, row_ptr[m], row_ptr[m + 1], kChunkColumns, chunks,
                     starts + m * (chunks + 1));
  }
}

// How the sparse convolution through patches shares an image among threads: each thread a
// contiguous run of (group, span) items, so that neighbouring spans, which read the same input
// rows, run on the same core (dynamic scheduling scattered them: YOLOX's Conv_41 on two threads
// 1.04 -> 0.64 ms). Too few spans for that: each group's channels are cut into one block per
// thread, and thread t runs block t of every span (each gathers every span's patch).
struct Split {
  int64_t spans, blocks;
};
Split patch_split(int64_t out_sp, int64_t group, int64_t mg, int64_t threads) {
  const int64_t spans = (out_sp + kPatchSpan - 1) / kPatchSpan;
  if (threads == 1 || group * spans >= 2 * threads) return {spans, 1};
  return {spans, std::min(threads, mg)};
}

void conv_direct_sparse(const ConvParams& given, const float* input, const SparseConvWeight& w,
                        const float* bias, const Epilogue& epilogue, float* output) {
  const Geometry g(given);
  const ConvParams& p = g.p;
  const int64_t cg = p.C / p.group, mg = p.M / p.group;
  const int64_t taps = p.taps();
  const int64_t out_sp = g.rows() * g.ow;
  const int64_t nnz = w.row_ptr[p.M];
  const int64_t patch = cg * taps;
  const bool long_rows = long_row_pays(g, 32);
  // Lanes the row tiles would compute per output (16-float granularity) when not long rows.
  const double lanes = g.flat ? 1.0 : double((g.ow + 15) / 16 * 16) / double(g.ow);
  const bool patches = !(cg == 1 && mg == 1) &&
                       ((!long_rows && lanes > 1.1) || (wide() && nnz >= 4 * p.group * patch));
  // Each nonzero's weight; through patches, the chunk starts of every row (the patch row of a
  // nonzero is its column, masked: PatchChunk::cols); straight from the image, the buffer offset
  // of each nonzero's column (relative to its group's first channel; the offset of every column
  // is tabled first: no division per nonzero).
  const int64_t chunk_cols = patches && mg >= 32 ? std::min(patch, kChunkColumns) : patch;
  const int64_t chunks = (patch + chunk_cols - 1) / chunk_cols;
  const bool planned = patches && w.chunk_starts && chunks == sparse_chunks(patch);
  float* values = workspace(1, static_cast<size_t>(nnz + 1));
  // Offsets per nonzero only for the path straight from the image; chunk starts only for patches.
  const int64_t offset_count = patches ? 0 : nnz + 1;
  const int64_t chunk_ptr_count = patches && !planned ? p.M * (chunks + 1) : 0;
  int64_t* offsets = index_workspace(static_cast<size_t>(offset_count + patch + chunk_ptr_count));
  int64_t* column_offset = offsets + offset_count;
  // Row m's nonzeros of chunk k: [chunk_ptr[m * (chunks + 1) + k], ... + k + 1) (columns
  // ascend within a row: the CSR forms' invariant); the weight's own when it has them.
  int64_t* own_chunk_ptr = column_offset + patch;
  const int64_t* chunk_ptr = planned ? w.chunk_starts : own_chunk_ptr;
  for (int64_t c = 0; c < cg; ++c) {
    for (int64_t t = 0; t < taps; ++t) column_offset[c * taps + t] = c * g.channel + g.tap_off[t];
  }
  const double macs = double(nnz) * out_sp;
  const int64_t threads = macs >= 1e6 ? omp_get_max_threads() : 1;
  // Each row's weights (one loop per storage form: no test per nonzero) and its chunk starts or
  // offsets, rows shared among the threads (on one, this took 3-8% of a stride-2 layer's
  // two-thread time).
#pragma omp parallel for schedule(static) if (threads > 1 && nnz >= 16384)
  for (int64_t m = 0; m < p.M; ++m) {
    const int64_t j0 = w.row_ptr[m], j1 = w.row_ptr[m + 1];
    if (w.values) {
      std::copy(w.values + j0, w.values + j1, values + j0);
    } else if (w.cluster16) {
      for (int64_t j = j0; j < j1; ++j) values[j] = w.codebook[w.cluster16[j]];
    } else {
      for (int64_t j = j0; j < j1; ++j) values[j] = w.codebook[w.cluster[j]];
    }
    if (w.row_scale) {
      for (int64_t j = j0; j < j1; ++j) values[j] *= w.row_scale[m];
    }
    if (!patches) {
      for (int64_t j = j0; j < j1; ++j) offsets[j] = column_offset[w.col_idx[j]];
      continue;
    }
    if (!planned) {
      row_chunk_starts(w.col_idx, j0, j1, chunk_cols, chunks, own_chunk_ptr + m * (chunks + 1));
    }
  }
  float* buf = g.direct ? nullptr : workspace(0, g.buffer_size());
  const SparseRowFn row_fn = sparse_row_fn();
  const PatchChunkFn chunk_fn = patch_chunk_fn();
  const GatherFn gather = gather_fn();
  const Epilogue none;
  if (patches) {
    // Work items: (group, span, block of the group's channels), patch_split's.
    const Split split = patch_split(out_sp, p.group, mg, threads);
    const int64_t spans_n = split.spans, blocks = split.blocks;
    const int64_t block_m = (mg + blocks - 1) / blocks;
    const int64_t items = p.group * spans_n * blocks;
    for (int64_t n = 0; n < p.N; ++n) {
      const float* image = input + n * p.C * p.in_spatial();
      if (!g.direct) pad_image(g, image, buf);
      const float* base = g.direct ? image : buf;
      const int64_t off = n * p.M * out_sp;
#pragma omp parallel for schedule(static) if (threads > 1)
      for (int64_t it = 0; it < items; ++it) {
        const int64_t b = it / (p.group * spans_n), gr = it / spans_n % p.group, sp = it % spans_n;
        const int64_t p0 = sp * kPatchSpan, p1 = std::min(out_sp, p0 + kPatchSpan);
        float* patch_rows = patch_buffer(chunk_cols);
        float* sums =
            chunks > 1 ? workspace(5, static_cast<size_t>(block_m * kPatchSpan)) : nullptr;
        Piece pieces[kPatchSpan + 1];
        const int64_t count = span_pieces(g, p0, p1, pieces);
        const int64_t m0 = gr * mg + b * block_m, m1 = gr * mg + std::min(mg, (b + 1) * block_m);
        PatchChunk c;
        c.patch = patch_rows, c.cols = w.col_idx, c.values = values;
        c.mask = chunks > 1 ? static_cast<int32_t>(kChunkColumns - 1) : -1;
        c.cp_stride = chunks + 1;
        c.m0 = m0, c.channels = m1 - m0, c.n = p1 - p0, c.sums = sums;
        c.epilogue = &epilogue, c.output = output, c.bias = bias;
        c.out_off = off + p0, c.out_sp = out_sp;
        for (int64_t k = 0; k < chunks; ++k) {
          const int64_t c0 = k * chunk_cols;
          gather(base + gr * cg * g.channel, column_offset + c0, std::min(chunk_cols, patch - c0),
                 pieces, count, patch_rows);
          c.chunk_ptr = chunk_ptr + m0 * (chunks + 1) + k;
          c.first = k == 0, c.last = k + 1 == chunks;
          chunk_fn(c);
        }
      }
    }
    return;
  }
  // Straight from the padded image; long rows (as in conv_direct_dense) sum without the
  // epilogue, then finish_rows.
  const Geometry gk = long_rows ? g.long_row() : g;
  float* sums = long_rows ? workspace(4, static_cast<size_t>(p.M * gk.ow + 16)) : nullptr;
  const std::vector<Span> work = spans(gk);
  const int64_t items = static_cast<int64_t>(work.size());
  for (int64_t n = 0; n < p.N; ++n) {
    const float* image = input + n * p.C * p.in_spatial();
    if (!g.direct) pad_image(g, image, buf);
    const float* base = g.direct ? image : buf;
    const int64_t off = n * p.M * out_sp;
    // Rows outer: the input rows a span reads stay in cache while every channel sums over them.
#pragma omp parallel for schedule(static) collapse(2) if (macs >= 1e6)
    for (int64_t it = 0; it < items; ++it) {
      for (int64_t m = 0; m < p.M; ++m) {
        const Span& s = work[it];
        const int64_t j0 = w.row_ptr[m];
        const float* src = base + (m / mg) * cg * g.channel + gk.row_base(s.row);
        const RowOut out =
            long_rows ? row_out(none, sums, nullptr, m, m * gk.ow)
                      : row_out(epilogue, output, bias, m, off + m * out_sp + s.row * g.ow);
        row_fn(src, offsets + j0, values + j0, w.row_ptr[m + 1] - j0, nullptr, out,
               long_rows ? none : epilogue, s.x0, s.x1);
      }
    }
    if (long_rows) finish_channels(g, sums, gk.ow, epilogue, output, bias, off, macs >= 1e6);
  }
}

}  // namespace deepcomp::kernels::detail
