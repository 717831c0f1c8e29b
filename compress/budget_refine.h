// The budget search's last phase (compress/budget_search.h): greedy single-layer moves measured on
// the whole model. The curve-based choice estimates each layer's loss alone and at one setting
// axis at a time (pruned unshared, shared unpruned); layer effects and the two axes interact
// (pruning then sharing the survivors at 2 bits can cost far less than sharing every weight at 2
// bits), so the estimate leaves ratio unused near the edge. From a setting that passes, each
// round tries every layer one step harsher (keep fraction times `prune_step`, or the next
// narrower width of the grid) with the other layers as they are, scores each candidate (subset
// first when it is far outside), and takes the passing move that saves the most bytes per point
// lost, then adds the other layers' passing moves in that order while the combination passes; a
// prune move that misses is retried at half the step (in keep-fraction terms) and one that is
// taken doubles for the next round (to a keep factor of 0.5 at most); a width that misses is not
// tried again. Each layer's compressed variants are cached (compressed alone: every tensor
// compresses independently), so a candidate costs one layer's compression and one scoring run.
// Deterministic.
#pragma once

#include <vector>

#include "compress/budget_search.h"

namespace deepcomp::compress::budget_internal {

struct RefineOptions {
  double min_score = 0;
  double base_score = 0;         // the uncompressed model on every sample
  double subset_base_score = 0;  // on the first `subset` samples
  int64_t subset = 0;            // 0 or >= samples: no subset screening
  int max_evaluations = 64;
  std::vector<int> bits;     // the widths a layer may take, any order
  double prune_step = 0.85;  // keep fraction multiplier of a prune move
  BudgetProgress progress;
};

struct RefineOutcome {
  std::vector<LayerChoice> layers;  // the start when no move passed
  double score = 0;                 // measured on every sample
  double ratio = 0;                 // estimated from the layers' bytes (paper accounting)
  int evaluations = 0;              // scoring runs made
  int moves = 0;                    // moves taken
};

// `start` must hold one choice per compressible layer (every one shared) and score >= min_score.
// Appends one Verification per candidate scored to *log (move = what was tried).
Result<RefineOutcome> refine_choices(const Model& model, const CompressOptions& base,
                                     Scorer& scorer, const std::vector<LayerChoice>& start,
                                     const RefineOptions& options, std::vector<Verification>* log);

}  // namespace deepcomp::compress::budget_internal
