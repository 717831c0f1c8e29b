// GlobalAveragePool / GlobalMaxPool and nearest Resize, which read their planes straight
// through: bit for bit against reduce_axes (the Reduce operators' arithmetic, which the pooling
// ops used before) and against a plain per-element nearest-neighbour formula, on random shapes
// (plane counts that are not multiples of the 8-plane block, 1-D to 5-D, scales and sizes);
// MaxPool's clipped-window path against its general loop (with Indices), NaNs included.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "runtime/ops.h"
#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_s;
using testing::run_one;
using testing::single_op;

Value random_floats(std::mt19937& rng, std::vector<int64_t> shape) {
  std::uniform_real_distribution<float> u(-4.0f, 4.0f);
  Value v = Value::floats(shape, {});
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  for (int64_t k = 0; k < n; ++k) v.f.push_back(u(rng));
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(GlobalPool, SameBitsAsReduceAxesOnRandomShapes) {
  std::mt19937 rng(3);
  const std::vector<std::vector<int64_t>> shapes = {
      {1, 1, 5},     {1, 7, 3, 5},    {2, 9, 6, 12},   {1, 96, 24, 48},
      {3, 17, 1, 1}, {1, 8, 2, 3, 4}, {2, 384, 6, 12}, {1, 13, 1000},
  };
  for (const auto& shape : shapes) {
    Value x = random_floats(rng, shape);
    if (x.numel() > 3) x.f[2] = NAN;  // the max of a plane with a NaN is NaN
    std::vector<int64_t> axes;
    for (size_t d = 2; d < shape.size(); ++d) axes.push_back(static_cast<int64_t>(d));
    for (auto [op, kind] : {std::pair{"GlobalAveragePool", ops::ReduceKind::kMean},
                            std::pair{"GlobalMaxPool", ops::ReduceKind::kMax}}) {
      Value want;
      ASSERT_TRUE(ops::reduce_axes(x, axes, true, kind, &want).ok());
      const Value got = run_one(single_op(op, 1), {x});
      EXPECT_EQ(got.shape, want.shape) << op;
      EXPECT_TRUE(same_bits(got.f, want.f)) << op << " on " << describe(x);
    }
  }
}

TEST(GlobalPool, HandWorkedMeanAndMax) {
  // Two planes of 2x2: means 2.5 and -1, maxima 4 and 0.
  const Value x = Value::floats({1, 2, 2, 2}, {1, 2, 3, 4, -2, 0, -1, -1});
  EXPECT_EQ(run_one(single_op("GlobalAveragePool", 1), {x}).f, (std::vector<float>{2.5f, -1}));
  EXPECT_EQ(run_one(single_op("GlobalMaxPool", 1), {x}).f, (std::vector<float>{4, 0}));
}

TEST(MaxPool, WithoutIndicesSameBitsAsWithIndices) {
  // Y alone takes the clipped-window path; asking for Indices too takes the general loop.
  std::mt19937 rng(6);
  struct Case {
    std::vector<int64_t> shape, kernel, strides, pads, dilations;
    int64_t ceil;
  };
  const std::vector<Case> cases = {
      {{1, 24, 128, 128}, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 0},  // BlazeFace
      {{1, 4, 15, 16}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 0},     // interior + every border
      {{1, 4, 15, 17}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1},     // ResNet's stem, ceil
      {{1, 3, 13, 13}, {5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}, 0},     // YOLO's SPP
      {{1, 2, 9, 11}, {2, 2}, {2, 2}, {0, 0, 1, 1}, {2, 1}, 0},      // dilated in y only
      {{1, 2, 3, 4}, {3, 5}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 0},       // window wider than input
      {{2, 3, 11, 13}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},
      {{1, 2, 9, 10}, {3, 2}, {2, 3}, {2, 0, 1, 1}, {2, 1}, 1},
      {{1, 3, 17}, {4}, {3}, {1, 2}, {2}, 1},
      {{1, 2, 4, 5, 6}, {2, 3, 2}, {1, 2, 2}, {1, 0, 1, 0, 1, 1}, {1, 1, 2}, 0},
      // Windows of 16 taps or more take the separable path (a max along x, then along y).
      {{1, 5, 13, 13}, {9, 9}, {1, 1}, {4, 4, 4, 4}, {1, 1}, 0},    // YOLOX's SPP
      {{1, 5, 13, 13}, {13, 13}, {1, 1}, {6, 6, 6, 6}, {1, 1}, 0},  // YOLOX's SPP
      {{1, 3, 20, 21}, {4, 5}, {2, 3}, {1, 2, 2, 1}, {2, 1}, 1},    // strided, dilated, ceil
      {{2, 2, 3, 4}, {5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}, 0},      // window wider than input
      {{1, 2, 6, 30}, {1, 16}, {1, 4}, {0, 0, 0, 3}, {1, 2}, 0},    // one row high, dilated in x
  };
  for (const Case& c : cases) {
    Value x = random_floats(rng, c.shape);
    x.f[3] = NAN;
    x.f[x.f.size() / 2] = NAN;
    x.f[x.f.size() / 3] = NAN;
    for (size_t k = 41; k < x.f.size(); k += 97) x.f[k] = NAN;
    for (size_t k = 59; k < x.f.size(); k += 89) x.f[k] = -0.0f;
    for (size_t k = 60; k < x.f.size(); k += 89) x.f[k] = 0.0f;
    // Ties: a run of equal values (the comparison keeps the first of them).
    for (size_t k = x.f.size() / 4; k < x.f.size() / 4 + 6 && k < x.f.size(); ++k) x.f[k] = 0.5f;
    std::vector<Attribute> attrs = {
        testing::attr_ints("kernel_shape", c.kernel), testing::attr_ints("strides", c.strides),
        testing::attr_ints("pads", c.pads), testing::attr_ints("dilations", c.dilations),
        testing::attr_i("ceil_mode", c.ceil)};
    testing::GraphBuilder one, two;
    one.input("x0", DType::kFloat32).node("MaxPool", {"x0"}, {"y"}, attrs).output("y");
    two.input("x0", DType::kFloat32).node("MaxPool", {"x0"}, {"y", "i"}, attrs).output("y");
    const Value a = run_one(one.model(), {x}), b = run_one(two.model(), {x});
    EXPECT_EQ(a.shape, b.shape) << describe(x);
    EXPECT_TRUE(same_bits(a.f, b.f)) << describe(x);
  }
}

// Equal maxima of different bits (-0 and +0) in different rows of a big window: the general loop
// keeps the first in window order, and so must the separable path. Hand-worked: output (0, 0)
// (rows 0-4, columns 0-4) sees -0 at (1, 2) before +0 at (3, 0); output (7, 1) (rows 3-8,
// columns 0-5) sees +0 at (3, 0) before -0 at (7, 1); output (8, 8) only +0 at (6, 8).
TEST(MaxPool, SeparablePathKeepsTheFirstOfEqualMaxima) {
  Value x = Value::floats({1, 1, 9, 9}, std::vector<float>(81, -1.0f));
  x.f[1 * 9 + 2] = -0.0f;
  x.f[3 * 9 + 0] = 0.0f;
  x.f[6 * 9 + 8] = 0.0f;
  x.f[7 * 9 + 1] = -0.0f;
  const std::vector<Attribute> attrs = {testing::attr_ints("kernel_shape", {9, 9}),
                                        testing::attr_ints("pads", {4, 4, 4, 4})};
  testing::GraphBuilder one, two;
  one.input("x0", DType::kFloat32).node("MaxPool", {"x0"}, {"y"}, attrs).output("y");
  two.input("x0", DType::kFloat32).node("MaxPool", {"x0"}, {"y", "i"}, attrs).output("y");
  const Value a = run_one(one.model(), {x}), b = run_one(two.model(), {x});
  ASSERT_EQ(a.shape, (std::vector<int64_t>{1, 1, 9, 9}));
  EXPECT_TRUE(same_bits(a.f, b.f));
  EXPECT_TRUE(std::signbit(a.f[0]));
  EXPECT_FALSE(std::signbit(a.f[7 * 9 + 1]));
  EXPECT_FALSE(std::signbit(a.f[8 * 9 + 8]));
}

// The input index ONNX's nearest Resize reads for output index o (no roi).
int64_t nearest_source(const std::string& transform, const std::string& mode, int64_t o,
                       double scale, int64_t in) {
  const double x = transform == "asymmetric" ? o / scale : (o + 0.5) / scale - 0.5;
  double r;
  if (mode == "floor") {
    r = std::floor(x);
  } else if (x - std::floor(x) == 0.5) {
    r = std::floor(x);  // round_prefer_floor
  } else {
    r = std::round(x);
  }
  return std::clamp<int64_t>(static_cast<int64_t>(r), 0, in - 1);
}

TEST(ResizeNearest, MatchesPerElementFormulaOnRandomShapes) {
  std::mt19937 rng(8);
  struct Case {
    std::vector<int64_t> shape;
    std::vector<float> scales;
    std::string transform, mode;
  };
  const std::vector<Case> cases = {
      {{1, 24, 6, 12}, {1, 1, 2, 2}, "asymmetric", "floor"},  // PaddleOCR's FPN upsampling
      {{1, 24, 6, 12}, {1, 1, 8, 8}, "asymmetric", "floor"},
      {{2, 3, 5, 7}, {1, 1, 0.6f, 1.7f}, "half_pixel", "round_prefer_floor"},
      {{9}, {2.5f}, "asymmetric", "floor"},
      {{2, 3, 4}, {2, 1, 3}, "half_pixel", "round_prefer_floor"},
      {{1, 2, 3, 2, 5}, {1, 2, 1.5f, 2, 0.4f}, "asymmetric", "floor"},
  };
  for (const Case& c : cases) {
    const Value x = random_floats(rng, c.shape);
    const size_t r = c.shape.size();
    const Model model =
        single_op("Resize", 3,
                  {attr_s("mode", "nearest"), attr_s("coordinate_transformation_mode", c.transform),
                   attr_s("nearest_mode", c.mode)},
                  13);
    const Value y = run_one(
        model, {x, Value::floats({0}, {}), Value::floats({static_cast<int64_t>(r)}, c.scales)});
    std::vector<int64_t> out_shape(r);
    for (size_t d = 0; d < r; ++d) {
      out_shape[d] = static_cast<int64_t>(std::floor(c.shape[d] * double{c.scales[d]}));
    }
    ASSERT_EQ(y.shape, out_shape) << describe(x);
    std::vector<int64_t> pos(r, 0);
    for (int64_t k = 0; k < y.numel(); ++k) {
      int64_t from = 0;
      for (size_t d = 0; d < r; ++d) {
        from = from * c.shape[d] +
               nearest_source(c.transform, c.mode, pos[d], c.scales[d], c.shape[d]);
      }
      ASSERT_EQ(y.f[k], x.f[from]) << describe(x) << " output " << k;
      for (size_t d = r; d-- > 0;) {
        if (++pos[d] < out_shape[d]) break;
        pos[d] = 0;
      }
    }
  }
}

TEST(ResizeNearest, IntegersAreCopiedExactly) {
  // Values past 2^53 survive: nearest is a copy, not an interpolation through double.
  const int64_t big = (int64_t{1} << 60) + 1;
  const Value x = Value::ints({1, 2}, {big, -7});
  const Model model = single_op("Resize", 3, {attr_s("mode", "nearest")}, 13);
  const Value y = run_one(model, {x, Value::floats({0}, {}), Value::floats({2}, {1, 2})});
  EXPECT_EQ(y.i, (std::vector<int64_t>{big, big, -7, -7}));
}

// Bilinear images (linear Resize of the last two axes, half_pixel / pytorch_half_pixel) give
// ONNX Runtime 1.30's bits: its outputs on these inputs (bench/ort_reference.js, CPU), where the
// per-axis double arithmetic this replaced differed in 52, 33 and 2 elements. A dynamically
// quantized model (IS-Net) turns such ulps into quantization steps (bench/RESULTS.md).
TEST(ResizeLinear, ImagesGiveOnnxRuntimesBits) {
  Value x = Value::floats({1, 2, 3, 4}, {});
  for (int k = 0; k < 24; ++k) {
    const float v = static_cast<float>(k) * 0.37f - 1.1f;
    x.f.push_back(v * v * 0.9f - v);
  }
  struct Case {
    std::string transform;
    std::vector<float> scales;
    std::vector<int64_t> sizes;
    std::vector<int64_t> shape;
    std::vector<float> ort;
  };
  const std::vector<Case> cases = {
      {"half_pixel", {1, 1, 1.7f, 2.3f}, {}, {1, 2, 5, 9},
       {2.18900013f, 2.03996253f, 1.61414075f, 1.19367588f, 0.874993265f, 0.556310534f,
        0.317982376f, 0.106438838f, -0.00990999024f, 1.2564261f, 1.16473937f, 0.902777433f,
        0.646172464f, 0.491349667f, 0.336526871f, 0.262058496f, 0.21437484f, 0.188148856f,
        -0.17830345f, -0.181757897f, -0.191627741f, -0.196140647f, -0.0988713205f,
        -0.00160198193f, 0.176021695f, 0.380430251f, 0.492854834f, 0.590251744f, 0.675029516f,
        0.917251825f, 1.16483104f, 1.51419234f, 1.86355376f, 2.29326963f, 2.74977088f,
        3.00084615f, 1.25363982f, 1.40459168f, 1.83588314f, 2.27253103f, 2.81096148f,
        3.34939194f, 3.96817684f, 4.6137476f, 4.96881104f, 6.70003986f, 7.00098658f,
        7.86083412f, 8.72603893f, 9.6930275f, 10.6600151f, 11.7073555f, 12.7814817f,
        13.3722496f, 10.2899971f, 10.6482944f, 11.6720028f, 12.701066f, 13.8319149f,
        14.9627609f, 16.1739616f, 17.4119492f, 18.0928402f, 15.8130102f, 16.2595406f,
        17.5353374f, 18.816494f, 20.1994343f, 21.5823746f, 23.0456657f, 24.5357437f,
        25.3552895f, 23.5393066f, 24.07407f, 25.6019592f, 27.13521f, 28.7702408f, 30.4052734f,
        32.1206589f, 33.8628311f, 34.821022f, 29.4210014f, 30.0219364f, 31.7388992f,
        33.461216f, 35.2853165f, 37.1094208f, 39.0138702f, 40.9451141f, 42.0072937f}},
      {"half_pixel", {}, {1, 2, 7, 5}, {1, 2, 7, 5},
       {2.18900013f, 1.50342703f, 0.843124986f, 0.330675036f, -0.00990999024f, 1.84056568f,
        1.25356078f, 0.705907822f, 0.306107044f, 0.0640900582f, 0.795262694f, 0.503961682f,
        0.29425633f, 0.23240301f, 0.286090136f, -0.250039995f, -0.245637015f, -0.117395014f,
        0.158699021f, 0.508090138f, 0.394394249f, 0.694501281f, 1.16069055f, 1.77473211f,
        2.41982794f, 1.03882849f, 1.63463962f, 2.43877602f, 3.39076519f, 4.33156586f,
        1.25363982f, 1.94801879f, 2.86480451f, 3.92944264f, 4.96881104f, 6.70003986f,
        8.08439445f, 9.78972626f, 11.6429081f, 13.3722496f, 8.04134369f, 9.52426624f,
        11.3422461f, 13.3080778f, 15.1359882f, 12.0652523f, 13.8438787f, 15.9998055f,
        18.3035851f, 20.4271984f, 16.0891609f, 18.1634903f, 20.6573639f, 23.2990913f,
        25.7184105f, 21.8028069f, 24.1728401f, 27.0046616f, 29.9843388f, 32.6993637f,
        27.5164528f, 30.1821918f, 33.351963f, 36.6695862f, 39.6803131f, 29.4210014f,
        32.1853065f, 35.4677277f, 38.8979988f, 42.0072937f}},
      {"pytorch_half_pixel", {}, {1, 2, 1, 9}, {1, 2, 1, 9},
       {2.18900013f, 2.02576852f, 1.5904839f, 1.1688894f, 0.843124986f, 0.517360568f,
        0.287426144f, 0.0711817145f, -0.00990999024f, 6.70003986f, 7.0296483f, 7.90860367f,
        8.8012495f, 9.78972626f, 10.7782021f, 11.8625069f, 12.9605017f, 13.3722496f}},
  };
  for (const Case& c : cases) {
    const Model model = single_op(
        "Resize", c.sizes.empty() ? 3 : 4,
        {attr_s("mode", "linear"), attr_s("coordinate_transformation_mode", c.transform)}, 13);
    std::vector<Value> inputs = {x, Value::floats({0}, {}),
                                 Value::floats({static_cast<int64_t>(c.scales.size())}, c.scales)};
    if (!c.sizes.empty()) inputs.push_back(Value::ints({4}, c.sizes));
    const Value y = run_one(model, inputs);
    ASSERT_EQ(y.shape, c.shape) << c.transform;
    EXPECT_TRUE(same_bits(y.f, c.ort)) << c.transform << (c.sizes.empty() ? " scales" : " sizes");
  }
}

}  // namespace
}  // namespace deepcomp::runtime
