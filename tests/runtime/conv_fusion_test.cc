// Conv chains fused at session build (runtime/fuse_conv.h): every fused form gives the bits of
// the same graph run unfused (set_conv_fusion(false)), dense and sparse, and the
// fused nodes really are gone from the profile; chains that must not fuse (a value read twice,
// a graph output, a broadcasting residual, float16) still give the unfused results. The real
// models that exercise these chains against ONNX Runtime are in real_models_test.cc (ocr_det,
// ocr_cls, blazeface_*).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "runtime/fuse_conv.h"
#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_f;
using testing::attr_i;
using testing::attr_ints;
using testing::GraphBuilder;

std::vector<float> random_floats(int64_t n, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// A Constant node `name` holding a float scalar.
void constant(GraphBuilder* b, const std::string& name, float value) {
  Tensor t;
  t.name = name + "_value";
  t.values = {value};
  b->model().tensors.push_back(t);
  Attribute a;
  a.name = "value";
  a.type = Attribute::Type::kTensor;
  a.tensor = t.name;
  b->node("Constant", {}, {name}, {a});
}

// Conv 3x3 pad 1, C=3 -> M=4, on x [1, 3, 6, 7]; output "c".
void conv(GraphBuilder* b, const std::string& x = "x", const std::string& out = "c") {
  b->weight("w", {4, 3, 3, 3}, random_floats(4 * 27, 1)).weight("b", {4}, random_floats(4, 2));
  b->node("Conv", {x, "w", "b"}, {out},
          {attr_ints("pads", {1, 1, 1, 1}), attr_ints("kernel_shape", {3, 3})}, "conv");
}

struct RunResult {
  std::vector<Value> out;
  size_t steps = 0;  // nodes timed in the profile
};

RunResult run(const Model& model, const std::vector<Value>& inputs, bool fuse,
              bool sparse = false) {
  SessionOptions o;
  set_conv_fusion(fuse);
  o.profile = true;
  o.sparse_from_dense = sparse;
  auto s = Session::create(model, o);
  set_conv_fusion(true);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return {};
  auto out = s->run(inputs);
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (!out.ok()) return {};
  return {std::move(out).value(), s->profile().size()};
}

// Fused and unfused give the same bits (dense and sparse); returns how many nodes fusion saved.
size_t expect_same(const Model& model, const std::vector<Value>& inputs) {
  size_t saved = 0;
  for (bool sparse : {false, true}) {
    const RunResult plain = run(model, inputs, false, sparse);
    const RunResult fused = run(model, inputs, true, sparse);
    EXPECT_EQ(plain.out.size(), fused.out.size());
    for (size_t k = 0; k < plain.out.size() && k < fused.out.size(); ++k) {
      EXPECT_EQ(plain.out[k].shape, fused.out[k].shape);
      EXPECT_EQ(plain.out[k].f, fused.out[k].f) << "output " << k << " sparse " << sparse;
    }
    saved = plain.steps - fused.steps;
  }
  return saved;
}

Value input(uint32_t seed) { return Value::floats({1, 3, 6, 7}, random_floats(3 * 6 * 7, seed)); }

TEST(ConvFusion, BatchNormAndRelu) {
  GraphBuilder b;
  b.input("x", DType::kFloat32, {1, 3, 6, 7});
  conv(&b);
  b.weight("gamma", {4}, random_floats(4, 3, 0.5f, 2))
      .weight("beta", {4}, random_floats(4, 4))
      .weight("mean", {4}, random_floats(4, 5))
      .weight("var", {4}, random_floats(4, 6, 0.1f, 1));
  b.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"bn"},
         {attr_f("epsilon", 1e-3f)});
  b.node("Relu", {"bn"}, {"y"}).output("y");
  EXPECT_EQ(expect_same(b.model(), {input(7)}), 2u);
}

TEST(ConvFusion, ScaleShiftAndHardSwishAsAddClipMulDiv) {
  // PaddleOCR's export: Mul by a scalar, Add a per-channel constant, x * Clip(x + 3, 0, 6) / 6.
  GraphBuilder b(11);
  b.input("x", DType::kFloat32, {1, 3, 6, 7});
  conv(&b);
  b.weight("s", {1}, {0.943f}).weight("a", {4, 1, 1}, random_floats(4, 8));
  constant(&b, "three", 3.0f);
  constant(&b, "zero", 0.0f);
  constant(&b, "six", 6.0f);
  b.node("Mul", {"s", "c"}, {"m"}).node("Add", {"m", "a"}, {"v"});
  b.node("Add", {"v", "three"}, {"v3"}).node("Clip", {"v3", "zero", "six"}, {"cl"});
  b.node("Mul", {"v", "cl"}, {"p"}).node("Div", {"p", "six"}, {"y"}).output("y");
  EXPECT_EQ(expect_same(b.model(), {input(9)}), 6u);
}

