// The pipeline on 8-bit weights (compress/pipeline_quantized.cc) on hand-built models: decoded
// integers are exactly shared levels plus the channel's zero point, pruned weights are the zero
// point, pruning ranks dequantized magnitudes (per-channel scales respected), the container
// round-trips the zero points, and unusable scales / zero points leave the weight lossless with a
// note instead of a model that decodes to other integers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "compress/container.h"
#include "compress/pipeline.h"

namespace deepcomp::compress {
namespace {

Tensor int_tensor(const std::string& name, DType dtype, std::vector<int64_t> shape,
                  const std::vector<int>& values) {
  Tensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  for (int v : values) t.raw.push_back(static_cast<char>(v));
  return t;
}

Tensor float_tensor(const std::string& name, std::vector<int64_t> shape, std::vector<float> v) {
  Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.values = std::move(v);
  return t;
}

int code(const Tensor& t, int64_t k) {
  const auto b = static_cast<unsigned char>(t.raw[k]);
  return t.dtype == DType::kInt8 ? static_cast<int8_t>(b) : b;
}

// A uint8 [4, 64] fc weight, per-channel (axis 0) scales and zero points.
Model uint8_model(uint32_t seed) {
  Model m;
  m.skeleton = "skeleton";
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(0, 255);
  std::vector<int> w(4 * 64);
  for (int& v : w) v = u(rng);
  Tensor weight = int_tensor("w", DType::kUInt8, {4, 64}, w);
  weight.role = TensorRole::kFcWeight;
  weight.quant.present = true;
  weight.quant.scale = "w_scale";
  weight.quant.zero_point = "w_zp";
  weight.quant.axis = 0;
  m.tensors.push_back(weight);
  m.tensors.push_back(float_tensor("w_scale", {4}, {0.01f, 0.02f, 0.5f, 0.001f}));
  m.tensors.push_back(int_tensor("w_zp", DType::kUInt8, {4}, {128, 0, 100, 255}));
  return m;
}

TEST(QuantizedPipeline, DecodesToSharedLevelsAndZeroPoints) {
  const Model model = uint8_model(1);
  CompressOptions options;
  options.prune = 0.5;
  options.quant_bits_fc = 3;
  options.quant_size_bits = false;  // a 256-weight layer would get 8 bits (quant_layer_bits)
  auto out = compress_model(model, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const EncodedTensor& e = out->container.tensors[0];
  EXPECT_EQ(e.encoding, Encoding::kSparseShared);
  EXPECT_EQ(e.zero_points, (std::vector<int32_t>{128, 0, 100, 255}));
  EXPECT_EQ(e.zero_point_axis, 0);
  // Through the file format and back.
  auto bytes = serialize_container(out->container);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  auto parsed = parse_container(*bytes, "t.dcz");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  auto decoded = decode_tensor(parsed->tensors[0]);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->dtype, DType::kUInt8);
  ASSERT_EQ(decoded->raw.size(), 256u);
  const Tensor& w = model.tensors[0];
  const std::set<float> levels(e.codebook.begin(), e.codebook.end());
  EXPECT_LE(levels.size(), 8u + 4u);  // 2^3 levels (+ at most an extra one per channel)
  const std::vector<int> zp = {128, 0, 100, 255};
  const std::vector<float> scale = {0.01f, 0.02f, 0.5f, 0.001f};
  int pruned = 0;
  float smallest_kept = 1e9f, largest_pruned = 0;
  for (int64_t k = 0; k < 256; ++k) {
    const int ch = static_cast<int>(k / 64);
    const int got = code(*decoded, k), was = code(w, k);
    const float magnitude = std::fabs((was - zp[ch]) * scale[ch]);
    if (got == zp[ch]) {
      ++pruned;
      if (was != zp[ch]) largest_pruned = std::max(largest_pruned, magnitude);
    } else {
      EXPECT_TRUE(levels.count(static_cast<float>(got - zp[ch])))
          << "element " << k << " = " << got;
      smallest_kept = std::min(smallest_kept, magnitude);
    }
  }
  // Half pruned, by dequantized magnitude across channels of different scales.
  EXPECT_NEAR(pruned, 128, 2);
  EXPECT_LE(largest_pruned, smallest_kept);
  // Channel 2 (scale 0.5) dominates: hardly any of it is pruned; channel 3 (0.001) all of it.
  int kept2 = 0, kept3 = 0;
  for (int64_t k = 0; k < 64; ++k) {
    kept2 += code(*decoded, 128 + k) != 100;
    kept3 += code(*decoded, 192 + k) != 255;
  }
  EXPECT_GE(kept2, 60);
  EXPECT_EQ(kept3, 0);
  // Paper accounting against the 8-bit weight: 1 byte per weight.
  EXPECT_EQ(out->report.layers[0].bytes.original, 256);
  EXPECT_LT(out->report.layers[0].bytes.huffman, 256);
}

// Without pruning and with 8 bits, every level is kept: the codes come back unchanged.
TEST(QuantizedPipeline, EightBitSharingWithoutPruningIsLossless) {
  Model model = uint8_model(2);
  model.tensors[0].dtype = DType::kInt8;
  model.tensors[2] = int_tensor("w_zp", DType::kInt8, {4}, {0, -3, 5, 127});
  for (char& c : model.tensors[0].raw) c = static_cast<char>(static_cast<int8_t>(c) / 2);
  CompressOptions options;
  options.no_prune = true;
  options.quant_bits_fc = 8;
  options.huffman = false;
  auto out = compress_model(model, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  // 8-bit levels plus their codebook are larger than the codes: kept exact, with a note.
  EXPECT_EQ(out->container.tensors[0].encoding, Encoding::kLossless);
  EXPECT_NE(out->report.layers[0].note.find("stored losslessly: 8 bits of shared levels"),
            std::string::npos)
      << out->report.layers[0].note;
  auto decoded = decode_tensor(out->container.tensors[0]);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->raw, model.tensors[0].raw);
}

TEST(QuantizedPipeline, UnusableScalesOrZeroPointsStayLosslessWithANote) {
  struct Case {
    const char* what;
    void (*mutate)(Model*);
    const char* note;
  } cases[] = {
      {"zero point dtype", [](Model* m) { m->tensors[2].dtype = DType::kInt8; },
       "zero point 'w_zp' is int8, not uint8"},
      {"scale count",
       [](Model* m) {
         m->tensors[1] = float_tensor("w_scale", {3}, {1, 1, 1});
       },
       "scale 'w_scale' has 3 values for 4 channels"},
      {"axis", [](Model* m) { m->tensors[0].quant.axis = 2; }, "axis 2 is out of range"},
      {"missing scale", [](Model* m) { m->tensors[0].quant.scale = "nope"; },
       "scale 'nope' is not a float tensor"},
      {"zero scale", [](Model* m) { m->tensors[1].values[0] = 0; }, "holds 0"},
      {"roles note", [](Model* m) { m->tensors[0].quant.note = "blocked DequantizeLinear"; },
       "blocked DequantizeLinear"},
  };
  for (const Case& c : cases) {
    Model model = uint8_model(3);
    c.mutate(&model);
    auto out = compress_model(model, CompressOptions{});
    ASSERT_TRUE(out.ok()) << c.what << ": " << out.status().message();
    EXPECT_EQ(out->container.tensors[0].encoding, Encoding::kLossless) << c.what;
    EXPECT_EQ(out->container.tensors[0].raw, model.tensors[0].raw) << c.what;
    const std::string& note = out->report.layers[0].note;
    EXPECT_NE(note.find(c.note), std::string::npos) << c.what << ": " << note;
    EXPECT_NE(note.find("tensor 'w'"), std::string::npos) << note;
  }
}

// A level that would leave the dtype's range is an error at decode, never a wrapped integer; and
// the reader rejects zero points outside the dtype.
TEST(QuantizedPipeline, DecodingNeverWrapsIntegers) {
  CompressOptions pruned;
  pruned.prune = 0.3;
  auto out = compress_model(uint8_model(4), pruned);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EncodedTensor e = out->container.tensors[0];
  ASSERT_EQ(e.encoding, Encoding::kSparseShared);
  for (float& c : e.codebook) c = 200;  // 200 + zero point 100 or 128 or 255 > 255
  auto decoded = decode_tensor(e);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("outside uint8"), std::string::npos)
      << decoded.status().message();
  Container bad = out->container;
  bad.tensors[0].zero_points[1] = 300;
  auto bytes = serialize_container(bad);
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.status().message().find("zero point 300 is outside uint8"), std::string::npos)
      << bytes.status().message();
}

