// Session behaviour: errors that name the node and op, sparse weights (CSR and codebook-CSR, in
// the documented layouts) giving the dense results, profiling, thread-count independence, and
// run_batch on hand-built graphs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "runtime/batch.h"
#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using ::testing::HasSubstr;
using testing::attr_i;
using testing::attr_s;
using testing::GraphBuilder;

std::vector<float> random_values(size_t n, unsigned seed, float zero_fraction = 0.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f), z(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = z(rng) < zero_fraction ? 0.0f : u(rng);
  return v;
}

TEST(RuntimeSession, UnsupportedOperatorNamesNodeAndOp) {
  GraphBuilder b;
  b.input("x").node("NoSuchOp", {"x"}, {"y"}, {}, "x_op").output("y");
  auto s = Session::create(b.model());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "node 'x_op' (NoSuchOp): operator not supported");
}

TEST(RuntimeSession, UnsupportedAttributeValueNamesNodeAndAttribute) {
  GraphBuilder b;
  b.input("x").input("w").node("Conv", {"x", "w"}, {"y"}, {attr_s("auto_pad", "FULL")}, "conv1").output("y");
  auto s = Session::create(b.model());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "node 'conv1' (Conv): attribute auto_pad=FULL is not supported");
  GraphBuilder c;
  c.input("x").node("Relu", {"x"}, {"y"}, {attr_i("bogus", 1)}, "r").output("y");
  auto t = Session::create(c.model());
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("node 'r' (Relu): attribute 'bogus' is not supported"));
}

TEST(RuntimeSession, UndefinedInputAndRuntimeShapeErrorsNameTheNode) {
  GraphBuilder b;
  b.input("x").node("Relu", {"nowhere"}, {"y"}, {}, "r").output("y");
  auto s = Session::create(b.model());
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("node 'r' (Relu): input 'nowhere'"));
  GraphBuilder c;
  c.input("a").input("b").node("Add", {"a", "b"}, {"y"}, {}, "add7").output("y");
  auto t = Session::create(c.model());
  ASSERT_TRUE(t.ok());
  auto out = t->run({Value::floats({2}, {1, 2}), Value::floats({3}, {1, 2, 3})});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), HasSubstr("node 'add7' (Add): shapes [2] and [3] do not broadcast"));
  auto wrong_count = t->run({Value::floats({2}, {1, 2})});
  EXPECT_FALSE(wrong_count.ok());
}

// A small MLP: Gemm (transB=1) -> Relu -> MatMul (constant right operand) -> Gemm (transB=0).
Model mlp(int64_t in, int64_t hidden, int64_t out) {
  GraphBuilder b;
  b.input("x", DType::kFloat32, {-1, in});
  b.weight("w1", {hidden, in}, random_values(hidden * in, 1, 0.6f)).weight("b1", {hidden}, random_values(hidden, 2));
  b.weight("w2", {hidden, hidden}, random_values(hidden * hidden, 3, 0.7f));
  b.weight("w3", {hidden, out}, random_values(hidden * out, 4, 0.5f)).weight("b3", {out}, random_values(out, 5));
  b.node("Gemm", {"x", "w1", "b1"}, {"h1"}, {attr_i("transB", 1)}, "fc1").node("Relu", {"h1"}, {"a1"});
  b.node("MatMul", {"a1", "w2"}, {"h2"}, {}, "fc2").node("Gemm", {"h2", "w3", "b3"}, {"y"}, {}, "fc3").output("y");
  return b.model();
}

std::vector<float> run_mlp(Session& s, const Value& x) {
  auto out = s.run({x});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? (*out)[0].f : std::vector<float>{};
}

TEST(RuntimeSession, CsrAndCodebookWeightsInDocumentedLayoutMatchDense) {
  const int64_t in = 12, hidden = 9, out = 5;
  Model m = mlp(in, hidden, out);
  const Value x = Value::floats({3, in}, random_values(3 * in, 9));
  auto dense = Session::create(m);
  ASSERT_TRUE(dense.ok()) << dense.status().message();
  const std::vector<float> want = run_mlp(*dense, x);

  SessionOptions options;
  options.profile = true;
  const Tensor* w1 = m.find_tensor("w1");
  const Tensor* w2 = m.find_tensor("w2");
  const Tensor* w3 = m.find_tensor("w3");
  // Gemm transB=1: B itself. MatMul and Gemm transB=0: the transpose (rows = outputs).
  options.csr_weights["w1"] = std::make_shared<kernels::CsrMatrix>(kernels::CsrMatrix::from_dense(w1->values.data(), hidden, in));
  options.csr_weights["w2"] = std::make_shared<kernels::CsrMatrix>(
      kernels::CsrMatrix::from_dense_transposed(w2->values.data(), hidden, hidden));
  // Codebook form of w3^T: every distinct value its own cluster, so the product is exact.
  kernels::CsrMatrix t3 = kernels::CsrMatrix::from_dense_transposed(w3->values.data(), hidden, out);
  auto cb = std::make_shared<kernels::CodebookCsrMatrix>();
  cb->rows = t3.rows;
  cb->cols = t3.cols;
  cb->row_ptr = t3.row_ptr;
  cb->col_idx = t3.col_idx;
  for (float v : t3.values) {
    cb->cluster.push_back(static_cast<uint8_t>(cb->codebook.size()));
    cb->codebook.push_back(v);
  }
  options.codebook_weights["w3"] = cb;
  auto sparse = Session::create(m, options);
  ASSERT_TRUE(sparse.ok()) << sparse.status().message();
  const std::vector<float> got = run_mlp(*sparse, x);
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-5f);
  int sparse_layers = 0;
  for (const NodeTiming& t : sparse->profile()) {
    if (t.sparse) {
      ++sparse_layers;
      EXPECT_FALSE(t.weight.empty());
    }
  }
  EXPECT_EQ(sparse_layers, 3);
}

