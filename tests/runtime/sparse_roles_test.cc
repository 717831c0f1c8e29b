// Sparse weights reached the way exporters store them: MatMul / Gemm whose weight is a Transpose
// or Reshape of an initializer (folded by the Session, which hands the initializer's sparse form
// to the layer), and Gather reading embedding rows from a CSR / codebook-CSR table. Truth: the
// same graph run dense on the same weights, and hand-worked rows.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/sparse_matrix.h"
#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_i;
using testing::attr_ints;
using testing::GraphBuilder;

// Values in [-1, 1], about half of them exactly zero.
std::vector<float> sparse_values(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng) < 0 ? 0.0f : u(rng);
  return v;
}

Value random_input(std::vector<int64_t> shape, unsigned seed) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng);
  return Value::floats(std::move(shape), std::move(v));
}

std::vector<Value> run(const Model& m, const SessionOptions& options, const std::vector<Value>& in,
                       const Session** keep = nullptr) {
  static std::vector<Session> sessions;  // keeps layer_kernels() readable after return
  auto s = Session::create(m, options);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return {};
  auto out = s->run(in);
  EXPECT_TRUE(out.ok()) << out.status().message();
  sessions.push_back(std::move(*s));
  if (keep) *keep = &sessions.back();
  return out.ok() ? *out : std::vector<Value>{};
}

void expect_near(const Value& a, const Value& b, double tol) {
  ASSERT_EQ(a.shape, b.shape);
  ASSERT_EQ(a.f.size(), b.f.size());
  for (size_t k = 0; k < a.f.size(); ++k) EXPECT_NEAR(a.f[k], b.f[k], tol) << "element " << k;
}

// A codebook-CSR of a dense rows x cols matrix whose values are few distinct numbers.
std::shared_ptr<const kernels::CodebookCsrMatrix> codebook_of(const std::vector<float>& dense,
                                                              int64_t rows, int64_t cols) {
  std::vector<float> codebook;
  std::vector<int64_t> positions;
  std::vector<uint32_t> clusters;
  for (int64_t p = 0; p < rows * cols; ++p) {
    const float v = dense[p];
    if (v == 0.0f) continue;
    auto it = std::find(codebook.begin(), codebook.end(), v);
    if (it == codebook.end()) it = codebook.insert(codebook.end(), v);
    positions.push_back(p);
    clusters.push_back(static_cast<uint32_t>(it - codebook.begin()));
  }
  auto m = std::make_shared<kernels::CodebookCsrMatrix>();
  std::string error;
  EXPECT_TRUE(
      kernels::codebook_csr_from(rows, cols, positions, clusters, codebook, m.get(), &error))
      << error;
  return m;
}

// x [3, 4] -> MatMul(x, Transpose(W [5, 4])) -> Gemm(., Reshape(V [30]) as [5, 6]) -> y [3, 6].
Model linear_chain(const std::vector<float>& w, const std::vector<float>& v) {
  GraphBuilder b;
  b.input("x", DType::kFloat32, {3, 4});
  b.weight("W", {5, 4}, w);
  b.weight("V", {30}, v);
  b.int_weight("shape", {2}, {5, 6});
  b.node("Transpose", {"W"}, {"Wt"}, {attr_ints("perm", {1, 0})});
  b.node("MatMul", {"x", "Wt"}, {"h"}, {}, "fc1");
  b.node("Reshape", {"V", "shape"}, {"V56"});
  b.node("Gemm", {"h", "V56"}, {"y"}, {}, "fc2").output("y");
  return b.model();
}

TEST(SparseRoles, MatMulThroughTransposeAndGemmThroughReshapeRunOnTheInitializersSparseForm) {
  const std::vector<float> w = sparse_values(20, 1), v = sparse_values(30, 2);
  const Model m = linear_chain(w, v);
  const std::vector<Value> in = {random_input({3, 4}, 3)};
  const std::vector<Value> dense = run(m, {}, in);
  ASSERT_EQ(dense.size(), 1u);

  // Layouts (session.h): MatMul with B = W^T needs B^T = W itself, out x in = 5 x 4; Gemm
  // transB=0 with B = V viewed [5, 6] needs B^T, the transpose of that view.
  SessionOptions options;
  options.csr_weights["W"] =
      std::make_shared<kernels::CsrMatrix>(kernels::CsrMatrix::from_dense(w.data(), 5, 4));
  options.codebook_weights["V"] = std::make_shared<kernels::CodebookCsrMatrix>(
      kernels::codebook_csr_transpose(*codebook_of(v, 5, 6)));
  const Session* session = nullptr;
  const std::vector<Value> sparse = run(m, options, in, &session);
  ASSERT_EQ(sparse.size(), 1u);
  expect_near(sparse[0], dense[0], 1e-5);
  ASSERT_NE(session, nullptr);
  ASSERT_EQ(session->layer_kernels().size(), 2u);
  for (const LayerKernel& layer : session->layer_kernels()) EXPECT_TRUE(layer.sparse) << layer.node;

  // The same layers run sparse when the CSR is built from the dense model.
  SessionOptions from_dense;
  from_dense.sparse_from_dense = true;
  const std::vector<Value> built = run(m, from_dense, in, &session);
  expect_near(built[0], dense[0], 1e-5);
  for (const LayerKernel& layer : session->layer_kernels()) EXPECT_TRUE(layer.sparse) << layer.node;
}

