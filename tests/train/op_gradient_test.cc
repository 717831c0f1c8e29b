// Every training op's backward pass against central finite differences of L = sum(out .* R) for a
// random R, on small random cases, in every input that has a gradient.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "train/ops.h"

namespace deepcomp::train {
namespace {

Attribute ints_attr(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::kInts;
  a.ints = std::move(v);
  return a;
}
Attribute int_attr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::kInt;
  a.i = v;
  return a;
}
Attribute float_attr(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::kFloat;
  a.f = v;
  return a;
}

Blob random_blob(std::vector<int64_t> shape, std::mt19937_64& rng, bool away_from_zero = false) {
  Blob b;
  b.reset(std::move(shape));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& v : b.v) {
    v = u(rng);
    if (away_from_zero && std::fabs(v) < 0.1f) v += v < 0 ? -0.1f : 0.1f;
  }
  return b;
}

// Distinct values at least 0.05 apart (a shuffled grid), so that no window maximum changes within
// the finite-difference step.
Blob spread_blob(std::vector<int64_t> shape, std::mt19937_64& rng) {
  Blob b;
  b.reset(std::move(shape));
  for (size_t k = 0; k < b.v.size(); ++k) b.v[k] = 0.05f * static_cast<float>(k);
  for (size_t k = b.v.size(); k > 1; --k) std::swap(b.v[k - 1], b.v[rng() % k]);
  return b;
}

Tensor int_tensor(const std::string& name, const std::vector<int64_t>& values) {
  Tensor t;
  t.name = name;
  t.dtype = DType::kInt64;
  t.shape = {static_cast<int64_t>(values.size())};
  t.raw.resize(values.size() * 8);
  std::memcpy(t.raw.data(), values.data(), t.raw.size());
  return t;
}

double weighted_sum(const Op& op, const std::vector<const Blob*>& in, const Blob& r) {
  Blob out;
  EXPECT_TRUE(op.forward(in, &out).ok());
  double s = 0;
  for (size_t k = 0; k < out.v.size(); ++k) s += static_cast<double>(out.v[k]) * r.v[k];
  return s;
}

// Checks op's gradient in every differentiable input against central differences.
void check_op(const Node& node, std::vector<Blob> inputs, const std::vector<ConstInput>& consts = {}) {
  std::vector<ConstInput> c = consts;
  c.resize(node.inputs.size());
  auto op = make_op(node, c);
  ASSERT_TRUE(op.ok()) << op.status().message();
  std::vector<const Blob*> in;
  for (const Blob& b : inputs) in.push_back(&b);
  Blob out;
  ASSERT_TRUE((*op)->forward(in, &out).ok());
  std::mt19937_64 rng(7);
  Blob r = random_blob(out.shape, rng);
  std::vector<Blob> grads(inputs.size());
  std::vector<Blob*> din;
  for (size_t k = 0; k < inputs.size(); ++k) {
    grads[k].reset(inputs[k].shape);
    din.push_back((*op)->differentiable_input(k) && c[k].tensor == nullptr ? &grads[k] : nullptr);
  }
  ASSERT_TRUE((*op)->backward(in, out, r, din).ok());
  int checked = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (din[k] == nullptr) continue;
    for (size_t e = 0; e < inputs[k].v.size(); ++e) {
      const float saved = inputs[k].v[e];
      const float h = 1e-2f;
      inputs[k].v[e] = saved + h;
      const double up = weighted_sum(**op, in, r);
      inputs[k].v[e] = saved - h;
      const double down = weighted_sum(**op, in, r);
      inputs[k].v[e] = saved;
      const double fd = (up - down) / (2.0 * h);
      const double g = grads[k].v[e];
      EXPECT_NEAR(g, fd, 1e-3 * std::max(1.0, std::fabs(fd)))
          << node.op_type << " input " << k << " element " << e;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

Node make_node(const std::string& op, size_t inputs, std::vector<Attribute> attrs = {}) {
  Node n;
  n.name = "n_" + op;
  n.op_type = op;
  for (size_t k = 0; k < inputs; ++k) n.inputs.push_back("in" + std::to_string(k));
  n.outputs = {"out"};
  n.attributes = std::move(attrs);
  return n;
}

TEST(OpGradient, GemmEveryTransposeWithAlphaBetaAndBroadcastBias) {
  std::mt19937_64 rng(1);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (std::vector<int64_t> cshape : {std::vector<int64_t>{4}, {3, 4}, {1, 4}, {3, 1}}) {
        Node n = make_node("Gemm", 3, {int_attr("transA", ta), int_attr("transB", tb),
                                        float_attr("alpha", 0.7f), float_attr("beta", 1.3f)});
        check_op(n, {random_blob(ta ? std::vector<int64_t>{5, 3} : std::vector<int64_t>{3, 5}, rng),
                     random_blob(tb ? std::vector<int64_t>{4, 5} : std::vector<int64_t>{5, 4}, rng),
                     random_blob(cshape, rng)});
      }
}

TEST(OpGradient, MatMulBatchedLeftOperand) {
  std::mt19937_64 rng(2);
  check_op(make_node("MatMul", 2), {random_blob({2, 3, 4}, rng), random_blob({4, 5}, rng)});
  check_op(make_node("MatMul", 2), {random_blob({3, 4}, rng), random_blob({4, 2}, rng)});
}

TEST(OpGradient, ConvStridePadDilationGroupsAndBias) {
  std::mt19937_64 rng(3);
  check_op(make_node("Conv", 3, {ints_attr("strides", {2, 1}), ints_attr("pads", {1, 0, 2, 1}),
                                 ints_attr("dilations", {1, 2}), int_attr("group", 2)}),
           {random_blob({2, 4, 7, 6}, rng), random_blob({6, 2, 3, 2}, rng), random_blob({6}, rng)});
  check_op(make_node("Conv", 2), {random_blob({1, 2, 5, 5}, rng), random_blob({3, 2, 3, 3}, rng)});
  check_op(make_node("Conv", 2, {ints_attr("kernel_shape", {3, 3})}),
           {random_blob({1, 1, 6, 6}, rng), random_blob({2, 1, 3, 3}, rng)});
}

TEST(OpGradient, MaxPoolRoutesToTheWindowMaximum) {
  std::mt19937_64 rng(4);
  check_op(make_node("MaxPool", 1, {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})}),
           {spread_blob({2, 3, 6, 6}, rng)});
  check_op(make_node("MaxPool", 1, {ints_attr("kernel_shape", {3, 3}), ints_attr("strides", {2, 2}),
                                    ints_attr("pads", {1, 1, 1, 1}), int_attr("ceil_mode", 1)}),
           {spread_blob({1, 2, 6, 7}, rng)});
}

