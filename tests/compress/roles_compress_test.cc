// The newer compressible roles through the pipeline: recurrent W/R, ConvTranspose weights, a
// Linear weight behind Transpose and an embedding table are pruned, shared and coded (decoded
// values are exactly codebook entries or zero, at the default sparsity of their kind), counted in
// the size report, and keep their role in the container; a fixed STFT basis stays lossless unless
// a "compress" override asks for it.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <set>

#include "compress/container.h"
#include "compress/pipeline.h"
#include "tests/onnx_io/fixture_util.h"

namespace deepcomp::compress {
namespace {
using namespace onnx_io::testing;

std::vector<float> normal_values(int64_t n, uint32_t seed) {
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
  *g->add_initializer() = float_tensor(name, dims, normal_values(n, seed));
}

// Hann-windowed cos rows then -sin rows of a 64-point DFT, k = 0..32: [66, 1, 64].
std::vector<float> stft_rows() {
  const double pi = std::numbers::pi;
  std::vector<float> v;
  for (int sine = 0; sine < 2; ++sine) {
    for (int k = 0; k <= 32; ++k) {
      for (int n = 0; n < 64; ++n) {
        const double w = 0.5 - 0.5 * std::cos(2 * pi * n / 64), a = 2 * pi * k * n / 64;
        v.push_back(static_cast<float>(w * (sine ? -std::sin(a) : std::cos(a))));
      }
    }
  }
  return v;
}

Model layers_model() {
  auto m = make_model();
  auto* g = m.mutable_graph();
  add_init(g, "lstm.W", {2, 64, 16}, 1);
  add_init(g, "lstm.R", {2, 64, 16}, 2);
  add_init(g, "lstm.B", {2, 128}, 3);
  add_node(g, "LSTM", {"x", "lstm.W", "lstm.R", "lstm.B"}, {"y"});
  add_init(g, "up.weight", {16, 8, 4, 4}, 4);
  add_node(g, "ConvTranspose", {"img", "up.weight"}, {"up"});
  add_init(g, "fc.weight", {32, 48}, 5);
  add_node(g, "Transpose", {"fc.weight"}, {"fc.weight_t"});
  add_node(g, "MatMul", {"h", "fc.weight_t"}, {"h2"});
  add_init(g, "embed.weight", {100, 24}, 6);
  add_node(g, "Gather", {"embed.weight", "ids"}, {"e"});
  *g->add_initializer() = float_tensor("stft.weight", {66, 1, 64}, stft_rows());
  add_node(g, "Conv", {"audio", "stft.weight"}, {"spec"});
  auto model = onnx_io::parse_model(serialize(m), "layers", "");
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? std::move(*model) : Model{};
}

const LayerReport* layer(const CompressReport& r, const std::string& name) {
  for (const LayerReport& l : r.layers)
    if (l.name == name) return &l;
  ADD_FAILURE() << "no report row for " << name;
  return nullptr;
}

TEST(RolesCompress, NewLayerKindsArePrunedSharedAndCountedInTheReport) {
  const Model model = layers_model();
  auto out = compress_model(model, CompressOptions{});
  ASSERT_TRUE(out.ok()) << out.status().message();
  struct Want {
    const char* name;
    const char* kind;
    double sparsity;  // the kind's default
    size_t max_clusters;
  };
  const Want wants[] = {{"lstm.W", "fc", kDefaultPruneFc, 32},
                        {"lstm.R", "fc", kDefaultPruneFc, 32},
                        {"up.weight", "conv", kDefaultPruneConv, 256},
                        {"fc.weight", "fc", kDefaultPruneFc, 32},
                        {"embed.weight", "embedding", kDefaultPruneFc, 32}};
  double compressed_original = 0;
  for (const Want& w : wants) {
    SCOPED_TRACE(w.name);
    const LayerReport* r = layer(out->report, w.name);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->kind, w.kind);
    EXPECT_TRUE(r->compressed);
    EXPECT_NEAR(r->sparsity, w.sparsity, 0.01);
    EXPECT_LT(r->bytes.huffman, r->bytes.original / 4);  // 32-bit floats to <= 8-bit codes
    compressed_original += r->bytes.original;
    const Tensor* t = model.find_tensor(w.name);
    for (const EncodedTensor& e : out->container.tensors) {
      if (e.name != w.name) continue;
      EXPECT_EQ(e.role, t->role);
      EXPECT_LE(e.codebook.size(), w.max_clusters);
      auto decoded = decode_tensor(e);
      ASSERT_TRUE(decoded.ok()) << decoded.status().message();
      ASSERT_EQ(decoded->values.size(), t->values.size());
      const std::set<float> codebook(e.codebook.begin(), e.codebook.end());
      int64_t zeros = 0;
      for (float v : decoded->values) {
        if (v == 0.0f) {
          ++zeros;
        } else {
          EXPECT_TRUE(codebook.count(v)) << v << " is not a shared value";
        }
      }
      EXPECT_NEAR(static_cast<double>(zeros) / t->numel(), w.sparsity, 0.01);
    }
  }
  // The basis and the LSTM bias are stored exactly.
  for (const char* name : {"stft.weight", "lstm.B"}) {
    const LayerReport* r = layer(out->report, name);
    ASSERT_NE(r, nullptr);
    EXPECT_FALSE(r->compressed) << name;
  }
  EXPECT_EQ(layer(out->report, "stft.weight")->kind, "basis");
  EXPECT_EQ(layer(out->report, "lstm.B")->kind, "bias");
  double total_original = 0;
  for (const LayerReport& l : out->report.layers) total_original += l.bytes.original;
  EXPECT_DOUBLE_EQ(out->report.bytes.original, total_original);
  // Everything but the basis and the bias is one of the five layers.
  EXPECT_DOUBLE_EQ(compressed_original, total_original - 66 * 64 * 4 - 2 * 128 * 4);

