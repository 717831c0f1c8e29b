// Recurrent layers: LSTM, GRU and RNN with ONNX semantics (forward, reverse, bidirectional,
// sequence_lens, initial states, LSTM peepholes, activation lists with alpha/beta, clip,
// input_forget, linear_before_reset, layout 0 and 1, every output optional).
// X * W^T for all time steps and directions is one product (dense or sparse, W as [D*G*H, I]);
// each step then multiplies the previous hidden state by that direction's rows of R ([D*G*H, H]).
#include <algorithm>
#include <cctype>
#include <cmath>

#include "kernels/dense.h"
#include "kernels/spmm.h"
#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

namespace {

enum class Cell { kLstm, kGru, kRnn };

int64_t gate_count(Cell cell) { return cell == Cell::kLstm ? 4 : cell == Cell::kGru ? 3 : 1; }
// Activation functions per direction: LSTM f, g, h; GRU f, g; RNN f.
size_t activation_count(Cell cell) { return cell == Cell::kLstm ? 3 : cell == Cell::kGru ? 2 : 1; }

struct Activation {
  enum Kind {
    kRelu,
    kTanh,
    kSigmoid,
    kAffine,
    kLeakyRelu,
    kThresholdedRelu,
    kScaledTanh,
    kHardSigmoid,
    kElu,
    kSoftsign,
    kSoftplus
  };
  Kind kind = kTanh;
  float alpha = 0, beta = 0;

  float operator()(float x) const {
    switch (kind) {
      case kRelu:
        return x > 0 ? x : 0.0f;
      case kTanh:
        return std::tanh(x);
      case kSigmoid:
        return 1.0f / (1.0f + std::exp(-x));
      case kAffine:
        return alpha * x + beta;
      case kLeakyRelu:
        return x >= 0 ? x : alpha * x;
      case kThresholdedRelu:
        return x > alpha ? x : 0.0f;
      case kScaledTanh:
        return alpha * std::tanh(beta * x);
      case kHardSigmoid:
        return std::clamp(alpha * x + beta, 0.0f, 1.0f);
      case kElu:
        return x >= 0 ? x : alpha * (std::exp(x) - 1.0f);
      case kSoftsign:
        return x / (1.0f + std::fabs(x));
      case kSoftplus:
        return x > 20.0f ? x : std::log1p(std::exp(x));
    }
    return x;
  }
};

// Parses an activation name (case-insensitive, as ONNX Runtime accepts) and takes its alpha /
// beta from the attribute lists in order, falling back to the activation op's own defaults.
Result<Activation> parse_activation(const std::string& name, const std::vector<float>& alphas,
                                    size_t* next_alpha, const std::vector<float>& betas,
                                    size_t* next_beta) {
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  struct Known {
    const char* name;
    Activation::Kind kind;
    bool has_alpha, has_beta;
    float alpha, beta;
  };
  static const Known known[] = {
      {"relu", Activation::kRelu, false, false, 0, 0},
      {"tanh", Activation::kTanh, false, false, 0, 0},
      {"sigmoid", Activation::kSigmoid, false, false, 0, 0},
      {"affine", Activation::kAffine, true, true, 1.0f, 0.0f},
      {"leakyrelu", Activation::kLeakyRelu, true, false, 0.01f, 0},
      {"thresholdedrelu", Activation::kThresholdedRelu, true, false, 1.0f, 0},
      {"scaledtanh", Activation::kScaledTanh, true, true, 1.0f, 1.0f},
      {"hardsigmoid", Activation::kHardSigmoid, true, true, 0.2f, 0.5f},
      {"elu", Activation::kElu, true, false, 1.0f, 0},
      {"softsign", Activation::kSoftsign, false, false, 0, 0},
      {"softplus", Activation::kSoftplus, false, false, 0, 0},
  };
  for (const Known& k : known) {
    if (lower != k.name) continue;
    Activation a;
    a.kind = k.kind;
    a.alpha = k.alpha;
    a.beta = k.beta;
    if (k.has_alpha && *next_alpha < alphas.size()) a.alpha = alphas[(*next_alpha)++];
    if (k.has_beta && *next_beta < betas.size()) a.beta = betas[(*next_beta)++];
    return a;
  }
  return Status::Error("activation '" + name + "' is not supported");
}

// Rows [r0, r1) of a sparse matrix, as a matrix of their own.
template <typename M>
M slice_rows(const M& m, int64_t r0, int64_t r1) {
  M s = m;
  s.rows = r1 - r0;
  const int64_t b = m.row_ptr[r0], e = m.row_ptr[r1];
  s.row_ptr.resize(static_cast<size_t>(s.rows + 1));
  for (int64_t r = 0; r <= s.rows; ++r) s.row_ptr[r] = m.row_ptr[r0 + r] - b;
  s.col_idx.assign(m.col_idx.begin() + b, m.col_idx.begin() + e);
  if constexpr (std::is_same_v<M, kernels::CsrMatrix>) {
    s.values.assign(m.values.begin() + b, m.values.begin() + e);
  } else {
    if (m.wide()) {
      s.cluster16.assign(m.cluster16.begin() + b, m.cluster16.begin() + e);
    } else {
      s.cluster.assign(m.cluster.begin() + b, m.cluster.begin() + e);
    }
  }
  return s;
}

// Rows of a weight (W or R) run as Y = X * rows^T (+ bias): dense, CSR or codebook-CSR.
struct RowBlock {
  int64_t rows = 0, cols = 0;
  const float* dense = nullptr;
  std::shared_ptr<const kernels::CsrMatrix> csr;
  std::shared_ptr<const kernels::CodebookCsrMatrix> codebook;