TEST(SparseRoles, ATransposedWeightInTheWrongLayoutIsRejectedNamingIt) {
  const Model m = linear_chain(sparse_values(20, 1), sparse_values(30, 2));
  SessionOptions options;
  std::vector<float> wt(20, 1.0f);
  options.csr_weights["W"] =
      std::make_shared<kernels::CsrMatrix>(kernels::CsrMatrix::from_dense(wt.data(), 4, 5));
  auto s = Session::create(m, options);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("sparse weight 'Wt' is 4x5, expected 5x4"), std::string::npos)
      << s.status().message();
}

// ids [2, 3] int64 -> Gather(E [6, 4]) -> y [2, 3, 4].
Model embedding(const std::vector<float>& table, int64_t axis = 0) {
  GraphBuilder b;
  b.input("ids", DType::kInt64, {2, 3});
  b.weight("E", {6, 4}, table);
  b.node("Gather", {"E", "ids"}, {"y"}, {attr_i("axis", axis)}, "embed").output("y");
  return b.model();
}

TEST(SparseRoles, GatherReadsEmbeddingRowsFromTheCodebookForm) {
  // Rows 0..5 with hand-chosen zeros; codebook {0.5, -1, 2}.
  const std::vector<float> table = {0.5f, 0,    0,    -1,    //
                                    0,    0,    0,    0,     //
                                    2,    2,    0.5f, 0,     //
                                    -1,   0,    0,    0.5f,  //
                                    0,    -1,   2,    0,     //
                                    0.5f, 0.5f, 0.5f, 0.5f};
  const Model m = embedding(table);
  const Value ids = Value::ints({2, 3}, {2, 0, -1, 1, 4, 2});  // -1 is row 5
  SessionOptions options;
  options.codebook_weights["E"] = codebook_of(table, 6, 4);
  const Session* session = nullptr;
  const std::vector<Value> out = run(m, options, {ids}, &session);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape, (std::vector<int64_t>{2, 3, 4}));
  const std::vector<float> want = {2, 2, 0.5f, 0, 0.5f, 0,  0, -1, 0.5f, 0.5f, 0.5f, 0.5f,
                                   0, 0, 0,    0, 0,    -1, 2, 0,  2,    2,    0.5f, 0};
  EXPECT_EQ(out[0].f, want);
  ASSERT_EQ(session->layer_kernels().size(), 1u);
  EXPECT_TRUE(session->layer_kernels()[0].sparse);
  EXPECT_EQ(session->layer_kernels()[0].weight, "E");
  EXPECT_DOUBLE_EQ(session->layer_kernels()[0].density, 13.0 / 24.0);

  // CSR from the dense table, and the auto choice expanding it (density above 10%): same rows.
  for (KernelChoice kernel : {KernelChoice::kSparse, KernelChoice::kAuto}) {
    SessionOptions from_dense;
    from_dense.sparse_from_dense = true;
    from_dense.kernel = kernel;
    const std::vector<Value> again = run(m, from_dense, {ids}, &session);
    EXPECT_EQ(again[0].f, want);
    EXPECT_EQ(session->layer_kernels()[0].sparse, kernel == KernelChoice::kSparse);
  }
  EXPECT_EQ(run(m, {}, {ids})[0].f, want);
}

TEST(SparseRoles, GatherErrorsOnOutOfRangeIndexAndMismatchedSparseShape) {
  const std::vector<float> table = sparse_values(24, 5);
  const Model m = embedding(table);
  SessionOptions options;
  options.csr_weights["E"] =
      std::make_shared<kernels::CsrMatrix>(kernels::CsrMatrix::from_dense(table.data(), 6, 4));
  auto s = Session::create(m, options);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto r = s->run({Value::ints({2, 3}, {0, 1, 2, 3, 4, 6})});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "node 'embed' (Gather): index 6 out of range for dimension 6");

  options.csr_weights["E"] =
      std::make_shared<kernels::CsrMatrix>(kernels::CsrMatrix::from_dense(table.data(), 4, 6));
  auto bad = Session::create(m, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("sparse weight 'E' is 4x6, expected 6x4"),
            std::string::npos)
      << bad.status().message();

  // Gather on axis 1 is no embedding lookup: a sparse form given for it is unused, an error.
  auto axis1 = Session::create(embedding(table, 1), options);
  ASSERT_FALSE(axis1.ok());
  EXPECT_NE(axis1.status().message().find("sparse weight 'E'"), std::string::npos);
}

}  // namespace
}  // namespace deepcomp::runtime
