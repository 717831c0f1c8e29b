// LSTM, GRU and RNN attribute variants (reverse, sequence_lens, peepholes, clip, input_forget,
// activation lists with alpha/beta, omitted states and outputs) against ONNX Runtime: the models
// and inputs in tests/runtime/rnn_reference/ come from make_variants.py, the expected outputs
// from ort_variants.js (ONNX Runtime CPU). Each runs dense and with sparse_from_dense.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "data/idx.h"
#include "onnx_io/onnx_io.h"
#include "runtime/session.h"

namespace deepcomp::runtime {
namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::path(DEEPCOMP_SOURCE_DIR) / "tests/runtime/rnn_reference";

const char* const kVariants[] = {
    "lstm_reverse_seqlens_peepholes", "lstm_bidir_clip_forget_acts", "gru_bidir_seqlens_acts",
    "gru_reverse_lbr_clip_yh_only",   "rnn_bidir_relu_seqlens",      "rnn_reverse_clip_no_states",
};

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

TEST(RnnVariants, MatchOnnxRuntimeDenseAndSparse) {
  for (const char* name : kVariants) {
    const fs::path model_path = kDir / (std::string(name) + ".onnx");
    if (!fs::exists(model_path)) GTEST_SKIP() << "no " << model_path << " (make_variants.py)";
    auto model = onnx_io::load_model(model_path.string());
    ASSERT_TRUE(model.ok()) << model.status().message();
    const std::vector<Value> inputs = read_all(std::string(name) + "_in");
    const std::vector<Value> want = read_all(std::string(name) + "_out");
    ASSERT_FALSE(want.empty()) << name << ": no expected outputs (ort_variants.js)";
    for (bool sparse : {false, true}) {
      SessionOptions options;
      options.sparse_from_dense = sparse;
      auto session = Session::create(*model, options);
      ASSERT_TRUE(session.ok()) << name << ": " << session.status().message();
      if (sparse) {
        ASSERT_EQ(session->layer_kernels().size(), 2u) << name;  // W and R
        for (const LayerKernel& l : session->layer_kernels()) EXPECT_TRUE(l.sparse) << name;
      }
      auto got = session->run(inputs);
      ASSERT_TRUE(got.ok()) << name << ": " << got.status().message();
      ASSERT_EQ(got->size(), want.size()) << name;
      for (size_t k = 0; k < want.size(); ++k) {
        const Value& g = (*got)[k];
        ASSERT_EQ(g.shape, want[k].shape) << name << " output " << k;
        int bad = 0;
        for (size_t e = 0; e < g.f.size(); ++e) {
          const float w = want[k].f[e];
          if (!(std::fabs(g.f[e] - w) <= 1e-5f + 1e-5f * std::fabs(w)) && ++bad <= 3) {
            ADD_FAILURE() << name << (sparse ? " sparse" : " dense") << " output " << k << "[" << e
                          << "]: got " << g.f[e] << ", want " << w;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace deepcomp::runtime
