// The pipeline end to end on hand-built models: what decoding gives back, the size accounting
// worked out by hand, determinism, and the errors for bad settings and bad weights.
#include "compress/pipeline.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "compress/container.h"

namespace deepcomp::compress {
namespace {

Tensor make_tensor(const std::string& name, std::vector<int64_t> shape, TensorRole role,
                   uint32_t seed) {
  Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.role = role;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  t.values.resize(static_cast<size_t>(t.numel()));
  for (float& v : t.values) v = normal(rng);
  return t;
}

Model small_model() {
  Model m;
  m.skeleton = "skeleton bytes";
  m.tensors.push_back(make_tensor("fc1.weight", {64, 100}, TensorRole::kFcWeight, 1));
  m.tensors.push_back(make_tensor("fc1.bias", {64}, TensorRole::kBias, 2));
  m.tensors.push_back(make_tensor("conv.weight", {8, 3, 3, 3}, TensorRole::kConvWeight, 3));
  Tensor shape;
  shape.name = "shape";
  shape.dtype = DType::kInt64;
  shape.shape = {2};
  shape.raw = std::string("\x01\0\0\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff", 16);
  m.tensors.push_back(shape);
  return m;
}

TEST(Pipeline, DecodedWeightsArePrunedByMagnitudeAndShareNearestCentroids) {
  const Model model = small_model();
  CompressOptions options;
  options.prune = 0.9;
  options.iters = 1000;  // run Lloyd to convergence so every weight sits at its nearest centroid
  auto out = compress_model(model, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Tensor& original = model.tensors[0];
  const EncodedTensor& encoded = out->container.tensors[0];
  EXPECT_EQ(encoded.encoding, Encoding::kSparseShared);
  EXPECT_LE(encoded.codebook.size(), 32u);  // 5 bits for fc
  auto decoded = decode_tensor(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();

  // The 10% largest magnitudes survive, everything else is exactly zero.
  std::vector<float> mags;
  for (float v : original.values) mags.push_back(std::fabs(v));
  std::sort(mags.begin(), mags.end());
  const float threshold = mags[static_cast<size_t>(0.9 * mags.size())];
  int64_t kept = 0;
  for (size_t i = 0; i < original.values.size(); ++i) {
    const float w = original.values[i], d = decoded->values[i];
    if (std::fabs(w) < threshold) {
      EXPECT_EQ(d, 0.0f) << i;
      continue;
    }
    ++kept;
    // Shared value: a codebook entry, and the nearest one to the original weight.
    float best = encoded.codebook[0];
    for (float c : encoded.codebook)
      if (std::fabs(c - w) < std::fabs(best - w)) best = c;
    EXPECT_FLOAT_EQ(std::fabs(d - w), std::fabs(best - w)) << i;
    EXPECT_NE(std::find(encoded.codebook.begin(), encoded.codebook.end(), d), encoded.codebook.end());
  }
  EXPECT_EQ(kept, 640);
  EXPECT_EQ(out->report.layers[0].nonzero, 640);
  EXPECT_NEAR(out->report.layers[0].sparsity, 0.9, 1e-9);

  // The bias (1-D) and the int64 tensor are stored losslessly, bit for bit.
  for (size_t i : {1u, 3u}) {
    EXPECT_EQ(out->container.tensors[i].encoding, Encoding::kLossless);
    auto t = decode_tensor(out->container.tensors[i]);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->values, model.tensors[i].values);
    EXPECT_EQ(t->raw, model.tensors[i].raw);
  }
}

TEST(Pipeline, NoPruneNoShareIsBitExact) {
  const Model model = small_model();
  CompressOptions options;
  options.no_prune = true;
  options.share = false;
  auto out = compress_model(model, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  auto bytes = serialize_container(out->container);
  ASSERT_TRUE(bytes.ok());
  auto back = parse_container(*bytes, "test.dcz");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->skeleton, model.skeleton);
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    auto t = decode_tensor(back->tensors[i]);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->values, model.tensors[i].values) << model.tensors[i].name;
    EXPECT_EQ(t->raw, model.tensors[i].raw);
    EXPECT_EQ(t->shape, model.tensors[i].shape);
  }
  EXPECT_DOUBLE_EQ(out->report.ratio(), 1.0);
}

// One fc layer of 8 weights, pruned to 4, 1-bit sharing, 2-bit index, no Huffman: every byte
// count of the paper's accounting can be worked out by hand.
TEST(Pipeline, SizeAccountingMatchesHandCalculation) {
  Model m;
  Tensor t;
  t.name = "w";
  t.shape = {2, 4};
  t.role = TensorRole::kFcWeight;
  t.values = {0.9f, 0.01f, -0.02f, 1.1f, 0.03f, -1.0f, -0.8f, 0.04f};
  m.tensors.push_back(t);
  CompressOptions options;
  options.prune = 0.5;
  options.bits_fc = 1;
  options.index_bits_fc = 2;
  options.huffman = false;
  auto out = compress_model(m, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const LayerReport& r = out->report.layers[0];
  // Survivors at positions 0, 3, 5, 6: relative codes 1, 3, 2, 1; no filler (max gap 3).
  EXPECT_EQ(r.nonzero, 4);
  EXPECT_EQ(r.fillers, 0);
  EXPECT_DOUBLE_EQ(r.bytes.original, 32);
  EXPECT_DOUBLE_EQ(r.bytes.pruned, 4 * 4 + 4 * 2 / 8.0);         // fp32 values + 2-bit indices
  EXPECT_DOUBLE_EQ(r.bytes.quantized, (4 * 1 + 4 * 2) / 8.0 + 2 * 4);  // + 2-entry codebook
  EXPECT_DOUBLE_EQ(r.bytes.huffman, r.bytes.quantized);           // Huffman off
  // Two clusters {0.9, 1.1} -> 1.0 and {-1.0, -0.8} -> -0.9: sse = 4 * 0.01.
  EXPECT_NEAR(r.sse, 0.04, 1e-6);
  auto d = decode_tensor(out->container.tensors[0]);
  ASSERT_TRUE(d.ok());
  const std::vector<float> expected = {1.0f, 0, 0, 1.0f, 0, -0.9f, -0.9f, 0};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(d->values[i], expected[i], 1e-6) << i;
}

TEST(Pipeline, GapsLongerThanTheIndexWidthUseFillers) {
  Model m;
  Tensor t;
  t.name = "w";
  t.shape = {1, 40};
  t.role = TensorRole::kFcWeight;
  t.values.assign(40, 0.001f);
  t.values[0] = 1.0f;
  t.values[39] = -1.0f;
  m.tensors.push_back(t);
  CompressOptions options;
  options.prune = 0.95;
  options.index_bits_fc = 3;  // gaps up to 7: the gap of 39 needs 5 fillers
  auto out = compress_model(m, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->report.layers[0].fillers, 5);
  auto d = decode_tensor(out->container.tensors[0]);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->values[0], 1.0f);
  EXPECT_EQ(d->values[39], -1.0f);
  for (int i = 1; i < 39; ++i) EXPECT_EQ(d->values[static_cast<size_t>(i)], 0.0f);
}

TEST(Pipeline, SameBytesForOneAndTwoThreadsAndRepeatedRuns) {
  const Model model = small_model();
  CompressOptions options;
  options.prune_global = 0.8;
  options.init = KMeansInit::kKMeansPlusPlus;
  options.seed = 42;
  std::vector<std::string> files;
  for (int threads : {1, 2, 2}) {
    omp_set_num_threads(threads);
    auto out = compress_model(model, options);
    ASSERT_TRUE(out.ok()) << out.status().message();
    auto bytes = serialize_container(out->container);
    ASSERT_TRUE(bytes.ok());
    files.push_back(*bytes);
  }
  EXPECT_EQ(files[0], files[1]);
  EXPECT_EQ(files[1], files[2]);
}

TEST(Pipeline, GlobalThresholdReachesOverallSparsity) {
  const Model model = small_model();
  CompressOptions options;
  options.prune_global = 0.7;
  auto out = compress_model(model, options);
  ASSERT_TRUE(out.ok());
  const auto& l = out->report.layers;
  const double zeros = (l[0].params - l[0].nonzero) + (l[2].params - l[2].nonzero);
  EXPECT_NEAR(zeros / (l[0].params + l[2].params), 0.7, 1e-3);
  EXPECT_FLOAT_EQ(static_cast<float>(l[0].threshold), static_cast<float>(l[2].threshold));
}

TEST(Pipeline, LayerOverridesApplyByGlob) {
  const Model model = small_model();
  CompressOptions options;
  options.prune = 0.5;
  auto o = parse_layer_override("fc*=prune:0.75,bits:3,index-bits:4");
  ASSERT_TRUE(o.ok()) << o.status().message();
  options.layers.push_back(*o);
  options.layers.push_back(*parse_layer_override("conv.*=skip"));
  auto out = compress_model(model, options);
  ASSERT_TRUE(out.ok());
  EXPECT_NEAR(out->report.layers[0].sparsity, 0.75, 1e-9);
  EXPECT_EQ(out->report.layers[0].bits, 3);
  EXPECT_EQ(out->report.layers[0].index_bits, 4);
  EXPECT_LE(out->container.tensors[0].codebook.size(), 8u);
  EXPECT_EQ(out->container.tensors[2].encoding, Encoding::kLossless);
}

TEST(Pipeline, RejectsBadSettingsAndWeights) {
  const Model model = small_model();
  auto expect_error = [&](CompressOptions o, const std::string& needle) {
    auto out = compress_model(model, o);
    ASSERT_FALSE(out.ok()) << needle;
    EXPECT_NE(out.status().message().find(needle), std::string::npos) << out.status().message();
  };
  CompressOptions o;
  o.prune = 1.0;
  expect_error(o, "--prune must be in [0, 1)");
  o = {};
  o.prune = -0.1;
  expect_error(o, "--prune must be in [0, 1)");
  o = {};
  o.bits_fc = 0;
  expect_error(o, "--bits-fc must be in 1..16");
  o = {};
  o.bits_conv = 17;
  expect_error(o, "--bits-conv must be in 1..16");
  o = {};
  o.prune = 0.5;
  o.no_prune = true;
  expect_error(o, "mutually exclusive");
  EXPECT_FALSE(parse_layer_override("fc1=prune:x").ok());
  EXPECT_FALSE(parse_layer_override("fc1=color:3").ok());
  EXPECT_FALSE(parse_layer_override("noequals").ok());

  Model bad = small_model();
  bad.tensors[0].values[5] = std::nanf("");
  auto out = compress_model(bad, CompressOptions{});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("fc1.weight"), std::string::npos) << out.status().message();
}

TEST(Pipeline, FewerDistinctValuesThanClustersAndEmptyTensors) {
  Model m;
  Tensor t;
  t.name = "w";
  t.shape = {4, 4};
  t.role = TensorRole::kFcWeight;
  t.values = {1, 2, 1, 2, 1, 2, 1, 2, 3, 3, 3, 3, 1, 1, 1, 1};
  m.tensors.push_back(t);
  Tensor empty;
  empty.name = "empty";
  empty.shape = {0, 5};
  empty.role = TensorRole::kFcWeight;
  m.tensors.push_back(empty);
  CompressOptions options;
  options.no_prune = true;
  options.bits_fc = 8;
  auto out = compress_model(m, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  auto d = decode_tensor(out->container.tensors[0]);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->values, t.values);  // three distinct values: three clusters, exact
  auto e = decode_tensor(out->container.tensors[1]);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->values.empty());
}

}  // namespace
}  // namespace deepcomp::compress
