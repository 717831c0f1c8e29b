// Weights given to the Session only in sparse form, their initializers a shape with no values (as
// `run` opens a .dcz sparse, issue 18): the outputs are bit for bit those of the old path, which
// gave the same sparse forms with zero-filled initializers, under every kernel choice; layers
// that run dense expand the sparse form and give the dense model's outputs; a reader that would
// need the missing values is an error naming the node.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "kernels/sparse_matrix.h"
#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_i;
using testing::attr_ints;
using testing::GraphBuilder;

// `n` values in [-1, 1], each zero with probability `zero`.
std::vector<float> weights(int64_t n, double zero, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_real_distribution<double> p(0.0, 1.0);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = p(rng) < zero ? 0.0f : u(rng);
  return v;
}

// x [N, 2, 5, 5] -> Conv(wc [4, 2, 3, 3]) -> Flatten [N, 36] -> Gemm transB=1 (w1 [20, 36], b1)
// -> Relu -> MatMul(Transpose(w2 [16, 20])) as PyTorch exports a Linear -> Gemm transB=0 with
// B = Reshape(w3 [96] to [16, 6]) -> y [N, 6]. Densities: wc 0.2, w1 0.7, w2 0.5, w3 0.1.
Model four_layers() {
  GraphBuilder b;
  b.input("x", DType::kFloat32, {-1, 2, 5, 5});
  b.weight("wc", {4, 2, 3, 3}, weights(72, 0.8, 1));
  b.weight("w1", {20, 36}, weights(720, 0.3, 2));
  b.weight("b1", {20}, weights(20, 0.0, 3));
  b.weight("w2", {16, 20}, weights(320, 0.5, 4));
  b.weight("w3", {96}, weights(96, 0.9, 5));
  b.int_weight("shape", {2}, {16, 6});
  b.node("Conv", {"x", "wc"}, {"c"}, {}, "conv");
  b.node("Flatten", {"c"}, {"f"});
  b.node("Gemm", {"f", "w1", "b1"}, {"h1"}, {attr_i("transB", 1)}, "fc1");
  b.node("Relu", {"h1"}, {"a1"});
  b.node("Transpose", {"w2"}, {"w2t"}, {attr_ints("perm", {1, 0})});
  b.node("MatMul", {"a1", "w2t"}, {"h2"}, {}, "fc2");
  b.node("Reshape", {"w3", "shape"}, {"w3m"});
  b.node("Gemm", {"h2", "w3m"}, {"y"}, {}, "fc3").output("y");
  return b.model();
}

// Each value its own cluster, so the codebook form holds the exact weights.
std::shared_ptr<const kernels::CodebookCsrMatrix> codebook_of(const kernels::CsrMatrix& csr) {
  auto cb = std::make_shared<kernels::CodebookCsrMatrix>();
  std::vector<int64_t> positions;
  std::vector<uint32_t> clusters;
  for (int64_t r = 0; r < csr.rows; ++r) {
    for (int64_t k = csr.row_ptr[r]; k < csr.row_ptr[r + 1]; ++k) {
      positions.push_back(r * csr.cols + csr.col_idx[k]);
      clusters.push_back(static_cast<uint32_t>(clusters.size()));
    }
  }
  std::string error;
  EXPECT_TRUE(kernels::codebook_csr_from(csr.rows, csr.cols, positions, clusters, csr.values,
                                         cb.get(), &error))
      << error;
  return cb;
}

// The sparse forms in the Session's layout (session.h): wc and w1 as codebook-CSR of themselves;
// w2 (read as Transpose(w2) by MatMul, whose matrix is B^T = w2) as CSR of w2; w3 (viewed
// [16, 6], in x out) as CSR of its transpose.
SessionOptions sparse_forms(const Model& m) {
  auto data = [&](const char* name) { return m.find_tensor(name)->values.data(); };
  SessionOptions o;
  o.codebook_weights["wc"] = codebook_of(kernels::CsrMatrix::from_dense(data("wc"), 4, 18));
  o.codebook_weights["w1"] = codebook_of(kernels::CsrMatrix::from_dense(data("w1"), 20, 36));
  o.csr_weights["w2"] = std::make_shared<kernels::CsrMatrix>(
      kernels::CsrMatrix::from_dense(data("w2"), 16, 20));
  o.csr_weights["w3"] = std::make_shared<kernels::CsrMatrix>(
      kernels::CsrMatrix::from_dense_transposed(data("w3"), 16, 6));
  return o;
}

// The model with the sparse weights' values zeroed (the old path) or removed (the new one).
Model without_values(Model m, bool keep_zeros) {
  for (Tensor& t : m.tensors) {
    if (t.name == "b1" || t.name == "shape") continue;
    if (keep_zeros) {
      std::fill(t.values.begin(), t.values.end(), 0.0f);
    } else {
      t.values = {};
    }
  }
  return m;
}

