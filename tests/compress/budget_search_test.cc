// The sensitivity analysis and budget search against scorers whose answer is known in closed
// form: the score is 1 minus a weighted relative weight error of each layer, computed here from
// the original and candidate weights alone, so every point's loss can be recomputed
// independently (magnitude pruning by hand: the smallest |w| go first).
#include "compress/budget_search.h"

#include <fnmatch.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "compress/container.h"
#include "onnx_io/onnx_io.h"
#include "tests/test_util.h"

namespace deepcomp::compress {
namespace {

std::string lenet300() { return testing::source_dir() + "/models/lenet-300-100.onnx"; }

// score = 1 - sum_l weight_l * ||W_l - W'_l||^2 / ||W_l||^2, optionally plus a superadditive
// penalty (the square of the summed errors), which the per-layer curves cannot see.
class EnergyScorer : public Scorer {
 public:
  EnergyScorer(const Model& original, double superadditive = 0,
               std::vector<std::string> ignored = {})
      : original_(original), superadditive_(superadditive), ignored_(std::move(ignored)) {}
  int64_t samples() const override { return 10000; }
  Result<double> score(const Model& m, int64_t n) override {
    calls.push_back(n);
    double total = 0;
    for (size_t i = 0; i < m.tensors.size(); ++i) {
      const Tensor& a = original_.tensors[i];
      if (!is_weight_role(a.role)) continue;
      if (std::find(ignored_.begin(), ignored_.end(), a.name) != ignored_.end()) continue;
      double err = 0, norm = 0;
      for (size_t k = 0; k < a.values.size(); ++k) {
        const double d = a.values[k] - m.tensors[i].values[k];
        err += d * d;
        norm += static_cast<double>(a.values[k]) * a.values[k];
      }
      total += 0.2 * err / norm;
    }
    return 1.0 - total - superadditive_ * total * total;
  }
  std::vector<int64_t> calls;

 private:
  const Model& original_;
  double superadditive_;
  std::vector<std::string> ignored_;  // layers the score does not see
};

// The loss EnergyScorer gives layer `t` pruned alone at `rate` (no sharing): the energy of the
// round(rate * n) smallest magnitudes.
double pruned_energy_loss(const Tensor& t, double rate) {
  std::vector<double> sq;
  double norm = 0;
  for (float v : t.values) {
    sq.push_back(static_cast<double>(v) * v);
    norm += sq.back();
  }
  std::sort(sq.begin(), sq.end());
  const size_t cut = static_cast<size_t>(std::llround(rate * static_cast<double>(sq.size())));
  double lost = 0;
  for (size_t i = 0; i < cut; ++i) lost += sq[i];
  return 0.2 * lost / norm;
}

class BudgetSearch : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(lenet300())) GTEST_SKIP() << "models/lenet-300-100.onnx missing";
    auto m = onnx_io::load_model(lenet300());
    ASSERT_TRUE(m.ok()) << m.status().message();
    model_ = std::move(*m);
  }
  Model model_;
};

TEST_F(BudgetSearch, SensitivityPointsMatchTheScorerByHand) {
  EnergyScorer scorer(model_);
  SensitivityOptions o;
  o.rates = {0.3, 0.6, 0.9};
  o.bits = {6, 2};
  o.subset = 500;
  o.edge_loss = 0.01;
  o.refine = 0;
  auto s = analyze_sensitivity(model_, CompressOptions(), scorer, o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->layers.size(), 3u);  // fc1, fc2, fc3 weights
  EXPECT_DOUBLE_EQ(s->base_score, 1.0);
  for (const LayerSensitivity& l : s->layers) {
    const Tensor* t = nullptr;
    for (const Tensor& x : model_.tensors)
      if (x.name == l.tensor) t = &x;
    ASSERT_NE(t, nullptr);
    ASSERT_EQ(l.prune.size(), 3u);
    ASSERT_EQ(l.share.size(), 2u);
    for (const SensitivityPoint& p : l.prune) {
      EXPECT_NEAR(p.loss, pruned_energy_loss(*t, p.prune), 1e-9) << l.tensor << " " << p.prune;
      EXPECT_EQ(p.bits, 0);
      // Far from the 0.01 edge: the subset; near it: every sample.
      const bool near = std::fabs(p.loss - 0.01) <= std::max(2 * (1.0 / 500), 0.005);
      EXPECT_EQ(p.samples, near ? 10000 : 500) << l.tensor << " " << p.prune;
    }
    // Fewer bits lose more; 6 bits loses little.
    EXPECT_EQ(l.share[0].bits, 6);
    EXPECT_LT(l.share[0].loss, l.share[1].loss);
    EXPECT_GT(l.share[1].loss, 0);
    // Bytes shrink with the rate and the width.
    EXPECT_GT(l.prune[0].bytes, l.prune[2].bytes);
    EXPECT_GT(l.share[0].bytes, l.share[1].bytes);
  }
  EXPECT_EQ(s->evaluations, 3 * 5);
}

