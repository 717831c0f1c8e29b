// Einsum equations exporters emit, beyond ONNX's five backend cases; expected values are
// numpy.einsum outputs on the same inputs (integers, so every product is exact in float32).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_s;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using testing::single_op;

// ((k * 37) % 11) - 5 for k = 0, 1, ...: the inputs the numpy outputs below were computed on.
Value pattern(std::vector<int64_t> shape) {
  Value v = Value::floats(shape, {});
  for (int64_t k = 0; k < v.numel(); ++k) v.f.push_back(static_cast<float>((k * 37) % 11 - 5));
  return v;
}

Result<Value> einsum(const std::string& equation, std::vector<Value> inputs) {
  Model m = single_op("Einsum", inputs.size(), {attr_s("equation", equation)}, 12);
  DEEPCOMP_ASSIGN_OR_RETURN(Session session, Session::create(m));
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<Value> out, session.run(inputs));
  return out[0];
}

void expect_einsum(const std::string& equation, std::vector<std::vector<int64_t>> shapes,
                   std::vector<int64_t> want_shape, std::vector<float> want) {
  std::vector<Value> inputs;
  for (auto& s : shapes) inputs.push_back(pattern(s));
  auto y = einsum(equation, inputs);
  ASSERT_TRUE(y.ok()) << equation << ": " << y.status().message();
  EXPECT_EQ(y->shape, want_shape) << equation;
  EXPECT_THAT(y->f, ElementsAreArray(want)) << equation;
}

TEST(Einsum, AttentionScoresBhidBhjd) {
  expect_einsum("bhid,bhjd->bhij", {{1, 2, 3, 4}, {1, 2, 2, 4}}, {1, 2, 3, 2},
                {51, -17, -17, 26, 3, -19, -19, 26, 3, -17, -19, 28});
}

TEST(Einsum, DiagonalOfAMatrix) { expect_einsum("ii->i", {{3, 3}}, {3}, {-5, 0, 5}); }

TEST(Einsum, ImplicitOutputIsTheSortedLabelsUsedOnce) {
  expect_einsum("ij,jk", {{2, 3}, {3, 2}}, {2, 2}, {22, 21, 20, 20});
  // Uppercase sorts before lowercase (character codes), as in numpy: "ba,aB" -> "Bb".
  expect_einsum("ba,aB", {{2, 3}, {3, 4}}, {4, 2}, {40, 40, -5, -4, -6, -4, 4, -4});
}

TEST(Einsum, EllipsisBroadcastsBatchDimensions) {
  expect_einsum("...ij,...jk->...ik", {{2, 1, 2, 3}, {3, 3, 2}}, {2, 3, 2, 2},
                {22, 21, 20, 20,  16, -18, 20, -24, 21, -24, 20,  -24,
                 18, 19, 16, -26, 24, -30, 6,  19,  19, -24, -26, 9});
}

TEST(Einsum, FullSumToAScalar) { expect_einsum("ij->", {{2, 3}}, {}, {-3}); }

TEST(Einsum, ThreeOperandChain) {
  expect_einsum("ij,jk,kl->il", {{2, 3}, {3, 2}, {2, 2}}, {2, 2}, {-47, -106, -40, -100});
}

TEST(Einsum, IntegerMatrixVectorKeepsTheDtype) {
  auto y = einsum("ij,j->i",
                  {Value::ints({2, 3}, {-5, -1, 3, -4, 0, 4}), Value::ints({3}, {-5, -1, 3})});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(y->dtype, DType::kInt64);
  EXPECT_THAT(y->i, ElementsAre(35, 32));
}

TEST(Einsum, MismatchedLabelSizesAreAnError) {
  auto y = einsum("ij,jk->ik", {pattern({2, 3}), pattern({2, 2})});
  ASSERT_FALSE(y.ok());
  EXPECT_THAT(y.status().message(), HasSubstr("label sizes disagree"));
}

TEST(Einsum, MalformedEquationFailsAtSessionCreation) {
  Model m = single_op("Einsum", 2, {attr_s("equation", "ij,jk->iz")}, 12);
  auto s = Session::create(m);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("output label is not in any input term"));
}

// Two float operands run as packed batched matmuls, integers (and three operands) by the loop
// evaluation; on integer-valued inputs both must agree exactly.
TEST(Einsum, MatmulPathAgreesWithTheLoopEvaluation) {
  const std::vector<std::pair<std::string, std::vector<std::vector<int64_t>>>> cases = {
      {"bhid,bhjd->bhij", {{2, 3, 4, 5}, {2, 3, 6, 5}}},
      {"ij,jk->ik", {{7, 5}, {5, 3}}},
      {"ii,ij->j", {{4, 4}, {4, 3}}},
      {"...ij,...jk->...ik", {{2, 1, 3, 4}, {5, 4, 2}}},
      {"ij,kl->", {{2, 3}, {4, 2}}},
      {"i,j->ij", {{3}, {4}}},
      {"bij,bjk->bki", {{3, 2, 5}, {3, 5, 4}}},
      {"ijk,ikj->i", {{2, 3, 4}, {2, 4, 3}}},
      {"abc,cd", {{2, 3, 4}, {4, 5}}},
  };
  for (const auto& [eq, shapes] : cases) {
    std::vector<Value> as_float, as_int;
    for (const auto& s : shapes) {
      as_float.push_back(pattern(s));
      Value v = Value::ints(s, {});
      for (float f : as_float.back().f) v.i.push_back(static_cast<int64_t>(f));
      as_int.push_back(v);
    }
    auto f = einsum(eq, as_float);
    auto i = einsum(eq, as_int);
    ASSERT_TRUE(f.ok() && i.ok()) << eq;
    ASSERT_EQ(f->shape, i->shape) << eq;
    std::vector<float> want(i->i.begin(), i->i.end());
    EXPECT_THAT(f->f, ElementsAreArray(want)) << eq;
  }
}

}  // namespace
}  // namespace deepcomp::runtime
