// Dtype behaviour the ONNX backend node cases do not pin: integer wrap-around and float16 /
// bfloat16 rounding after arithmetic, a Cast matrix, typed tensor attributes, integer reductions,
// and the new math operators on hand-worked inputs. Expected values come from numpy 1.24 /
// PyTorch 1.13 (the snippet beside each test) or are worked by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_f;
using testing::attr_i;
using testing::attr_ints;
using testing::attr_s;
using ::testing::ElementsAre;
using testing::GraphBuilder;
using ::testing::HasSubstr;
using testing::single_op;

Value typed(DType dtype, std::vector<int64_t> shape, std::vector<double> values) {
  Value v = zeros_like_dtype(dtype, std::move(shape));
  for (size_t k = 0; k < values.size(); ++k) {
    if (v.is_float()) {
      v.f[k] = static_cast<float>(values[k]);
    } else {
      v.i[k] = static_cast<int64_t>(values[k]);
    }
  }
  return v;
}

Result<Value> run(const Model& model, std::vector<Value> inputs) {
  DEEPCOMP_ASSIGN_OR_RETURN(Session s, Session::create(model));
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<Value> out, s.run(inputs));
  return out[0];
}

Value run_ok(const Model& model, std::vector<Value> inputs) {
  auto y = run(model, std::move(inputs));
  EXPECT_TRUE(y.ok()) << y.status().message();
  return y.ok() ? std::move(y).value() : Value{};
}

Value cast(const Value& x, DType to) {
  return run_ok(single_op("Cast", 1, {attr_i("to", static_cast<int64_t>(to))}), {x});
}

// numpy: np.int32(2147483647) + np.int32(1) == -2147483648; np.uint8(200) + np.uint8(100) == 44
TEST(RuntimeDtypes, IntegerArithmeticWrapsToTheDtypeWidth) {
  Value y = run_ok(single_op("Add", 2),
                   {typed(DType::kInt32, {1}, {2147483647}), typed(DType::kInt32, {1}, {1})});
  EXPECT_EQ(y.dtype, DType::kInt32);
  EXPECT_THAT(y.i, ElementsAre(-2147483648LL));
  Value u = run_ok(single_op("Add", 2),
                   {typed(DType::kUInt8, {1}, {200}), typed(DType::kUInt8, {1}, {100})});
  EXPECT_EQ(u.dtype, DType::kUInt8);
  EXPECT_THAT(u.i, ElementsAre(44));
  // int64 overflow wraps as two's complement rather than being undefined.
  Value w = run_ok(single_op("Mul", 2), {Value::ints({1}, {INT64_MAX}), Value::ints({1}, {2})});
  EXPECT_THAT(w.i, ElementsAre(-2));
}

// float16 has a 10-bit mantissa: 1 + 2^-11 is a tie that rounds to even (1.0), 1 + 3 * 2^-11
// rounds up to 1 + 2^-9 (numpy: np.float16(np.float32(1 + 3 * 2**-11)) == 1.0019531).
TEST(RuntimeDtypes, Float16ResultsAreRoundedToHalfPrecision) {
  Value y =
      run_ok(single_op("Add", 2),
             {typed(DType::kFloat16, {2}, {1, 1}),
              Value{DType::kFloat16, {2}, {std::ldexp(1.0f, -11), 3 * std::ldexp(1.0f, -11)}, {}}});
  EXPECT_EQ(y.dtype, DType::kFloat16);
  EXPECT_THAT(y.f, ElementsAre(1.0f, 1.0f + std::ldexp(1.0f, -9)));
  Value s = run_ok(single_op("Sin", 1), {typed(DType::kFloat16, {1}, {1.0})});
  EXPECT_EQ(s.dtype, DType::kFloat16);
  // sin(1) = 0.84147..., nearest half: 0.84130859375 (ulp 2^-11 in [0.5, 1)).
  EXPECT_EQ(s.f[0], 0.84130859375f);
}

