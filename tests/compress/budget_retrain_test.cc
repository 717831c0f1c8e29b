// The budget-driven retraining schedule (compress/budget_retrain.h) against a fake tuner and
// scorers whose answers are known in closed form, so every decision of the schedule (which steps
// pass, where it stops, which share setting it backs off to) is worked out by hand below.
#include "compress/budget_retrain.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

namespace deepcomp::compress {
namespace {

// Two fc layers: "big" (1024 weights, so every keep fraction below is a whole count) and "small"
// (8), distinct magnitudes.
Model two_layers() {
  Model m;
  std::mt19937_64 rng(7);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (auto [name, n] : {std::pair<std::string, int64_t>{"big", 1024}, {"small", 8}}) {
    Tensor t;
    t.name = name;
    t.shape = {n};
    t.role = TensorRole::kFcWeight;
    t.values.resize(static_cast<size_t>(n));
    for (float& v : t.values) v = d(rng);
    m.tensors.push_back(t);
  }
  return m;
}

double kept_fraction(const Tensor& t) {
  int64_t kept = 0;
  for (float v : t.values) kept += v != 0.0f;
  return static_cast<double>(kept) / static_cast<double>(t.values.size());
}

size_t distinct_nonzero(const Tensor& t) {
  std::set<float> s;
  for (float v : t.values)
    if (v != 0.0f) s.insert(v);
  return s.size();
}

// Passes (1.0) while "big" keeps at least `min_keep` of its weights and has more than
// `max_levels_failing` distinct values when it is shared; 0.5 otherwise.
class RuleScorer : public Scorer {
 public:
  RuleScorer(double min_keep, size_t max_levels_failing)
      : min_keep_(min_keep), max_levels_(max_levels_failing) {}
  int64_t samples() const override { return 100; }
  Result<double> score(const Model& m, int64_t) override {
    ++calls;
    const Tensor& big = m.tensors[0];
    if (kept_fraction(big) < min_keep_) return 0.5;
    if (distinct_nonzero(big) <= max_levels_) return 0.5;
    return 1.0;
  }
  int calls = 0;

