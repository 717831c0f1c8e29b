// Compression within an accuracy budget, with retraining (issue 15 part 3): the budget drives a
// pruning schedule that retrains between steps.
//  1. Start shape: per layer, the largest prune rate whose single-layer loss (sensitivity curve,
//     compress/budget_search.h, no retraining) stays within the budget, and the narrowest width
//     whose single-layer loss stays within half of it.
//  2. Tighten geometrically: step k keeps keep0_l * tighten^(k * w_l) of layer l, with
//     w_l = (n_l / n_max)^size_exponent. Larger layers tighten faster: after retraining the keep
//     fractions Han et al. report (and the ones found by hand in bench/RESULTS.md) fall with layer
//     size roughly as n^(-1/3). Each step prunes (pruned weights stay pruned), retrains through
//     the FineTuner, and scores on the validation set; the first step whose score leaves the
//     budget ends the tightening, and the schedule backs off to the last step within it. A time
//     limit and a step limit also end it.
//  3. Share: k-means at the start widths on the last passing step, centroid retraining, score; on
//     a miss, every layer one width wider, then earlier passing steps, down to the unpruned model
//     at the widest width (the least compression tried). After the first setting within the
//     budget, up to narrow_tries attempts narrow the largest layer one width (kept on a pass).
// Reference: the budget compares with the uncompressed model. When the validation set was seen in
// the model's own training (a holdout of the training set a released model trained on), its
// figure there is inflated and retraining on the rest trades that edge away while accuracy on
// unseen data holds or rises. With a dense reference, an unpruned copy gets the same retraining
// (tuner.after_prune with nothing masked) and the threshold moves by what that copy gained or
// lost: step k passes when score_k >= min_score + (dense_k - base_score). kDenseOnce retrains the
// copy once (one step's epochs) and uses that shift throughout; kDenseTracked retrains it again
// at every pruning step, so step k's reference paid the same k + 1 rounds of retraining.
// The tuner (train/ implements it) and the scorer are abstract: compress/ does not depend on
// train/. Deterministic for deterministic tuner and scorer.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "compress/budget_search.h"
#include "compress/pipeline.h"
#include "core/model.h"
#include "core/status.h"

namespace deepcomp::compress {

enum class BudgetReference { kOriginal, kDenseOnce, kDenseTracked };

struct RetrainBudgetOptions {
  double min_score = 0;  // the validation score must stay >= this (moved by a dense reference)
  BudgetReference reference = BudgetReference::kOriginal;
  // Half steps: after step k misses, one try at step k - 1/2 from step k - 1's weights.
  bool half_step = false;
  // Start shape from the sensitivity curves (edge_loss is set to the budget); skipped when
  // `start` is given (one choice per compressible layer: prune = start rate, bits = width).
  SensitivityOptions sensitivity;
  std::vector<LayerChoice> start;
  double tighten = 0.75;             // the largest layer's keep fraction per step, in (0, 1)
  double size_exponent = 1.0 / 3.0;  // w_l = (n_l / n_max)^size_exponent
  int max_steps = 16;                // tightening steps after the start step
  double min_keep = 0.01;            // no layer keeps less than this fraction
  // After the first share setting within the budget: tries of the largest layer one width
  // narrower (each kept when it passes; a miss rules that layer out).
  int narrow_tries = 2;
  // Seconds; <= 0: none. Checked before each pruning step (judged by the last step's length) and
  // before each narrowing try.
  double time_limit = 0;
  std::function<double()> clock;  // seconds since the start (default: steady clock)
  BudgetProgress progress;        // phase, "", step, total steps, ratio, score
};

// One scored setting of the schedule.
struct ScheduleStep {
  std::string phase;     // "start", "tighten", "half" or "share"
  int step = 0;          // pruning step (0 = start); for "share": the pruning step it shares
  double at = 0;         // the schedule position (step, or step - 0.5 for a half step)
  double reference = 0;  // the dense reference's score at this step (base_score without one)
  double min_score = 0;  // this step's threshold
  std::vector<LayerChoice> layers;  // achieved sparsity and the share widths
  double density = 0;               // surviving fraction of the compressible weights
  double ratio = 0;                 // paper accounting, compressed at `layers`
  double score = 0;                 // validation score (after retraining)
  bool passed = false;
  double seconds = 0;  // clock at the end of the step
};

struct RetrainBudgetResult {
  bool met = false;
  double base_score = 0, min_score = 0;  // min_score: the chosen setting's threshold
  // The dense reference's first score (after one step's retraining); base_score without one.
  double dense_score = 0;
  double score = 0;  // the chosen setting's (or, when not met, the best tried)
  double ratio = 0;
  std::vector<LayerChoice> layers;
  std::vector<ScheduleStep> steps;
  // Why tightening ended: "budget", "time limit", "max steps" or "min keep".
  std::string stopped;
  Sensitivity sensitivity;  // empty when options.start was given
  CompressOutput output;    // the chosen (or closest) setting, compressed after retraining
};

// Keep fraction of each layer at step k (k = 0: the start; fractional k for half steps); exposed
// for tests.
std::vector<double> schedule_keep(const std::vector<double>& keep0,
                                  const std::vector<int64_t>& sizes, double step,
                                  const RetrainBudgetOptions& options);

// The start shape from sensitivity curves: rates within `edge`, widths within edge / 2.
std::vector<LayerChoice> start_shape(const Sensitivity& sensitivity, double edge);

// `tuner` retrains (after_prune: masked epochs; after_share: centroid epochs); `scorer` gives the
// validation figure (always on every sample). Errors: bad options, no compressible layer,
// tuner/scorer failures.
Result<RetrainBudgetResult> retrain_budget(const Model& model, const CompressOptions& base,
                                           FineTuner& tuner, Scorer& scorer,
                                           const RetrainBudgetOptions& options);

}  // namespace deepcomp::compress
