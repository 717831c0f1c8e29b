// Loss operators against torch.nn.functional.cross_entropy / nll_loss (PyTorch 1.13) on the
// same inputs, plus the error for a class index out of range.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_i;
using testing::attr_s;
using ::testing::HasSubstr;
using testing::single_op;

const Value kScores = Value::floats({4, 3}, {1, 2, 0.5f, 0.1f, -1, 3, 2, 2, 2, 0, 1, -2});
const Value kTarget = Value::ints({4}, {0, 2, 1, 2});
const Value kWeight = Value::floats({3}, {0.5f, 2, 1.5f});

Result<Value> run(const Model& m, std::vector<Value> inputs) {
  DEEPCOMP_ASSIGN_OR_RETURN(Session session, Session::create(m));
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<Value> out, session.run(inputs));
  return out[0];
}

TEST(LossOps, SoftmaxCrossEntropyWeightedSumMatchesTorch) {
  auto y = run(single_op("SoftmaxCrossEntropyLoss", 3, {attr_s("reduction", "sum")}),
               {kScores, kTarget, kWeight});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_TRUE(y->shape.empty());
  EXPECT_NEAR(y->f[0], 8.059088706970215, 1e-5);
}

TEST(LossOps, SoftmaxCrossEntropyWeightedMeanSkipsTheIgnoredClass) {
  auto y = run(single_op("SoftmaxCrossEntropyLoss", 3, {attr_i("ignore_index", 2)}),
               {kScores, kTarget, kWeight});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_NEAR(y->f[0], 1.1717636585235596, 1e-5);
}

TEST(LossOps, NegativeLogLikelihoodMeanWithIgnoreIndexMatchesTorch) {
  auto y = run(single_op("NegativeLogLikelihoodLoss", 2, {attr_i("ignore_index", 2)}),
               {kScores, kTarget});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_NEAR(y->f[0], -1.5, 1e-6);
}

TEST(LossOps, ClassIndexOutOfRangeNamesTheTarget) {
  auto y =
      run(single_op("NegativeLogLikelihoodLoss", 2), {kScores, Value::ints({4}, {0, 3, 1, 2})});
  ASSERT_FALSE(y.ok());
  EXPECT_THAT(y.status().message(), HasSubstr("target: class 3 is out of range [0, 3)"));
}

}  // namespace
}  // namespace deepcomp::runtime
