// com.microsoft DynamicQuantizeLSTM, the ONNX Runtime contrib operator its dynamic quantizer puts
// in place of an LSTM (ddddocr's common_old.onnx has one): ONNX LSTM semantics (gate order i, o,
// f, c; B = [Wb, Rb]; peepholes [Pi, Po, Pf]; clip on the gate inputs; input_forget) with 8-bit
// weights W [D, I, 4H] and R [D, H, 4H] (note: transposed against ONNX LSTM's [D, 4H, I]), their
// scales and zero points per direction ([D]) or per column ([D, 4H]). X and the hidden state are
// quantized at run time as DynamicQuantizeLinear does (uint8, the range widened to include 0,
// round half to even), X once per direction over all steps and the batch, h once per step over
// the batch; each product is Σ (x_q - x_zp)(w - w_zp) in int32 times x_scale * w_scale[column],
// summed in ONNX Runtime's order (X·W, then + H·R, then + Wb + Rb). The integer sums are exact;
// ONNX Runtime's u8s8 kernels on AVX2 without VNNI saturate pairs of products in int16, so on
// full-range int8 weights its results can depart slightly (docs/OPERATORS.md). Default
// activations only (Sigmoid, Tanh, Tanh); sequence_lens, when given, must all be seq_length.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/ops.h"
#include "runtime/ops_quant.h"

