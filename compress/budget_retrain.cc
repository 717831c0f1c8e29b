// The budget-driven retraining schedule (compress/budget_retrain.h).
#include "compress/budget_retrain.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "compress/prune.h"
#include "core/dtype.h"

namespace deepcomp::compress {
namespace {

// compress_model's tuner for the share phase: the model handed in is already pruned and
// retrained, so after_prune has nothing to do; after_share is the real tuner's.
class ShareOnly : public FineTuner {
 public:
  explicit ShareOnly(FineTuner& inner) : inner_(inner) {}
  Status after_prune(Model&, const std::vector<std::vector<uint8_t>>&) override {
    return Status::Ok();
  }
  Status after_share(Model& model, std::vector<SharedLayer>& layers) override {
    return inner_.after_share(model, layers);
  }

 private:
  FineTuner& inner_;
};

// A pruned and retrained state the share phase can start from.
struct Snapshot {
  int step = -1;   // -1: the unpruned model
  double at = -1;  // schedule position (step - 0.5 for a half step)
  Model model;
  std::vector<std::vector<uint8_t>> masks;  // per model tensor, as the pruning phase keeps them
  std::vector<double> sparsity;             // per compressible layer, achieved
  double score = 0;
  double min_score = 0, reference = 0;  // the threshold and reference the state passed at
};

// `model` with every float tensor replaced by its decoded value (biases retrained in the share
// phase live in the container, not in the snapshot).
Result<Model> decoded(const Model& model, const Container& container) {
  if (container.tensors.size() != model.tensors.size())
    return Status::Error("retrain budget: the container does not come from this model");
  Model out = model;
  for (size_t i = 0; i < container.tensors.size(); ++i) {
    if (!is_float_dtype(out.tensors[i].dtype)) continue;
    DEEPCOMP_ASSIGN_OR_RETURN(Tensor t, decode_tensor(container.tensors[i]));
    out.tensors[i].values = std::move(t.values);
  }
  return out;
}

// The next wider width of `grid` (descending) above `bits`; `bits` when there is none.
int wider(const std::vector<int>& grid, int bits) {
  int best = bits;
  for (int b : grid)
    if (b > bits && (best == bits || b < best)) best = b;
  return best;
}

// The next narrower width of `grid` below `bits`; `bits` when there is none.
int narrower(const std::vector<int>& grid, int bits) {
  int best = bits;
  for (int b : grid)
    if (b < bits && (best == bits || b > best)) best = b;
  return best;
}

double fraction_zero(const std::vector<float>& v) {
  if (v.empty()) return 0;
  int64_t zeros = 0;
  for (float x : v) zeros += x == 0.0f;
  return static_cast<double>(zeros) / static_cast<double>(v.size());
}

}  // namespace

std::vector<double> schedule_keep(const std::vector<double>& keep0,
                                  const std::vector<int64_t>& sizes, double step,
                                  const RetrainBudgetOptions& options) {
  int64_t n_max = 1;
  for (int64_t n : sizes) n_max = std::max(n_max, n);
  std::vector<double> keep(keep0.size());
  for (size_t l = 0; l < keep0.size(); ++l) {
    const double w =
        std::pow(static_cast<double>(sizes[l]) / static_cast<double>(n_max), options.size_exponent);
    keep[l] = std::max(options.min_keep, keep0[l] * std::pow(options.tighten, step * w));
    keep[l] = std::min(keep[l], keep0[l]);  // a layer starting below min_keep stays there
  }
  return keep;
}

std::vector<LayerChoice> start_shape(const Sensitivity& sensitivity, double edge) {
  std::vector<LayerChoice> out;
  for (const LayerSensitivity& l : sensitivity.layers) {
    LayerChoice c;
    c.tensor = l.tensor;
    // Ascending rates: the last of the prefix within the edge (a harsher rate that happens to
    // score better after one that missed is noise, not a safe setting).
    for (const SensitivityPoint& p : l.prune) {
      if (p.loss > edge) break;
      c.prune = p.prune;
    }
    // Descending widths: the narrowest of the prefix within half the edge (the other half is
    // the pruning's); the widest when none is.
    c.bits = l.share.empty() ? 8 : l.share.front().bits;
    for (const SensitivityPoint& p : l.share) {
      if (p.loss > edge / 2) break;
      c.bits = p.bits;
    }
    out.push_back(c);
  }
  return out;
}

Result<RetrainBudgetResult> retrain_budget(const Model& model, const CompressOptions& base,
                                           FineTuner& tuner, Scorer& scorer,
                                           const RetrainBudgetOptions& options) {
  if (!(options.tighten > 0 && options.tighten < 1))
    return Status::Error("retrain budget: the tightening factor must be in (0, 1)");
  if (!(options.min_keep > 0 && options.min_keep <= 1))
    return Status::Error("retrain budget: the least keep fraction must be in (0, 1]");
  if (options.max_steps < 0) return Status::Error("retrain budget: negative step limit");
  if (scorer.samples() <= 0) return Status::Error("the validation set is empty");
  const auto t0 = std::chrono::steady_clock::now();
  auto now = [&]() -> double {
    if (options.clock) return options.clock();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };

  RetrainBudgetResult result;
  result.min_score = options.min_score;
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<std::string> names, compressible_layers(model, base));
  DEEPCOMP_ASSIGN_OR_RETURN(result.base_score, scorer.score(model, scorer.samples()));
  const double budget = std::max(0.0, result.base_score - options.min_score);

