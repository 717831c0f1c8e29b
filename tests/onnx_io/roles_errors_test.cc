// Tensor roles on a hand-built graph using every rule, and the loader's errors on malformed
// tensors (each message naming the tensor and the problem).
#include <gtest/gtest.h>

#include <chrono>

#include "tests/onnx_io/fixture_util.h"
#include "tests/test_util.h"

namespace deepcomp::onnx_io {
namespace {
using namespace testing;

TensorRole role_of(const Model& m, const std::string& name) {
  const Tensor* t = m.find_tensor(name);
  EXPECT_NE(t, nullptr) << name;
  return t ? t->role : TensorRole::kOther;
}

TEST(OnnxRoles, EachOperatorGivesItsInputsTheirRoles) {
  auto m = make_model();
  auto* g = m.mutable_graph();
  auto init = [g](const std::string& name, std::vector<int64_t> dims) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    *g->add_initializer() = float_tensor(name, dims, std::vector<float>(n, 0.5f));
  };
  init("conv_w", {4, 1, 3, 3});
  init("conv_b", {4});
  add_node(g, "Conv", {"x", "conv_w", "conv_b"}, {"c"});
  init("gemm_w", {10, 5});
  init("gemm_b", {5});
  add_node(g, "Gemm", {"f", "gemm_w", "gemm_b"}, {"g1"});
  init("gemm_a", {5, 10});  // constant on the A side, B not constant
  add_node(g, "Gemm", {"gemm_a", "f2"}, {"g2"});
  init("mm_right", {5, 3});
  add_node(g, "MatMul", {"g1", "mm_right"}, {"m1"});
  init("mm_left", {3, 5});
  add_node(g, "MatMul", {"mm_left", "g2"}, {"m2"});
  init("mm_both_a", {2, 2});
  init("mm_both_b", {2, 2});
  add_node(g, "MatMul", {"mm_both_a", "mm_both_b"}, {"m3"});
  init("add_b", {3});
  add_node(g, "Add", {"m1", "add_b"}, {"m1b"});
  init("add_not_bias", {3});
  add_node(g, "Add", {"m1b", "add_not_bias"}, {"m1c"});  // added to an Add, not a layer
  init("emb", {100, 8});
  auto* idx = g->add_initializer();
  idx->set_name("shape");
  idx->set_data_type(onnx::TensorProto::INT64);
  idx->add_dims(2);
  idx->add_int64_data(1);
  idx->add_int64_data(-1);
  add_node(g, "Gather", {"emb", "ids"}, {"e"});
  add_node(g, "Reshape", {"e", "shape"}, {"r"});
  init("via_identity", {5, 2});
  add_node(g, "Identity", {"via_identity"}, {"vi"});
  add_node(g, "MatMul", {"m2", "vi"}, {"m4"});