// An int8 fc (or conv) weight of `codes`, one scale of 1 and zero point 0 for the whole tensor.
Model int8_model(const std::vector<int>& codes, TensorRole role) {
  Model m;
  m.skeleton = "skeleton";
  const int64_t n = static_cast<int64_t>(codes.size());
  Tensor weight = int_tensor("w", DType::kInt8,
                             role == TensorRole::kConvWeight ? std::vector<int64_t>{1, 1, 1, n}
                                                             : std::vector<int64_t>{1, n},
                             codes);
  weight.role = role;
  weight.quant.present = true;
  weight.quant.scale = "w_scale";
  weight.quant.zero_point = "w_zp";
  m.tensors.push_back(weight);
  m.tensors.push_back(float_tensor("w_scale", {}, {1.0f}));
  m.tensors.push_back(int_tensor("w_zp", DType::kInt8, {}, {0}));
  return m;
}

// The levels are the optimal ones: the squared error equals the least over every set of 4 integer
// levels in the codes' range (brute force, each code to its nearest level).
TEST(QuantizedPipeline, SharedLevelsAreTheOptimalIntegerLevels) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    std::mt19937 rng(seed);
    std::vector<int> codes(80);
    std::normal_distribution<double> g(0, 6);
    for (int& c : codes) c = std::clamp(static_cast<int>(std::lround(g(rng))), -20, 20);
    CompressOptions options;
    options.quant_bits_fc = 2;
    options.quant_size_bits = false;
    auto out = compress_model(int8_model(codes, TensorRole::kFcWeight), options);
    ASSERT_TRUE(out.ok()) << out.status().message();
    const int lo = *std::min_element(codes.begin(), codes.end());
    const int hi = *std::max_element(codes.begin(), codes.end());
    double best = 1e300;
    for (int a = lo; a <= hi; ++a)
      for (int b = a + 1; b <= hi; ++b)
        for (int c = b + 1; c <= hi; ++c)
          for (int d = c + 1; d <= hi; ++d) {
            double sse = 0;
            for (int v : codes) {
              const int e =
                  std::min({std::abs(v - a), std::abs(v - b), std::abs(v - c), std::abs(v - d)});
              sse += static_cast<double>(e) * e;
            }
            best = std::min(best, sse);
          }
    EXPECT_DOUBLE_EQ(out->report.layers[0].sse, best) << "seed " << seed;
    EXPECT_LE(out->report.layers[0].clusters, 4);
  }
}

