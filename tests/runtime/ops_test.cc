// Hand-worked cases for the runtime's operators, each on a one- or few-node graph built by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::FloatNear;
using ::testing::Pointwise;
using testing::attr_f;
using testing::attr_i;
using testing::attr_ints;
using testing::attr_s;
using testing::GraphBuilder;
using testing::run_one;
using testing::single_op;

Value iota(std::vector<int64_t> shape, float start = 1.0f) {
  Value v = Value::floats(shape, {});
  for (int64_t k = 0; k < v.numel(); ++k) v.f.push_back(start + k);
  return v;
}

TEST(RuntimeOps, AddBroadcastsRowAgainstMatrix) {
  Value y = run_one(single_op("Add", 2), {iota({2, 3}), Value::floats({3}, {10, 20, 30})});
  EXPECT_THAT(y.shape, ElementsAre(2, 3));
  EXPECT_THAT(y.f, ElementsAre(11, 22, 33, 14, 25, 36));
}

TEST(RuntimeOps, MulBroadcastsColumnTimesRowToOuterProduct) {
  Value y = run_one(single_op("Mul", 2), {Value::floats({2, 1}, {1, 2}), Value::floats({1, 3}, {3, 4, 5})});
  EXPECT_THAT(y.shape, ElementsAre(2, 3));
  EXPECT_THAT(y.f, ElementsAre(3, 4, 5, 6, 8, 10));
}

TEST(RuntimeOps, IntegerDivTruncatesAndSubBroadcastsScalar) {
  Value y = run_one(single_op("Div", 2), {Value::ints({3}, {7, -7, 9}), Value::ints({}, {2})});
  EXPECT_EQ(y.dtype, DType::kInt64);
  EXPECT_THAT(y.i, ElementsAre(3, -3, 4));
  Value z = run_one(single_op("Sub", 2), {Value::ints({2}, {5, 6}), Value::ints({1}, {1})});
  EXPECT_THAT(z.i, ElementsAre(4, 5));
}

TEST(RuntimeOps, ConvWithPadsSumsEachWindow) {
  Model m = single_op("Conv", 2, {attr_ints("pads", {1, 1, 1, 1})});
  Value y = run_one(m, {iota({1, 1, 3, 3}), Value::floats({1, 1, 2, 2}, {1, 1, 1, 1})});
  EXPECT_THAT(y.shape, ElementsAre(1, 1, 4, 4));
  EXPECT_THAT(y.f, ElementsAre(1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9));
}

TEST(RuntimeOps, ConvSameUpperPadsAtTheEndAndSameLowerAtTheBeginning) {
  Value x = iota({1, 1, 3, 3}), w = Value::floats({1, 1, 2, 2}, {1, 1, 1, 1});
  Value upper = run_one(single_op("Conv", 2, {attr_s("auto_pad", "SAME_UPPER")}), {x, w});
  EXPECT_THAT(upper.f, ElementsAre(12, 16, 9, 24, 28, 15, 15, 17, 9));
  Value lower = run_one(single_op("Conv", 2, {attr_s("auto_pad", "SAME_LOWER")}), {x, w});
  EXPECT_THAT(lower.f, ElementsAre(1, 3, 5, 5, 12, 16, 11, 24, 28));
  Value valid = run_one(single_op("Conv", 2, {attr_s("auto_pad", "VALID")}), {x, w});
  EXPECT_THAT(valid.shape, ElementsAre(1, 1, 2, 2));
  EXPECT_THAT(valid.f, ElementsAre(12, 16, 24, 28));
}

TEST(RuntimeOps, GroupedStridedConvWithBias) {
  // Two groups of one channel each; channel 0 weight 1, channel 1 weight -1 (1x1 kernels),
  // stride 2 picks the corners of a 3x3 image.
  Model m = single_op("Conv", 3, {attr_i("group", 2), attr_ints("strides", {2, 2})});
  Value x = iota({1, 2, 3, 3});
  Value y = run_one(m, {x, Value::floats({2, 1, 1, 1}, {1, -1}), Value::floats({2}, {100, 0})});
  EXPECT_THAT(y.shape, ElementsAre(1, 2, 2, 2));
  EXPECT_THAT(y.f, ElementsAre(101, 103, 107, 109, -10, -12, -16, -18));
}

TEST(RuntimeOps, OneDimensionalConvWithDilation) {
  Model m = single_op("Conv", 2, {attr_ints("dilations", {2})});
  Value y = run_one(m, {iota({1, 1, 5}), Value::floats({1, 1, 2}, {1, 10})});
  EXPECT_THAT(y.shape, ElementsAre(1, 1, 3));
  EXPECT_THAT(y.f, ElementsAre(31, 42, 53));
}

