// LSTM, GRU and RNN against PyTorch: torch.nn modules (2 layers, bidirectional, batch 3, seq 7)
// exported to ONNX with their inputs and torch's outputs (tests/runtime/rnn_reference/, written
// by make_reference.py there). Also: the same models with pruned weights run sparse
// (sparse_from_dense, and a codebook-CSR R) give the dense results, and every W and R is listed
// in layer_kernels().
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "data/idx.h"
#include "onnx_io/onnx_io.h"
#include "runtime/session.h"

namespace deepcomp::runtime {
namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::path(DEEPCOMP_SOURCE_DIR) / "tests/runtime/rnn_reference";

Value npy_value(const std::string& file) {
  auto a = data::read_npy((kDir / file).string());
  EXPECT_TRUE(a.ok()) << file << ": " << a.status().message();
  return a.ok() ? Value::floats(a->shape, a->values) : Value{};
}

void expect_close(const Value& got, const Value& want, float tol, const std::string& what) {
  ASSERT_EQ(got.shape, want.shape) << what;
  int bad = 0;
  for (size_t k = 0; k < want.f.size(); ++k) {
    if (!(std::fabs(got.f[k] - want.f[k]) <= tol) && ++bad <= 5) {
      ADD_FAILURE() << what << "[" << k << "]: got " << got.f[k] << ", want " << want.f[k];
    }
  }
}

struct Case {
  std::string name;
  std::vector<std::string> inputs, outputs;
};

const Case kCases[] = {
    {"lstm", {"x", "h0", "c0"}, {"y", "hn", "cn"}},
    {"gru", {"x", "h0"}, {"y", "hn"}},
    {"rnn", {"x", "h0"}, {"y", "hn"}},
};

// Loads NAME.onnx, or skips the test when the reference files are absent.
#define LOAD_OR_SKIP(model, c)                                                             \
  if (!fs::exists(kDir / ((c).name + ".onnx"))) GTEST_SKIP() << "no " << kDir << " files"; \
  auto model = onnx_io::load_model((kDir / ((c).name + ".onnx")).string());                \
  ASSERT_TRUE(model.ok()) << model.status().message()

std::vector<Value> inputs_of(const Case& c) {
  std::vector<Value> in;
  for (const std::string& n : c.inputs) in.push_back(npy_value(c.name + "_" + n + ".npy"));
  return in;
}

std::vector<Value> run(const Model& m, const SessionOptions& options,
                       const std::vector<Value>& in) {
  auto s = Session::create(m, options);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return {};
  auto out = s->run(in);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? std::move(out).value() : std::vector<Value>{};
}

TEST(RnnTorch, TwoLayerBidirectionalMatchesPyTorch) {
  for (const Case& c : kCases) {
    LOAD_OR_SKIP(model, c);
    const std::vector<Value> got = run(*model, {}, inputs_of(c));
    ASSERT_EQ(got.size(), c.outputs.size()) << c.name;
    for (size_t k = 0; k < got.size(); ++k) {
      expect_close(got[k], npy_value(c.name + "_" + c.outputs[k] + ".npy"), 1e-5f,
                   c.name + " " + c.outputs[k]);
    }
  }
}

// The recurrent weights (W: [D, G*H, I], R: [D, G*H, H]) of the model, by name.
std::vector<Tensor*> recurrent_weights(Model& m) {
  std::vector<Tensor*> out;
  for (const Node& n : m.graph.nodes) {
    if (n.op_type != "LSTM" && n.op_type != "GRU" && n.op_type != "RNN") continue;
    out.push_back(m.find_tensor(n.inputs[1]));
    out.push_back(m.find_tensor(n.inputs[2]));
  }
  return out;
}

TEST(RnnTorch, PrunedWeightsRunSparseWithDenseResults) {
  for (const Case& c : kCases) {
    LOAD_OR_SKIP(model, c);
    std::vector<Tensor*> weights = recurrent_weights(*model);
    ASSERT_EQ(weights.size(), 4u) << c.name;  // two layers, W and R each
    for (Tensor* t : weights) {
      ASSERT_NE(t, nullptr);
      for (float& v : t->values) v = std::fabs(v) < 0.3f ? 0.0f : v;  // about half pruned
    }
    const std::vector<Value> in = inputs_of(c);
    const std::vector<Value> dense = run(*model, {}, in);
    SessionOptions sparse_options;
    sparse_options.sparse_from_dense = true;
    auto session = Session::create(*model, sparse_options);
    ASSERT_TRUE(session.ok()) << session.status().message();
    ASSERT_EQ(session->layer_kernels().size(), 4u) << c.name;
    for (size_t k = 0; k < 4; ++k) {
      const LayerKernel& l = session->layer_kernels()[k];
      EXPECT_EQ(l.weight, weights[k]->name);
      EXPECT_TRUE(l.sparse) << l.weight;
      EXPECT_GT(l.density, 0.2);
      EXPECT_LT(l.density, 0.8);
    }
    auto sparse = session->run(in);
    ASSERT_TRUE(sparse.ok()) << sparse.status().message();
    ASSERT_EQ(sparse->size(), dense.size());
    for (size_t k = 0; k < dense.size(); ++k) {
      expect_close((*sparse)[k], dense[k], 1e-5f, c.name + " sparse " + c.outputs[k]);
    }
  }
}

// A codebook-CSR R (values rounded to a 16-entry codebook) in the documented layout: rows =
// directions x gates x hidden, cols = hidden; the model's dense R holds the same rounded values.
TEST(RnnTorch, CodebookRecurrentWeightMatchesDense) {
  for (const Case& c : kCases) {
    LOAD_OR_SKIP(model, c);
    Tensor* r = recurrent_weights(*model)[1];
    std::vector<float> codebook;
    for (int k = 0; k < 16; ++k) codebook.push_back(-0.6f + 0.08f * static_cast<float>(k));
    std::vector<int64_t> positions;
    std::vector<uint32_t> clusters;
    for (size_t e = 0; e < r->values.size(); ++e) {
      float& v = r->values[e];
      if (std::fabs(v) < 0.2f) {
        v = 0.0f;
        continue;
      }
      const auto idx = static_cast<uint32_t>(std::clamp(std::lround((v + 0.6f) / 0.08f), 0L, 15L));
      v = codebook[idx];
      positions.push_back(static_cast<int64_t>(e));
      clusters.push_back(idx);
    }
    const int64_t cols = r->shape[2], rows = r->numel() / cols;
    auto cb = std::make_shared<kernels::CodebookCsrMatrix>();
    std::string error;
    ASSERT_TRUE(
        kernels::codebook_csr_from(rows, cols, positions, clusters, codebook, cb.get(), &error))
        << error;
    const std::vector<Value> in = inputs_of(c);
    const std::vector<Value> dense = run(*model, {}, in);
    SessionOptions options;
    options.codebook_weights[r->name] = cb;
    const std::vector<Value> sparse = run(*model, options, in);
    ASSERT_EQ(sparse.size(), dense.size());
    for (size_t k = 0; k < dense.size(); ++k) {
      expect_close(sparse[k], dense[k], 1e-5f, c.name + " codebook " + c.outputs[k]);
    }
    SessionOptions wrong;
    wrong.codebook_weights[r->name] = cb;
    cb->cols += 1;
    auto s = Session::create(*model, wrong);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("sparse weight '" + r->name + "'"), std::string::npos)
        << s.status().message();
  }
}

}  // namespace
}  // namespace deepcomp::runtime