// At the defaults a large 8-bit layer (2^18 weights) is not pruned and shares
// kDefaultQuantBits{Conv,Fc} bits of levels; a pruning flag or --quant-bits-* still applies.
TEST(QuantizedPipeline, DefaultsForEightBitLayers) {
  std::vector<int> codes(size_t{1} << 18);
  for (size_t k = 0; k < codes.size(); ++k) codes[k] = static_cast<int>(k % 255) - 127;
  for (TensorRole role : {TensorRole::kFcWeight, TensorRole::kConvWeight}) {
    const int bits = role == TensorRole::kConvWeight ? kDefaultQuantBitsConv : kDefaultQuantBitsFc;
    auto out = compress_model(int8_model(codes, role), CompressOptions{});
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(out->container.tensors[0].encoding, Encoding::kSharedDense);
    EXPECT_EQ(out->report.layers[0].bits, bits);
    EXPECT_EQ(out->report.layers[0].clusters, 1 << bits);
    CompressOptions pruned;
    pruned.prune = 0.5;
    pruned.quant_bits_conv = pruned.quant_bits_fc = 3;
    out = compress_model(int8_model(codes, role), pruned);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(out->container.tensors[0].encoding, Encoding::kSparseShared);
    EXPECT_EQ(out->report.layers[0].clusters, 8);
    EXPECT_NEAR(out->report.layers[0].sparsity, 0.5, 0.01);
  }
}