TEST(ConvFusion, AffineAfterTheActivation) {
  // PP-OCRv4's learnable affine block: HardSwish as Add/Clip/Mul/Div, then Mul by a scalar
  // Constant (constant first) and Add a scalar.
  {
    GraphBuilder b(11);
    b.input("x", DType::kFloat32, {1, 3, 6, 7});
    conv(&b);
    constant(&b, "three", 3.0f);
    constant(&b, "zero", 0.0f);
    constant(&b, "six", 6.0f);
    constant(&b, "lab_w", 0.63296586f);
    constant(&b, "lab_b", -0.54658866f);
    b.node("Add", {"c", "three"}, {"v3"}).node("Clip", {"v3", "zero", "six"}, {"cl"});
    b.node("Mul", {"c", "cl"}, {"p"}).node("Div", {"p", "six"}, {"h"});
    b.node("Mul", {"lab_w", "h"}, {"m"}).node("Add", {"m", "lab_b"}, {"y"}).output("y");
    EXPECT_EQ(expect_same(b.model(), {input(21)}), 6u);
  }
  // Per-channel post scale without a shift, after a Relu.
  {
    GraphBuilder b;
    b.input("x", DType::kFloat32, {1, 3, 6, 7});
    conv(&b);
    b.weight("ps", {1, 4, 1, 1}, random_floats(4, 22));
    b.node("Relu", {"c"}, {"r"}).node("Mul", {"r", "ps"}, {"y"}).output("y");
    EXPECT_EQ(expect_same(b.model(), {input(23)}), 2u);
  }
  // Without an activation a second Mul is not an affine step the epilogue has: not fused.
  {
    GraphBuilder b;
    b.input("x", DType::kFloat32, {1, 3, 6, 7});
    conv(&b);
    b.weight("s1", {1}, {0.5f}).weight("s2", {1}, {3.0f});
    b.node("Mul", {"c", "s1"}, {"m1"}).node("Mul", {"m1", "s2"}, {"y"}).output("y");
    EXPECT_EQ(expect_same(b.model(), {input(24)}), 1u);
  }
}

TEST(ConvFusion, ResidualComputedAfterTheConvThenRelu) {
  // BlazeFace's block: Conv, Add(the block input's other branch), Relu; the other branch is
  // computed after the Conv in node order.
  GraphBuilder b;
  b.input("x", DType::kFloat32, {1, 3, 6, 7});
  conv(&b);
  b.weight("w2", {4, 3, 1, 1}, random_floats(12, 10));
  b.node("Conv", {"x", "w2"}, {"skip"}, {}, "skip_conv");
  b.node("Add", {"skip", "c"}, {"sum"}).node("Relu", {"sum"}, {"y"}).output("y");
  EXPECT_EQ(expect_same(b.model(), {input(11)}), 2u);
}

TEST(ConvFusion, EachActivation) {
  struct Act {
    const char* op;
    std::vector<Attribute> attrs;
  };
  const Act acts[] = {{"Relu", {}},
                      {"LeakyRelu", {attr_f("alpha", 0.2f)}},
                      {"HardSigmoid", {attr_f("alpha", 0.3f), attr_f("beta", 0.4f)}},
                      {"HardSwish", {}},
                      {"Sigmoid", {}},
                      {"Clip", {attr_f("min", -0.5f), attr_f("max", 0.7f)}}};
  for (const Act& act : acts) {
    GraphBuilder b(std::string(act.op) == "Clip" ? 6 : 14);
    b.input("x", DType::kFloat32, {1, 3, 6, 7});
    conv(&b);
    b.node(act.op, {"c"}, {"y"}, act.attrs).output("y");
    EXPECT_EQ(expect_same(b.model(), {input(12)}), 1u) << act.op;
  }
}