  // The container keeps every role, the basis included (role code 5).
  auto bytes = serialize_container(out->container);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  auto back = parse_container(*bytes, "m.dcz");
  ASSERT_TRUE(back.ok()) << back.status().message();
  for (const EncodedTensor& e : back->tensors) {
    EXPECT_EQ(e.role, model.find_tensor(e.name)->role) << e.name;
    if (e.name == "stft.weight") {
      EXPECT_EQ(e.encoding, Encoding::kLossless);
      auto t = decode_tensor(e);
      ASSERT_TRUE(t.ok());
      EXPECT_EQ(t->values, model.find_tensor("stft.weight")->values);
    }
  }
}

TEST(RolesCompress, CompressOverrideSharesAFixedBasisAndSkipStillWins) {
  const Model model = layers_model();
  CompressOptions options;
  auto compress = parse_layer_override("stft*=compress");
  ASSERT_TRUE(compress.ok()) << compress.status().message();
  ASSERT_TRUE(compress->skip.has_value());
  EXPECT_FALSE(*compress->skip);
  options.layers.push_back(*compress);
  auto out = compress_model(model, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const LayerReport* r = layer(out->report, "stft.weight");
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->compressed);
  EXPECT_EQ(r->kind, "basis");
  EXPECT_EQ(r->bits, 8);  // a basis is compressed like a conv weight
  EXPECT_NEAR(r->sparsity, kDefaultPruneConv, 0.01);

  // A later skip wins over the compress; "compress" does not turn on a bias or an int tensor.
  options.layers.push_back(*parse_layer_override("stft.*=skip"));
  options.layers.push_back(*parse_layer_override("lstm.B=compress"));
  out = compress_model(model, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_FALSE(layer(out->report, "stft.weight")->compressed);
  EXPECT_FALSE(layer(out->report, "lstm.B")->compressed);
  EXPECT_TRUE(layer(out->report, "lstm.W")->compressed);

  auto bad = parse_layer_override("x=compress:1");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("skip or compress"), std::string::npos);
}

}  // namespace
}  // namespace deepcomp::compress