TEST(RuntimeDtypes, CastMatrixMatchesNumpy) {
  // np.array([1.9, -1.9, 127.9, -128.9], np.float32).astype(np.int8) -> [1, -1, 127, -128]
  Value a = cast(Value::floats({4}, {1.9f, -1.9f, 127.9f, -128.9f}), DType::kInt8);
  EXPECT_EQ(a.dtype, DType::kInt8);
  EXPECT_THAT(a.i, ElementsAre(1, -1, 127, -128));
  // .astype(np.uint8) of [3.7, 255.0, 0.2] -> [3, 255, 0]
  EXPECT_THAT(cast(Value::floats({3}, {3.7f, 255.0f, 0.2f}), DType::kUInt8).i,
              ElementsAre(3, 255, 0));
  // .astype(bool) of [0, -0.0, 0.5, nan] -> [F, F, T, T]
  Value b = cast(Value::floats({4}, {0.0f, -0.0f, 0.5f, NAN}), DType::kBool);
  EXPECT_EQ(b.dtype, DType::kBool);
  EXPECT_THAT(b.i, ElementsAre(0, 0, 1, 1));
  // np.uint64(2**64 - 1).astype(np.float32) -> 1.8446744e19 (read unsigned, not -1)
  Value big = zeros_like_dtype(DType::kUInt64, {1});
  big.i[0] = -1;
  EXPECT_FLOAT_EQ(cast(big, DType::kFloat32).f[0], 1.8446744e19f);
  // np.array([2049, 2051, -3]).astype(np.float16) -> [2048, 2052, -3] (ulp 2 above 2048)
  Value h = cast(Value::ints({3}, {2049, 2051, -3}), DType::kFloat16);
  EXPECT_EQ(h.dtype, DType::kFloat16);
  EXPECT_THAT(h.f, ElementsAre(2048.0f, 2052.0f, -3.0f));
  // torch.tensor([1 + 2**-8, 1 + 3 * 2**-8, 3.14159265]).to(torch.bfloat16) ->
  // [1, 1.015625, 3.140625]
  Value bf = cast(Value::floats({3}, {1.00390625f, 1.01171875f, 3.14159265f}), DType::kBFloat16);
  EXPECT_THAT(bf.f, ElementsAre(1.0f, 1.015625f, 3.140625f));
  // np.array([70000, -40000], np.int32).astype(np.int16) -> [4464, 25536]
  EXPECT_THAT(cast(typed(DType::kInt32, {2}, {70000, -40000}), DType::kInt16).i,
              ElementsAre(4464, 25536));
  // np.array([-2.5, 2.99]).astype(np.int32) -> [-2, 2]: truncation toward zero
  EXPECT_THAT(cast(typed(DType::kFloat64, {2}, {-2.5, 2.99}), DType::kInt32).i, ElementsAre(-2, 2));
  // bool -> float32 and float16 -> float64 keep the values.
  EXPECT_THAT(cast(Value::bools({2}, {1, 0}), DType::kFloat32).f, ElementsAre(1.0f, 0.0f));
  Value d = cast(typed(DType::kFloat16, {1}, {0.5}), DType::kFloat64);
  EXPECT_EQ(d.dtype, DType::kFloat64);
  EXPECT_THAT(d.f, ElementsAre(0.5f));
}

TEST(RuntimeDtypes, CastToStringIsRejectedAtCreate) {
  auto s =
      Session::create(single_op("Cast", 1, {attr_i("to", static_cast<int64_t>(DType::kString))}));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("cast to string is not supported"));
}

TEST(RuntimeDtypes, CastLikeTakesTheSecondInputsDtype) {
  Value y = run_ok(single_op("CastLike", 2),
                   {Value::floats({2}, {-1.5f, 300.0f}), typed(DType::kUInt8, {0}, {})});
  EXPECT_EQ(y.dtype, DType::kUInt8);
  EXPECT_THAT(y.i, ElementsAre(255, 44));  // -1 and 300 wrapped to 8 bits
}

// A non-Constant node's tensor attribute keeps its dtype (the fix for ConstantOfShape's value).
TEST(RuntimeDtypes, ConstantOfShapeFillsWithTheValueAttributesDtype) {
  GraphBuilder b;
  b.input("shape", DType::kInt64);
  Attribute value;
  value.name = "value";
  value.type = Attribute::Type::kTensor;
  auto t = std::make_shared<Tensor>();
  t->dtype = DType::kInt32;
  t->shape = {1};
  const int32_t seven = 7;
  t->raw.assign(reinterpret_cast<const char*>(&seven), sizeof seven);
  value.value = t;
  b.node("ConstantOfShape", {"shape"}, {"y"}, {value}).output("y");
  Value y = run_ok(b.model(), {Value::ints({1}, {3})});
  EXPECT_EQ(y.dtype, DType::kInt32);
  EXPECT_THAT(y.i, ElementsAre(7, 7, 7));
}

