// The optimizers against torch.optim (values printed by PyTorch 1.13 for the same weights and
// gradients), the learning-rate schedules against their formulas at hand-picked steps, masking,
// and epoch_order against an independent mt19937_64 (bench/train_vs_torch.py's Python one).
#include "train/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "train/retrain.h"

namespace deepcomp::train {
namespace {

const std::vector<std::vector<float>> kGrads = {
    {0.5f, 0.25f, -1.0f}, {-0.25f, 0.75f, 2.0f}, {0.1f, -0.3f, 0.0f}};

std::vector<std::vector<float>> run_three_steps(OptimizerKind kind) {
  OptimizerOptions o;
  o.kind = kind;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.weight_decay = 0.01;
  Optimizer opt(o, {3});
  std::vector<float> w = {1.0f, -2.0f, 0.5f};
  std::vector<std::vector<float>> out;
  for (const auto& g : kGrads) {
    opt.begin_step();
    opt.update(0, w, g, o.lr, nullptr);
    out.push_back(w);
  }
  return out;
}

void expect_near_all(const std::vector<std::vector<float>>& got,
                     const std::vector<std::vector<double>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t s = 0; s < want.size(); ++s)
    for (size_t k = 0; k < want[s].size(); ++k)
      EXPECT_NEAR(got[s][k], want[s][k], 1e-6) << "step " << s + 1 << " element " << k;
}

// torch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01), w = [1, -2, 0.5].
TEST(Optimizer, SgdMatchesTorch) {
  expect_near_all(run_three_steps(OptimizerKind::kSgd),
                  {{0.9490000009536743, -2.0230000019073486, 0.5995000004768372},
                   {0.9271510243415833, -2.1166770458221436, 0.4884504973888397},
                   {0.8965597748756409, -2.168869733810425, 0.3880175054073334}});
}

// torch.optim.Adam([w], lr=0.1, weight_decay=0.01) (betas 0.9, 0.999, eps 1e-8).
TEST(Optimizer, AdamMatchesTorch) {
  expect_near_all(run_three_steps(OptimizerKind::kAdam),
                  {{0.9000000357627869, -2.0999999046325684, 0.6000000238418579},
                   {0.8712294101715088, -2.191120147705078, 0.5630921125411987},
                   {0.8372924327850342, -2.2312254905700684, 0.534401535987854}});
}

TEST(Optimizer, MaskedWeightsStayZeroAndKeepNoState) {
  for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    OptimizerOptions o;
    o.kind = kind;
    Optimizer opt(o, {2});
    std::vector<float> w = {0.0f, 1.0f};
    const std::vector<uint8_t> mask = {0, 1};
    opt.begin_step();
    opt.update(0, w, {5.0f, 1.0f}, 0.1, &mask);
    EXPECT_EQ(w[0], 0.0f);
    EXPECT_LT(w[1], 1.0f);
    // Unmasked now: had the pruned entry kept momentum from the first step, it would move by more
    // than one plain step's worth.
    Optimizer fresh(o, {2});
    std::vector<float> w_fresh = {0.0f, 0.0f};
    fresh.begin_step();
    fresh.update(0, w_fresh, {1.0f, 0.0f}, 0.1, nullptr);
    opt.begin_step();
    opt.update(0, w, {1.0f, 0.0f}, 0.1, nullptr);
    if (kind == OptimizerKind::kSgd)
      EXPECT_FLOAT_EQ(w[0], w_fresh[0]);
    else
      EXPECT_NEAR(w[0], -0.1 / (1 - 0.9 * 0.9) * 0.1 / std::sqrt(0.001 / (1 - 0.999 * 0.999)),
                  1e-6);
  }
}

TEST(LrSchedule, ConstantCosineAndStepAtKnownPoints) {
  OptimizerOptions o;
  o.lr = 0.2;
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 7, 10), 0.2);
  o.schedule = LrSchedule::kCosine;
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 0, 10), 0.2);
  EXPECT_NEAR(scheduled_lr(o, 5, 10), 0.1, 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 10, 10), 0.0, 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 2, 12), 0.1 * (1 + std::sqrt(3.0) / 2), 1e-15);  // cos(pi/6)
  o.schedule = LrSchedule::kStep;
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 4, 10), 0.2);
  EXPECT_NEAR(scheduled_lr(o, 5, 10), 0.02, 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 7, 10), 0.02, 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 8, 10), 0.002, 1e-15);
}

TEST(OptimizerOptions, ParsingAndValidationNameTheOption) {
  EXPECT_FALSE(parse_optimizer("rmsprop").ok());
  EXPECT_NE(parse_optimizer("rmsprop").status().message().find("--optimizer"), std::string::npos);
  EXPECT_FALSE(parse_lr_schedule("linear").ok());
  EXPECT_EQ(*parse_lr_schedule("cosine"), LrSchedule::kCosine);
  OptimizerOptions o;
  o.lr = 0;
  EXPECT_NE(validate_optimizer(o).message().find("--lr"), std::string::npos);
  o.lr = 0.1;
  o.momentum = 1.0;
  EXPECT_NE(validate_optimizer(o).message().find("--momentum"), std::string::npos);
  o.momentum = 0.9;
  o.batch = 0;
  EXPECT_NE(validate_optimizer(o).message().find("--batch"), std::string::npos);
}

// Values from bench/train_vs_torch.py's MT19937_64 (checked there against the C++ standard's
// 10000th output of the default-seeded engine).
TEST(EpochOrder, MatchesTheDocumentedFisherYates) {
  EXPECT_EQ(epoch_order(10, 0, 0), (std::vector<int64_t>{7, 2, 0, 8, 3, 9, 6, 1, 5, 4}));
}

}  // namespace
}  // namespace deepcomp::train