 private:
  double min_keep_;
  size_t max_levels_;
};

// Records what it is asked to do; advances a fake clock by 10 s per pruning step; tries to revive
// pruned weights (the schedule must undo that).
class FakeTuner : public FineTuner {
 public:
  Status after_prune(Model& model, const std::vector<std::vector<uint8_t>>& masks) override {
    ++prune_calls;
    clock += 10;
    EXPECT_EQ(masks.size(), model.tensors.size());
    for (Tensor& t : model.tensors)
      for (float& v : t.values)
        if (v == 0.0f) v = 1e-3f;
    return Status::Ok();
  }
  Status after_share(Model&, std::vector<SharedLayer>& layers) override {
    ++share_calls;
    for (const SharedLayer& l : layers) EXPECT_FALSE(l.codebook.empty());
    return Status::Ok();
  }
  int prune_calls = 0, share_calls = 0;
  double clock = 0;
};

RetrainBudgetOptions base_options(FakeTuner* tuner) {
  RetrainBudgetOptions o;
  o.min_score = 0.9;
  o.start = {{"big", 0.25, 4}, {"small", 0.0, 4}};
  o.tighten = 0.75;
  o.size_exponent = 1.0 / 3.0;
  o.sensitivity.bits = {8, 6, 5, 4, 3, 2};
  o.clock = [tuner] { return tuner->clock; };
  return o;
}

TEST(ScheduleKeep, GeometricWithLayerSizeExponent) {
  RetrainBudgetOptions o;
  o.tighten = 0.75;
  o.size_exponent = 1.0 / 3.0;
  o.min_keep = 0.01;
  // w = (8/1000)^(1/3) = 0.2 for the small layer, 1 for the big one.
  const std::vector<double> k = schedule_keep({0.8, 1.0}, {1000, 8}, 3, o);
  EXPECT_NEAR(k[0], 0.8 * 0.421875, 1e-12);  // 0.75^3
  EXPECT_NEAR(k[1], std::pow(0.75, 0.6), 1e-12);
  // Clamped at min_keep, and never above the start.
  const std::vector<double> deep = schedule_keep({0.8, 0.005}, {1000, 8}, 40, o);
  EXPECT_DOUBLE_EQ(deep[0], 0.01);
  EXPECT_DOUBLE_EQ(deep[1], 0.005);
}

TEST(StartShape, RatesWithinTheEdgeAndWidthsWithinHalfOfIt) {
  Sensitivity s;
  LayerSensitivity l;
  l.tensor = "a";
  for (auto [rate, loss] : {std::pair{0.2, 0.001}, {0.5, 0.004}, {0.7, 0.02}, {0.9, 0.003}})
    l.prune.push_back({rate, 0, 0, loss, 100, 0});
  for (auto [bits, loss] : {std::pair{8, 0.0}, {5, 0.002}, {4, 0.003}, {3, 0.001}})
    l.share.push_back({0, bits, 0, loss, 100, 0});
  s.layers = {l};
  const std::vector<LayerChoice> c = start_shape(s, 0.005);
  ASSERT_EQ(c.size(), 1u);
  // 0.9 scores within the edge but comes after 0.7, which does not: the prefix ends at 0.5.
  EXPECT_DOUBLE_EQ(c[0].prune, 0.5);
  // Half the edge is 0.0025: 5 bits is the narrowest of the prefix (4 bits loses 0.003).
  EXPECT_EQ(c[0].bits, 5);
}

// big keeps 0.75^(k+1) of 1024: 768, 576, 432, 324, 243. With a floor of 0.3 (307 weights) steps
// 0-3 pass and step 4 leaves the budget; the share phase starts from step 3 at 4 bits (16
// levels) and passes; then big alone goes to 3 and 2 bits (both pass: the two narrowing tries).
TEST(RetrainBudget, StopsAtTheBudgetAndBacksOffToTheLastPassingStep) {
  Model m = two_layers();
  FakeTuner tuner;
  RuleScorer scorer(0.3, 0);
  auto r = retrain_budget(m, CompressOptions{}, tuner, scorer, base_options(&tuner));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->met);
  EXPECT_EQ(r->stopped, "budget");
  ASSERT_EQ(r->steps.size(), 8u);  // start, 4 tightening steps, 3 shares
  for (int k = 0; k < 5; ++k) {
    EXPECT_EQ(r->steps[static_cast<size_t>(k)].phase, k == 0 ? "start" : "tighten");
    EXPECT_EQ(r->steps[static_cast<size_t>(k)].passed, k < 4) << k;
  }
  EXPECT_EQ(tuner.prune_calls, 5);
  EXPECT_EQ(tuner.share_calls, 3);
  // Step 3: big keeps 324 of 1024; small (w = (8/1024)^(1/3) = 0.198) keeps 0.75^0.595 = 0.843:
  // round(0.157 * 8) = 1 zero.
  for (size_t k = 5; k < 8; ++k) {
    EXPECT_EQ(r->steps[k].phase, "share");
    EXPECT_EQ(r->steps[k].step, 3);
    EXPECT_TRUE(r->steps[k].passed);
    EXPECT_EQ(r->steps[k].layers[0].bits, std::vector<int>({4, 3, 2})[k - 5]);
    EXPECT_EQ(r->steps[k].layers[1].bits, 4);
  }
  const ScheduleStep& share = r->steps.back();
  EXPECT_DOUBLE_EQ(r->layers[0].prune, 700.0 / 1024);
  EXPECT_DOUBLE_EQ(r->layers[1].prune, 0.125);
  EXPECT_EQ(r->layers[0].bits, 2);
  EXPECT_EQ(r->layers[1].bits, 4);
  // The written container is that setting: decoded, big keeps 324 weights in 4 levels at most,
  // and the revived weights were pruned again.
  auto big = decode_tensor(r->output.container.tensors[0]);
  ASSERT_TRUE(big.ok());
  EXPECT_DOUBLE_EQ(kept_fraction(*big), 324.0 / 1024);
  EXPECT_LE(distinct_nonzero(*big), 4u);
  EXPECT_GT(r->ratio, 1.0);
  EXPECT_DOUBLE_EQ(r->ratio, share.ratio);
}

// Sharing "big" into 4 levels or fewer fails: 2 bits fails at step 3, then one width wider
// (3 bits, 8 levels) passes there. Narrowing: big to 2 bits misses (big is ruled out), then
// small to 2 bits passes (the scorer does not look at it).
TEST(RetrainBudget, WidensTheShareWidthWhenSharingLeavesTheBudget) {
  Model m = two_layers();
  FakeTuner tuner;
  RuleScorer scorer(0.3, 4);
  RetrainBudgetOptions o = base_options(&tuner);
  o.start = {{"big", 0.25, 2}, {"small", 0.0, 2}};
  auto r = retrain_budget(m, CompressOptions{}, tuner, scorer, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->met);
  ASSERT_EQ(r->steps.size(), 9u);  // 5 pruning steps, 2 share attempts, 2 narrowing tries
  EXPECT_FALSE(r->steps[5].passed);
  EXPECT_EQ(r->steps[5].layers[0].bits, 2);
  EXPECT_TRUE(r->steps[6].passed);
  EXPECT_EQ(r->steps[6].step, 3);
  EXPECT_FALSE(r->steps[7].passed);
  EXPECT_EQ(r->steps[7].layers[0].bits, 2);
  EXPECT_TRUE(r->steps[8].passed);
  EXPECT_EQ(r->layers[0].bits, 3);
  EXPECT_EQ(r->layers[1].bits, 2);
  EXPECT_DOUBLE_EQ(r->ratio, r->steps[8].ratio);
}

// Sharing fails at up to 8 levels: 2 and 3 bits fail at every pruned step, the unpruned model
// at 3 bits fails too, and the least compression (unpruned, 8 bits) passes. Attempts in order:
// (step 3, 2 bits), (3, 3), (2, 3), (1, 3), (0, 3), (unpruned, 3), (unpruned, 8); then big
// narrows to 6 and 5 bits (64 and 32 levels: both pass).
TEST(RetrainBudget, BacksOffThroughEarlierStepsToTheLeastCompression) {
  Model m = two_layers();
  FakeTuner tuner;
  RuleScorer scorer(0.3, 8);
  RetrainBudgetOptions o = base_options(&tuner);
  o.start = {{"big", 0.25, 2}, {"small", 0.0, 2}};
  auto r = retrain_budget(m, CompressOptions{}, tuner, scorer, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->met);
  ASSERT_EQ(r->steps.size(), 14u);
  const std::vector<std::pair<int, int>> expected = {{3, 2}, {3, 3},  {2, 3}, {1, 3},
                                                     {0, 3}, {-1, 3}, {-1, 8}};
  for (size_t a = 0; a < expected.size(); ++a) {
    const ScheduleStep& s = r->steps[5 + a];
    EXPECT_EQ(s.phase, "share");
    EXPECT_EQ(s.step, expected[a].first) << a;
    EXPECT_EQ(s.layers[0].bits, expected[a].second) << a;
    EXPECT_EQ(s.passed, a + 1 == expected.size()) << a;
  }
  EXPECT_EQ(r->steps[12].layers[0].bits, 6);
  EXPECT_EQ(r->steps[13].layers[0].bits, 5);
  EXPECT_TRUE(r->steps[13].passed);
  EXPECT_DOUBLE_EQ(r->layers[0].prune, 0.0);
  EXPECT_EQ(r->layers[0].bits, 5);
  EXPECT_EQ(r->layers[1].bits, 8);
}

// Each pruning step costs 10 fake seconds. Limit 25 s: step 0 (0 -> 10), step 1 (10 + 10 <= 25,
// runs to 20), step 2 would end near 30: not started.
TEST(RetrainBudget, TimeLimitStopsTighteningAndKeepsTheBestWithinBudget) {
  Model m = two_layers();
  FakeTuner tuner;
  RuleScorer scorer(0.3, 0);
  RetrainBudgetOptions o = base_options(&tuner);
  o.time_limit = 25;
  auto r = retrain_budget(m, CompressOptions{}, tuner, scorer, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->met);
  EXPECT_EQ(r->stopped, "time limit");
  EXPECT_EQ(tuner.prune_calls, 2);
  ASSERT_EQ(r->steps.size(), 5u);  // 2 pruning steps, the share, 2 narrowing tries
  EXPECT_EQ(r->steps[2].step, 1);
  EXPECT_DOUBLE_EQ(r->layers[0].prune, 448.0 / 1024);  // keep 0.5625
}

TEST(RetrainBudget, StepLimitAndKeepFloor) {
  Model m = two_layers();
  {
    FakeTuner tuner;
    RuleScorer scorer(0.0, 0);
    RetrainBudgetOptions o = base_options(&tuner);
    o.max_steps = 2;
    auto r = retrain_budget(m, CompressOptions{}, tuner, scorer, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->stopped, "max steps");
    EXPECT_EQ(tuner.prune_calls, 3);
  }
  {
    // big (0.75^(k+1)) reaches the floor 0.5 at k = 2 (0.42 -> 0.5); small still tightens
    // (0.75^(0.198 k)) until it reaches it at k = 13 (0.75^2.58 = 0.476 -> 0.5; k = 12: 0.504);
    // k = 14 changes nothing: 14 pruning steps (0-13).
    FakeTuner tuner;
    RuleScorer scorer(0.0, 0);
    RetrainBudgetOptions o = base_options(&tuner);
    o.min_keep = 0.5;
    o.max_steps = 100;
    auto r = retrain_budget(m, CompressOptions{}, tuner, scorer, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->stopped, "min keep");
    EXPECT_EQ(tuner.prune_calls, 14);
    EXPECT_DOUBLE_EQ(r->layers[0].prune, 0.5);
  }
}

// Only the unchanged model passes: every attempt fails, the result is not met and holds the
// closest (best-scoring) attempt.
class IdentityScorer : public Scorer {
 public:
  explicit IdentityScorer(const Model& original) : original_(original) {}
  int64_t samples() const override { return 10; }
  Result<double> score(const Model& m, int64_t) override {
    for (size_t i = 0; i < m.tensors.size(); ++i)
      if (m.tensors[i].values != original_.tensors[i].values) return 0.25;
    return 1.0;
  }