TEST(RuntimeDtypes, IntegerReductionsKeepTheDtype) {
  Value x = typed(DType::kInt32, {2, 3}, {1, -2, 3, 4, 5, -6});
  Value s = run_ok(single_op("ReduceSum", 2, {attr_i("keepdims", 0)}), {x, Value::ints({1}, {1})});
  EXPECT_EQ(s.dtype, DType::kInt32);
  EXPECT_THAT(s.i, ElementsAre(2, 3));
  Value p =
      run_ok(single_op("ReduceProd", 1, {attr_ints("axes", {0}), attr_i("keepdims", 0)}, 13), {x});
  EXPECT_THAT(p.i, ElementsAre(4, -10, -18));
  // uint64 values above 2^63 order as unsigned.
  Value u = zeros_like_dtype(DType::kUInt64, {2});
  u.i = {5, -1};  // 5 and 2^64 - 1
  Value m = run_ok(single_op("ReduceMax", 1, {attr_i("keepdims", 0)}, 13), {u});
  EXPECT_THAT(m.i, ElementsAre(-1));
  Value e = run_ok(single_op("ReduceLogSumExp", 1, {attr_i("keepdims", 0)}, 13),
                   {Value::floats({2}, {1000.0f, 1000.0f})});
  EXPECT_NEAR(e.f[0], 1000.0 + std::log(2.0), 1e-3);  // no overflow
}

// np.max([1, nan, 3]) and np.min are nan: NaN propagates whatever its position.
TEST(RuntimeDtypes, ReduceMaxAndMinPropagateNaN) {
  Value x = Value::floats({2, 3}, {1, NAN, 3, NAN, 2, 0});
  Value mx =
      run_ok(single_op("ReduceMax", 1, {attr_ints("axes", {1}), attr_i("keepdims", 0)}), {x});
  EXPECT_TRUE(std::isnan(mx.f[0]));
  EXPECT_TRUE(std::isnan(mx.f[1]));
  Value mn =
      run_ok(single_op("ReduceMin", 1, {attr_ints("axes", {0}), attr_i("keepdims", 0)}), {x});
  EXPECT_TRUE(std::isnan(mn.f[0]));  // columns (1, nan), (nan, 2), (3, 0)
  EXPECT_TRUE(std::isnan(mn.f[1]));
  EXPECT_THAT(mn.f[2], 0.0f);
}

// np.mod([-4, 7, 5, -9], [3, -3, 4, -4]) -> [2, -2, 1, -1]; np.fmod -> [-1, 1, 1, -1]
TEST(RuntimeDtypes, ModFollowsTheDivisorOrTheDividendSign) {
  Value a = Value::ints({4}, {-4, 7, 5, -9}), b = Value::ints({4}, {3, -3, 4, -4});
  EXPECT_THAT(run_ok(single_op("Mod", 2), {a, b}).i, ElementsAre(2, -2, 1, -1));
  EXPECT_THAT(run_ok(single_op("Mod", 2, {attr_i("fmod", 1)}), {a, b}).i,
              ElementsAre(-1, 1, 1, -1));
  Value f = run_ok(single_op("Mod", 2, {attr_i("fmod", 1)}),
                   {Value::floats({2}, {-4.5f, 7.5f}), Value::floats({2}, {2.0f, -2.0f})});
  EXPECT_THAT(f.f, ElementsAre(-0.5f, 1.5f));
  // Integer division by zero gives 0 instead of trapping.
  EXPECT_THAT(run_ok(single_op("Mod", 2), {Value::ints({1}, {5}), Value::ints({1}, {0})}).i,
              ElementsAre(0));
}

// np.round([0.5, 1.5, 2.5, -0.5, -1.5, 2.6]) -> [0, 2, 2, -0, -2, 3]
TEST(RuntimeDtypes, RoundTiesToEven) {
  Value y =
      run_ok(single_op("Round", 1), {Value::floats({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.6f})});
  EXPECT_THAT(y.f, ElementsAre(0.0f, 2.0f, 2.0f, -0.0f, -2.0f, 3.0f));
}