namespace deepcomp::runtime::ops {

namespace {

struct Spec {
  int64_t hidden = 0;
  int64_t dirs = 1;
  bool reverse = false;  // direction=reverse (bidirectional: direction 1 runs reversed)
  bool input_forget = false;
  float clip = 0;  // 0: no clip
};

float clipped(float x, float clip) { return clip > 0 ? std::clamp(x, -clip, clip) : x; }
float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// DynamicQuantizeLinear's uint8 parameters for `n` floats, and the codes minus the zero point.
void quantize_dynamic(const float* x, int64_t n, std::vector<int16_t>* centered, float* scale) {
  float mn = 0, mx = 0;
  for (int64_t k = 0; k < n; ++k) {
    if (std::isnan(x[k])) continue;
    mn = std::min(mn, x[k]);
    mx = std::max(mx, x[k]);
  }
  *scale = mx == mn ? 1.0f : (mx - mn) / 255.0f;
  const int64_t zp =
      static_cast<int64_t>(std::nearbyint(std::max(0.0f, std::min(255.0f, 0.0f - mn / *scale))));
  centered->resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k)
    (*centered)[k] = static_cast<int16_t>(quantize_value(x[k] / *scale, zp, 0, 255) - zp);
}

// One direction's weight [K, N] (N = 4H) as centered codes transposed to [N][K] (each output
// column's codes contiguous for the dot products), and its scale per column.
struct QWeight {
  int64_t k = 0, n = 0;
  std::vector<int16_t> codes;  // (w - zero point), [n][k]; int16 so the dot products vectorize
  std::vector<float> scale;    // n entries
};

Status check_weight(const Value* w, const Value* scale, const Value* zp, const std::string& what,
                    int64_t dirs, int64_t rows, int64_t n) {
  DEEPCOMP_RETURN_IF_ERROR(require_8bit(w, what));
  if (w->rank() != 3 || w->shape[0] != dirs || (rows >= 0 && w->shape[1] != rows) ||
      w->shape[2] != n) {
    return Status::Error(what + " must be [" + std::to_string(dirs) + ", " +
                         (rows >= 0 ? std::to_string(rows) : std::string("input_size")) + ", " +
                         std::to_string(n) + "], is " + describe(*w));
  }
  DEEPCOMP_RETURN_IF_ERROR(require_scale(scale, what + "_scale"));
  const bool per_dir = scale->rank() == 1 && scale->shape[0] == dirs;
  const bool per_col = scale->rank() == 2 && scale->shape[0] == dirs && scale->shape[1] == n;
  if (!per_dir && !per_col) {
    return Status::Error(what + "_scale must be [" + std::to_string(dirs) + "] or [" +
                         std::to_string(dirs) + ", " + std::to_string(n) + "], is " +
                         describe(*scale));
  }
  DEEPCOMP_RETURN_IF_ERROR(require_present(zp, (what + "_zero_point").c_str()));
  if (zp->dtype != w->dtype || zp->shape != scale->shape) {
    return Status::Error(what + "_zero_point must be " + dtype_name(w->dtype) + " of " + what +
                         "_scale's shape, is " + describe(*zp));
  }
  return Status::Ok();
}

QWeight direction_weight(const Value& w, const Value& scale, const Value& zp, int64_t d) {
  QWeight q;
  q.k = w.shape[1];
  q.n = w.shape[2];
  const bool per_col = scale.rank() == 2;
  q.codes.resize(static_cast<size_t>(q.k * q.n));
  q.scale.resize(static_cast<size_t>(q.n));
  const int64_t base = d * q.k * q.n;
  for (int64_t j = 0; j < q.n; ++j) {
    const int64_t p = per_col ? d * q.n + j : d;
    q.scale[j] = static_cast<float>(scale.as_double(p));
    const int64_t z = zp.i[p];
    for (int64_t r = 0; r < q.k; ++r)
      q.codes[j * q.k + r] = static_cast<int16_t>(w.i[base + r * q.n + j] - z);
  }
  return q;
}

// out[m][j] (+)= float(Σ_r a[m][r] * w[j][r]) * (a_scale * w.scale[j]) for `rows` rows of a.
void qgemm(const std::vector<int16_t>& a, int64_t rows, float a_scale, const QWeight& w,
           bool accumulate, float* out) {
  for (int64_t m = 0; m < rows; ++m) {
    const int16_t* am = a.data() + m * w.k;
    float* om = out + m * w.n;
    for (int64_t j = 0; j < w.n; ++j) {
      const int16_t* wj = w.codes.data() + j * w.k;
      int32_t acc = 0;
      for (int64_t r = 0; r < w.k; ++r) acc += int32_t{am[r]} * int32_t{wj[r]};
      const float v = static_cast<float>(acc) * (a_scale * w.scale[j]);
      om[j] = accumulate ? v + om[j] : v;
    }
  }
}

// in: X, W, R, B, sequence_lens, initial_h, initial_c, P, W_scale, W_zero_point, R_scale,
// R_zero_point.
Status run_lstm(const Spec& spec, const Inputs& in, std::vector<Value>* out) {
  DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
  const Value& x = *in[0];
  if (x.rank() != 3)
    return Status::Error("X must be [seq_length, batch, input_size], is " + describe(x));
  const int64_t T = x.shape[0], batch = x.shape[1], I = x.shape[2], H = spec.hidden, D = spec.dirs;
  const int64_t G = 4 * H;
  DEEPCOMP_RETURN_IF_ERROR(check_weight(in[1], in[8], in[9], "W", D, I, G));
  DEEPCOMP_RETURN_IF_ERROR(check_weight(in[2], in[10], in[11], "R", D, H, G));
  const Value* bias = in[3];
  if (bias) {
    DEEPCOMP_RETURN_IF_ERROR(require_float(bias, "B"));
    if (bias->shape != std::vector<int64_t>{D, 2 * G})
      return Status::Error("B must be [" + std::to_string(D) + ", " + std::to_string(2 * G) +
                           "], is " + describe(*bias));
  }
  if (in[4]) {
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[4], "sequence_lens"));
    if (in[4]->shape != std::vector<int64_t>{batch})
      return Status::Error("sequence_lens must be [" + std::to_string(batch) + "], is " +
                           describe(*in[4]));
    for (int64_t v : in[4]->i) {
      if (v != T) {
        return Status::Error("sequence_lens shorter than seq_length (" + std::to_string(v) + " < " +
                             std::to_string(T) + ") is not supported");
      }
    }
  }
  const std::vector<int64_t> state_shape = {D, batch, H};
  for (size_t k : {size_t{5}, size_t{6}}) {
    if (!in[k]) continue;
    const char* what = k == 5 ? "initial_h" : "initial_c";
    DEEPCOMP_RETURN_IF_ERROR(require_float(in[k], what));
    if (in[k]->shape != state_shape)
      return Status::Error(std::string(what) + " must be [" + std::to_string(D) + ", " +
                           std::to_string(batch) + ", " + std::to_string(H) + "], is " +
                           describe(*in[k]));
  }
  const Value* peep = in[7];
  if (peep) {
    DEEPCOMP_RETURN_IF_ERROR(require_float(peep, "P"));
    if (peep->shape != std::vector<int64_t>{D, 3 * H})
      return Status::Error("P must be [" + std::to_string(D) + ", " + std::to_string(3 * H) +
                           "], is " + describe(*peep));
  }

  const bool want_y = !out->empty(), want_h = out->size() > 1, want_c = out->size() > 2;
  Value y = zeros_like_dtype(DType::kFloat32, {T, D, batch, H});
  Value y_h = zeros_like_dtype(DType::kFloat32, state_shape);
  Value y_c = zeros_like_dtype(DType::kFloat32, state_shape);
  // X is quantized once: reversing the steps for a reverse direction does not change its range.
  std::vector<int16_t> xq, hq;
  float x_scale = 1;
  quantize_dynamic(x.f.data(), T * batch * I, &xq, &x_scale);
  std::vector<float> xw(static_cast<size_t>(T * batch * G)), gates(static_cast<size_t>(batch * G));
  std::vector<float> h(static_cast<size_t>(batch * H)), c(h.size()), fused_bias(G, 0.0f);
  for (int64_t d = 0; d < D; ++d) {
    const QWeight w = direction_weight(*in[1], *in[8], *in[9], d);
    const QWeight r = direction_weight(*in[2], *in[10], *in[11], d);
    const bool reverse = spec.reverse || d == 1;
    qgemm(xq, T * batch, x_scale, w, false, xw.data());  // rows in time order
    if (bias) {
      for (int64_t j = 0; j < G; ++j)
        fused_bias[j] = bias->f[d * 2 * G + j] + bias->f[d * 2 * G + G + j];
    }
    const float* pd = peep ? peep->f.data() + d * 3 * H : nullptr;
    for (int64_t k = 0; k < batch * H; ++k) {
      h[k] = in[5] ? in[5]->f[d * batch * H + k] : 0.0f;
      c[k] = in[6] ? in[6]->f[d * batch * H + k] : 0.0f;
    }
    for (int64_t step = 0; step < T; ++step) {
      const int64_t t = reverse ? T - 1 - step : step;
      std::copy(xw.begin() + t * batch * G, xw.begin() + (t + 1) * batch * G, gates.begin());
      float h_scale = 1;
      quantize_dynamic(h.data(), batch * H, &hq, &h_scale);
      qgemm(hq, batch, h_scale, r, true, gates.data());
      for (int64_t b = 0; b < batch; ++b) {
        float* g = gates.data() + b * G;
        float* cb = c.data() + b * H;
        float* hb = h.data() + b * H;
        for (int64_t j = 0; j < G; ++j) g[j] = g[j] + fused_bias[j];
        // Gate order i, o, f, c; peepholes P = [Pi, Po, Pf].
        for (int64_t j = 0; j < H; ++j) {
          const float i_gate = sigmoid(clipped(g[j] + (pd ? pd[j] * cb[j] : 0.0f), spec.clip));
          const float f_gate =
              spec.input_forget
                  ? 1.0f - i_gate
                  : sigmoid(clipped(g[2 * H + j] + (pd ? pd[2 * H + j] * cb[j] : 0.0f), spec.clip));
          const float cand = std::tanh(clipped(g[3 * H + j], spec.clip));
          cb[j] = cb[j] * f_gate + i_gate * cand;
          const float o_gate =
              sigmoid(clipped(g[H + j] + (pd ? pd[H + j] * cb[j] : 0.0f), spec.clip));
          hb[j] = std::tanh(cb[j]) * o_gate;
        }
        if (want_y) std::copy(hb, hb + H, y.f.begin() + ((t * D + d) * batch + b) * H);
      }
    }
    std::copy(h.begin(), h.end(), y_h.f.begin() + d * batch * H);
    std::copy(c.begin(), c.end(), y_c.f.begin() + d * batch * H);
  }
  if (want_y) (*out)[0] = std::move(y);
  if (want_h) (*out)[1] = std::move(y_h);
  if (want_c) (*out)[2] = std::move(y_c);
  return Status::Ok();
}

