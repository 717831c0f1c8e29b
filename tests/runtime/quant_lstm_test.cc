// com.microsoft DynamicQuantizeLSTM (runtime/ops_quant_lstm.cc): the small models of
// tests/runtime/quant_lstm_reference/ (make_cases.py: forward, reverse, bidirectional; int8 and
// uint8 weights; per-direction and per-column scales; bias, initial states, peepholes, clip,
// input_forget; batch 2) against ONNX Runtime's outputs (bench/ort_reference.js), and the errors
// for what it refuses.
//
// Tolerance 1e-5 absolute: the integer sums are exact on both sides; only ONNX Runtime's Sigmoid
// and Tanh (MLAS polynomials) differ from std::exp / std::tanh in the last bits (measured: at
// most 1.8e-7 on these outputs of magnitude up to 0.66). One hidden-state code taking its
// neighbour (an h next to a rounding boundary, requantized every step) would move outputs by
// ~1e-3 and fail; so does a wrong gate order (the f and o gates swapped: 0.15).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "data/idx.h"
#include "onnx_io/onnx_io.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace deepcomp::runtime {
namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::path(DEEPCOMP_SOURCE_DIR) / "tests/runtime/quant_lstm_reference";

std::vector<Value> read_numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<Value> values;
  for (int k = 0;; ++k) {
    const fs::path p = dir / (prefix + std::to_string(k) + ".npy");
    if (!fs::exists(p)) break;
    auto a = data::read_npy(p.string());
    EXPECT_TRUE(a.ok()) << a.status().message();
    if (a.ok()) values.push_back(Value::floats(a->shape, a->values));
  }
  return values;
}

TEST(QuantLstm, MatchesOnnxRuntime) {
  for (const char* name : {"forward_s8_tensor", "reverse_u8_column_states",
                           "bidirectional_s8_column_peep_clip", "forward_u8_input_forget_nobias"}) {
    const fs::path dir = kDir / name;
    auto model = onnx_io::load_model((dir / "model.onnx").string());
    ASSERT_TRUE(model.ok()) << model.status().message();
    const std::vector<Value> inputs = read_numbered(dir, "in_");
    const std::vector<Value> want = read_numbered(dir, "ort_");
    ASSERT_EQ(want.size(), 3u) << name << ": expected Y, Y_h, Y_c from bench/ort_reference.js";
    auto session = Session::create(*model);
    ASSERT_TRUE(session.ok()) << name << ": " << session.status().message();
    auto got = session->run(inputs);
    ASSERT_TRUE(got.ok()) << name << ": " << got.status().message();
    ASSERT_EQ(got->size(), 3u);
    for (size_t o = 0; o < 3; ++o) {
      ASSERT_EQ((*got)[o].shape, want[o].shape) << name << " output " << o;
      double worst = 0;
      for (int64_t k = 0; k < want[o].numel(); ++k)
        worst = std::max(worst, std::fabs((*got)[o].as_double(k) - want[o].as_double(k)));
      EXPECT_LE(worst, 1e-5) << name << " output " << o;
    }
  }
}

// The ONNX Runtime outputs depend on the operator's semantics, not just its shapes: the reverse
// and forward directions of the bidirectional case differ, and Y's last forward step is Y_h.
TEST(QuantLstm, OutputsAreConsistent) {
  const fs::path dir = kDir / "bidirectional_s8_column_peep_clip";
  auto model = onnx_io::load_model((dir / "model.onnx").string());
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto session = Session::create(*model);
  ASSERT_TRUE(session.ok()) << session.status().message();
  auto got = session->run(read_numbered(dir, "in_"));
  ASSERT_TRUE(got.ok()) << got.status().message();
  const Value& y = (*got)[0];    // [T, 2, B, H]
  const Value& y_h = (*got)[1];  // [2, B, H]
  const int64_t T = y.shape[0], B = y.shape[2], H = y.shape[3];
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t j = 0; j < H; ++j) {
      // Forward ends at step T-1, reverse at step 0.
      EXPECT_EQ(y.f[(((T - 1) * 2 + 0) * B + b) * H + j], y_h.f[(0 * B + b) * H + j]);
      EXPECT_EQ(y.f[((0 * 2 + 1) * B + b) * H + j], y_h.f[(1 * B + b) * H + j]);
    }
  }
}

TEST(QuantLstm, BadInputsAreOneLineErrors) {
  const fs::path dir = kDir / "forward_s8_tensor";
  auto model = onnx_io::load_model((dir / "model.onnx").string());
  ASSERT_TRUE(model.ok()) << model.status().message();
  {
    auto session = Session::create(*model);
    ASSERT_TRUE(session.ok()) << session.status().message();
    // X with input_size 7 against W [1, 6, 16].
    auto r = session->run({Value::floats({5, 2, 7}, std::vector<float>(70, 0.5f))});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("W must be [1, 7, 16], is int8[1,6,16]"), std::string::npos)
        << r.status().message();
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
  }
  Model relu = *model;
  Attribute a;
  a.name = "activations";
  a.type = Attribute::Type::kStrings;
  a.strings = {"Relu", "Tanh", "Tanh"};
  relu.graph.nodes[0].attributes.push_back(a);
  auto refused = Session::create(relu);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("(DynamicQuantizeLSTM): attribute activations"),
            std::string::npos)
      << refused.status().message();
  Model other_domain = *model;
  other_domain.graph.nodes[0].domain = "com.example";
  auto unknown = Session::create(other_domain);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("operator not supported (domain 'com.example')"),
            std::string::npos)
      << unknown.status().message();
}

}  // namespace
}  // namespace deepcomp::runtime