  std::vector<LayerChoice> start = options.start;
  if (start.empty()) {
    SensitivityOptions so = options.sensitivity;
    so.edge_loss = budget;
    DEEPCOMP_ASSIGN_OR_RETURN(result.sensitivity, analyze_sensitivity(model, base, scorer, so));
    start = start_shape(result.sensitivity, budget);
  }
  // Layer order and tensor indices.
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < model.tensors.size(); ++i) index[model.tensors[i].name] = i;
  std::vector<size_t> tensor_of;
  std::vector<int64_t> sizes;
  std::vector<double> keep0;
  std::vector<int> widths;
  for (const std::string& name : names) {
    auto it = std::find_if(start.begin(), start.end(),
                           [&](const LayerChoice& c) { return c.tensor == name; });
    if (it == start.end())
      return Status::Error("retrain budget: no start setting for layer '" + name + "'");
    if (!(it->prune >= 0 && it->prune < 1) || it->bits < 1 || it->bits > 16)
      return Status::Error("retrain budget: bad start setting for layer '" + name + "'");
    tensor_of.push_back(index.at(name));
    sizes.push_back(model.tensors[index.at(name)].numel());
    keep0.push_back(1 - it->prune);
    widths.push_back(it->bits);
  }
  std::vector<int> grid = options.sensitivity.bits;
  for (int b : widths) grid.push_back(b);
  std::sort(grid.rbegin(), grid.rend());
  grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
  const int widest = grid.front();

  auto choices = [&](const std::vector<double>& sparsity, const std::vector<int>& bits) {
    std::vector<LayerChoice> c;
    for (size_t l = 0; l < names.size(); ++l) c.push_back({names[l], sparsity[l], bits[l]});
    return c;
  };
  auto density = [&](const std::vector<double>& sparsity) {
    double kept = 0, all = 0;
    for (size_t l = 0; l < sizes.size(); ++l) {
      kept += static_cast<double>(sizes[l]) * (1 - sparsity[l]);
      all += static_cast<double>(sizes[l]);
    }
    return all > 0 ? kept / all : 0;
  };
  // The ratio a pruned state reaches at `bits` without share retraining (k-means only): what
  // the schedule records per step.
  auto ratio_of = [&](const Model& m, const std::vector<double>& sparsity,
                      const std::vector<int>& bits) -> Result<double> {
    CompressOptions o = with_choices(base, choices(sparsity, bits));
    o.tuner = nullptr;
    o.progress = nullptr;
    DEEPCOMP_ASSIGN_OR_RETURN(CompressOutput c, compress_model(m, o));
    return c.report.ratio();
  };
  auto report = [&](const ScheduleStep& s, int total) {
    if (options.progress) options.progress(s.phase, "", s.step, total, s.ratio, s.score);
  };

  // Pruning phase. The dense reference (options.reference) is an unpruned copy retrained by the
  // same tuner call; `shift` is how far its score moved from base_score.
  const bool dense_ref = options.reference != BudgetReference::kOriginal;
  Model dense;
  if (dense_ref) dense = model;
  const std::vector<std::vector<uint8_t>> no_masks(model.tensors.size());
  double reference = result.base_score;
  result.dense_score = result.base_score;
  std::vector<Snapshot> passing;
  {
    Snapshot unpruned;
    unpruned.model = model;
    unpruned.masks.assign(model.tensors.size(), {});
    unpruned.sparsity.assign(names.size(), 0.0);
    unpruned.score = result.base_score;
    unpruned.min_score = options.min_score;
    unpruned.reference = result.base_score;
    passing.push_back(std::move(unpruned));
  }
  Model work = model;
  std::vector<std::vector<uint8_t>> masks(model.tensors.size());
  double last_step_seconds = 0;
  result.stopped = "max steps";
  std::vector<double> previous_keep;
  // Prunes `work` to the keep fractions of schedule position `at`, retrains, scores; a passing
  // state becomes a snapshot. Returns whether it passed.
  auto prune_step = [&](int step, double at, const std::string& phase) -> Result<bool> {
    const double begin = now();
    if (dense_ref && (options.reference == BudgetReference::kDenseTracked || step == 0) &&
        phase != "half") {
      DEEPCOMP_RETURN_IF_ERROR(tuner.after_prune(dense, no_masks));
      DEEPCOMP_ASSIGN_OR_RETURN(reference, scorer.score(dense, scorer.samples()));
      if (step == 0) result.dense_score = reference;
    }
    const std::vector<double> keep = schedule_keep(keep0, sizes, at, options);
    std::vector<double> sparsity(names.size());
    for (size_t l = 0; l < names.size(); ++l) {
      Tensor& t = work.tensors[tensor_of[l]];
      DEEPCOMP_RETURN_IF_ERROR(check_finite(t.values, t.name));
      std::vector<uint8_t>& mask = masks[tensor_of[l]];
      if (keep[l] < 1) {
        const float threshold = magnitude_threshold_for_sparsity(t.values, 1 - keep[l]);
        if (mask.empty()) mask.assign(t.values.size(), 1);
        for (size_t k = 0; k < t.values.size(); ++k) {
          const float w = t.values[k];
          if (!(std::fabs(w) >= threshold && w != 0.0f)) mask[k] = 0;
          if (!mask[k]) t.values[k] = 0.0f;
        }
      }
    }
    DEEPCOMP_RETURN_IF_ERROR(tuner.after_prune(work, masks));
    for (size_t i = 0; i < masks.size(); ++i) {  // the tuner must not revive pruned weights
      if (masks[i].empty()) continue;
      if (work.tensors[i].values.size() != masks[i].size())
        return Status::Error("tensor '" + work.tensors[i].name + "': retraining changed its size");
      for (size_t k = 0; k < masks[i].size(); ++k)
        if (!masks[i][k]) work.tensors[i].values[k] = 0.0f;
    }
    for (size_t l = 0; l < names.size(); ++l)
      sparsity[l] = fraction_zero(work.tensors[tensor_of[l]].values);
    ScheduleStep s;
    s.phase = phase;
    s.step = step;
    s.at = at;
    s.layers = choices(sparsity, widths);
    s.density = density(sparsity);
    s.reference = reference;
    s.min_score = options.min_score + (reference - result.base_score);
    DEEPCOMP_ASSIGN_OR_RETURN(s.score, scorer.score(work, scorer.samples()));
    DEEPCOMP_ASSIGN_OR_RETURN(s.ratio, ratio_of(work, sparsity, widths));
    s.passed = s.score >= s.min_score;
    s.seconds = now();
    last_step_seconds = s.seconds - begin;
    result.steps.push_back(s);
    report(s, options.max_steps + 1);
    if (!s.passed) return false;
    Snapshot snap;
    snap.step = step;
    snap.at = at;
    snap.model = work;
    snap.masks = masks;
    snap.sparsity = sparsity;
    snap.score = s.score;
    snap.min_score = s.min_score;
    snap.reference = reference;
    passing.push_back(std::move(snap));
    return true;
  };
  for (int step = 0; step <= options.max_steps; ++step) {
    if (options.time_limit > 0 && now() + last_step_seconds > options.time_limit) {
      result.stopped = "time limit";
      break;
    }
    const std::vector<double> keep = schedule_keep(keep0, sizes, step, options);
    if (step > 0 && keep == previous_keep) {
      result.stopped = "min keep";
      break;
    }
    previous_keep = keep;
    DEEPCOMP_ASSIGN_OR_RETURN(bool passed, prune_step(step, step, step == 0 ? "start" : "tighten"));
    if (passed) continue;
    result.stopped = "budget";
    // Half a step back from the miss, from the last passing step's weights (the step
    // before it: the pruning step k - 1).
    if (options.half_step && step > 0 && passing.back().step == step - 1 &&
        !(options.time_limit > 0 && now() + last_step_seconds > options.time_limit)) {
      work = passing.back().model;
      masks = passing.back().masks;
      DEEPCOMP_RETURN_IF_ERROR(prune_step(step, step - 0.5, "half").status());
    }
    break;
  }

  // Share phase: the most compressed passing state first, then wider widths, then earlier states.
  std::vector<int> wide(widths.size());
  for (size_t l = 0; l < widths.size(); ++l) wide[l] = wider(grid, widths[l]);
  const std::vector<int> widest_all(widths.size(), widest);
  std::vector<std::pair<size_t, std::vector<int>>> attempts;
  auto add = [&](size_t snap, const std::vector<int>& bits) {
    for (const auto& a : attempts)
      if (a.first == snap && a.second == bits) return;
    attempts.emplace_back(snap, bits);
  };
  add(passing.size() - 1, widths);
  add(passing.size() - 1, wide);
  for (size_t s = passing.size() - 1; s-- > 0;) add(s, wide);
  add(0, widest_all);

  ShareOnly share_tuner(tuner);
  bool have_closest = false;
  // One share attempt: k-means at `bits` on a passing state, centroid retraining, score.
  auto share = [&](size_t snap_index, const std::vector<int>& bits) -> Result<bool> {
    const Snapshot& snap = passing[snap_index];
    CompressOptions o = with_choices(base, choices(snap.sparsity, bits));
    o.tuner = &share_tuner;
    o.prune_steps = 1;
    o.progress = nullptr;
    DEEPCOMP_RETURN_IF_ERROR(validate_options(o));
    DEEPCOMP_ASSIGN_OR_RETURN(CompressOutput c, compress_model(snap.model, o));
    DEEPCOMP_ASSIGN_OR_RETURN(Model m, decoded(snap.model, c.container));
    ScheduleStep s;
    s.phase = "share";
    s.step = snap.step;
    s.at = snap.at;
    s.reference = snap.reference;
    s.min_score = snap.min_score;
    s.layers = choices(snap.sparsity, bits);
    s.density = density(snap.sparsity);
    s.ratio = c.report.ratio();
    DEEPCOMP_ASSIGN_OR_RETURN(s.score, scorer.score(m, scorer.samples()));
    s.passed = s.score >= s.min_score;
    s.seconds = now();
    result.steps.push_back(s);
    report(s, 0);
    // Closest when nothing passes: the smallest shortfall below its own threshold.
    if (s.passed || (!result.met &&
                     (!have_closest || s.score - s.min_score > result.score - result.min_score))) {
      have_closest = true;
      result.score = s.score;
      result.min_score = s.min_score;
      result.ratio = s.ratio;
      result.layers = s.layers;
      result.output = std::move(c);
    }
    return s.passed;
  };
  for (const auto& [snap_index, bits] : attempts) {
    DEEPCOMP_ASSIGN_OR_RETURN(bool passed, share(snap_index, bits));
    if (!passed) continue;
    result.met = true;
    // The widths came from curves without retraining: after a pass, try the largest layer that
    // can go one width narrower (a miss rules that layer out), keeping each pass.
    std::vector<int> current = bits;
    std::vector<bool> done(names.size(), false);
    for (int t = 0; t < options.narrow_tries; ++t) {
      if (options.time_limit > 0 && now() > options.time_limit) break;  // out of time: keep it
      int pick = -1;
      for (size_t l = 0; l < names.size(); ++l) {
        if (done[l] || narrower(grid, current[l]) == current[l]) continue;
        if (pick < 0 || sizes[l] > sizes[static_cast<size_t>(pick)]) pick = static_cast<int>(l);
      }
      if (pick < 0) break;
      std::vector<int> trial = current;
      trial[static_cast<size_t>(pick)] = narrower(grid, current[static_cast<size_t>(pick)]);
      DEEPCOMP_ASSIGN_OR_RETURN(bool ok, share(snap_index, trial));
      if (ok) {
        current = trial;
      } else {
        done[static_cast<size_t>(pick)] = true;
      }
    }
    break;
  }
  return result;
}

}  // namespace deepcomp::compress