TEST(RuntimeOps, MaxPoolCeilModeAddsThePartialWindow) {
  Value x = iota({1, 1, 4, 4});
  Value ceil = run_one(single_op("MaxPool", 1, {attr_ints("kernel_shape", {3, 3}), attr_ints("strides", {2, 2}),
                                                attr_i("ceil_mode", 1)}), {x});
  EXPECT_THAT(ceil.shape, ElementsAre(1, 1, 2, 2));
  EXPECT_THAT(ceil.f, ElementsAre(11, 12, 15, 16));
  Value floor = run_one(single_op("MaxPool", 1, {attr_ints("kernel_shape", {3, 3}), attr_ints("strides", {2, 2})}), {x});
  EXPECT_THAT(floor.shape, ElementsAre(1, 1, 1, 1));
  EXPECT_THAT(floor.f, ElementsAre(11));
}

TEST(RuntimeOps, AveragePoolCountIncludePadChangesTheDivisor) {
  Value x = iota({1, 1, 2, 2});
  auto attrs = [](int include) {
    return std::vector<Attribute>{attr_ints("kernel_shape", {2, 2}), attr_ints("pads", {1, 1, 1, 1}),
                                  attr_i("count_include_pad", include)};
  };
  Value excl = run_one(single_op("AveragePool", 1, attrs(0)), {x});
  EXPECT_THAT(excl.f, ElementsAre(1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4));
  Value incl = run_one(single_op("AveragePool", 1, attrs(1)), {x});
  EXPECT_THAT(incl.f, ElementsAre(0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1));
}

TEST(RuntimeOps, GlobalAveragePoolAndGlobalMaxPoolReduceSpatialDims) {
  Value x = iota({1, 2, 2, 2});
  Value avg = run_one(single_op("GlobalAveragePool", 1), {x});
  EXPECT_THAT(avg.shape, ElementsAre(1, 2, 1, 1));
  EXPECT_THAT(avg.f, ElementsAre(2.5, 6.5));
  Value mx = run_one(single_op("GlobalMaxPool", 1), {x});
  EXPECT_THAT(mx.f, ElementsAre(4, 8));
}

TEST(RuntimeOps, GemmTransposesScalesAndBroadcastsC) {
  Model m = single_op("Gemm", 3, {attr_f("alpha", 2), attr_f("beta", 0.5), attr_i("transB", 1)});
  Value y = run_one(m, {Value::floats({2, 2}, {1, 2, 3, 4}), Value::floats({2, 2}, {5, 6, 7, 8}),
                        Value::floats({2}, {1, 2})});
  EXPECT_THAT(y.f, ElementsAre(34.5, 47, 78.5, 107));
  Model ta = single_op("Gemm", 2, {attr_i("transA", 1)});
  Value z = run_one(ta, {Value::floats({2, 1}, {1, 2}), Value::floats({2, 2}, {1, 2, 3, 4})});
  EXPECT_THAT(z.shape, ElementsAre(1, 2));
  EXPECT_THAT(z.f, ElementsAre(7, 10));
}

TEST(RuntimeOps, MatMulBroadcastsBatchAndHandlesVectors) {
  Value y = run_one(single_op("MatMul", 2), {Value::floats({2, 1, 2}, {1, 2, 3, 4}), Value::floats({2, 2}, {1, 0, 1, 1})});
  EXPECT_THAT(y.shape, ElementsAre(2, 1, 2));
  EXPECT_THAT(y.f, ElementsAre(3, 2, 7, 4));
  Value v = run_one(single_op("MatMul", 2), {Value::floats({2}, {1, 2}), Value::floats({2, 2, 1}, {1, 1, 2, 3})});
  EXPECT_THAT(v.shape, ElementsAre(2, 1));
  EXPECT_THAT(v.f, ElementsAre(3, 8));
}

TEST(RuntimeOps, ReshapeCopiesZeroAndInfersMinusOne) {
  GraphBuilder b;
  b.input("x").int_weight("s", {2}, {0, -1}).node("Reshape", {"x", "s"}, {"y"}).output("y");
  Value y = run_one(b.model(), {iota({2, 3, 4})});
  EXPECT_THAT(y.shape, ElementsAre(2, 12));
  GraphBuilder z;
  z.input("x").int_weight("s", {2}, {0, 3}).node("Reshape", {"x", "s"}, {"y"}, {attr_i("allowzero", 1)}).output("y");
  Value e = run_one(z.model(), {Value::floats({0, 3}, {})});
  EXPECT_THAT(e.shape, ElementsAre(0, 3));
}