TEST(RuntimeDtypes, ArgMaxSelectsTheFirstOrLastTie) {
  Value x = typed(DType::kInt16, {2, 3}, {4, 9, 9, 1, 1, 0});
  Value first = run_ok(single_op("ArgMax", 1, {attr_i("axis", 1)}), {x});
  EXPECT_EQ(first.dtype, DType::kInt64);
  EXPECT_THAT(first.shape, ElementsAre(2, 1));
  EXPECT_THAT(first.i, ElementsAre(1, 0));
  Value last =
      run_ok(single_op("ArgMin", 1,
                       {attr_i("axis", 1), attr_i("keepdims", 0), attr_i("select_last_index", 1)}),
             {typed(DType::kInt16, {2, 3}, {4, 1, 1, 0, 0, 0})});
  EXPECT_THAT(last.shape, ElementsAre(2));
  EXPECT_THAT(last.i, ElementsAre(2, 2));
}

// np.left_shift(np.uint8(200), 1) -> 144 (wrapped to 8 bits); right shift by 3 -> 25
TEST(RuntimeDtypes, BitShiftWrapsLeftShiftsToTheWidth) {
  Value x = typed(DType::kUInt8, {2}, {200, 200}), n = typed(DType::kUInt8, {2}, {1, 3});
  EXPECT_THAT(run_ok(single_op("BitShift", 2, {attr_s("direction", "LEFT")}), {x, n}).i,
              ElementsAre(144, 1600 % 256));
  EXPECT_THAT(run_ok(single_op("BitShift", 2, {attr_s("direction", "RIGHT")}), {x, n}).i,
              ElementsAre(100, 25));
  auto bad = run(single_op("BitShift", 2, {attr_s("direction", "RIGHT")}),
                 {Value::ints({1}, {1}), Value::ints({1}, {1})});
  EXPECT_FALSE(bad.ok());
}

// Reverse exclusive cumulative sum of [1, 2, 3, 4]: [9, 7, 4, 0].
TEST(RuntimeDtypes, CumSumReverseExclusiveOnInt32) {
  Value y = run_ok(single_op("CumSum", 2, {attr_i("exclusive", 1), attr_i("reverse", 1)}),
                   {typed(DType::kInt32, {4}, {1, 2, 3, 4}), typed(DType::kInt32, {}, {0})});
  EXPECT_EQ(y.dtype, DType::kInt32);
  EXPECT_THAT(y.i, ElementsAre(9, 7, 4, 0));
}

// det [[2, 0, 1], [1, 3, 2], [1, 1, 2]] = 2 (6 - 2) - 0 + 1 (1 - 3) = 6, and a batch of two with a
// row swap: det [[0, 1], [1, 0]] = -1.
TEST(RuntimeDtypes, DetOfABatchOfMatrices) {
  Value y = run_ok(single_op("Det", 1), {Value::floats({3, 3}, {2, 0, 1, 1, 3, 2, 1, 1, 2})});
  EXPECT_TRUE(y.shape.empty());
  EXPECT_NEAR(y.f[0], 6.0, 1e-5);
  Value b = run_ok(single_op("Det", 1), {Value::floats({2, 2, 2}, {0, 1, 1, 0, 3, 1, 2, 4})});
  EXPECT_THAT(b.shape, ElementsAre(2));
  EXPECT_NEAR(b.f[0], -1.0, 1e-6);
  EXPECT_NEAR(b.f[1], 10.0, 1e-5);
}

TEST(RuntimeDtypes, EyeLikeWithOffsetAndDtype) {
  Value y =
      run_ok(single_op("EyeLike", 1,
                       {attr_i("k", 1), attr_i("dtype", static_cast<int64_t>(DType::kInt32))}),
             {Value::floats({2, 3}, {0, 0, 0, 0, 0, 0})});
  EXPECT_EQ(y.dtype, DType::kInt32);
  EXPECT_THAT(y.i, ElementsAre(0, 1, 0, 0, 0, 1));
}

