// SessionOptions::kernel: a layer given in sparse form runs sparse, or is expanded to dense once
// at create time (kDense, or kAuto above dense_above_density). Every mode gives the outputs of
// the plain dense model (within 1e-5: the kernels sum in different orders), and auto picks the
// sparse kernel exactly for the layers at or below the crossover.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_i;
using testing::GraphBuilder;

// `n` values in [-1, 1] of which exactly round(n * density) are nonzero (at random positions).
std::vector<float> values_at_density(int64_t n, double density, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n), 0.0f);
  const int64_t keep = std::llround(static_cast<double>(n) * density);
  for (int64_t k = 0; k < keep; ++k) {
    float x = uniform(rng);
    v[static_cast<size_t>(k)] = x == 0.0f ? 0.5f : x;
  }
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

// Conv (4 output channels, density 0.25) -> Flatten -> Gemm transB=1 (density 0.75) -> Relu ->
// MatMul (density 0.5) -> Gemm transB=0 (density 0.125). Input [N, 2, 5, 5]. Every density is
// exact (a whole number of nonzeros), so the crossover can be set right at it.
struct TestModel {
  Model model;
  std::map<std::string, double> density;  // by weight
};

TestModel four_layers() {
  TestModel t;
  GraphBuilder b;
  b.input("x", DType::kFloat32, {-1, 2, 5, 5});
  const int64_t conv_out = 4 * 3 * 3;  // 3x3 output per channel
  b.weight("wc", {4, 2, 3, 3}, values_at_density(72, 0.25, 1));
  b.weight("w1", {20, conv_out}, values_at_density(20 * conv_out, 0.75, 2));
  b.weight("b1", {20}, values_at_density(20, 1.0, 3));
  b.weight("w2", {20, 16}, values_at_density(20 * 16, 0.5, 4));
  b.weight("w3", {16, 6}, values_at_density(16 * 6, 0.125, 5));
  b.node("Conv", {"x", "wc"}, {"c"}, {}, "conv");
  b.node("Flatten", {"c"}, {"f"});
  b.node("Gemm", {"f", "w1", "b1"}, {"h1"}, {attr_i("transB", 1)}, "fc1");
  b.node("Relu", {"h1"}, {"a1"});
  b.node("MatMul", {"a1", "w2"}, {"h2"}, {}, "fc2");
  b.node("Gemm", {"h2", "w3"}, {"y"}, {}, "fc3").output("y");
  t.model = b.model();
  t.density = {{"wc", 0.25}, {"w1", 0.75}, {"w2", 0.5}, {"w3", 0.125}};
  return t;
}

// The sparse forms of the four weights in the Session's layout (rows = outputs): wc and w1 as
// codebook-CSR (each value its own cluster, so products are exact), w2 and w3 (stored in x out)
// as CSR of the transpose. The model's own weights are then zeroed, as a sparse .dcz gives them:
// a layer that computed with its initializer instead of the sparse form would output garbage.
SessionOptions sparse_forms(Model* m) {
  SessionOptions o;
  auto codebook_of = [](const kernels::CsrMatrix& csr) {
    auto cb = std::make_shared<kernels::CodebookCsrMatrix>();
    cb->rows = csr.rows;
    cb->cols = csr.cols;
    cb->row_ptr = csr.row_ptr;
    cb->col_idx = csr.col_idx;
    for (float v : csr.values) {
      cb->cluster16.push_back(static_cast<uint16_t>(cb->codebook.size()));
      cb->codebook.push_back(v);
    }
    if (!cb->wide()) {
      cb->cluster.assign(cb->cluster16.begin(), cb->cluster16.end());
      cb->cluster16.clear();
    }
    return cb;
  };
  const Tensor* wc = m->find_tensor("wc");
  const Tensor* w1 = m->find_tensor("w1");
  const Tensor* w2 = m->find_tensor("w2");
  const Tensor* w3 = m->find_tensor("w3");
  o.codebook_weights["wc"] = codebook_of(kernels::CsrMatrix::from_dense(wc->values.data(), 4, 18));
  o.codebook_weights["w1"] = codebook_of(kernels::CsrMatrix::from_dense(w1->values.data(), 20, 36));
  o.csr_weights["w2"] = std::make_shared<kernels::CsrMatrix>(
      kernels::CsrMatrix::from_dense_transposed(w2->values.data(), 20, 16));
  o.csr_weights["w3"] = std::make_shared<kernels::CsrMatrix>(
      kernels::CsrMatrix::from_dense_transposed(w3->values.data(), 16, 6));
  for (Tensor& t : m->tensors) {
    if (t.name != "b1") std::fill(t.values.begin(), t.values.end(), 0.0f);
  }
  return o;
}

Value input(int64_t batch) {
  return Value::floats({batch, 2, 5, 5}, values_at_density(batch * 50, 1.0, 42));
}

std::vector<float> run(const Model& m, const SessionOptions& o, const Value& x,
                       std::map<std::string, LayerKernel>* kernels = nullptr) {
  auto s = Session::create(m, o);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return {};
  if (kernels) {
    for (const LayerKernel& k : s->layer_kernels()) (*kernels)[k.weight] = k;
  }
  auto out = s->run({x});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? (*out)[0].f : std::vector<float>{};
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-5f) << k;
}