TEST(RuntimeOps, TransposeDefaultReversesAndPermMoves) {
  Value y = run_one(single_op("Transpose", 1), {iota({2, 3})});
  EXPECT_THAT(y.shape, ElementsAre(3, 2));
  EXPECT_THAT(y.f, ElementsAre(1, 4, 2, 5, 3, 6));
  Value p = run_one(single_op("Transpose", 1, {attr_ints("perm", {0, 2, 1})}), {iota({1, 2, 3})});
  EXPECT_THAT(p.f, ElementsAre(1, 4, 2, 5, 3, 6));
}

TEST(RuntimeOps, SoftmaxCoercesTo2DBeforeOpset13AndUsesOneAxisAfter) {
  Value zeros = Value::floats({1, 2, 2}, {0, 0, 0, 0});
  Value old = run_one(single_op("Softmax", 1, {}, 11), {zeros});
  EXPECT_THAT(old.f, ElementsAre(0.25, 0.25, 0.25, 0.25));
  Value now = run_one(single_op("Softmax", 1, {}, 13), {zeros});
  EXPECT_THAT(now.f, ElementsAre(0.5, 0.5, 0.5, 0.5));
  Value log = run_one(single_op("LogSoftmax", 1, {}, 13), {zeros});
  EXPECT_THAT(log.f, Pointwise(FloatNear(1e-6), std::vector<float>(4, std::log(0.5f))));
}