Value input(int64_t batch) {
  return Value::floats({batch, 2, 5, 5}, weights(batch * 50, 0.0, 42));
}

struct Ran {
  std::vector<float> y;
  std::vector<LayerKernel> layers;
};

Ran run(const Model& m, const SessionOptions& o, const Value& x) {
  auto s = Session::create(m, o);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return {};
  auto out = s->run({x});
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (!out.ok()) return {};
  return {(*out)[0].f, s->layer_kernels()};
}

void expect_bits(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
}

TEST(ShapeOnlyWeights, OutputsAreBitForBitTheZeroPlaceholderPathsUnderEveryKernelChoice) {
  const Model dense = four_layers();
  const Model zeros = without_values(dense, true);
  const Model shells = without_values(dense, false);
  ASSERT_TRUE(shells.find_tensor("w1")->values.empty());
  for (int64_t batch : {1, 4}) {
    const Value x = input(batch);
    for (KernelChoice k : {KernelChoice::kSparse, KernelChoice::kDense, KernelChoice::kAuto}) {
      SCOPED_TRACE(std::string(kernel_choice_name(k)) + " batch " + std::to_string(batch));
      SessionOptions o = sparse_forms(dense);
      o.kernel = k;
      o.dense_above_density = 0.3;  // auto: wc and w3 sparse, w1 and w2 dense
      const Ran old_path = run(zeros, o, x);
      const Ran now = run(shells, o, x);
      expect_bits(now.y, old_path.y);
      ASSERT_EQ(now.layers.size(), 4u);
      ASSERT_EQ(old_path.layers.size(), 4u);
      for (size_t l = 0; l < 4; ++l) {
        EXPECT_EQ(now.layers[l].weight, old_path.layers[l].weight);
        EXPECT_EQ(now.layers[l].sparse, old_path.layers[l].sparse) << now.layers[l].weight;
        const bool want_sparse = k == KernelChoice::kSparse ||
                                 (k == KernelChoice::kAuto && now.layers[l].density <= 0.3);
        EXPECT_EQ(now.layers[l].sparse, want_sparse) << now.layers[l].weight;
      }
    }
  }
}

TEST(ShapeOnlyWeights, LayersRunDenseFromTheSparseFormGiveTheDenseModelsOutputs) {
  const Model dense = four_layers();
  const Model shells = without_values(dense, false);
  SessionOptions o = sparse_forms(dense);
  o.kernel = KernelChoice::kDense;
  for (int64_t batch : {1, 3}) {
    const Value x = input(batch);
    const Ran want = run(dense, {}, x);
    const Ran got = run(shells, o, x);
    // The plain model's MatMul multiplies by B in place (another dense kernel): close, not equal.
    ASSERT_EQ(got.y.size(), want.y.size());
    for (size_t k = 0; k < got.y.size(); ++k) EXPECT_NEAR(got.y[k], want.y[k], 1e-5) << k;
    for (const LayerKernel& l : got.layers) EXPECT_FALSE(l.sparse) << l.weight;
  }
}

TEST(ShapeOnlyWeights, AReaderThatNeedsTheValuesIsAnErrorNamingTheNode) {
  // w1 is also added to itself: Add has no sparse form, so it would read the missing values.
  Model m = four_layers();
  Node add;
  add.name = "uses_w1";
  add.op_type = "Add";
  add.inputs = {"w1", "w1"};
  add.outputs = {"w1_twice"};
  m.graph.nodes.push_back(add);
  ValueInfo vi;
  vi.name = "w1_twice";
  m.graph.outputs.push_back(vi);
  const SessionOptions o = sparse_forms(m);
  auto s = Session::create(without_values(m, false), o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("node 'uses_w1' (Add): input 'w1' is given only in sparse "
                                      "form"),
            std::string::npos)
      << s.status().message();
  // With its values the same graph compiles (the sparse form serves fc1, Add reads the values).
  EXPECT_TRUE(Session::create(m, o).ok());
}

TEST(ShapeOnlyWeights, AWeightThatIsAGraphOutputOrHasNoSparseFormIsAnError) {
  Model m = four_layers();
  ValueInfo vi;
  vi.name = "w2t";
  m.graph.outputs.push_back(vi);
  auto s = Session::create(without_values(m, false), sparse_forms(m));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("graph output 'w2t' is a weight given only in sparse form"),
            std::string::npos)
      << s.status().message();

  // No sparse form for w1: its missing values are the initializer's error, as before.
  SessionOptions o = sparse_forms(four_layers());
  o.codebook_weights.erase("w1");
  s = Session::create(without_values(four_layers(), false), o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("tensor 'w1': has 0 values for shape [20,36]"),
            std::string::npos)
      << s.status().message();
}

}  // namespace
}  // namespace deepcomp::runtime