 private:
  const Model& original_;
};

TEST(RetrainBudget, UnreachableBudgetIsReportedNotMet) {
  Model m = two_layers();
  FakeTuner tuner;
  IdentityScorer scorer(m);
  RetrainBudgetOptions o = base_options(&tuner);
  o.min_score = 0.99;
  auto r = retrain_budget(m, CompressOptions{}, tuner, scorer, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->met);
  EXPECT_EQ(r->stopped, "budget");
  EXPECT_EQ(tuner.prune_calls, 1);  // the start step already fails
  EXPECT_DOUBLE_EQ(r->score, 0.25);
  EXPECT_DOUBLE_EQ(r->base_score, 1.0);
  EXPECT_FALSE(r->output.container.tensors.empty());
}

// Forgetting: every retraining round costs the validation figure 1/16, as on a holdout the model
// trained on (each round on the other samples trades some of that memorised edge away). The
// round count lives in a third, non-compressible tensor "rounds" that the tuner increments.
Model with_rounds() {
  Model m = two_layers();
  Tensor t;
  t.name = "rounds";
  t.shape = {1};
  t.role = TensorRole::kOther;
  t.values = {0.0f};
  m.tensors.push_back(t);
  return m;
}

class CountingTuner : public FineTuner {
 public:
  Status after_prune(Model& model, const std::vector<std::vector<uint8_t>>& masks) override {
    EXPECT_EQ(masks.size(), model.tensors.size());
    ++prune_calls;
    clock += 10;
    model.tensors[2].values[0] += 1.0f;
    return Status::Ok();
  }
  Status after_share(Model&, std::vector<SharedLayer>&) override { return Status::Ok(); }
  int prune_calls = 0;
  double clock = 0;
};

// 1 - rounds/16, and 0.5 less when "big" keeps under 30% of its weights (all exact in binary).
class ForgettingScorer : public Scorer {
 public:
  int64_t samples() const override { return 16; }
  Result<double> score(const Model& m, int64_t) override {
    const double forgot = 0.0625 * m.tensors[2].values[0];
    return 1.0 - forgot - (kept_fraction(m.tensors[0]) < 0.3 ? 0.5 : 0.0);
  }
};

RetrainBudgetOptions forgetting_options(CountingTuner* tuner, BudgetReference reference) {
  RetrainBudgetOptions o;
  o.min_score = 0.875;  // base 1.0, budget 0.125: two rounds of forgetting
  o.reference = reference;
  o.start = {{"big", 0.25, 4}, {"small", 0.0, 4}};
  o.sensitivity.bits = {8, 6, 5, 4, 3, 2};
  o.narrow_tries = 0;
  o.clock = [tuner] { return tuner->clock; };
  return o;
}

// Against the original model, forgetting alone ends the schedule: step k scores
// 1 - (k + 1)/16, so step 1 (0.875) is the last within 0.875 and step 2 misses, although "big"
// still keeps 42% (the pruning did not hurt).
TEST(RetrainBudgetReference, OriginalReferenceStopsOnForgetting) {
  Model m = with_rounds();
  CountingTuner tuner;
  ForgettingScorer scorer;
  auto r = retrain_budget(m, CompressOptions{}, tuner, scorer,
                          forgetting_options(&tuner, BudgetReference::kOriginal));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->met);
  ASSERT_EQ(r->steps.size(), 4u);  // steps 0-2, one share
  EXPECT_TRUE(r->steps[1].passed);
  EXPECT_FALSE(r->steps[2].passed);
  EXPECT_DOUBLE_EQ(r->steps[2].min_score, 0.875);
  EXPECT_EQ(r->steps[3].step, 1);
  EXPECT_DOUBLE_EQ(r->dense_score, 1.0);
  EXPECT_EQ(tuner.prune_calls, 3);
}

