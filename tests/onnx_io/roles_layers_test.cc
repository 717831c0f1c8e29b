// Roles of the layer kinds beyond Gemm/MatMul/Conv: recurrent W and R, ConvTranspose, weights
// reached through Transpose / Reshape, Gather tables; and the fixed Fourier basis (an STFT front
// end stored as a Conv weight), checked against bases generated here from their definition.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "onnx_io/internal.h"
#include "tests/onnx_io/fixture_util.h"

namespace deepcomp::onnx_io {
namespace {
using namespace testing;

TensorRole role_of(const Model& m, const std::string& name) {
  const Tensor* t = m.find_tensor(name);
  EXPECT_NE(t, nullptr) << name;
  return t ? t->role : TensorRole::kOther;
}

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.1f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

void add_init(onnx::GraphProto* g, const std::string& name, std::vector<int64_t> dims,
              uint32_t seed) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  *g->add_initializer() = float_tensor(name, dims, random_values(n, seed));
}

void add_int64(onnx::GraphProto* g, const std::string& name, std::vector<int64_t> values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
}

TEST(OnnxRolesLayers, RecurrentTransposedReshapedAndTransposedConvWeights) {
  auto m = make_model();
  auto* g = m.mutable_graph();
  add_init(g, "lstm_w", {1, 16, 3}, 1);
  add_init(g, "lstm_r", {1, 16, 4}, 2);
  add_init(g, "lstm_b", {1, 32}, 3);
  add_init(g, "lstm_h0", {1, 2, 4}, 4);
  add_node(g, "LSTM", {"x", "lstm_w", "lstm_r", "lstm_b", "", "lstm_h0"}, {"y", "yh"});
  add_init(g, "gru_w", {2, 12, 3}, 5);
  add_init(g, "gru_r", {2, 12, 4}, 6);
  add_node(g, "GRU", {"x", "gru_w", "gru_r"}, {"gy"});
  add_init(g, "rnn_w", {1, 4, 3}, 7);
  add_init(g, "rnn_r", {1, 4, 4}, 8);
  add_init(g, "rnn_b", {1, 8}, 9);
  add_node(g, "RNN", {"x", "rnn_w", "rnn_r", "rnn_b"}, {"ry"});
  add_init(g, "deconv_w", {4, 2, 3, 3}, 10);
  add_init(g, "deconv_b", {2}, 11);
  add_node(g, "ConvTranspose", {"img", "deconv_w", "deconv_b"}, {"up"});
  // PyTorch's Linear: MatMul(x, Transpose(W)) with W [out, in].
  add_init(g, "linear_w", {5, 4}, 12);
  add_node(g, "Transpose", {"linear_w"}, {"linear_wt"});
  add_node(g, "MatMul", {"h", "linear_wt"}, {"h2"});
  // A flat weight reshaped to a matrix, then through Identity, into Gemm.
  add_init(g, "flat_w", {20}, 13);
  add_int64(g, "shape_5x4", {5, 4});
  add_node(g, "Reshape", {"flat_w", "shape_5x4"}, {"w54"});
  add_node(g, "Identity", {"w54"}, {"w54i"});
  add_node(g, "Gemm", {"h3", "w54i"}, {"h4"});
  // Transpose of a weight used as data (not a layer input) gives no role.
  add_init(g, "scale_table", {3, 3}, 14);
  add_node(g, "Transpose", {"scale_table"}, {"scale_t"});
  add_node(g, "Mul", {"h4", "scale_t"}, {"h5"});
  add_init(g, "emb", {50, 6}, 15);
  add_node(g, "Gather", {"emb", "ids"}, {"e"});

  auto model = parse_model(serialize(m), "layers", "");
  ASSERT_TRUE(model.ok()) << model.status().message();
  for (const char* fc :
       {"lstm_w", "lstm_r", "gru_w", "gru_r", "rnn_w", "rnn_r", "linear_w", "flat_w"}) {
    EXPECT_EQ(role_of(*model, fc), TensorRole::kFcWeight) << fc;
  }
  EXPECT_EQ(role_of(*model, "lstm_b"), TensorRole::kBias);
  EXPECT_EQ(role_of(*model, "rnn_b"), TensorRole::kBias);
  EXPECT_EQ(role_of(*model, "lstm_h0"), TensorRole::kOther);
  EXPECT_EQ(role_of(*model, "deconv_w"), TensorRole::kConvWeight);
  EXPECT_EQ(role_of(*model, "deconv_b"), TensorRole::kBias);
  EXPECT_EQ(role_of(*model, "shape_5x4"), TensorRole::kOther);
  EXPECT_EQ(role_of(*model, "scale_table"), TensorRole::kOther);
  EXPECT_EQ(role_of(*model, "emb"), TensorRole::kEmbedding);
}

// An STFT analysis bank as torch-style conv front ends build it: rows window * cos(2 pi k n / N)
// for k = 0..N/2, then rows -window * sin(...) (those of k = 0 and N/2 are zero unless dropped).
// `n_fft` may exceed `taps` (the window is cut at `taps`); `window_len` < taps zero-pads the
// window in the middle of the kernel.
struct StftBank {
  int64_t taps = 64;
  int64_t n_fft = 64;
  int64_t window_len = 64;
  bool hann = true;
  bool drop_zero_sines = false;
  bool interleave = false;  // cos k, sin k, cos k+1, ... instead of two blocks
};

Tensor stft_basis(const StftBank& b) {
  const double pi = std::numbers::pi;
  std::vector<double> window(b.taps, 0.0);
  const int64_t left = (b.taps - b.window_len) / 2;
  for (int64_t i = 0; i < b.window_len; ++i)
    window[left + i] = b.hann ? 0.5 - 0.5 * std::cos(2 * pi * i / b.window_len) : 1.0;
  std::vector<std::vector<float>> rows;
  auto row = [&](int64_t k, bool sine) {
    std::vector<float> r(b.taps);
    for (int64_t n = 0; n < b.taps; ++n) {
      const double angle = 2 * pi * k * n / b.n_fft;
      r[n] = static_cast<float>(window[n] * (sine ? -std::sin(angle) : std::cos(angle)));
    }
    return r;
  };
  const int64_t top = b.n_fft / 2;
  auto keep_sine = [&](int64_t k) { return !b.drop_zero_sines || (k > 0 && k < top); };
  if (b.interleave) {
    for (int64_t k = 0; k <= top; ++k) {
      rows.push_back(row(k, false));
      if (keep_sine(k)) rows.push_back(row(k, true));
    }
  } else {
    for (int64_t k = 0; k <= top; ++k) rows.push_back(row(k, false));
    for (int64_t k = 0; k <= top; ++k)
      if (keep_sine(k)) rows.push_back(row(k, true));
  }
  Tensor t;
  t.name = "stft";
  t.role = TensorRole::kConvWeight;
  t.shape = {static_cast<int64_t>(rows.size()), 1, b.taps};
  for (const auto& r : rows) t.values.insert(t.values.end(), r.begin(), r.end());
  return t;
}

TEST(FourierBasis, RecognizesStftBanksInTheirCommonForms) {
  EXPECT_TRUE(internal::is_fourier_basis(stft_basis({})));
  EXPECT_TRUE(internal::is_fourier_basis(stft_basis({.hann = false})));
  EXPECT_TRUE(internal::is_fourier_basis(stft_basis({.drop_zero_sines = true})));
  EXPECT_TRUE(internal::is_fourier_basis(stft_basis({.interleave = true})));
  EXPECT_TRUE(
      internal::is_fourier_basis(stft_basis({.taps = 400, .n_fft = 400, .window_len = 400})));
  // win_length 48 < n_fft 64: the window is zero-padded inside the 64 taps.
  EXPECT_TRUE(internal::is_fourier_basis(stft_basis({.window_len = 48})));
  // A 400-tap window analysed at 512 frequencies (kernel shorter than the FFT size).
  EXPECT_TRUE(
      internal::is_fourier_basis(stft_basis({.taps = 400, .n_fft = 512, .window_len = 400})));
  // Conv2d form [M, 1, 1, taps] and an inverse bank as ConvTranspose [C_in, 1, taps]: same slices.
  Tensor t = stft_basis({});
  t.shape = {t.shape[0], 1, 1, 64};
  EXPECT_TRUE(internal::is_fourier_basis(t));
}

TEST(FourierBasis, RejectsLearnedAndPerturbedWeights) {
  Tensor learned;
  learned.shape = {66, 1, 64};
  learned.values = random_values(66 * 64, 21);
  EXPECT_FALSE(internal::is_fourier_basis(learned));
  // A basis after training moved it by 1e-3 of its range is learned, not fixed.
  Tensor noisy = stft_basis({});
  const std::vector<float> noise = random_values(static_cast<int64_t>(noisy.values.size()), 22);
  for (size_t k = 0; k < noisy.values.size(); ++k) noisy.values[k] += 0.01f * noise[k];
  EXPECT_FALSE(internal::is_fourier_basis(noisy));
  // One row replaced by a learned filter.
  Tensor one_row = stft_basis({});
  for (int64_t n = 0; n < 64; ++n) one_row.values[5 * 64 + n] = random_values(64, 23)[n];
  EXPECT_FALSE(internal::is_fourier_basis(one_row));
  // Only the window (every row the same, k = 0): a fixed smoothing filter, not a Fourier basis.
  Tensor dc = stft_basis({});
  for (int64_t r = 1; r < dc.shape[0]; ++r)
    std::copy(dc.values.begin(), dc.values.begin() + 64, dc.values.begin() + r * 64);
  EXPECT_FALSE(internal::is_fourier_basis(dc));
  // 3x3 kernels are too short to tell; float64 and int weights are not examined differently.
  Tensor small;
  small.shape = {8, 1, 3, 3};
  small.values = random_values(72, 24);
  EXPECT_FALSE(internal::is_fourier_basis(small));
}

// The cosine and sine halves of a bank as two weights [33, 1, 64] (torchlibrosa's conv_real and
// conv_imag): the sine half has no window row, so it is only recognized beside its cosine half.
std::pair<Tensor, Tensor> split_bank() {
  const Tensor bank = stft_basis({});
  Tensor real = bank, imag = bank;
  real.shape = imag.shape = {33, 1, 64};
  real.values.assign(bank.values.begin(), bank.values.begin() + 33 * 64);
  imag.values.assign(bank.values.begin() + 33 * 64, bank.values.end());
  return {real, imag};
}

TEST(FourierBasis, SineHalfIsRecognizedWithItsCosineHalf) {
  const auto [real, imag] = split_bank();
  EXPECT_TRUE(internal::is_fourier_basis(real));
  EXPECT_FALSE(internal::is_fourier_basis(imag));
  EXPECT_TRUE(internal::is_fourier_basis_pair(real, imag));
  Tensor learned = real;
  learned.values = random_values(33 * 64, 41);
  EXPECT_FALSE(internal::is_fourier_basis_pair(learned, imag));
  EXPECT_FALSE(internal::is_fourier_basis_pair(real, learned));
}

TEST(OnnxRolesLayers, StftConvWeightGetsBasisRoleAndLearnedConvKeepsConv) {
  auto m = make_model();
  auto* g = m.mutable_graph();
  const Tensor basis = stft_basis({});
  *g->add_initializer() = float_tensor("stft_w", basis.shape, basis.values);
  add_node(g, "Conv", {"audio", "stft_w"}, {"spec"});
  add_init(g, "learned_w", {66, 1, 64}, 31);
  add_node(g, "Conv", {"audio", "learned_w"}, {"feat"});
  // An inverse STFT bank as ConvTranspose weight.
  *g->add_initializer() = float_tensor("istft_w", basis.shape, basis.values);
  add_node(g, "ConvTranspose", {"spec", "istft_w"}, {"wave"});
  const auto [real, imag] = split_bank();
  *g->add_initializer() = float_tensor("conv_real", real.shape, real.values);
  *g->add_initializer() = float_tensor("conv_imag", imag.shape, imag.values);
  add_init(g, "learned_33", {33, 1, 64}, 32);
  add_node(g, "Conv", {"audio", "conv_imag"}, {"im"});
  add_node(g, "Conv", {"audio", "learned_33"}, {"l33"});
  add_node(g, "Conv", {"audio", "conv_real"}, {"re"});
  auto model = parse_model(serialize(m), "stft", "");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(role_of(*model, "stft_w"), TensorRole::kFixedBasis);
  EXPECT_EQ(role_of(*model, "istft_w"), TensorRole::kFixedBasis);
  EXPECT_EQ(role_of(*model, "learned_w"), TensorRole::kConvWeight);
  EXPECT_EQ(role_of(*model, "conv_real"), TensorRole::kFixedBasis);
  EXPECT_EQ(role_of(*model, "conv_imag"), TensorRole::kFixedBasis);
  EXPECT_EQ(role_of(*model, "learned_33"), TensorRole::kConvWeight);
  EXPECT_STREQ(role_name(TensorRole::kFixedBasis), "basis");
  EXPECT_FALSE(is_weight_role(TensorRole::kFixedBasis));
}

}  // namespace
}  // namespace deepcomp::onnx_io