  void apply(const float* x, int64_t batch, const float* bias, float* y) const {
    if (codebook) {
      kernels::gemm_codebook_csr(x, batch, *codebook, bias, y);
    } else if (csr) {
      kernels::gemm_csr(x, batch, *csr, bias, y);
    } else {
      kernels::gemm_dense(x, batch, cols, dense, rows, bias, y);
    }
  }
};

// A W or R weight as row blocks (W: one block of all D*G*H rows; R: per direction, and for GRU
// the z/r rows apart from the h rows, since h multiplies r (.) H when linear_before_reset is 0).
struct CellWeight {
  std::vector<float> storage;  // dense values when they are not read from a Value in place
  std::vector<RowBlock> blocks;
  bool sparse = false;
  double density = 1;
};

using Ranges = std::vector<std::pair<int64_t, int64_t>>;

void split_dense(const float* data, int64_t cols, const Ranges& ranges, CellWeight* w) {
  for (auto [r0, r1] : ranges) {
    RowBlock b;
    b.rows = r1 - r0;
    b.cols = cols;
    b.dense = data + r0 * cols;
    w->blocks.push_back(b);
  }
}

void split_sparse(const SparseWeight& s, int64_t rows, int64_t cols, const Ranges& ranges,
                  CellWeight* w) {
  for (auto [r0, r1] : ranges) {
    RowBlock b;
    b.rows = r1 - r0;
    b.cols = cols;
    const bool whole = r0 == 0 && r1 == rows;
    if (s.codebook) {
      b.codebook =
          whole
              ? s.codebook
              : std::make_shared<const kernels::CodebookCsrMatrix>(slice_rows(*s.codebook, r0, r1));
    } else {
      b.csr =
          whole ? s.csr : std::make_shared<const kernels::CsrMatrix>(slice_rows(*s.csr, r0, r1));
    }
    w->blocks.push_back(b);
  }
}

// The constant weight `name` ([D, G*H, cols]) as the session's kernel choice runs it.
Result<std::shared_ptr<const CellWeight>> constant_weight(const BuildContext& ctx,
                                                          const std::string& name, const Value& v,
                                                          const Ranges& ranges) {
  const int64_t rows = v.shape[0] * v.shape[1], cols = v.shape[2];
  const SparseWeight given = ctx.sparse_weight(name);
  if (given.present()) {
    const int64_t r = given.csr ? given.csr->rows : given.codebook->rows;
    const int64_t c = given.csr ? given.csr->cols : given.codebook->cols;
    if (r != rows || c != cols) {
      return Status::Error("sparse weight '" + name + "' is " + std::to_string(r) + "x" +
                           std::to_string(c) + ", expected " + std::to_string(rows) + "x" +
                           std::to_string(cols) + " (rows = directions x gates x hidden)");
    }
  }
  LayerWeight chosen = choose_layer_weight(ctx, given, v, rows, cols, false, ctx.dense_above_density);
  auto w = std::make_shared<CellWeight>();
  w->density = chosen.density;
  if (chosen.sparse.present()) {
    w->sparse = true;
    split_sparse(chosen.sparse, rows, cols, ranges, w.get());
    return std::shared_ptr<const CellWeight>(std::move(w));
  }
  w->storage = chosen.expanded.empty() ? v.f : std::move(chosen.expanded);
  split_dense(w->storage.data(), cols, ranges, w.get());
  return std::shared_ptr<const CellWeight>(std::move(w));
}

struct Spec {
  Cell cell = Cell::kLstm;
  int64_t dirs = 1;
  bool reverse = false;  // direction "reverse" (one direction, run backwards)
  int64_t layout = 0;
  int64_t hidden_attr = -1;
  float clip = 0;  // 0: no clip
  bool input_forget = false;
  bool linear_before_reset = false;
  std::vector<Activation> acts;  // activation_count per direction, direction-major
};

float clipped(float x, float clip) { return clip > 0 ? std::clamp(x, -clip, clip) : x; }

// `held`: a constant weight the layer runs from its own copy (CellWeight), so only its shape is
// read (it may be a shape without values: runtime/session.cc).
Status require_weight(const Value* v, const char* what, bool held) {
  if (!held) return require_float(v, what);
  if (!v || !v->is_float()) return Status::Error(std::string(what) + " must be a float tensor");
  return Status::Ok();
}

Status check_shape(const Value* v, const char* what, const std::vector<int64_t>& want,
                   bool held = false) {
  DEEPCOMP_RETURN_IF_ERROR(require_weight(v, what, held));
  if (v->shape != want) {
    return Status::Error(std::string(what) + " must be " + shape_string(want) + ", is " +
                         describe(*v));
  }
  return Status::Ok();
}

// Index of a [dirs, batch, H] state (layout 0) or [batch, dirs, H] (layout 1).
int64_t state_index(int64_t layout, int64_t d, int64_t b, int64_t dirs, int64_t batch, int64_t H) {
  return (layout == 0 ? d * batch + b : b * dirs + d) * H;
}

// Runs the recurrence. in: X, W, R, B, sequence_lens, initial_h, [initial_c, P] (LSTM).
Status run_cell(const Spec& spec, const CellWeight* w_const, const CellWeight* r_const,
                const Inputs& in, std::vector<Value>* out) {
  const Cell cell = spec.cell;
  const int64_t G = gate_count(cell), D = spec.dirs;
  DEEPCOMP_RETURN_IF_ERROR(require_float(in[0], "X"));
  const Value& x = *in[0];
  if (x.rank() != 3) return Status::Error("X must be 3-D, is " + describe(x));
  const int64_t seq = spec.layout == 0 ? x.shape[0] : x.shape[1];
  const int64_t batch = spec.layout == 0 ? x.shape[1] : x.shape[0];
  const int64_t I = x.shape[2];
  DEEPCOMP_RETURN_IF_ERROR(require_weight(in[2], "R", r_const != nullptr));
  const Value& r = *in[2];
  if (r.rank() != 3 || r.shape[0] != D || r.shape[1] != G * r.shape[2]) {
    return Status::Error("R must be [" + std::to_string(D) + ", " + std::to_string(G) +
                         "*hidden, hidden], is " + describe(r));
  }
  const int64_t H = r.shape[2], GH = G * H;
  if (H < 1) return Status::Error("R " + describe(r) + " has no hidden units");
  if (spec.hidden_attr >= 0 && spec.hidden_attr != H) {
    return Status::Error("hidden_size " + std::to_string(spec.hidden_attr) + " does not match R " +
                         describe(r));
  }
  DEEPCOMP_RETURN_IF_ERROR(check_shape(in[1], "W", {D, GH, I}, w_const != nullptr));
  const Value* bias = in.size() > 3 ? in[3] : nullptr;
  if (bias) DEEPCOMP_RETURN_IF_ERROR(check_shape(bias, "B", {D, 2 * GH}));
  std::vector<int64_t> lens(static_cast<size_t>(batch), seq);
  if (in.size() > 4 && in[4]) {
    DEEPCOMP_RETURN_IF_ERROR(require_int(in[4], "sequence_lens"));
    if (in[4]->shape != std::vector<int64_t>{batch}) {
      return Status::Error("sequence_lens must be [" + std::to_string(batch) + "], is " +
                           describe(*in[4]));
    }
    for (int64_t b = 0; b < batch; ++b) {
      lens[b] = in[4]->i[b];
      if (lens[b] < 0 || lens[b] > seq) {
        return Status::Error("sequence_lens[" + std::to_string(b) +
                             "] = " + std::to_string(lens[b]) + " is outside [0, " +
                             std::to_string(seq) + "]");
      }
    }
  }
  const std::vector<int64_t> state_shape =
      spec.layout == 0 ? std::vector<int64_t>{D, batch, H} : std::vector<int64_t>{batch, D, H};
  const Value* init_h = in.size() > 5 ? in[5] : nullptr;
  const Value* init_c = cell == Cell::kLstm && in.size() > 6 ? in[6] : nullptr;
  const Value* peep = cell == Cell::kLstm && in.size() > 7 ? in[7] : nullptr;
  if (init_h) DEEPCOMP_RETURN_IF_ERROR(check_shape(init_h, "initial_h", state_shape));
  if (init_c) DEEPCOMP_RETURN_IF_ERROR(check_shape(init_c, "initial_c", state_shape));
  if (peep) DEEPCOMP_RETURN_IF_ERROR(check_shape(peep, "P", {D, 3 * H}));

  // Runtime weights (graph inputs) run dense, read in place.
  CellWeight w_run, r_run;
  const CellWeight* w = w_const;
  const CellWeight* rw = r_const;
  if (!w) {
    split_dense(in[1]->f.data(), I, {{0, D * GH}}, &w_run);
    w = &w_run;
  }
  if (!rw) {
    Ranges ranges;
    for (int64_t d = 0; d < D; ++d) {
      if (cell == Cell::kGru) {
        ranges.push_back({d * GH, d * GH + 2 * H});
        ranges.push_back({d * GH + 2 * H, (d + 1) * GH});
      } else {
        ranges.push_back({d * GH, (d + 1) * GH});
      }
    }
    split_dense(r.f.data(), H, ranges, &r_run);
    rw = &r_run;
  }

  // The input bias of every step: Wb + Rb, except GRU's h rows when linear_before_reset, where
  // Rbh sits inside r (.) (H * Rh^T + Rbh).
  std::vector<float> xw_bias(static_cast<size_t>(D * GH), 0.0f);
  if (bias) {
    for (int64_t d = 0; d < D; ++d) {
      const float* bd = bias->f.data() + d * 2 * GH;
      for (int64_t k = 0; k < GH; ++k) {
        const bool keep_rb = !(cell == Cell::kGru && spec.linear_before_reset && k >= 2 * H);
        xw_bias[d * GH + k] = bd[k] + (keep_rb ? bd[GH + k] : 0.0f);
      }
    }
  }
  // X * W^T for every (time, batch) row at once; rows follow X's own order.
  std::vector<float> xw(static_cast<size_t>(seq * batch * D * GH));
  w->blocks[0].apply(x.f.data(), seq * batch, xw_bias.data(), xw.data());
  auto xw_row = [&](int64_t t, int64_t b) {
    return xw.data() + (spec.layout == 0 ? t * batch + b : b * seq + t) * D * GH;
  };

  const bool want_y = out->size() > 0, want_h = out->size() > 1, want_c = out->size() > 2;
  Value y = zeros_like_dtype(x.dtype, spec.layout == 0 ? std::vector<int64_t>{seq, D, batch, H}
                                                       : std::vector<int64_t>{batch, seq, D, H});
  Value y_h = zeros_like_dtype(x.dtype, state_shape);
  Value y_c = zeros_like_dtype(x.dtype, state_shape);
  auto y_at = [&](int64_t t, int64_t d, int64_t b) {
    return y.f.data() +
           (spec.layout == 0 ? ((t * D + d) * batch + b) : ((b * seq + t) * D + d)) * H;
  };

  const size_t na = activation_count(cell);
  std::vector<float> h(batch * H), c(batch * H), rec(batch * GH), rec_h(batch * H),
      gate_r(batch * H), rh(batch * H);
  for (int64_t d = 0; d < D; ++d) {
    const bool backwards = spec.reverse || d == 1;
    const Activation* act = &spec.acts[d * na];
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t s = state_index(spec.layout, d, b, D, batch, H);
      for (int64_t j = 0; j < H; ++j) {
        h[b * H + j] = init_h ? init_h->f[s + j] : 0.0f;
        c[b * H + j] = init_c ? init_c->f[s + j] : 0.0f;
      }
    }
    const float* pd = peep ? peep->f.data() + d * 3 * H : nullptr;
    const float* rbh = bias ? bias->f.data() + d * 2 * GH + GH + 2 * H : nullptr;
    for (int64_t step = 0; step < seq; ++step) {
      auto time_of = [&](int64_t b) { return backwards ? lens[b] - 1 - step : step; };
      if (cell == Cell::kGru) {
        const RowBlock& zr = rw->blocks[2 * d];
        const RowBlock& hb = rw->blocks[2 * d + 1];
        zr.apply(h.data(), batch, nullptr, rec.data());  // batch x 2H
        for (int64_t b = 0; b < batch; ++b) {
          if (step >= lens[b]) continue;
          const float* xr = xw_row(time_of(b), b) + d * GH;
          for (int64_t j = 0; j < H; ++j) {
            const float r_gate = act[0](clipped(xr[H + j] + rec[b * 2 * H + H + j], spec.clip));
            gate_r[b * H + j] = r_gate;
            rh[b * H + j] = r_gate * h[b * H + j];
          }
        }
        hb.apply(spec.linear_before_reset ? h.data() : rh.data(), batch, nullptr, rec_h.data());
        for (int64_t b = 0; b < batch; ++b) {
          if (step >= lens[b]) continue;
          const int64_t t = time_of(b);
          const float* xr = xw_row(t, b) + d * GH;
          float* hb_out = h.data() + b * H;
          for (int64_t j = 0; j < H; ++j) {
            const float z = act[0](clipped(xr[j] + rec[b * 2 * H + j], spec.clip));
            const float hr = spec.linear_before_reset
                                 ? gate_r[b * H + j] * (rec_h[b * H + j] + (rbh ? rbh[j] : 0.0f))
                                 : rec_h[b * H + j];
            const float cand = act[1](clipped(xr[2 * H + j] + hr, spec.clip));
            hb_out[j] = (1.0f - z) * cand + z * hb_out[j];
          }
          if (want_y) std::copy(hb_out, hb_out + H, y_at(t, d, b));
        }
        continue;
      }
      rw->blocks[d].apply(h.data(), batch, nullptr, rec.data());  // batch x GH
      for (int64_t b = 0; b < batch; ++b) {
        if (step >= lens[b]) continue;
        const int64_t t = time_of(b);
        const float* xr = xw_row(t, b) + d * GH;
        const float* rr = rec.data() + b * GH;
        float* hb_out = h.data() + b * H;
        if (cell == Cell::kRnn) {
          for (int64_t j = 0; j < H; ++j) hb_out[j] = act[0](clipped(xr[j] + rr[j], spec.clip));
        } else {
          // Gate order i, o, f, c; peepholes P = [Pi, Po, Pf].
          float* cb = c.data() + b * H;
          for (int64_t j = 0; j < H; ++j) {
            const float gi = xr[j] + rr[j] + (pd ? pd[j] * cb[j] : 0.0f);
            const float i_gate = act[0](clipped(gi, spec.clip));
            const float gf = xr[2 * H + j] + rr[2 * H + j] + (pd ? pd[2 * H + j] * cb[j] : 0.0f);
            const float f_gate = spec.input_forget ? 1.0f - i_gate : act[0](clipped(gf, spec.clip));
            const float cand = act[1](clipped(xr[3 * H + j] + rr[3 * H + j], spec.clip));
            cb[j] = f_gate * cb[j] + i_gate * cand;
            const float go = xr[H + j] + rr[H + j] + (pd ? pd[H + j] * cb[j] : 0.0f);
            hb_out[j] = act[0](clipped(go, spec.clip)) * act[2](cb[j]);
          }
        }
        if (want_y) std::copy(hb_out, hb_out + H, y_at(t, d, b));
      }
    }
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t s = state_index(spec.layout, d, b, D, batch, H);
      std::copy(h.begin() + b * H, h.begin() + (b + 1) * H, y_h.f.begin() + s);
      std::copy(c.begin() + b * H, c.begin() + (b + 1) * H, y_c.f.begin() + s);
    }
  }
  if (want_y) (*out)[0] = std::move(y);
  if (want_h) (*out)[1] = std::move(y_h);
  if (want_c) (*out)[2] = std::move(y_c);
  return Status::Ok();
}