// One dense round: the unpruned copy scores 15/16, the threshold moves to 0.875 - 1/16 =
// 0.8125: step 2 (0.8125) passes, step 3 (0.75) misses.
TEST(RetrainBudgetReference, DenseOnceShiftsTheThresholdByOneRound) {
  Model m = with_rounds();
  CountingTuner tuner;
  ForgettingScorer scorer;
  auto r = retrain_budget(m, CompressOptions{}, tuner, scorer,
                          forgetting_options(&tuner, BudgetReference::kDenseOnce));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->met);
  EXPECT_DOUBLE_EQ(r->dense_score, 0.9375);
  ASSERT_EQ(r->steps.size(), 5u);
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(r->steps[k].passed, k < 3) << k;
    EXPECT_DOUBLE_EQ(r->steps[k].reference, 0.9375) << k;
    EXPECT_DOUBLE_EQ(r->steps[k].min_score, 0.8125) << k;
  }
  EXPECT_EQ(r->steps[4].step, 2);
  EXPECT_DOUBLE_EQ(r->min_score, 0.8125);
  EXPECT_EQ(tuner.prune_calls, 5);  // the dense round and steps 0-3
}

// Tracked: step k's reference has had k + 1 rounds like the pruned model, so forgetting cancels
// and only the pruning counts: "big" keeps 0.75^(k+1): steps 0-3 pass (31.6%), step 4 (23.7%)
// misses. The share of step 3 scores 1 - 4/16 = 0.75 against 0.875 - 4/16 = 0.625.
TEST(RetrainBudgetReference, TrackedReferenceCancelsForgetting) {
  Model m = with_rounds();
  CountingTuner tuner;
  ForgettingScorer scorer;
  auto r = retrain_budget(m, CompressOptions{}, tuner, scorer,
                          forgetting_options(&tuner, BudgetReference::kDenseTracked));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->met);
  EXPECT_EQ(r->stopped, "budget");
  ASSERT_EQ(r->steps.size(), 6u);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(r->steps[k].passed, k < 4) << k;
    EXPECT_DOUBLE_EQ(r->steps[k].reference, 1.0 - 0.0625 * static_cast<double>(k + 1)) << k;
    EXPECT_DOUBLE_EQ(r->steps[k].min_score, 0.875 - 0.0625 * static_cast<double>(k + 1)) << k;
  }
  EXPECT_EQ(r->steps[5].phase, "share");
  EXPECT_EQ(r->steps[5].step, 3);
  EXPECT_DOUBLE_EQ(r->steps[5].score, 0.75);
  EXPECT_DOUBLE_EQ(r->min_score, 0.625);
  EXPECT_DOUBLE_EQ(r->layers[0].prune, 700.0 / 1024);
  EXPECT_EQ(tuner.prune_calls, 10);  // five dense rounds and five pruning steps
}