TEST(ConvFusion, SiluAsSigmoidThenMulInEitherOrder) {
  // YOLOX's SiLU: the conv output read by a Sigmoid and by the Mul of it with the Sigmoid.
  for (bool swapped : {false, true}) {
    GraphBuilder b;
    b.input("x", DType::kFloat32, {1, 3, 6, 7});
    conv(&b);
    b.node("Sigmoid", {"c"}, {"s"});
    b.node("Mul", swapped ? std::vector<std::string>{"s", "c"} : std::vector<std::string>{"c", "s"},
           {"y"});
    b.output("y");
    EXPECT_EQ(expect_same(b.model(), {input(17)}), 2u) << swapped;
  }
  {  // The Sigmoid's output is read again: not SiLU, nothing fused (same results).
    GraphBuilder b;
    b.input("x", DType::kFloat32, {1, 3, 6, 7});
    conv(&b);
    b.node("Sigmoid", {"c"}, {"s"}).node("Mul", {"c", "s"}, {"y"});
    b.output("y").output("s");
    EXPECT_EQ(expect_same(b.model(), {input(18)}), 0u);
  }
  {  // Mul of the conv output by the Sigmoid of another conv: not SiLU (only that other conv's
     // Sigmoid, its sole reader, is fused).
    GraphBuilder b;
    b.input("x", DType::kFloat32, {1, 3, 6, 7});
    conv(&b);
    b.weight("w2", {4, 3, 1, 1}, random_floats(12, 19));
    b.node("Conv", {"x", "w2"}, {"d"}, {}, "other_conv");
    b.node("Sigmoid", {"d"}, {"s"}).node("Mul", {"c", "s"}, {"y"}).node("Relu", {"c"}, {"r"});
    b.output("y").output("r");
    EXPECT_EQ(expect_same(b.model(), {input(20)}), 1u);
  }
}

TEST(ConvFusion, NotFusedWhereTheGraphForbids) {
  {  // The conv output is also a graph output.
    GraphBuilder b;
    b.input("x", DType::kFloat32, {1, 3, 6, 7});
    conv(&b);
    b.node("Relu", {"c"}, {"y"}).output("y").output("c");
    EXPECT_EQ(expect_same(b.model(), {input(13)}), 0u);
  }
  {  // The conv output has a second reader.
    GraphBuilder b;
    b.input("x", DType::kFloat32, {1, 3, 6, 7});
    conv(&b);
    b.node("Relu", {"c"}, {"r"}).node("Sigmoid", {"c"}, {"s"}).node("Add", {"r", "s"}, {"y"});
    b.output("y");
    EXPECT_EQ(expect_same(b.model(), {input(14)}), 0u);
  }
  {  // Mul by a tensor that is not per channel ([W] broadcasts along the width).
    GraphBuilder b;
    b.input("x", DType::kFloat32, {1, 3, 6, 7});
    conv(&b);
    b.weight("row", {7}, random_floats(7, 15));
    b.node("Mul", {"c", "row"}, {"y"}).output("y");
    EXPECT_EQ(expect_same(b.model(), {input(16)}), 0u);
  }
}

TEST(ConvFusion, BroadcastingResidualRunsTheChainsOwnOperators) {
  // The residual [1, 4, 1, 1] broadcasts: fused at build, it takes the general path at run time.
  GraphBuilder b;
  b.input("x", DType::kFloat32, {1, 3, 6, 7}).input("r", DType::kFloat32, {1, 4, 1, 1});
  conv(&b);
  b.node("Add", {"c", "r"}, {"sum"}).node("Relu", {"sum"}, {"y"}).output("y");
  const Value r = Value::floats({1, 4, 1, 1}, random_floats(4, 17));
  EXPECT_EQ(expect_same(b.model(), {input(18), r}), 2u);
}

TEST(ConvFusion, HandWorkedBatchNormRelu) {
  // 1x1 conv of weight 2, bias 1 on x = [-1, 0.5]; BN scale 3, B 0.5, mean 1, var 3, eps 1:
  // s = 3 / 2 = 1.5, b = 0.5 - 1.5 = -1; conv -> [-1, 2]; BN -> [-2.5, 2]; Relu -> [0, 2].
  GraphBuilder b;
  b.input("x", DType::kFloat32, {1, 1, 1, 2});
  b.weight("w", {1, 1, 1, 1}, {2}).weight("b", {1}, {1});
  b.weight("g", {1}, {3}).weight("beta", {1}, {0.5f}).weight("m", {1}, {1}).weight("v", {1}, {3});
  b.node("Conv", {"x", "w", "b"}, {"c"});
  b.node("BatchNormalization", {"c", "g", "beta", "m", "v"}, {"bn"}, {attr_f("epsilon", 1)});
  b.node("Relu", {"bn"}, {"y"}).output("y");
  const RunResult fused = run(b.model(), {Value::floats({1, 1, 1, 2}, {-1, 0.5f})}, true);
  ASSERT_EQ(fused.out.size(), 1u);
  EXPECT_EQ(fused.out[0].f, (std::vector<float>{0, 2}));
  EXPECT_EQ(fused.steps, 1u);
}

}  // namespace
}  // namespace deepcomp::runtime
