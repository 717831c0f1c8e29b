// The CNN operators through the Session: sparse ConvTranspose and Conv 3-D weights (CSR and
// codebook-CSR, given or built from dense) give the dense outputs within 1e-5 and are listed as
// sparse layers; hand-worked cases for semantics the ONNX backend data leaves out (TopK ties,
// Resize keep_aspect_ratio_policy, NonMaxSuppression score threshold, bad input errors).
#include <gtest/gtest.h>

#include <random>

#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_i;
using testing::attr_ints;
using testing::attr_s;
using testing::GraphBuilder;

// A random weight with about `density` of its entries nonzero (a pruned layer).
std::vector<float> pruned(int64_t n, double density, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f), keep(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = keep(rng) < density ? u(rng) : 0.0f;
  return v;
}

std::shared_ptr<kernels::CodebookCsrMatrix> codebook_of(const kernels::CsrMatrix& csr) {
  // Every nonzero its own cluster, so the products equal the CSR ones.
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
}

struct Layer {
  Model model;
  std::vector<float> weight;
  int64_t rows = 0, cols = 0;  // session.h layout
  Value x;
};

// ConvTranspose 2-D, 2 groups, stride 2, pads, output_padding: W [C_in=4, M/group=3, 3, 3].
Layer conv_transpose_layer() {
  Layer l;
  l.rows = 4;
  l.cols = 3 * 3 * 3;
  l.weight = pruned(l.rows * l.cols, 0.3, 11);
  GraphBuilder b;
  b.input("x", DType::kFloat32, {-1, 4, 5, 6});
  b.weight("w", {4, 3, 3, 3}, l.weight).weight("bias", {6}, pruned(6, 1.0, 12));
  b.node("ConvTranspose", {"x", "w", "bias"}, {"y"},
         {attr_i("group", 2), attr_ints("strides", {2, 2}), attr_ints("pads", {1, 0, 1, 1}),
          attr_ints("output_padding", {1, 0})},
         "deconv")
      .output("y");
  l.model = b.model();
  l.x = Value::floats({2, 4, 5, 6}, pruned(2 * 4 * 5 * 6, 1.0, 13));
  return l;
}

// Conv 3-D, 2 groups: W [M=4, C/group=2, 2, 3, 2].
Layer conv3d_layer() {
  Layer l;
  l.rows = 4;
  l.cols = 2 * 2 * 3 * 2;
  l.weight = pruned(l.rows * l.cols, 0.3, 21);
  GraphBuilder b;
  b.input("x", DType::kFloat32, {-1, 4, 4, 5, 4});
  b.weight("w", {4, 2, 2, 3, 2}, l.weight);
  b.node(
       "Conv", {"x", "w"}, {"y"},
       {attr_i("group", 2), attr_ints("pads", {1, 1, 0, 0, 1, 1}), attr_ints("strides", {1, 2, 1})},
       "conv3d")
      .output("y");
  l.model = b.model();
  l.x = Value::floats({1, 4, 4, 5, 4}, pruned(4 * 5 * 4 * 4, 1.0, 23));
  return l;
}

Value run_layer(const Model& m, const SessionOptions& o, const Value& x, bool* sparse) {
  auto s = Session::create(m, o);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return {};
  EXPECT_EQ(s->layer_kernels().size(), 1u);
  if (!s->layer_kernels().empty()) {
    EXPECT_EQ(s->layer_kernels()[0].weight, "w");
    *sparse = s->layer_kernels()[0].sparse;
  }
  auto out = s->run({x});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? (*out)[0] : Value{};
}

void check_sparse_equals_dense(const Layer& l) {
  bool sparse = true;
  const Value want = run_layer(l.model, {}, l.x, &sparse);
  EXPECT_FALSE(sparse);
  ASSERT_GT(want.numel(), 0);
  const auto csr = std::make_shared<kernels::CsrMatrix>(
      kernels::CsrMatrix::from_dense(l.weight.data(), l.rows, l.cols));
  for (int form = 0; form < 3; ++form) {
    SCOPED_TRACE(form);
    Model m = l.model;
    SessionOptions o;
    if (form == 0) {
      o.csr_weights["w"] = csr;
    } else if (form == 1) {
      o.codebook_weights["w"] = codebook_of(*csr);
    } else {
      o.sparse_from_dense = true;
    }
    // A given sparse form replaces the initializer, which a .dcz leaves as zeros.
    if (form < 2) std::fill(m.tensors[0].values.begin(), m.tensors[0].values.end(), 0.0f);
    sparse = false;
    const Value got = run_layer(m, o, l.x, &sparse);
    EXPECT_TRUE(sparse);
    ASSERT_EQ(got.shape, want.shape);
    for (int64_t k = 0; k < want.numel(); ++k) EXPECT_NEAR(got.f[k], want.f[k], 1e-5f) << k;
  }
}

