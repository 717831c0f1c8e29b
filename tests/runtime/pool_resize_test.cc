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

}  // namespace
}  // namespace deepcomp::runtime