TEST(RuntimeOps, PadModes) {
  GraphBuilder b(13);
  b.input("x").int_weight("p", {2}, {2, 2}).output("r").output("e").output("c");
  b.weight("v", {}, {9});
  b.node("Pad", {"x", "p"}, {"r"}, {attr_s("mode", "reflect")});
  b.node("Pad", {"x", "p"}, {"e"}, {attr_s("mode", "edge")});
  b.node("Pad", {"x", "p", "v"}, {"c"});
  auto s = Session::create(b.model());
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto out = s->run({Value::floats({3}, {1, 2, 3})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_THAT((*out)[0].f, ElementsAre(3, 2, 1, 2, 3, 2, 1));
  EXPECT_THAT((*out)[1].f, ElementsAre(1, 1, 1, 2, 3, 3, 3));
  EXPECT_THAT((*out)[2].f, ElementsAre(9, 9, 1, 2, 3, 9, 9));
  // Opset 2 form: pads and value as attributes.
  Value legacy = run_one(single_op("Pad", 1, {attr_ints("pads", {0, 1, 0, 0}), attr_f("value", -1)}, 2),
                         {Value::floats({1, 2}, {5, 6})});
  EXPECT_THAT(legacy.shape, ElementsAre(1, 3));
  EXPECT_THAT(legacy.f, ElementsAre(-1, 5, 6));
}

TEST(RuntimeOps, SliceWithNegativeStepAndClampedEnds) {
  GraphBuilder b;
  b.input("x").int_weight("s", {1}, {-1}).int_weight("e", {1}, {-100}).int_weight("a", {1}, {0})
      .int_weight("st", {1}, {-3}).node("Slice", {"x", "s", "e", "a", "st"}, {"y"}).output("y");
  Value y = run_one(b.model(), {iota({10}, 0)});
  EXPECT_THAT(y.f, ElementsAre(9, 6, 3, 0));
}

TEST(RuntimeOps, ShapeGatherUnsqueezeConcatReshapeChainCarriesInt64) {
  // Flatten done the way exporters write it: reshape x to [shape(x)[0], -1].
  GraphBuilder b(13);
  b.input("x").int_weight("zero", {}, {0}).int_weight("minus1", {1}, {-1}).int_weight("ax", {1}, {0});
  b.node("Shape", {"x"}, {"s"}).node("Gather", {"s", "zero"}, {"n"}).node("Unsqueeze", {"n", "ax"}, {"n1"});
  b.node("Concat", {"n1", "minus1"}, {"target"}, {attr_i("axis", 0)}).node("Reshape", {"x", "target"}, {"y"});
  b.output("y").output("target");
  auto s = Session::create(b.model());
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto out = s->run({iota({3, 2, 2})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_THAT((*out)[0].shape, ElementsAre(3, 4));
  EXPECT_EQ((*out)[1].dtype, DType::kInt64);
  EXPECT_THAT((*out)[1].i, ElementsAre(3, -1));
}

TEST(RuntimeOps, GatherNegativeIndicesOnAxis1) {
  GraphBuilder b;
  b.input("x").int_weight("i", {2}, {-1, 0}).node("Gather", {"x", "i"}, {"y"}, {attr_i("axis", 1)}).output("y");
  Value y = run_one(b.model(), {iota({2, 3})});
  EXPECT_THAT(y.shape, ElementsAre(2, 2));
  EXPECT_THAT(y.f, ElementsAre(3, 1, 6, 4));
}

TEST(RuntimeOps, ClipFromAttributesAndFromInputs) {
  Value x = Value::floats({4}, {-2, 0.5, 3, 7});
  Value a = run_one(single_op("Clip", 1, {attr_f("min", 0), attr_f("max", 3)}, 6), {x});
  EXPECT_THAT(a.f, ElementsAre(0, 0.5, 3, 3));
  GraphBuilder b(13);
  b.input("x").weight("hi", {}, {1}).node("Clip", {"x", "", "hi"}, {"y"}).output("y");
  Value c = run_one(b.model(), {x});
  EXPECT_THAT(c.f, ElementsAre(-2, 0.5, 1, 1));
}

TEST(RuntimeOps, BatchNormalizationUsesRunningStatistics) {
  GraphBuilder b;
  b.input("x").weight("g", {2}, {1, 2}).weight("b", {2}, {0, 1}).weight("m", {2}, {1, 0}).weight("v", {2}, {4, 1});
  b.node("BatchNormalization", {"x", "g", "b", "m", "v"}, {"y"}, {attr_f("epsilon", 0)}).output("y");
  Value y = run_one(b.model(), {Value::floats({1, 2, 1, 2}, {1, 3, 1, -1})});
  EXPECT_THAT(y.f, ElementsAre(0, 1, 3, -1));
}

TEST(RuntimeOps, SqueezeAndUnsqueezeAxesFromAttributeOrInput) {
  Value x = iota({1, 3, 1});
  EXPECT_THAT(run_one(single_op("Squeeze", 1, {}, 11), {x}).shape, ElementsAre(3));
  EXPECT_THAT(run_one(single_op("Squeeze", 1, {attr_ints("axes", {-1})}, 11), {x}).shape, ElementsAre(1, 3));
  EXPECT_THAT(run_one(single_op("Unsqueeze", 1, {attr_ints("axes", {0, 4})}, 11), {x}).shape,
              ElementsAre(1, 1, 3, 1, 1));
  GraphBuilder b(13);
  b.input("x").int_weight("a", {1}, {1}).node("Unsqueeze", {"x", "a"}, {"y"}).output("y");
  EXPECT_THAT(run_one(b.model(), {x}).shape, ElementsAre(1, 1, 3, 1));
}

TEST(RuntimeOps, CastBetweenFloatAndInt64Truncates) {
  Value i = run_one(single_op("Cast", 1, {attr_i("to", 7)}), {Value::floats({3}, {1.7f, -1.7f, 3})});
  EXPECT_EQ(i.dtype, DType::kInt64);
  EXPECT_THAT(i.i, ElementsAre(1, -1, 3));
  Value f = run_one(single_op("Cast", 1, {attr_i("to", 1)}), {Value::ints({2}, {4, -5})});
  EXPECT_THAT(f.f, ElementsAre(4, -5));
}

TEST(RuntimeOps, FlattenAtAxisAndConcatAlongAxis1) {
  EXPECT_THAT(run_one(single_op("Flatten", 1, {attr_i("axis", 2)}), {iota({2, 3, 4})}).shape, ElementsAre(6, 4));
  Value c = run_one(single_op("Concat", 2, {attr_i("axis", 1)}), {iota({2, 1}), iota({2, 2}, 10)});
  EXPECT_THAT(c.f, ElementsAre(1, 10, 11, 2, 12, 13));
}

TEST(RuntimeOps, ActivationsAndVariadicSumMax) {
  Value x = Value::floats({3}, {-1, 0, 2});
  EXPECT_THAT(run_one(single_op("Relu", 1), {x}).f, ElementsAre(0, 0, 2));
  EXPECT_THAT(run_one(single_op("LeakyRelu", 1, {attr_f("alpha", 0.5)}), {x}).f, ElementsAre(-0.5, 0, 2));
  EXPECT_THAT(run_one(single_op("Sigmoid", 1), {x}).f[1], 0.5f);
  EXPECT_THAT(run_one(single_op("Sum", 3), {x, x, Value::floats({1}, {1})}).f, ElementsAre(-1, 1, 5));
  EXPECT_THAT(run_one(single_op("Max", 2), {x, Value::floats({}, {0.5})}).f, ElementsAre(0.5, 0.5, 2));
  EXPECT_THAT(run_one(single_op("Abs", 1), {Value::ints({2}, {-3, 4})}).i, ElementsAre(3, 4));
}

TEST(RuntimeOps, ReduceMeanOverAxesKeepsDims) {
  Value y = run_one(single_op("ReduceMean", 1, {attr_ints("axes", {1})}, 13), {iota({2, 3})});
  EXPECT_THAT(y.shape, ElementsAre(2, 1));
  EXPECT_THAT(y.f, ElementsAre(2, 5));
}

}  // namespace
}  // namespace deepcomp::runtime
