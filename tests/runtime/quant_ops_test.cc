// Quantized operators: the models of tests/runtime/quant_reference/ (make_quant_cases.py) against
// ONNX Runtime's outputs (ort_quant_cases.js), bit for bit, plus hand-worked rounding and
// saturation cases and the errors for malformed scales and zero points.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "data/idx.h"
#include "onnx_io/onnx_io.h"
#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"
#include "tests/test_util.h"

namespace deepcomp::runtime {
namespace {

namespace fs = std::filesystem;
using testing::attr_i;
using testing::single_op;

const fs::path kDir = fs::path(DEEPCOMP_SOURCE_DIR) / "tests/runtime/quant_reference";

std::vector<Value> read_all(const std::string& prefix) {
  std::vector<Value> values;
  for (int k = 0;; ++k) {
    const fs::path p = kDir / (prefix + std::to_string(k) + ".npy");
    if (!fs::exists(p)) break;
    auto a = data::read_npy(p.string());
    EXPECT_TRUE(a.ok()) << a.status().message();
    if (a.ok()) values.push_back(Value::floats(a->shape, a->values));
  }
  return values;
}

// Every output equal to ONNX Runtime's bit for bit, except qdq_conv where ONNX Runtime fuses the
// QDQ pattern into an integer QLinearConv while the runtime runs the float Conv it describes: there
// a result may sit one quantization step away (a rounding tie seen from two arithmetics).
TEST(QuantOps, MatchOnnxRuntime) {
  const std::pair<const char*, float> cases[] = {
      {"qlinearconv_s8_perchannel", 0},
      {"qlinearconv_u8_group_dilated", 0},
      {"qlinearconv_s8_1d", 0},
      {"convinteger_dynamic", 0},
      {"matmulinteger_dynamic", 0},
      {"qlinearmatmul_percolumn", 0},
      {"qdq_per_axis", 0},
      {"qdq_blocked_int16", 0},
      {"qdq_conv", 0.04f},
  };
  for (const auto& [name, step] : cases) {
    auto model = onnx_io::load_model((kDir / (std::string(name) + ".onnx")).string());
    ASSERT_TRUE(model.ok()) << model.status().message();
    const std::vector<Value> inputs = read_all(std::string(name) + "_in");
    const std::vector<Value> want = read_all(std::string(name) + "_out");
    ASSERT_FALSE(want.empty()) << name << ": no expected outputs (ort_quant_cases.js)";
    auto session = Session::create(*model);
    ASSERT_TRUE(session.ok()) << name << ": " << session.status().message();
    auto got = session->run(inputs);
    ASSERT_TRUE(got.ok()) << name << ": " << got.status().message();
    ASSERT_EQ(got->size(), want.size()) << name;
    for (size_t k = 0; k < want.size(); ++k) {
      const Value& g = (*got)[k];
      // read_npy gives a 0-d array the shape [1].
      if (!(g.rank() == 0 && want[k].shape == std::vector<int64_t>{1})) {
        ASSERT_EQ(g.shape, want[k].shape) << name << " output " << k;
      }
      int off = 0, bad = 0;
      for (size_t e = 0; e < g.f.size(); ++e) {
        const float d = std::fabs(g.f[e] - want[k].f[e]);
        if (d == 0) continue;
        ++off;
        if (!(d <= step * 1.001f) && ++bad <= 3) {
          ADD_FAILURE() << name << " output " << k << "[" << e << "]: got " << g.f[e] << ", want "
                        << want[k].f[e];
        }
      }
      EXPECT_LE(off, static_cast<int>(g.f.size() / 50))
          << name << ": too many one-step differences";
    }
  }
}

// The 8-bit LeNets of scripts/quantize_onnx.py (QDQ and ONNX Runtime's integer-op form, int8
// symmetric and uint8 asymmetric per channel), regenerated here, against ONNX Runtime's outputs
// (make_lenet_refs.sh): the integer forms bit for bit, the QDQ forms (float layers on dequantized
// weights, summed in another order) within 1e-5 relative.
TEST(QuantOps, QuantizedLeNetsMatchOnnxRuntime) {
  const char* env = std::getenv("PYTHON");
  const std::string python = env && *env                                   ? env
                             : std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3"
                                                                           : "python3";
  if (deepcomp::testing::run_command(python + " -c 'import numpy, onnx'").exit_code != 0) {
    GTEST_SKIP() << "python3 with numpy and onnx is not available (set $PYTHON)";
  }
  const std::string src = deepcomp::testing::source_dir();
  const std::string dir = deepcomp::testing::temp_dir();
  auto digits = data::read_npy((kDir / "lenet_in.npy").string());
  ASSERT_TRUE(digits.ok()) << digits.status().message();
  const Value in = Value::floats(digits->shape, digits->values);
  for (const char* m : {"lenet-5", "lenet-300-100"}) {
    for (const char* v : {"qdq sym", "qdq asym", "integer asym", "integer sym --reduce-range"}) {
      std::string form(v), scheme, extra;
      scheme = form.substr(form.find(' ') + 1);
      form = form.substr(0, form.find(' '));
      if (scheme.find(' ') != std::string::npos) {
        extra = scheme.substr(scheme.find(' '));
        scheme = scheme.substr(0, scheme.find(' '));
      }
      const std::string name =
          std::string(m) + "." + form + "." + scheme + (extra.empty() ? "" : ".rr");
      const std::string out = dir + "/" + name + ".onnx";
      auto r = deepcomp::testing::run_command(python + " " + src + "/scripts/quantize_onnx.py " +
                                              src + "/models/" + m + ".onnx " + out + " --form " +
                                              form + " --scheme " + scheme + extra);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      auto model = onnx_io::load_model(out);
      ASSERT_TRUE(model.ok()) << model.status().message();
      auto want = data::read_npy((kDir / (name + ".ort.npy")).string());
      ASSERT_TRUE(want.ok()) << want.status().message();
      auto session = Session::create(*model);
      ASSERT_TRUE(session.ok()) << name << ": " << session.status().message();
      auto got = session->run({in});
      ASSERT_TRUE(got.ok()) << name << ": " << got.status().message();
      const Value& g = (*got)[0];
      ASSERT_EQ(g.f.size(), want->values.size()) << name;
      const float tol = form == "qdq" ? 1e-5f : 0.f;
      for (size_t e = 0; e < g.f.size(); ++e) {
        const float w = want->values[e];
        ASSERT_LE(std::fabs(g.f[e] - w), tol * (1 + std::fabs(w))) << name << " [" << e << "]";
      }
    }
  }
}

Value typed(DType dtype, std::vector<int64_t> shape, std::vector<int64_t> v) {
  Value x = Value::ints(std::move(shape), std::move(v));
  x.dtype = dtype;
  return x;
}

Result<std::vector<Value>> run1(const Model& m, const std::vector<Value>& in) {
  auto s = Session::create(m);
  if (!s.ok()) return s.status();
  return s->run(in);
}

// Ties go to the even integer, beyond the range saturates, the output dtype is the zero point's.
TEST(QuantOps, QuantizeRoundsHalfToEvenAndSaturates) {
  const Value x = Value::floats({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 300.f, -300.f, 3.49f});
  auto u = run1(single_op("QuantizeLinear", 3),
                {x, Value::floats({}, {1.f}), typed(DType::kUInt8, {}, {0})});
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ((*u)[0].dtype, DType::kUInt8);
  EXPECT_EQ((*u)[0].i, (std::vector<int64_t>{0, 2, 2, 0, 0, 255, 0, 3}));
  auto s = run1(single_op("QuantizeLinear", 3),
                {x, Value::floats({}, {0.5f}), typed(DType::kInt8, {}, {-1})});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ((*s)[0].dtype, DType::kInt8);
  // x / 0.5 = 1, 3, 5, -1, -3, 600, -600, 6.98 -> +(-1), saturated to [-128, 127].
  EXPECT_EQ((*s)[0].i, (std::vector<int64_t>{0, 2, 4, -2, -4, 127, -128, 6}));
  // No zero point: uint8.
  auto d = run1(single_op("QuantizeLinear", 2), {x, Value::floats({}, {1.f})});
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ((*d)[0].dtype, DType::kUInt8);
}

// Per-axis dequantization by hand: y[c, k] = (x - zp[c]) * s[c].
TEST(QuantOps, DequantizePerAxis) {
  auto y = run1(single_op("DequantizeLinear", 3, {attr_i("axis", 0)}),
                {typed(DType::kInt8, {2, 2}, {-128, 127, 5, 0}), Value::floats({2}, {0.5f, 2.f}),
                 typed(DType::kInt8, {2}, {0, 5})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)[0].f, (std::vector<float>{-64.f, 63.5f, 0.f, -10.f}));
}

// MatMulInteger with a per-row a zero point and a per-column b zero point, worked by hand:
// A - za = [[1, 2], [3, 4]] - [[1], [2]], B - zb = [[3, -1], [2, 5]] - [2, -1].
TEST(QuantOps, MatMulIntegerPerRowAndColumnZeroPoints) {
  auto y =
      run1(single_op("MatMulInteger", 4),
           {typed(DType::kUInt8, {2, 2}, {1, 2, 3, 4}), typed(DType::kInt8, {2, 2}, {3, -1, 2, 5}),
            typed(DType::kUInt8, {2}, {1, 2}), typed(DType::kInt8, {2}, {2, -1})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  // A' = [[0, 1], [1, 2]], B' = [[1, 0], [0, 6]] -> [[0, 6], [1, 12]].
  EXPECT_EQ((*y)[0].dtype, DType::kInt32);
  EXPECT_EQ((*y)[0].i, (std::vector<int64_t>{0, 6, 1, 12}));
}

void expect_error(const Model& m, const std::vector<Value>& in, const std::string& part) {
  auto y = run1(m, in);
  ASSERT_FALSE(y.ok()) << "expected an error containing: " << part;
  EXPECT_NE(y.status().message().find(part), std::string::npos) << y.status().message();
  EXPECT_EQ(y.status().message().find('\n'), std::string::npos);
}

TEST(QuantOps, BadScalesAndZeroPointsAreOneLineErrors) {
  const Value x = typed(DType::kUInt8, {2, 3}, {1, 2, 3, 4, 5, 6});
  // Zero point of another dtype than x.
  expect_error(single_op("DequantizeLinear", 3),
               {x, Value::floats({}, {1.f}), typed(DType::kInt8, {}, {0})},
               "x_zero_point 'x2' int8[] does not match the dtype of x 'x0' uint8[2,3]");
  // Axis out of range.
  expect_error(single_op("DequantizeLinear", 2, {attr_i("axis", 2)}),
               {x, Value::floats({3}, {1, 1, 1})}, "axis 2 is out of range");
  // Per-axis scale of the wrong length, and a zero point shaped unlike its scale.
  expect_error(single_op("DequantizeLinear", 2, {attr_i("axis", 0)}),
               {x, Value::floats({3}, {1, 1, 1})},
               "x_scale 'x1' float32[3] must be a scalar or hold one value per index of axis 0");
  expect_error(single_op("DequantizeLinear", 3, {attr_i("axis", 1)}),
               {x, Value::floats({3}, {1, 1, 1}), typed(DType::kUInt8, {2}, {0, 0})},
               "does not match the shape of x_scale");
  // Unsupported quantized dtypes.
  expect_error(single_op("QuantizeLinear", 3),
               {Value::floats({1}, {1.f}), Value::floats({}, {1.f}), typed(DType::kInt32, {}, {0})},
               "quantizing to int32");
  expect_error(single_op("DequantizeLinear", 2),
               {typed(DType::kInt64, {1}, {1}), Value::floats({}, {1.f})},
               "dequantizing this dtype is not supported");
  // An integer scale.
  expect_error(single_op("DequantizeLinear", 2), {x, typed(DType::kInt32, {}, {1})},
               "x_scale 'x1' must be a float tensor");
  // ConvInteger with a per-channel w zero point of the wrong length; x zero point not a scalar.
  const Value cx = typed(DType::kUInt8, {1, 1, 2, 2}, {1, 2, 3, 4});
  const Value cw = typed(DType::kUInt8, {2, 1, 1, 1}, {1, 2});
  expect_error(
      single_op("ConvInteger", 4),
      {cx, cw, typed(DType::kUInt8, {}, {0}), typed(DType::kUInt8, {3}, {0, 0, 0})},
      "w_zero_point 'x3' uint8[3] must be a scalar or 1-D with one value per output channel");
  expect_error(single_op("ConvInteger", 3), {cx, cw, typed(DType::kUInt8, {2}, {0, 0})},
               "x_zero_point 'x2' uint8[2] must be a scalar");
  expect_error(single_op("ConvInteger", 2), {Value::floats({1, 1, 2, 2}, {1, 2, 3, 4}), cw},
               "x 'x0' must be int8 or uint8");
}

}  // namespace
}  // namespace deepcomp::runtime