TEST(RuntimeSession, SparseWeightWithWrongLayoutOrUnknownNameIsAnError) {
  Model m = mlp(6, 4, 3);
  SessionOptions wrong;
  // w3 is 4x3 (in x out) for a transB=0 Gemm: the sparse form must be 3x4.
  std::vector<float> w3 = m.find_tensor("w3")->values;
  wrong.csr_weights["w3"] = std::make_shared<kernels::CsrMatrix>(kernels::CsrMatrix::from_dense(w3.data(), 4, 3));
  auto s = Session::create(m, wrong);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("node 'fc3' (Gemm): sparse weight 'w3' is 4x3, expected 3x4"));
  SessionOptions unknown;
  unknown.csr_weights["w9"] = wrong.csr_weights["w3"];
  auto t = Session::create(m, unknown);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("'w9'"));
}

TEST(RuntimeSession, SparseConvFromDenseMatchesDenseConv) {
  GraphBuilder b;
  b.input("x").weight("w", {4, 2, 3, 3}, random_values(72, 11, 0.5f)).weight("bias", {4}, random_values(4, 12));
  b.node("Conv", {"x", "w", "bias"}, {"y"}, {attr_i("group", 2)}, "conv").output("y");
  b.model().graph.nodes[0].attributes.push_back(testing::attr_ints("pads", {1, 0, 1, 2}));
  const Value x = Value::floats({2, 4, 5, 6}, random_values(240, 13));
  auto dense = Session::create(b.model());
  SessionOptions o;
  o.sparse_from_dense = true;
  auto sparse = Session::create(b.model(), o);
  ASSERT_TRUE(dense.ok() && sparse.ok());
  auto a = dense->run({x});
  auto s = sparse->run({x});
  ASSERT_TRUE(a.ok() && s.ok());
  ASSERT_EQ((*a)[0].shape, (*s)[0].shape);
  for (size_t k = 0; k < (*a)[0].f.size(); ++k) EXPECT_NEAR((*s)[0].f[k], (*a)[0].f[k], 1e-5f);
}

TEST(RuntimeSession, ResultsDoNotDependOnThreadCount) {
  Model m = mlp(300, 200, 10);
  const Value x = Value::floats({1, 300}, random_values(300, 21));
  SessionOptions one, two;
  one.threads = 1;
  two.threads = 2;
  auto s1 = Session::create(m, one);
  auto s2 = Session::create(m, two);
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_EQ(run_mlp(*s1, x), run_mlp(*s2, x));
}

TEST(RuntimeSession, RunBatchLoopsOverAFixedBatchOneGraph) {
  // Reshape to a hard-coded [1, 4]: a batched run would be wrong, so run_batch must loop.
  GraphBuilder b;
  b.input("x", DType::kFloat32, {1, 2, 2}).int_weight("s", {2}, {1, 4});
  b.node("Reshape", {"x", "s"}, {"y"}).output("y");
  auto s = Session::create(b.model());
  ASSERT_TRUE(s.ok());
  const Value x = Value::floats({3, 2, 2}, random_values(12, 5));
  auto r = run_batch(*s, x);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->batched);
  EXPECT_EQ(r->outputs[0].shape, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(r->outputs[0].f, x.f);
}

TEST(RuntimeSession, RunBatchRunsOnceWhenTheBatchDimIsFree) {
  Model m = mlp(5, 4, 2);
  auto s = Session::create(m);
  ASSERT_TRUE(s.ok());
  const Value x = Value::floats({4, 5}, random_values(20, 6));
  auto r = run_batch(*s, x);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->batched);
  const std::vector<float> all = run_mlp(*s, x);
  EXPECT_EQ(r->outputs[0].f, all);
}

TEST(RuntimeSession, ConstantSubgraphsAreFoldedAndInputsListExcludesInitializers) {
  GraphBuilder b;
  b.input("x").weight("w", {2}, {1, 2}).node("Neg", {"w"}, {"nw"}).node("Add", {"x", "nw"}, {"y"}).output("y");
  b.model().graph.inputs.push_back({"w", DType::kFloat32, {2}, {}, true});  // old IR lists it too
  SessionOptions o;
  o.profile = true;
  auto s = Session::create(b.model(), o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->inputs().size(), 1u);
  auto out = s->run({Value::floats({2}, {10, 10})});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)[0].f, (std::vector<float>{9, 8}));
  ASSERT_EQ(s->profile().size(), 1u);  // Neg ran once, at create
  EXPECT_EQ(s->profile()[0].op_type, "Add");
}

}  // namespace
}  // namespace deepcomp::runtime