TEST(CnnOps, SparseConvTransposeMatchesDense) { check_sparse_equals_dense(conv_transpose_layer()); }

TEST(CnnOps, SparseConv3dMatchesDense) { check_sparse_equals_dense(conv3d_layer()); }

TEST(CnnOps, SparseConvTransposeOfTheWrongShapeIsRejected) {
  Layer l = conv_transpose_layer();
  SessionOptions o;
  // Rows must be the input channels (4), not the output channels (6).
  o.csr_weights["w"] = std::make_shared<kernels::CsrMatrix>(
      kernels::CsrMatrix::from_dense(pruned(6 * 18, 0.5, 3).data(), 6, 18));
  auto s = Session::create(l.model, o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("expected 4x27"), std::string::npos) << s.status().message();
}

Result<std::vector<Value>> run_op(const std::string& op, std::vector<Value> inputs,
                                  std::vector<Attribute> attrs, size_t outputs = 1,
                                  int64_t opset = 13) {
  GraphBuilder b(opset);
  std::vector<std::string> names, outs;
  for (size_t k = 0; k < inputs.size(); ++k) {
    names.push_back("x" + std::to_string(k));
    b.input(names.back(), inputs[k].dtype);
  }
  for (size_t k = 0; k < outputs; ++k) outs.push_back("y" + std::to_string(k));
  b.node(op, names, outs, std::move(attrs));
  for (const std::string& o : outs) b.output(o);
  DEEPCOMP_ASSIGN_OR_RETURN(Session s, Session::create(b.model()));
  return s.run(inputs);
}

TEST(CnnOps, TopKTiesKeepTheLowerIndexFirst) {
  // Row [3, 5, 5, 1, 5]: the three 5s tie; largest k=2 takes indices 1 and 2, smallest k=2
  // takes 1 (index 3) then 3 (index 0).
  const Value x = Value::floats({1, 5}, {3, 5, 5, 1, 5});
  auto big = run_op("TopK", {x, Value::ints({1}, {2})}, {}, 2);
  ASSERT_TRUE(big.ok()) << big.status().message();
  EXPECT_EQ((*big)[0].f, (std::vector<float>{5, 5}));
  EXPECT_EQ((*big)[1].i, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*big)[1].dtype, DType::kInt64);
  auto small = run_op("TopK", {x, Value::ints({1}, {2})}, {attr_i("largest", 0)}, 2);
  ASSERT_TRUE(small.ok()) << small.status().message();
  EXPECT_EQ((*small)[0].f, (std::vector<float>{1, 3}));
  EXPECT_EQ((*small)[1].i, (std::vector<int64_t>{3, 0}));
  // Integer input keeps its dtype.
  Value xi = Value::ints({4}, {7, -2, 9, 7});
  xi.dtype = DType::kInt32;
  auto ints = run_op("TopK", {xi, Value::ints({1}, {3})}, {}, 2);
  ASSERT_TRUE(ints.ok()) << ints.status().message();
  EXPECT_EQ((*ints)[0].dtype, DType::kInt32);
  EXPECT_EQ((*ints)[0].i, (std::vector<int64_t>{9, 7, 7}));
  EXPECT_EQ((*ints)[1].i, (std::vector<int64_t>{2, 0, 3}));
  auto too_many = run_op("TopK", {x, Value::ints({1}, {6})}, {}, 2);
  EXPECT_FALSE(too_many.ok());
}