// torch.nn.functional.gelu([1, -0.5]) (float64) = [0.841344746, -0.154268769];
// approximate='tanh': [0.841191991, -0.154285990]; mish([1, -2]) = [0.865098388, -0.252501483].
TEST(RuntimeDtypes, GeluBothFormsAndMishMatchPyTorch) {
  Value x = Value::floats({2}, {1.0f, -0.5f});
  Value g = run_ok(single_op("Gelu", 1, {}, 20), {x});
  EXPECT_NEAR(g.f[0], 0.841344746, 1e-6);
  EXPECT_NEAR(g.f[1], -0.154268769, 1e-6);
  Value t = run_ok(single_op("Gelu", 1, {attr_s("approximate", "tanh")}, 20), {x});
  EXPECT_NEAR(t.f[0], 0.841191991, 1e-6);
  EXPECT_NEAR(t.f[1], -0.154285990, 1e-6);
  Value m = run_ok(single_op("Mish", 1, {}, 18), {Value::floats({2}, {1.0f, -2.0f})});
  EXPECT_NEAR(m.f[0], 0.865098388, 1e-6);
  EXPECT_NEAR(m.f[1], -0.252501483, 1e-6);
  EXPECT_FALSE(Session::create(single_op("Gelu", 1, {attr_s("approximate", "erf")}, 20)).ok());
}

TEST(RuntimeDtypes, IsInfHonoursTheSignFlags) {
  Value x = Value::floats({4}, {INFINITY, -INFINITY, NAN, 1.0f});
  EXPECT_THAT(run_ok(single_op("IsInf", 1), {x}).i, ElementsAre(1, 1, 0, 0));
  EXPECT_THAT(run_ok(single_op("IsInf", 1, {attr_i("detect_negative", 0)}), {x}).i,
              ElementsAre(1, 0, 0, 0));
  EXPECT_THAT(run_ok(single_op("IsNaN", 1), {x}).i, ElementsAre(0, 0, 1, 0));
}

TEST(RuntimeDtypes, ComparisonsAndWhereOnNarrowIntegers) {
  Value a = typed(DType::kUInt16, {3}, {1, 5, 65535}), b = typed(DType::kUInt16, {3}, {2, 5, 0});
  Value ge = run_ok(single_op("GreaterOrEqual", 2, {}, 16), {a, b});
  EXPECT_EQ(ge.dtype, DType::kBool);
  EXPECT_THAT(ge.i, ElementsAre(0, 1, 1));
  Value w = run_ok(single_op("Where", 3), {ge, a, b});
  EXPECT_EQ(w.dtype, DType::kUInt16);
  EXPECT_THAT(w.i, ElementsAre(2, 5, 65535));
}

// All three inputs broadcast: condition [2, 1], X [1, 3], Y a scalar.
TEST(RuntimeDtypes, WhereBroadcastsConditionAndBothBranches) {
  Value y = run_ok(single_op("Where", 3),
                   {Value::bools({2, 1}, {1, 0}), typed(DType::kInt32, {1, 3}, {1, 2, 3}),
                    typed(DType::kInt32, {}, {9})});
  EXPECT_EQ(y.dtype, DType::kInt32);
  EXPECT_THAT(y.shape, ElementsAre(2, 3));
  EXPECT_THAT(y.i, ElementsAre(1, 2, 3, 9, 9, 9));
  Value z =
      run_ok(single_op("Where", 3), {Value::bools({3}, {0, 1, 0}), Value::floats({2, 1}, {5, 6}),
                                     Value::floats({2, 3}, {0, 1, 2, 3, 4, 5})});
  EXPECT_THAT(z.f, ElementsAre(0, 5, 2, 3, 6, 5));
}

TEST(RuntimeDtypes, PReluBroadcastsTheSlopePerChannel) {
  Value y = run_ok(single_op("PRelu", 2),
                   {Value::floats({2, 2}, {-1, 2, -3, 4}), Value::floats({2, 1}, {0.5f, 0.25f})});
  EXPECT_THAT(y.f, ElementsAre(-0.5f, 2.0f, -0.75f, 4.0f));
  // The slope must broadcast to X, not the other way round.
  EXPECT_FALSE(
      run(single_op("PRelu", 2), {Value::floats({2}, {-1, 2}), Value::floats({2, 2}, {1, 1, 1, 1})})
          .ok());
}

}  // namespace
}  // namespace deepcomp::runtime