  auto model = parse_model(serialize(m), "roles", "");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(role_of(*model, "conv_w"), TensorRole::kConvWeight);
  EXPECT_EQ(role_of(*model, "conv_b"), TensorRole::kBias);
  EXPECT_EQ(role_of(*model, "gemm_w"), TensorRole::kFcWeight);
  EXPECT_EQ(role_of(*model, "gemm_b"), TensorRole::kBias);
  EXPECT_EQ(role_of(*model, "gemm_a"), TensorRole::kFcWeight);
  EXPECT_EQ(role_of(*model, "mm_right"), TensorRole::kFcWeight);
  EXPECT_EQ(role_of(*model, "mm_left"), TensorRole::kFcWeight);
  EXPECT_EQ(role_of(*model, "mm_both_a"), TensorRole::kOther);
  EXPECT_EQ(role_of(*model, "mm_both_b"), TensorRole::kOther);
  EXPECT_EQ(role_of(*model, "add_b"), TensorRole::kBias);
  EXPECT_EQ(role_of(*model, "add_not_bias"), TensorRole::kOther);
  EXPECT_EQ(role_of(*model, "emb"), TensorRole::kEmbedding);
  EXPECT_EQ(role_of(*model, "shape"), TensorRole::kOther);
  EXPECT_EQ(role_of(*model, "via_identity"), TensorRole::kFcWeight);
}

TEST(OnnxRoles, SharedModelsHaveWeightsAndBiases) {
  // mnist-net_256x2 is MatMul/Add layers (pytorch export of Linear with transposed weights or
  // Gemm): whichever form, every 2-D tensor is an fc weight and every 1-D one a bias.
  DEEPCOMP_REQUIRE_SHARED();
  auto model = load_model(deepcomp::testing::shared_dir() + "/models/mnist-net_256x2.onnx");
  ASSERT_TRUE(model.ok()) << model.status().message();
  int fc = 0;
  for (const Tensor& t : model->tensors) {
    if (t.shape.size() == 2) {
      EXPECT_EQ(t.role, TensorRole::kFcWeight) << t.name;
      ++fc;
    }
    if (t.shape.size() == 1 && t.shape[0] > 1) {
      EXPECT_EQ(t.role, TensorRole::kBias) << t.name;
    }
  }
  EXPECT_EQ(fc, 3);
}

std::string load_error(const onnx::ModelProto& m) {
  auto r = parse_model(serialize(m), "bad.onnx", "");
  return r.ok() ? "" : r.status().message();
}

TEST(OnnxLoadErrors, DataLengthNotMatchingShapeNamesTensorAndSizes) {
  auto m = make_model();
  *m.mutable_graph()->add_initializer() =
      float_tensor("fc1.weight", {300, 784}, std::vector<float>(300, 1.0f));
  EXPECT_EQ(load_error(m),
            "bad.onnx: tensor 'fc1.weight': data is 1200 bytes, shape [300,784] float32 needs "
            "940800");
}

TEST(OnnxLoadErrors, TypedFieldCountNotMatchingShape) {
  auto m = make_model();
  *m.mutable_graph()->add_initializer() = float_tensor("w", {2, 2}, {1, 2, 3}, false);
  EXPECT_EQ(load_error(m),
            "bad.onnx: tensor 'w': data is 3 values in float_data, shape [2,2] float32 needs 4");
}

TEST(OnnxLoadErrors, UnknownDTypeCodeNamesTensor) {
  auto m = make_model();
  auto t = float_tensor("odd", {1}, {1.0f});
  t.set_data_type(99);
  *m.mutable_graph()->add_initializer() = t;
  EXPECT_EQ(load_error(m), "bad.onnx: tensor 'odd': unknown data type code 99");
}

TEST(OnnxLoadErrors, HugeDeclaredShapeWithTinyDataFailsFast) {
  auto m = make_model();
  auto t = float_tensor("huge", {1000000, 1000000}, {1.0f});
  *m.mutable_graph()->add_initializer() = t;
  auto start = std::chrono::steady_clock::now();
  const std::string err = load_error(m);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_NE(err.find("tensor 'huge': data is 4 bytes"), std::string::npos) << err;
  // Failing fast means not allocating 4 TB first; a generous bound that only an allocation or a
  // per-element loop could exceed.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count(), 2);

  auto m2 = make_model();
  auto t2 = float_tensor("overflow", {int64_t{1} << 40, int64_t{1} << 40}, {1.0f});
  *m2.mutable_graph()->add_initializer() = t2;
  EXPECT_NE(load_error(m2).find("tensor 'overflow': element count of shape overflows"),
            std::string::npos);
  auto m3 = make_model();
  *m3.mutable_graph()->add_initializer() = float_tensor("neg", {-1}, {});
  EXPECT_NE(load_error(m3).find("tensor 'neg': negative dimension -1"), std::string::npos);
}

TEST(OnnxLoadErrors, DuplicateTensorNamesAreRefused) {
  auto m = make_model();
  *m.mutable_graph()->add_initializer() = float_tensor("w", {1}, {1.0f});
  auto* c = add_node(m.mutable_graph(), "Constant", {}, {"w"});
  auto* a = c->add_attribute();
  a->set_name("value_float");
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(2.0f);
  EXPECT_EQ(load_error(m), "bad.onnx: duplicate tensor name 'w'");
}

TEST(OnnxLoadErrors, NotAModel) {
  auto empty = parse_model("", "e.onnx", "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "e.onnx: not a valid ONNX model (empty file)");
  auto junk = parse_model(std::string("\xff\xfe\xfd\xfc", 4), "j.onnx", "");
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.status().message(), "j.onnx: not a valid ONNX model (protobuf parse failed)");
}

}  // namespace
}  // namespace deepcomp::onnx_io