TEST(CnnOps, ResizeKeepAspectRatioPolicy) {
  // 2x4 image to sizes [4, 4] on axes [0, 1]: not_larger takes scale min(2, 1) = 1 (2x4, the
  // input itself); not_smaller takes 2 (4x8, nearest doubles every pixel).
  const Value x = Value::floats({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  const Value sizes = Value::ints({2}, {4, 4});
  auto run_policy = [&](const std::string& policy) {
    GraphBuilder b(18);
    b.input("x").input("sizes", DType::kInt64);
    b.node("Resize", {"x", "", "", "sizes"}, {"y"},
           {attr_s("mode", "nearest"), attr_s("keep_aspect_ratio_policy", policy),
            attr_ints("axes", {0, 1}), attr_s("coordinate_transformation_mode", "asymmetric"),
            attr_s("nearest_mode", "floor")})
        .output("y");
    auto s = Session::create(b.model());
    EXPECT_TRUE(s.ok()) << s.status().message();
    auto out = s->run({x, sizes});
    EXPECT_TRUE(out.ok()) << out.status().message();
    return (*out)[0];
  };
  const Value smaller = run_policy("not_larger");
  EXPECT_EQ(smaller.shape, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(smaller.f, x.f);
  const Value larger = run_policy("not_smaller");
  EXPECT_EQ(larger.shape, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(larger.f[0], 1);
  EXPECT_EQ(larger.f[1], 1);
  EXPECT_EQ(larger.f[2], 2);
  EXPECT_EQ(larger.f[8 * 3 + 7], 8);
  const Value stretched = run_policy("stretch");
  EXPECT_EQ(stretched.shape, (std::vector<int64_t>{4, 4}));
}

TEST(CnnOps, NonMaxSuppressionScoreThresholdAndLimit) {
  // Three boxes: 0 and 1 overlap with IoU 90 / 100 = 0.9 (> 0.5), box 2 is apart. Scores 0.9, 0.8,
  // 0.3; a score threshold of 0.5 drops box 2; box 1 is suppressed by box 0.
  const Value boxes = Value::floats({1, 3, 4}, {0, 0, 10, 10, 0, 1, 10, 10, 20, 20, 30, 30});
  const Value scores = Value::floats({1, 1, 3}, {0.9f, 0.8f, 0.3f});
  auto out = run_op("NonMaxSuppression",
                    {boxes, scores, Value::ints({1}, {10}), Value::floats({1}, {0.5f}),
                     Value::floats({1}, {0.5f})},
                    {}, 1, 11);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ((*out)[0].i, (std::vector<int64_t>{0, 0, 0}));
  // Without the score threshold box 2 is kept too, after box 0.
  auto all = run_op("NonMaxSuppression",
                    {boxes, scores, Value::ints({1}, {10}), Value::floats({1}, {0.5f})}, {}, 1, 11);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ((*all)[0].i, (std::vector<int64_t>{0, 0, 0, 0, 0, 2}));
}

TEST(CnnOps, Float16InputsKeepTheirDtype) {
  // Conv, ConvTranspose, Resize and LayerNormalization on float16 tensors answer float16, rounded
  // to half precision by the Session (1 + 2^-11 is not a half: it rounds to 1).
  Value x = Value::floats({1, 1, 1, 2}, {1.0f, 2.0f});
  x.dtype = DType::kFloat16;
  Value w = Value::floats({1, 1, 1, 1}, {1.0f + 1.0f / 2048});
  w.dtype = DType::kFloat16;
  for (const char* op : {"Conv", "ConvTranspose"}) {
    auto out = run_op(op, {x, w}, {});
    ASSERT_TRUE(out.ok()) << op << ": " << out.status().message();
    EXPECT_EQ((*out)[0].dtype, DType::kFloat16) << op;
    EXPECT_EQ((*out)[0].f, (std::vector<float>{1.0f, 2.0f})) << op;
  }
  auto resized = run_op("Resize", {x, Value::floats({0}, {}), Value::floats({4}, {1, 1, 1, 2})},
                        {attr_s("mode", "nearest")});
  ASSERT_TRUE(resized.ok()) << resized.status().message();
  EXPECT_EQ((*resized)[0].dtype, DType::kFloat16);
  EXPECT_EQ((*resized)[0].f, (std::vector<float>{1, 1, 2, 2}));
  Value scale = Value::floats({2}, {1, 1});
  scale.dtype = DType::kFloat16;
  auto normed = run_op("LayerNormalization", {x, scale}, {}, 1, 17);
  ASSERT_TRUE(normed.ok()) << normed.status().message();
  EXPECT_EQ((*normed)[0].dtype, DType::kFloat16);
  // (x - 1.5) / sqrt(0.25 + 1e-5) = -/+ 0.99998, which rounds to 1 in half precision.
  EXPECT_EQ((*normed)[0].f, (std::vector<float>{-1, 1}));
}

TEST(CnnOps, BadInputsAreErrorsNotCrashes) {
  const Value x = Value::floats({1, 4, 2, 2}, std::vector<float>(16, 1.0f));
  EXPECT_FALSE(run_op("DepthToSpace", {Value::floats({1, 3, 2, 2}, std::vector<float>(12))},
                      {attr_i("blocksize", 2)})
                   .ok());
  EXPECT_FALSE(run_op("Tile", {x, Value::ints({2}, {1, 2})}, {}).ok());
  EXPECT_FALSE(run_op("MaxUnpool",
                      {Value::floats({1, 1, 1, 1}, {5}), Value::ints({1, 1, 1, 1}, {9})},
                      {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})})
                   .ok());
  EXPECT_FALSE(
      run_op("GridSample", {x, Value::floats({1, 2, 2, 3}, std::vector<float>(12))}, {}, 1, 16)
          .ok());
  EXPECT_FALSE(
      run_op("Resize", {x, Value::floats({0}, {}), Value::floats({4}, {1, 1, -2, 2})}, {}).ok());
  EXPECT_FALSE(
      run_op("ConvTranspose", {x, Value::floats({3, 1, 2, 2}, std::vector<float>(12))}, {}).ok());
}

}  // namespace
}  // namespace deepcomp::runtime