// Smaller layers get half a bit of levels more per halving below 2^18 weights (hand-worked:
// 25,000 weights: 0.5 * log2(262144 / 25000) = 1.70 -> 2 more), at most 8; widths of 8 or more
// stay as given.
TEST(QuantizedPipeline, SmallerLayersGetMoreBitsOfLevels) {
  EXPECT_EQ(quant_layer_bits(4, int64_t{1} << 18), 4);
  EXPECT_EQ(quant_layer_bits(4, int64_t{1} << 20), 4);
  EXPECT_EQ(quant_layer_bits(4, (int64_t{1} << 18) - 1), 4);
  EXPECT_EQ(quant_layer_bits(4, int64_t{1} << 16), 5);
  EXPECT_EQ(quant_layer_bits(5, int64_t{1} << 14), 7);
  EXPECT_EQ(quant_layer_bits(4, 25000), 6);
  EXPECT_EQ(quant_layer_bits(5, 5000), 8);  // 5 + round(2.86)
  EXPECT_EQ(quant_layer_bits(4, 500), 8);   // 4 + round(4.51) = 9, capped
  EXPECT_EQ(quant_layer_bits(9, 500), 9);
  EXPECT_EQ(quant_layer_bits(4, 0), 4);
  // Through compress: a 2^14-weight layer (a normal spread of codes, so that sharing pays).
  std::mt19937 rng(7);
  std::normal_distribution<double> g(0, 30);
  std::vector<int> codes(size_t{1} << 14);
  for (int& c : codes) c = std::clamp(static_cast<int>(std::lround(g(rng))), -127, 127);
  for (TensorRole role : {TensorRole::kFcWeight, TensorRole::kConvWeight}) {
    const int flat = role == TensorRole::kConvWeight ? kDefaultQuantBitsConv : kDefaultQuantBitsFc;
    CompressOptions options;
    auto out = compress_model(int8_model(codes, role), options);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(out->container.tensors[0].encoding, Encoding::kSharedDense);
    EXPECT_EQ(out->report.layers[0].bits, flat + 2);
    options.quant_size_bits = false;
    out = compress_model(int8_model(codes, role), options);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(out->report.layers[0].bits, flat);
    EXPECT_EQ(out->report.layers[0].clusters, 1 << flat);
  }
}

// An unpruned layer whose shared form (levels as f32 + coded indices) is not smaller than its
// 8-bit codes keeps the codes exactly; a pruned one is shared as asked.
TEST(QuantizedPipeline, LayersWhoseCodebookOutweighsSharingStayExact) {
  std::vector<int> codes(500);
  for (size_t k = 0; k < codes.size(); ++k) codes[k] = static_cast<int>((k * 37) % 255) - 127;
  const Model model = int8_model(codes, TensorRole::kConvWeight);
  auto out = compress_model(model, CompressOptions{});  // 8 bits of levels for 500 weights
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->container.tensors[0].encoding, Encoding::kLossless);
  EXPECT_FALSE(out->report.layers[0].compressed);
  EXPECT_NE(out->report.layers[0].note.find("stored losslessly"), std::string::npos);
  auto decoded = decode_tensor(out->container.tensors[0]);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->raw, model.tensors[0].raw);
  CompressOptions pruned;
  pruned.prune = 0.5;
  out = compress_model(model, pruned);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->container.tensors[0].encoding, Encoding::kSparseShared);
}

}  // namespace
}  // namespace deepcomp::compress