Result<CompiledOp> build_cell(const BuildContext& ctx, Cell cell) {
  const Node& node = *ctx.node;
  const size_t max_in = cell == Cell::kLstm ? 8 : 6;
  DEEPCOMP_RETURN_IF_ERROR(check_arity(node, 3, max_in, cell == Cell::kLstm ? 3 : 2));
  if (cell == Cell::kLstm) {
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(
        node, {"activation_alpha", "activation_beta", "activations", "clip", "direction",
               "hidden_size", "input_forget", "layout", "output_sequence"}));
  } else if (cell == Cell::kGru) {
    DEEPCOMP_RETURN_IF_ERROR(check_attributes(
        node, {"activation_alpha", "activation_beta", "activations", "clip", "direction",
               "hidden_size", "layout", "linear_before_reset", "output_sequence"}));
  } else {
    DEEPCOMP_RETURN_IF_ERROR(
        check_attributes(node, {"activation_alpha", "activation_beta", "activations", "clip",
                                "direction", "hidden_size", "layout", "output_sequence"}));
  }
  Spec spec;
  spec.cell = cell;
  const std::string direction = attr_string(node, "direction", "forward");
  if (direction == "bidirectional") {
    spec.dirs = 2;
  } else if (direction == "reverse") {
    spec.reverse = true;
  } else if (direction != "forward") {
    return Status::Error("attribute direction=" + direction + " is not supported");
  }
  spec.layout = attr_int(node, "layout", 0);
  if (spec.layout != 0 && spec.layout != 1) {
    return Status::Error("attribute layout=" + std::to_string(spec.layout) + " is not supported");
  }
  spec.hidden_attr = attr_int(node, "hidden_size", -1);
  if (has_attr(node, "clip")) {
    spec.clip = attr_float(node, "clip", 0);
    if (!(spec.clip > 0)) return Status::Error("attribute clip must be positive");
  }
  spec.input_forget = attr_int(node, "input_forget", 0) != 0;
  spec.linear_before_reset = attr_int(node, "linear_before_reset", 0) != 0;

  const size_t na = activation_count(cell);
  std::vector<std::string> names;
  if (const Attribute* a = node.attr("activations")) names = a->strings;
  if (names.empty()) {
    names = cell == Cell::kLstm  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
            : cell == Cell::kGru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                 : std::vector<std::string>{"Tanh"};
  }
  if (names.size() == na && spec.dirs == 2) {
    const std::vector<std::string> one = names;  // the same list for both directions
    names.insert(names.end(), one.begin(), one.end());
  }
  if (names.size() != na * spec.dirs) {
    return Status::Error("attribute activations has " + std::to_string(names.size()) +
                         " entries, expected " + std::to_string(na * spec.dirs));
  }
  std::vector<float> alphas, betas;
  if (const Attribute* a = node.attr("activation_alpha")) alphas = a->floats;
  if (const Attribute* a = node.attr("activation_beta")) betas = a->floats;
  size_t next_alpha = 0, next_beta = 0;
  for (const std::string& n : names) {
    DEEPCOMP_ASSIGN_OR_RETURN(Activation act,
                              parse_activation(n, alphas, &next_alpha, betas, &next_beta));
    spec.acts.push_back(act);
  }

  CompiledOp op;
  std::shared_ptr<const CellWeight> w_const, r_const;
  const Value* w = ctx.constant(1);
  const Value* r = ctx.constant(2);
  const int64_t G = gate_count(cell);
  // Constant weights are compiled once, with the session's sparse/dense choice. One given only in
  // sparse form has a shape and no values (runtime/session.cc).
  auto held = [&](const Value* v, size_t k) {
    return v->stored() == v->numel() || ctx.sparse_weight(node.inputs[k]).present();
  };
  if (w && w->is_float() && w->rank() == 3 && w->shape[0] == spec.dirs && w->shape[1] > 0 &&
      w->shape[1] % G == 0 && w->shape[2] > 0 && held(w, 1)) {
    DEEPCOMP_ASSIGN_OR_RETURN(
        w_const, constant_weight(ctx, node.inputs[1], *w, {{0, w->shape[0] * w->shape[1]}}));
    op.weight = node.inputs[1];
    op.sparse = w_const->sparse;
    op.density = w_const->density;
  }
  if (r && r->is_float() && r->rank() == 3 && r->shape[0] == spec.dirs && r->shape[2] > 0 &&
      r->shape[1] == G * r->shape[2] && held(r, 2)) {
    const int64_t H = r->shape[2], GH = G * H;
    Ranges ranges;
    for (int64_t d = 0; d < spec.dirs; ++d) {
      if (cell == Cell::kGru) {
        ranges.push_back({d * GH, d * GH + 2 * H});
        ranges.push_back({d * GH + 2 * H, (d + 1) * GH});
      } else {
        ranges.push_back({d * GH, (d + 1) * GH});
      }
    }
    DEEPCOMP_ASSIGN_OR_RETURN(r_const, constant_weight(ctx, node.inputs[2], *r, ranges));
    OpWeight info{node.inputs[2], r_const->sparse, r_const->density};
    if (op.weight.empty()) {
      op.weight = info.name;
      op.sparse = info.sparse;
      op.density = info.density;
    } else {
      op.more_weights.push_back(info);
    }
  }
  op.run = [spec, w_const, r_const](const Inputs& in, std::vector<Value>* out) -> Status {
    return run_cell(spec, w_const.get(), r_const.get(), in, out);
  };
  return op;
}

}  // namespace

void register_rnn_ops(Table* t) {
  (*t)["LSTM"] = [](const BuildContext& ctx) { return build_cell(ctx, Cell::kLstm); };
  (*t)["GRU"] = [](const BuildContext& ctx) { return build_cell(ctx, Cell::kGru); };
  (*t)["RNN"] = [](const BuildContext& ctx) { return build_cell(ctx, Cell::kRnn); };
}

}  // namespace deepcomp::runtime::ops