// Half step: "big" must keep 27%. Step 3 keeps 324/1024 (31.6%), step 4 243 (23.7%, misses);
// the half step 3.5 keeps 0.75^4.5 = 27.4% of it, pruned from step 3's weights: it passes and
// the share phase starts from it.
TEST(RetrainBudget, HalfStepBetweenTheLastPassAndTheFirstMiss) {
  Model m = two_layers();
  FakeTuner tuner;
  RuleScorer scorer(0.27, 0);
  RetrainBudgetOptions o = base_options(&tuner);
  o.half_step = true;
  o.narrow_tries = 0;
  auto r = retrain_budget(m, CompressOptions{}, tuner, scorer, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->met);
  EXPECT_EQ(r->stopped, "budget");
  ASSERT_EQ(r->steps.size(), 7u);  // steps 0-4, the half step, one share
  EXPECT_FALSE(r->steps[4].passed);
  const ScheduleStep& half = r->steps[5];
  EXPECT_EQ(half.phase, "half");
  EXPECT_DOUBLE_EQ(half.at, 3.5);
  EXPECT_TRUE(half.passed);
  const double kept = 1 - half.layers[0].prune;
  EXPECT_NEAR(kept, std::pow(0.75, 4.5), 1.0 / 1024);
  EXPECT_GT(kept, 0.27);
  EXPECT_EQ(r->steps[6].phase, "share");
  EXPECT_DOUBLE_EQ(r->steps[6].at, 3.5);
  EXPECT_DOUBLE_EQ(r->layers[0].prune, half.layers[0].prune);
  EXPECT_EQ(tuner.prune_calls, 6);
  // The half step pruned from step 3's weights: what step 3 had pruned stays pruned.
  auto big = decode_tensor(r->output.container.tensors[0]);
  ASSERT_TRUE(big.ok());
  EXPECT_DOUBLE_EQ(kept_fraction(*big), kept);
}