TEST_F(BudgetSearch, ChoiceMeetsTheBudgetAndReplaysAsLayerFlags) {
  EnergyScorer scorer(model_);
  BudgetOptions o;
  o.min_score = 0.99;  // 1 point of "energy"
  o.sensitivity.rates = {0.3, 0.5, 0.7, 0.9};
  o.sensitivity.bits = {6, 4, 3};
  auto r = search_budget(model_, CompressOptions(), scorer, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->met);
  EXPECT_GE(r->score, 0.99);
  ASSERT_EQ(r->layers.size(), 3u);
  const std::vector<int64_t> calls = scorer.calls;
  // The verified score is the scorer's answer on the decoded model.
  auto decoded = apply_compressed(model_, r->output.container);
  ASSERT_TRUE(decoded.ok());
  EXPECT_DOUBLE_EQ(*scorer.score(*decoded, 10000), r->score);
  // Better than the least compression and than any uniform setting of the grid within budget.
  double best_uniform = 0;
  for (double rate : o.sensitivity.rates) {
    for (int bits : o.sensitivity.bits) {
      CompressOptions u;
      u.prune = rate;
      u.bits_fc = bits;
      auto c = compress_model(model_, u);
      ASSERT_TRUE(c.ok());
      auto m = apply_compressed(model_, c->container);
      ASSERT_TRUE(m.ok());
      if (*scorer.score(*m, 10000) >= 0.99)
        best_uniform = std::max(best_uniform, c->report.ratio());
    }
  }
  EXPECT_GE(r->ratio, best_uniform);
  // Replay: parse the flags as the CLI does; the container is byte-identical.
  CompressOptions replay;
  for (const LayerChoice& c : r->layers) {
    auto o2 = parse_layer_override(c.flag());
    ASSERT_TRUE(o2.ok()) << c.flag();
    replay.layers.push_back(*o2);
  }
  auto again = compress_model(model_, replay);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*serialize_container(again->container), *serialize_container(r->output.container));
  // Deterministic.
  EnergyScorer scorer2(model_);
  auto r2 = search_budget(model_, CompressOptions(), scorer2, o);
  ASSERT_TRUE(r2.ok());
  ASSERT_EQ(r2->layers.size(), r->layers.size());
  for (size_t i = 0; i < r->layers.size(); ++i)
    EXPECT_EQ(r2->layers[i].flag(), r->layers[i].flag());
  EXPECT_EQ(scorer2.calls, calls);
}

TEST_F(BudgetSearch, BacksOffWhenLayerEffectsAreNotAdditive) {
  // A penalty of 300 x (summed error)^2: the curves (one layer at a time) underestimate the
  // combined loss, so the first verification at the full budget misses.
  EnergyScorer scorer(model_, 300.0);
  BudgetOptions o;
  o.min_score = 0.99;
  o.sensitivity.rates = {0.3, 0.5, 0.7, 0.9};
  o.sensitivity.bits = {6, 4, 3};
  auto r = search_budget(model_, CompressOptions(), scorer, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->met);
  EXPECT_GE(r->score, 0.99);
  ASSERT_FALSE(r->verifications.empty());
  EXPECT_FALSE(r->verifications[0].passed);
  size_t curve_runs = 0;
  for (const Verification& v : r->verifications) curve_runs += v.phase == "curves";
  EXPECT_LE(curve_runs, 8u);
  bool any_pass = false;
  for (const Verification& v : r->verifications) any_pass |= v.passed;
  EXPECT_TRUE(any_pass);
}