Result<CompiledOp> build_dynamic_quantize_lstm(const BuildContext& ctx) {
  const Node& node = *ctx.node;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 12, 12, 3));
  DEEPCOMP_RETURN_IF_ERROR(
      check_attributes(node, {"activations", "clip", "direction", "hidden_size", "input_forget"}));
  Spec spec;
  const std::string direction = attr_string(node, "direction", "forward");
  if (direction == "bidirectional") {
    spec.dirs = 2;
  } else if (direction == "reverse") {
    spec.reverse = true;
  } else if (direction != "forward") {
    return Status::Error("attribute direction=" + direction + " is not supported");
  }
  spec.hidden = attr_int(node, "hidden_size", 0);
  if (spec.hidden <= 0) return Status::Error("attribute hidden_size must be positive");
  spec.input_forget = attr_int(node, "input_forget", 0) != 0;
  if (has_attr(node, "clip")) {
    spec.clip = attr_float(node, "clip", 0);
    if (!(spec.clip > 0)) return Status::Error("attribute clip must be positive");
  }
  if (has_attr(node, "activations")) {
    const Attribute* a = node.attr("activations");
    for (size_t k = 0; k < a->strings.size(); ++k) {
      std::string name = a->strings[k];
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      if (name != (k % 3 == 0 ? "sigmoid" : "tanh")) {
        return Status::Error("attribute activations: only Sigmoid, Tanh, Tanh is supported");
      }
    }
    if (a->strings.size() != static_cast<size_t>(3 * spec.dirs))
      return Status::Error("attribute activations must list 3 per direction");
  }
  for (size_t k : {size_t{0}, size_t{1}, size_t{2}, size_t{8}, size_t{9}, size_t{10}, size_t{11}}) {
    if (!ctx.has_input(k)) return Status::Error("input " + std::to_string(k) + " is required");
  }
  CompiledOp op;
  op.run = [spec](const Inputs& in, std::vector<Value>* out) { return run_lstm(spec, in, out); };
  return op;
}

}  // namespace

void register_quant_lstm_ops(Table* t) {
  (*t)["com.microsoft.DynamicQuantizeLSTM"] = build_dynamic_quantize_lstm;
}

}  // namespace deepcomp::runtime::ops