TEST(OpGradient, AveragePoolWithAndWithoutPaddingInTheCount) {
  std::mt19937_64 rng(5);
  for (int count_pad = 0; count_pad < 2; ++count_pad)
    check_op(make_node("AveragePool", 1, {ints_attr("kernel_shape", {3, 2}), ints_attr("strides", {2, 2}),
                                          ints_attr("pads", {1, 0, 1, 1}),
                                          int_attr("count_include_pad", count_pad)}),
             {random_blob({2, 2, 5, 6}, rng)});
}

TEST(OpGradient, AddSubBroadcastReduceIntoBothInputs) {
  std::mt19937_64 rng(6);
  check_op(make_node("Add", 2), {random_blob({2, 3, 4}, rng), random_blob({3, 1}, rng)});
  check_op(make_node("Sub", 2), {random_blob({1, 4}, rng), random_blob({3, 1}, rng)});
}

TEST(OpGradient, DivByConstantOnlyIntoTheDividend) {
  std::mt19937_64 rng(7);
  Blob divisor = random_blob({3}, rng, true);
  Tensor t;
  t.name = "in1";
  t.shape = {3};
  t.values = divisor.v;
  check_op(make_node("Div", 2), {random_blob({2, 3}, rng), divisor}, {ConstInput{}, ConstInput{&t}});
  std::vector<ConstInput> none(2);
  EXPECT_FALSE(make_op(make_node("Div", 2), none).ok());
}

TEST(OpGradient, ReluAwayFromTheKink) {
  std::mt19937_64 rng(8);
  check_op(make_node("Relu", 1), {random_blob({3, 7}, rng, true)});
}

TEST(OpGradient, ShapeOpsPassTheGradientThrough) {
  std::mt19937_64 rng(9);
  check_op(make_node("Flatten", 1, {int_attr("axis", 2)}), {random_blob({2, 3, 4}, rng)});
  check_op(make_node("Identity", 1), {random_blob({5}, rng)});
  check_op(make_node("Dropout", 1), {random_blob({2, 5}, rng)});
  Tensor shape = int_tensor("in1", {0, -1});
  check_op(make_node("Reshape", 2), {random_blob({2, 3, 2}, rng), Blob{{2}, {0, 0}}},
           {ConstInput{}, ConstInput{&shape}});
  Tensor pads = int_tensor("in1", {0, 1, 2, 0, 2, 1});
  check_op(make_node("Pad", 2), {random_blob({2, 3, 2}, rng), Blob{{6}, {0, 0, 0, 0, 0, 0}}},
           {ConstInput{}, ConstInput{&pads}});
}

TEST(OpGradient, UnsupportedOpIsRejectedWithTheSupportedList) {
  auto op = make_op(make_node("Softmax", 1), std::vector<ConstInput>(1));
  ASSERT_FALSE(op.ok());
  EXPECT_NE(op.status().message().find("no backward pass"), std::string::npos);
}

}  // namespace
}  // namespace deepcomp::train
