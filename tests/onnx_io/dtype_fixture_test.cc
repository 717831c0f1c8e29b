// Loading hand-built models whose tensors use every storage form: float16/bfloat16 in raw_data and
// in int32_data, float64 with values float32 cannot hold, float_data vs raw_data, non-float
// dtypes; each checked against hand-worked values and for an exact round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/onnx_io/fixture_util.h"

namespace deepcomp::onnx_io {
namespace {
using namespace testing;

TEST(OnnxDTypes, Float16InRawDataAndInt32DataDecodeToExactFloats) {
  // 1.0, -2.0, the smallest subnormal 2^-24, the largest finite 65504.
  const std::vector<uint16_t> halves = {0x3C00, 0xC000, 0x0001, 0x7BFF};
  const std::vector<float> expected = {1.0f, -2.0f, std::ldexp(1.0f, -24), 65504.0f};
  auto m = make_model();
  auto* raw = m.mutable_graph()->add_initializer();
  raw->set_name("h_raw");
  raw->set_data_type(onnx::TensorProto::FLOAT16);
  raw->add_dims(4);
  raw->set_raw_data(le_bytes(halves));
  auto* typed = m.mutable_graph()->add_initializer();
  typed->set_name("h_typed");
  typed->set_data_type(onnx::TensorProto::FLOAT16);
  typed->add_dims(2);
  typed->add_dims(2);
  for (uint16_t h : halves) typed->add_int32_data(h);

  Model model = load_and_round_trip(serialize(m));
  ASSERT_EQ(model.tensors.size(), 2u);
  EXPECT_EQ(model.tensors[0].dtype, DType::kFloat16);
  EXPECT_EQ(model.tensors[0].values, expected);
  EXPECT_TRUE(model.tensors[0].location.raw_data);
  EXPECT_TRUE(model.tensors[0].raw.empty());
  EXPECT_EQ(model.tensors[1].values, expected);
  EXPECT_EQ(model.tensors[1].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_FALSE(model.tensors[1].location.raw_data);
}

TEST(OnnxDTypes, BFloat16DecodesAndRoundTrips) {
  // 1.0, -3.0, 0.15625 (0x3E20), and a NaN pattern that must come back bit-exact.
  const std::vector<uint16_t> bf = {0x3F80, 0xC040, 0x3E20, 0x7FC1};
  auto m = make_model();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("b");
  t->set_data_type(onnx::TensorProto::BFLOAT16);
  t->add_dims(4);
  t->set_raw_data(le_bytes(bf));
  Model model = load_and_round_trip(serialize(m));
  ASSERT_EQ(model.tensors.size(), 1u);
  EXPECT_EQ(model.tensors[0].values[0], 1.0f);
  EXPECT_EQ(model.tensors[0].values[1], -3.0f);
  EXPECT_EQ(model.tensors[0].values[2], 0.15625f);
  EXPECT_TRUE(std::isnan(model.tensors[0].values[3]));
  EXPECT_EQ(tensor_bytes(model.tensors[0]), le_bytes(bf));
}

TEST(OnnxDTypes, Float64KeepsValuesFloat32CannotHold) {
  // 0.1 and 1e300 are not float32 values; 1e300 even overflows to inf in float32.
  const std::vector<double> doubles = {0.1, 1e300, -2.5, 1.0 / 3.0};
  for (bool raw : {true, false}) {
    SCOPED_TRACE(raw ? "raw_data" : "double_data");
    auto m = make_model();
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("d");
    t->set_data_type(onnx::TensorProto::DOUBLE);
    t->add_dims(4);
    if (raw)
      t->set_raw_data(le_bytes(doubles));
    else
      for (double d : doubles) t->add_double_data(d);
    const std::string bytes = serialize(m);
    Model model = load_and_round_trip(bytes);
    ASSERT_EQ(model.tensors.size(), 1u);
    Tensor& d = model.tensors[0];
    EXPECT_EQ(d.values[0], static_cast<float>(0.1));
    EXPECT_TRUE(std::isinf(d.values[1]));
    EXPECT_EQ(d.raw, le_bytes(doubles));
    EXPECT_EQ(d.location.raw_data, raw);

    // A changed element is written as double(value); the unchanged ones keep their doubles.
    d.values[2] = 4.0f;
    auto out = serialize_model(model);
    ASSERT_TRUE(out.ok()) << out.status().message();
    auto back = parse_model(*out, "saved", "");
    ASSERT_TRUE(back.ok()) << back.status().message();
    std::vector<double> want = doubles;
    want[2] = 4.0;
    EXPECT_EQ(back->tensors[0].raw, le_bytes(want));
  }
}

TEST(OnnxDTypes, FloatDataAndRawDataEachSaveBackToTheirOwnField) {
  auto m = make_model();
  *m.mutable_graph()->add_initializer() = float_tensor("typed", {3}, {1.5f, -0.0f, 7.0f}, false);
  *m.mutable_graph()->add_initializer() = float_tensor("raw", {3}, {1.5f, -0.0f, 7.0f}, true);
  Model model = load_and_round_trip(serialize(m));  // byte-identical: fields were kept
  ASSERT_EQ(model.tensors.size(), 2u);
  EXPECT_FALSE(model.tensors[0].location.raw_data);
  EXPECT_TRUE(model.tensors[1].location.raw_data);
  EXPECT_EQ(model.tensors[0].values, model.tensors[1].values);
  EXPECT_TRUE(std::signbit(model.tensors[0].values[1]));
}

TEST(OnnxDTypes, NonFloatDTypesKeepLittleEndianBytesAndNoFloatCopy) {
  auto m = make_model();
  auto* i8 = m.mutable_graph()->add_initializer();
  i8->set_name("i8");
  i8->set_data_type(onnx::TensorProto::INT8);
  i8->add_dims(3);
  for (int v : {-128, -1, 127}) i8->add_int32_data(v);  // typed: sign-extended int32s
  auto* i64 = m.mutable_graph()->add_initializer();
  i64->set_name("i64");
  i64->set_data_type(onnx::TensorProto::INT64);
  i64->add_dims(2);
  for (int64_t v : {int64_t{-5}, int64_t{1} << 40}) i64->add_int64_data(v);
  auto* u32 = m.mutable_graph()->add_initializer();
  u32->set_name("u32");
  u32->set_data_type(onnx::TensorProto::UINT32);
  u32->add_dims(1);
  u32->add_uint64_data(0xFFFFFFFFu);
  auto* b = m.mutable_graph()->add_initializer();
  b->set_name("b");
  b->set_data_type(onnx::TensorProto::BOOL);
  b->add_dims(2);
  b->set_raw_data(std::string("\x01\x00", 2));
  auto* s = m.mutable_graph()->add_initializer();
  s->set_name("s");
  s->set_data_type(onnx::TensorProto::STRING);
  s->add_dims(2);
  s->add_string_data("hello");
  s->add_string_data(std::string("a\0b", 3));

  Model model = load_and_round_trip(serialize(m));
  ASSERT_EQ(model.tensors.size(), 5u);
  EXPECT_EQ(model.tensors[0].raw, std::string("\x80\xff\x7f", 3));
  EXPECT_TRUE(model.tensors[0].values.empty());
  EXPECT_EQ(model.tensors[1].raw, le_bytes(std::vector<int64_t>{-5, int64_t{1} << 40}));
  EXPECT_EQ(model.tensors[2].raw, le_bytes(std::vector<uint32_t>{0xFFFFFFFFu}));
  EXPECT_EQ(model.tensors[3].raw, std::string("\x01\x00", 2));
  EXPECT_EQ(model.tensors[4].dtype, DType::kString);
}

}  // namespace
}  // namespace deepcomp::onnx_io