TEST_F(BudgetSearch, RefinementSpendsWhatTheCurvesLeave) {
  // The score sees fc1 only: fc2 and fc3 cost nothing at any setting, so the curve-based choice
  // puts them at the harshest grid point (0.9, 3 bits) and only the measured moves go beyond the
  // grid. fc1 may take the whole budget.
  EnergyScorer scorer(model_, 0.0, {"fc2.weight", "fc3.weight"});
  BudgetOptions o;
  o.min_score = 0.99;
  o.sensitivity.rates = {0.3, 0.5, 0.7, 0.9};
  o.sensitivity.bits = {6, 4, 3};
  o.max_refinements = 40;
  auto r = search_budget(model_, CompressOptions(), scorer, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->met);
  auto decoded = apply_compressed(model_, r->output.container);
  ASSERT_TRUE(decoded.ok());
  EXPECT_DOUBLE_EQ(*scorer.score(*decoded, 10000), r->score);
  EXPECT_GE(r->score, 0.99);
  double curve_best = 0;
  int moves = 0;
  for (const Verification& v : r->verifications) {
    if (v.phase != "refine" && v.phase != "refined" && v.passed)
      curve_best = std::max(curve_best, v.ratio);
    if (v.phase == "refine") {
      ++moves;
      // A candidate passes exactly when its score (on every sample) meets the budget.
      if (v.samples == 10000) {
        EXPECT_EQ(v.passed, v.score >= 0.99) << v.move;
      }
      if (v.passed) {
        EXPECT_GE(v.score, 0.99);
      }
    }
  }
  EXPECT_GT(moves, 0);
  EXPECT_LE(moves, 40);
  EXPECT_GT(r->ratio, curve_best);
  ASSERT_EQ(r->layers.size(), 3u);
  for (const LayerChoice& c : r->layers) {
    if (c.tensor == "fc1.weight") continue;
    EXPECT_GT(c.prune, 0.9) << c.tensor;
    EXPECT_EQ(c.bits, 3) << c.tensor;
  }
  // The refinement counts bytes as the sum of its layers' (each compressed alone) and the rest:
  // the candidate it took last logged the ratio that compress_model reports for the choice.
  bool logged = false;
  for (const Verification& v : r->verifications)
    if (v.phase == "refine" && v.passed) logged |= std::fabs(v.ratio - r->ratio) <= 1e-9 * r->ratio;
  EXPECT_TRUE(logged);
  // No refinement: only curve-based runs, and a smaller ratio.
  EnergyScorer scorer2(model_, 0.0, {"fc2.weight", "fc3.weight"});
  o.max_refinements = 0;
  auto plain = search_budget(model_, CompressOptions(), scorer2, o);
  ASSERT_TRUE(plain.ok());
  for (const Verification& v : plain->verifications) EXPECT_NE(v.phase, "refine");
  EXPECT_DOUBLE_EQ(plain->ratio, curve_best);
}

TEST_F(BudgetSearch, UnreachableBudgetSaysHowCloseItGot) {
  EnergyScorer scorer(model_);
  BudgetOptions o;
  o.min_score = 1.0;  // only the exact model scores 1
  o.sensitivity.rates = {0.5};
  o.sensitivity.bits = {2};
  o.max_verifications = 2;
  auto r = search_budget(model_, CompressOptions(), scorer, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->met);
  EXPECT_LT(r->score, 1.0);
  EXPECT_GT(r->score, 0.9);
  // The last run is the least compression: every layer unpruned at the widest bits.
  for (const LayerChoice& c : r->layers) {
    EXPECT_EQ(c.prune, 0.0);
    EXPECT_EQ(c.bits, 2);
  }
}

TEST(BudgetSearchFlags, EscapeGlobCharactersSoTheFlagMatchesOnlyItsTensor) {
  const LayerChoice c{"blk[1]*w?", 0.25, 4};
  EXPECT_EQ(c.flag(), "blk\\[1\\]\\*w\\?=prune:0.25,bits:4");
  auto o = parse_layer_override(c.flag());
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(fnmatch(o->pattern.c_str(), "blk[1]*w?", 0), 0);
  EXPECT_NE(fnmatch(o->pattern.c_str(), "blk1xwy", 0), 0);
  EXPECT_EQ(*o->prune, 0.25);
  EXPECT_EQ(*o->bits, 4);
  // Rates print as the shortest text that reads back as the same double.
  EXPECT_EQ((LayerChoice{"a", 0.1 + 0.2, 3}).flag(), "a=prune:0.30000000000000004,bits:3");
}

TEST(BudgetSearchErrors, EmptyValidationSetAndBadGrids) {
  class Empty : public Scorer {
   public:
    int64_t samples() const override { return 0; }
    Result<double> score(const Model&, int64_t) override { return 0.0; }
  } empty;
  Model m;
  EXPECT_FALSE(analyze_sensitivity(m, CompressOptions(), empty, SensitivityOptions()).ok());
  SensitivityOptions bad;
  bad.rates = {1.0};
  EXPECT_FALSE(analyze_sensitivity(m, CompressOptions(), empty, bad).ok());
}

}  // namespace
}  // namespace deepcomp::compress
