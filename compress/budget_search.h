// Compression within an accuracy budget (Han et al. 2015 chose per-layer rates from a sensitivity
// analysis; this automates it). Two parts, both library code over an abstract Scorer, so the CLI
// (toolkit/budget_scorer.h: top-1 accuracy on labelled images, or top-1 agreement with the original
// model) and a later public API share them:
//  - analyze_sensitivity: each compressible layer alone pruned at a grid of rates (no sharing)
//    and shared at a grid of bit widths (no pruning), every other layer left as it is; each point
//    is scored on a subset of the validation samples first, and on all of them when the subset
//    figure is near the budget edge (within twice its standard error, or half the budget); the
//    prune curve is then refined by bisection where it crosses the edge.
//  - search_budget: per-layer prune rates and bit widths that maximise the compression ratio
//    (paper accounting) while the validation score stays >= min_score. The curves give each
//    option's estimated loss (prune loss + share loss, made monotone); a Lagrangian choice per
//    layer minimises estimated bytes under an allowed total loss alpha * budget. Layer effects
//    are not additive, so each choice is verified by compressing the whole model and scoring it
//    on every validation sample; alpha is then raised (passed) or bisected (missed), and the
//    passing setting with the best measured ratio wins.
// Deterministic for a given model, options (seed) and scorer. Depends on compress/pipeline.h.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "compress/pipeline.h"
#include "core/model.h"
#include "core/status.h"

namespace deepcomp::compress {

// Measures a candidate model: a quality in [0, 1], higher is better.
class Scorer {
 public:
  virtual ~Scorer() = default;
  // Validation samples available (> 0).
  virtual int64_t samples() const = 0;
  // Quality of `model` on the first n samples (1 <= n <= samples()).
  virtual Result<double> score(const Model& model, int64_t n) = 0;
  // False when score() always uses every sample (no cheaper subset).
  virtual bool subsets() const { return true; }
};

// Progress for a terminal: phase ("sensitivity", "verify", ...), the layer (or ""), and where
// known the measured ratio and score (0 when not).
using BudgetProgress = std::function<void(const std::string& phase, const std::string& layer,
                                          int done, int total, double ratio, double score)>;

struct SensitivityOptions {
  std::vector<double> rates = {0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97};
  std::vector<int> bits = {8, 6, 5, 4, 3, 2};
  int64_t subset = 1000;    // samples scored first (all when the set is smaller)
  double edge_loss = 0.01;  // the budget edge, in score units (0.01 = 1 point)
  // Extra prune rates per layer, by bisection between the last grid rate within the edge and the
  // first beyond it (0 = the grid only): where the budget search needs resolution.
  int refine = 2;
  BudgetProgress progress;
};

struct SensitivityPoint {
  double prune = 0;  // sparsity applied to the layer (0 on the share curve)
  int bits = 0;      // bits per shared weight (0 on the prune curve: not shared)
  double score = 0;  // on `samples` samples
  double loss = 0;   // base score on the same samples minus score
  int64_t samples = 0;
  double bytes = 0;  // the layer's bytes in the paper's accounting at this point
};

struct LayerSensitivity {
  std::string tensor;
  std::string kind;  // "conv", "fc", "embedding"
  int64_t params = 0;
  double original_bytes = 0;
  std::vector<SensitivityPoint> prune;  // ascending rates
  std::vector<SensitivityPoint> share;  // descending bits
};

struct Sensitivity {
  double base_score = 0;         // the uncompressed model on every sample
  double subset_base_score = 0;  // on the subset
  int64_t samples = 0, subset = 0;
  std::vector<LayerSensitivity> layers;
  int evaluations = 0, full_evaluations = 0;
};

// The compressible tensors (what compress_model would compress under `base`, minus "skip"
// overrides), in model order. Error when there are none.
Result<std::vector<std::string>> compressible_layers(const Model& model,
                                                     const CompressOptions& base);

// `model` with its compressed tensors replaced by their decoded (pruned, shared) values, as the
// runtime would see the .dcz. The container must come from compress_model(model, ...).
Result<Model> apply_compressed(const Model& model, const Container& container);

Result<Sensitivity> analyze_sensitivity(const Model& model, const CompressOptions& base,
                                        Scorer& scorer, const SensitivityOptions& options);

struct LayerChoice {
  std::string tensor;
  double prune = 0;
  int bits = 0;
  // The --layer flag that replays this choice: "NAME=prune:0.9,bits:4" (glob characters in the
  // name escaped with a backslash, as fnmatch reads them).
  std::string flag() const;
};

// One scored setting. phase "curves": a choice from the sensitivity curves (alpha, estimate);
// "uniform": one rate and width for every layer (move says which); "refine": a refinement
// candidate (move says which layer went one step harsher; its ratio is the sum of the layers'
// bytes, equal to what compress_model reports); "refined": the refinement's result compressed.
struct Verification {
  double alpha = 0;           // allowed loss as a fraction of the budget
  double estimated_loss = 0;  // sum of the per-layer curve losses, score units
  double ratio = 0;           // measured, paper accounting
  double score = 0;           // measured on `samples` validation samples
  int64_t samples = 0;        // every sample, or the subset when that was far outside
  bool passed = false;
  std::string phase;
  std::string move;
};

struct BudgetOptions {
  double min_score = 0;  // the budget: validation score must stay >= this
  SensitivityOptions sensitivity;
  int max_verifications = 8;  // curve-based choices compressed and scored
  // Refinement (compress/budget_refine.h): single-layer moves scored on the whole model after
  // the curve-based phase (0 = none), and the keep-fraction multiplier of a prune move.
  int max_refinements = 64;
  double prune_step = 0.85;
  // Also score uniform settings of the grid (one rate and width for every layer).
  bool uniform = true;
};

struct BudgetResult {
  bool met = false;  // false: even the least compression scored below min_score
  double base_score = 0;
  double min_score = 0;
  double score = 0;  // the chosen setting's validation score (or the closest one's)
  double ratio = 0;
  std::vector<LayerChoice> layers;
  std::vector<Verification> verifications;
  Sensitivity sensitivity;
  CompressOutput output;  // the chosen setting compressed (options = base + the choices)
};

// The options a choice compresses with: `base` plus one override per chosen layer.
CompressOptions with_choices(const CompressOptions& base, const std::vector<LayerChoice>& layers);

Result<BudgetResult> search_budget(const Model& model, const CompressOptions& base, Scorer& scorer,
                                   const BudgetOptions& options);

}  // namespace deepcomp::compress