// A half step that also misses leaves the choice at the last full step.
TEST(RetrainBudget, MissedHalfStepBacksOffToTheLastFullStep) {
  Model m = two_layers();
  FakeTuner tuner;
  RuleScorer scorer(0.3, 0);
  RetrainBudgetOptions o = base_options(&tuner);
  o.half_step = true;
  o.narrow_tries = 0;
  auto r = retrain_budget(m, CompressOptions{}, tuner, scorer, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->steps.size(), 7u);
  EXPECT_EQ(r->steps[5].phase, "half");
  EXPECT_FALSE(r->steps[5].passed);
  EXPECT_EQ(r->steps[6].step, 3);
  EXPECT_DOUBLE_EQ(r->steps[6].at, 3.0);
  EXPECT_DOUBLE_EQ(r->layers[0].prune, 700.0 / 1024);
}

TEST(RetrainBudget, BadOptions) {
  Model m = two_layers();
  FakeTuner tuner;
  RuleScorer scorer(0.3, 0);
  RetrainBudgetOptions o = base_options(&tuner);
  o.tighten = 1.0;
  EXPECT_FALSE(retrain_budget(m, CompressOptions{}, tuner, scorer, o).ok());
  o = base_options(&tuner);
  o.start = {{"big", 0.25, 4}};
  auto r = retrain_budget(m, CompressOptions{}, tuner, scorer, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'small'"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace deepcomp::compress