TEST(KernelChoice, EveryModeGivesTheDenseModelsOutputs) {
  const TestModel t = four_layers();
  for (int64_t batch : {1, 3}) {
    const Value x = input(batch);
    const std::vector<float> want = run(t.model, {}, x);
    ASSERT_FALSE(want.empty());
    for (KernelChoice k : {KernelChoice::kSparse, KernelChoice::kDense, KernelChoice::kAuto}) {
      SCOPED_TRACE(kernel_choice_name(k));
      Model placeholders = t.model;
      SessionOptions o = sparse_forms(&placeholders);
      o.kernel = k;
      o.dense_above_density = 0.3;
      expect_close(run(placeholders, o, x), want);
      // The same from the dense weights (an .onnx opened sparse).
      SessionOptions from_dense;
      from_dense.sparse_from_dense = true;
      from_dense.kernel = k;
      from_dense.dense_above_density = 0.3;
      expect_close(run(t.model, from_dense, x), want);
    }
  }
}

TEST(KernelChoice, AutoRunsSparseExactlyAtOrBelowTheCrossover) {
  const TestModel t = four_layers();
  const Value x = input(2);
  // Crossovers between, and exactly at, the layers' densities (0.125, 0.25, 0.5, 0.75).
  for (double crossover : {0.0, 0.125, 0.2, 0.25, 0.3, 0.5, 0.74, 0.75, 1.0}) {
    SCOPED_TRACE(crossover);
    for (bool from_dense : {false, true}) {
      Model m = t.model;
      SessionOptions o;
      if (from_dense) {
        o.sparse_from_dense = true;
      } else {
        o = sparse_forms(&m);
      }
      o.kernel = KernelChoice::kAuto;
      o.dense_above_density = crossover;
      o.conv_dense_above_density = crossover;
      std::map<std::string, LayerKernel> kernels;
      run(m, o, x, &kernels);
      ASSERT_EQ(kernels.size(), 4u);
      for (const auto& [weight, density] : t.density) {
        EXPECT_NEAR(kernels[weight].density, density, 1e-12) << weight;
        EXPECT_EQ(kernels[weight].sparse, density <= crossover) << weight;
      }
    }
  }
}

TEST(KernelChoice, ConvLayersHaveTheirOwnCrossover) {
  const TestModel t = four_layers();
  const Value x = input(1);
  const std::vector<float> want = run(t.model, {}, x);
  // (fc crossover, Conv crossover): which layers run sparse. wc is the Conv (density 0.25).
  struct Case {
    double fc, conv;
    std::set<std::string> sparse;
  };
  for (const Case& c : {Case{0.0, 0.25, {"wc"}}, Case{1.0, 0.2, {"w1", "w2", "w3"}},
                        Case{0.125, 1.0, {"wc", "w3"}}}) {
    SCOPED_TRACE(std::to_string(c.fc) + " / " + std::to_string(c.conv));
    Model m = t.model;
    SessionOptions o = sparse_forms(&m);
    o.kernel = KernelChoice::kAuto;
    o.dense_above_density = c.fc;
    o.conv_dense_above_density = c.conv;
    std::map<std::string, LayerKernel> kernels;
    expect_close(run(m, o, x, &kernels), want);
    ASSERT_EQ(kernels.size(), 4u);
    for (const auto& [weight, layer] : kernels) {
      EXPECT_EQ(layer.sparse, c.sparse.count(weight) > 0) << weight;
    }
  }
  // The default Conv crossover is the measured one, not the fc one.
  EXPECT_EQ(SessionOptions{}.conv_dense_above_density, kDefaultConvDenseAboveDensity);
  EXPECT_GT(kDefaultConvDenseAboveDensity, kDefaultDenseAboveDensity);
}

TEST(KernelChoice, SparseAndDenseModesIgnoreTheDensity) {
  const TestModel t = four_layers();
  for (KernelChoice k : {KernelChoice::kSparse, KernelChoice::kDense}) {
    Model m = t.model;
    SessionOptions o = sparse_forms(&m);
    o.kernel = k;
    o.dense_above_density = 0.3;
    std::map<std::string, LayerKernel> kernels;
    run(m, o, input(1), &kernels);
    ASSERT_EQ(kernels.size(), 4u);
    for (const auto& [weight, layer] : kernels)
      EXPECT_EQ(layer.sparse, k == KernelChoice::kSparse) << weight;
  }
  // Without sparse forms or sparse_from_dense nothing runs sparse, whatever the mode.
  SessionOptions o;
  o.kernel = KernelChoice::kAuto;
  std::map<std::string, LayerKernel> kernels;
  run(t.model, o, input(1), &kernels);
  for (const auto& [weight, layer] : kernels) EXPECT_FALSE(layer.sparse) << weight;
}

TEST(KernelChoice, CrossoverOutsideZeroToOneIsAnError) {
  const TestModel t = four_layers();
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    SessionOptions o;
    o.dense_above_density = bad;
    auto s = Session::create(t.model, o);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("dense_above_density must be in [0, 1]"),
              std::string::npos);
    SessionOptions conv;
    conv.conv_dense_above_density = bad;
    s = Session::create(t.model, conv);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("conv_dense_above_density must be in [0, 1]"),
              std::string::npos);
  }
}

TEST(KernelChoice, ParsesTheThreeNames) {
  EXPECT_EQ(parse_kernel_choice("auto"), KernelChoice::kAuto);
  EXPECT_EQ(parse_kernel_choice("sparse"), KernelChoice::kSparse);
  EXPECT_EQ(parse_kernel_choice("dense"), KernelChoice::kDense);
  EXPECT_FALSE(parse_kernel_choice("Dense").has_value());
  for (KernelChoice k : {KernelChoice::kSparse, KernelChoice::kDense, KernelChoice::kAuto})
    EXPECT_EQ(parse_kernel_choice(kernel_choice_name(k)), k);
}

}  // namespace
}  // namespace deepcomp::runtime
