// Sensitivity analysis and the budget search (compress/budget_search.h).
#include "compress/budget_search.h"

#include <fnmatch.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "compress/budget_internal.h"
#include "compress/budget_refine.h"
#include "core/dtype.h"

namespace deepcomp::compress {
namespace budget_internal {

std::string escape_glob(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

LayerOverride setting_override(const std::string& tensor, double prune, int bits) {
  LayerOverride o;
  o.pattern = escape_glob(tensor);
  o.prune = prune;
  if (bits > 0) o.bits = bits;
  return o;
}

CompressOptions alone(const CompressOptions& base, const std::vector<std::string>& layers,
                      const std::string& tensor, double prune, int bits) {
  CompressOptions o = base;
  o.tuner = nullptr;
  o.progress = nullptr;
  o.share = bits > 0;
  for (const std::string& other : layers) {
    if (other == tensor) continue;
    LayerOverride skip;
    skip.pattern = escape_glob(other);
    skip.skip = true;
    o.layers.push_back(skip);
  }
  o.layers.push_back(setting_override(tensor, prune, bits));
  return o;
}

}  // namespace budget_internal
namespace {

using budget_internal::alone;
using budget_internal::escape_glob;
using budget_internal::setting_override;

const LayerReport* find_layer(const CompressReport& report, const std::string& tensor) {
  for (const LayerReport& l : report.layers)
    if (l.name == tensor) return &l;
  return nullptr;
}

// Scores on the subset first, on every sample when the subset's loss is near the edge.
class EdgeEvaluator {
 public:
  EdgeEvaluator(Scorer& scorer, int64_t subset, double edge)
      : scorer_(scorer),
        full_(scorer.samples()),
        subset_(scorer.subsets() ? std::clamp<int64_t>(subset, 1, scorer.samples())
                                 : scorer.samples()),
        edge_(edge) {}

  Status init(const Model& model) {
    DEEPCOMP_ASSIGN_OR_RETURN(base_full_, scorer_.score(model, full_));
    base_subset_ = base_full_;
    if (subset_ < full_) {
      DEEPCOMP_ASSIGN_OR_RETURN(base_subset_, scorer_.score(model, subset_));
    }
    return Status::Ok();
  }

  Status evaluate(const Model& model, SensitivityPoint* point) {
    ++evaluations_;
    DEEPCOMP_ASSIGN_OR_RETURN(double s, scorer_.score(model, subset_));
    point->score = s;
    point->loss = base_subset_ - s;
    point->samples = subset_;
    if (subset_ < full_) {
      const double p = std::clamp(base_subset_, 0.0, 1.0);
      const double se = std::max(std::sqrt(p * (1 - p) / subset_), 1.0 / subset_);
      if (std::fabs(point->loss - edge_) <= std::max(2 * se, 0.5 * edge_)) {
        ++full_evaluations_;
        DEEPCOMP_ASSIGN_OR_RETURN(s, scorer_.score(model, full_));
        point->score = s;
        point->loss = base_full_ - s;
        point->samples = full_;
      }
    }
    return Status::Ok();
  }

  double base_full() const { return base_full_; }
  double base_subset() const { return base_subset_; }
  int64_t full() const { return full_; }
  int64_t subset() const { return subset_; }
  int evaluations() const { return evaluations_; }
  int full_evaluations() const { return full_evaluations_; }

 private:
  Scorer& scorer_;
  int64_t full_, subset_;
  double edge_;
  double base_full_ = 0, base_subset_ = 0;
  int evaluations_ = 0, full_evaluations_ = 0;
};

Status check_grids(const SensitivityOptions& o) {
  if (o.rates.empty() || o.bits.empty())
    return Status::Error("sensitivity: empty grid of prune rates or bit widths");
  for (double r : o.rates)
    if (!(r > 0 && r < 1))
      return Status::Error("sensitivity: prune rate " + std::to_string(r) + " not in (0, 1)");
  for (int b : o.bits)
    if (b < 1 || b > 16)
      return Status::Error("sensitivity: bit width " + std::to_string(b) + " not in 1..16");
  return Status::Ok();
}

// One option of a layer in the search: its estimated loss (score units) and bytes.
struct Option {
  double prune = 0;
  int bits = 0;
  double loss = 0;
  double bytes = 0;
};

// Options of one layer from its curves: rates {0} + grid x bits grid. Losses are made monotone
// (a harsher setting never counts as less harmful) and non-negative; bytes combine the measured
// cluster bits per weight (share curve) with the index bits per survivor (prune curve).
std::vector<Option> layer_options(const LayerSensitivity& l, const Tensor& t) {
  std::vector<std::pair<double, double>> prune_loss{{0.0, 0.0}};  // rate -> loss
  std::vector<std::pair<double, double>> index_bits{{0.0, 0.0}};  // rate -> bits per survivor
  std::vector<int64_t> nonzero{t.numel()};
  double worst = 0;
  const double value_bytes = static_cast<double>(dtype_size(t.dtype));
  for (const SensitivityPoint& p : l.prune) {
    worst = std::max(worst, p.loss);
    prune_loss.emplace_back(p.prune, worst);
    const double nnz = std::max(1.0, std::round(static_cast<double>(t.numel()) * (1 - p.prune)));
    index_bits.emplace_back(p.prune, std::max(0.0, (p.bytes - nnz * value_bytes) * 8 / nnz));
  }
  std::vector<std::pair<int, double>> share_loss, cluster_bits;  // descending bits
  worst = 0;
  for (const SensitivityPoint& p : l.share) {
    worst = std::max(worst, p.loss);
    share_loss.emplace_back(p.bits, worst);
    const double codebook = std::ldexp(value_bytes, p.bits);
    cluster_bits.emplace_back(
        p.bits, std::max(0.0, (p.bytes - codebook) * 8 / static_cast<double>(t.numel())));
  }
  std::vector<Option> out;
  for (size_t i = 0; i < prune_loss.size(); ++i) {
    const double rate = prune_loss[i].first;
    const double nnz = i == 0 ? static_cast<double>(t.numel())
                              : std::round(static_cast<double>(t.numel()) * (1 - rate));
    for (size_t j = 0; j < share_loss.size(); ++j) {
      Option o;
      o.prune = rate;
      o.bits = share_loss[j].first;
      o.loss = prune_loss[i].second + share_loss[j].second;
      o.bytes = nnz * (cluster_bits[j].second + index_bits[i].second) / 8 +
                std::ldexp(value_bytes, o.bits);
      out.push_back(o);
    }
  }
  return out;
}

// Per layer, the option minimising bytes + lambda * loss (ties: less loss, then earlier).
std::vector<size_t> choose(const std::vector<std::vector<Option>>& options, double lambda,
                           double* total_loss) {
  std::vector<size_t> pick(options.size(), 0);
  *total_loss = 0;
  for (size_t l = 0; l < options.size(); ++l) {
    double best = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < options[l].size(); ++i) {
      const Option& o = options[l][i];
      const double cost = o.bytes + lambda * o.loss;
      if (cost < best || (cost == best && o.loss < options[l][pick[l]].loss)) {
        best = cost;
        pick[l] = i;
      }
    }
    *total_loss += options[l][pick[l]].loss;
  }
  return pick;
}

// The least-bytes choice whose estimated total loss is at most `allowed`: the smallest lambda
// (geometric bisection) whose Lagrangian choice fits.
std::vector<size_t> choose_within(const std::vector<std::vector<Option>>& options, double allowed,
                                  double* total_loss) {
  double lo = 1e-3, hi = 1e15;
  std::vector<size_t> pick = choose(options, hi, total_loss);
  if (*total_loss > allowed) return pick;  // the least harmful options already exceed it
  for (int it = 0; it < 80; ++it) {
    const double mid = std::sqrt(lo * hi);
    double loss = 0;
    choose(options, mid, &loss);
    (loss <= allowed ? hi : lo) = mid;
  }
  pick = choose(options, hi, total_loss);
  // The Lagrangian only reaches options on the convex hull of each layer's (loss, bytes); fill
  // the slack greedily: the single-layer change saving the most bytes that still fits.
  while (true) {
    double best_gain = 0;
    size_t best_l = 0, best_i = 0;
    for (size_t l = 0; l < options.size(); ++l) {
      const Option& cur = options[l][pick[l]];
      for (size_t i = 0; i < options[l].size(); ++i) {
        const Option& o = options[l][i];
        const double gain = cur.bytes - o.bytes;
        if (gain > best_gain && *total_loss - cur.loss + o.loss <= allowed) {
          best_gain = gain;
          best_l = l;
          best_i = i;
        }
      }
    }
    if (best_gain <= 0) break;
    *total_loss += options[best_l][best_i].loss - options[best_l][pick[best_l]].loss;
    pick[best_l] = best_i;
  }
  return pick;
}

}  // namespace

std::string LayerChoice::flag() const {
  // Shortest text that reads back as the same double, so the flag replays the choice exactly.
  char rate[32];
  const auto end = std::to_chars(rate, rate + sizeof rate, prune).ptr;
  return escape_glob(tensor) + "=prune:" + std::string(rate, end) + ",bits:" + std::to_string(bits);
}

CompressOptions with_choices(const CompressOptions& base, const std::vector<LayerChoice>& layers) {
  CompressOptions o = base;
  o.share = true;
  for (const LayerChoice& c : layers)
    o.layers.push_back(setting_override(c.tensor, c.prune, c.bits));
  return o;
}

Result<std::vector<std::string>> compressible_layers(const Model& model,
                                                     const CompressOptions& base) {
  std::vector<std::string> out;
  for (const Tensor& t : model.tensors) {
    if (!is_float_dtype(t.dtype) || t.numel() <= 0) continue;
    if (!is_weight_role(t.role) && !(base.include_biases && t.role == TensorRole::kBias)) continue;
    bool skip = false;
    for (const LayerOverride& o : base.layers)
      if (o.skip && fnmatch(o.pattern.c_str(), t.name.c_str(), 0) == 0) skip = *o.skip;
    if (!skip) out.push_back(t.name);
  }
  if (out.empty()) return Status::Error("the model has no compressible layer");
  return out;
}

Result<Model> apply_compressed(const Model& model, const Container& container) {
  if (container.tensors.size() != model.tensors.size())
    return Status::Error("apply_compressed: the container does not come from this model");
  Model out = model;
  for (size_t i = 0; i < container.tensors.size(); ++i) {
    const EncodedTensor& e = container.tensors[i];
    if (e.name != out.tensors[i].name)
      return Status::Error("apply_compressed: tensor '" + e.name + "' out of order");
    if (e.encoding == Encoding::kLossless) continue;
    DEEPCOMP_ASSIGN_OR_RETURN(Tensor t, decode_tensor(e));
    out.tensors[i].values = std::move(t.values);
  }
  return out;
}

Result<Sensitivity> analyze_sensitivity(const Model& model, const CompressOptions& base,
                                        Scorer& scorer, const SensitivityOptions& options) {
  DEEPCOMP_RETURN_IF_ERROR(check_grids(options));
  if (scorer.samples() <= 0) return Status::Error("the validation set is empty");
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<std::string> layers, compressible_layers(model, base));
  EdgeEvaluator eval(scorer, options.subset, options.edge_loss);
  DEEPCOMP_RETURN_IF_ERROR(eval.init(model));
  std::vector<double> rates = options.rates;
  std::sort(rates.begin(), rates.end());
  rates.erase(std::unique(rates.begin(), rates.end()), rates.end());
  std::vector<int> bits = options.bits;
  std::sort(bits.rbegin(), bits.rend());
  bits.erase(std::unique(bits.begin(), bits.end()), bits.end());

  Sensitivity out;
  const int total =
      static_cast<int>(layers.size() * (rates.size() + bits.size() +
                                        static_cast<size_t>(std::max(0, options.refine))));
  int done = 0;
  for (const std::string& name : layers) {
    LayerSensitivity ls;
    ls.tensor = name;
    auto run_point = [&](double prune, int b) -> Result<SensitivityPoint> {
      const CompressOptions o = alone(base, layers, name, prune, b);
      DEEPCOMP_RETURN_IF_ERROR(validate_options(o));
      DEEPCOMP_ASSIGN_OR_RETURN(CompressOutput c, compress_model(model, o));
      DEEPCOMP_ASSIGN_OR_RETURN(Model m, apply_compressed(model, c.container));
      SensitivityPoint p;
      p.prune = prune;
      p.bits = b;
      DEEPCOMP_RETURN_IF_ERROR(eval.evaluate(m, &p));
      const LayerReport* r = find_layer(c.report, name);
      if (r == nullptr) return Status::Error("tensor '" + name + "' missing from the report");
      p.bytes = r->bytes.huffman;
      ls.kind = r->kind;
      ls.params = r->params;
      ls.original_bytes = r->bytes.original;
      ++done;
      if (options.progress) options.progress("sensitivity", name, done, total, 0, p.score);
      return p;
    };
    for (double r : rates) {
      DEEPCOMP_ASSIGN_OR_RETURN(SensitivityPoint p, run_point(r, 0));
      ls.prune.push_back(p);
    }
    // Bisect where the curve crosses the edge.
    size_t cross = 0;
    while (cross < ls.prune.size() && ls.prune[cross].loss <= options.edge_loss) ++cross;
    if (cross < ls.prune.size()) {
      double lo = cross == 0 ? 0.0 : ls.prune[cross - 1].prune, hi = ls.prune[cross].prune;
      for (int k = 0; k < options.refine; ++k) {
        const double mid = std::round((lo + hi) / 2 * 1e4) / 1e4;  // short, replayable rates
        if (!(mid > lo && mid < hi)) break;
        DEEPCOMP_ASSIGN_OR_RETURN(SensitivityPoint p, run_point(mid, 0));
        (p.loss <= options.edge_loss ? lo : hi) = mid;
        ls.prune.insert(
            std::upper_bound(ls.prune.begin(), ls.prune.end(), mid,
                             [](double r, const SensitivityPoint& q) { return r < q.prune; }),
            p);
      }
    }
    for (int b : bits) {
      DEEPCOMP_ASSIGN_OR_RETURN(SensitivityPoint p, run_point(0.0, b));
      ls.share.push_back(p);
    }
    out.layers.push_back(std::move(ls));
  }
  out.base_score = eval.base_full();
  out.subset_base_score = eval.base_subset();
  out.samples = eval.full();
  out.subset = eval.subset();
  out.evaluations = eval.evaluations();
  out.full_evaluations = eval.full_evaluations();
  return out;
}

Result<BudgetResult> search_budget(const Model& model, const CompressOptions& base, Scorer& scorer,
                                   const BudgetOptions& options) {
  if (options.max_verifications < 1) return Status::Error("budget search: no verification runs");
  BudgetResult result;
  result.min_score = options.min_score;
  SensitivityOptions so = options.sensitivity;
  if (scorer.samples() <= 0) return Status::Error("the validation set is empty");
  // The edge of each single-layer curve is the whole budget, so the base score comes first
  // (analyze_sensitivity measures it again: cheap next to the grid).
  DEEPCOMP_ASSIGN_OR_RETURN(double base_score, scorer.score(model, scorer.samples()));
  const double budget = std::max(0.0, base_score - options.min_score);
  so.edge_loss = budget;
  DEEPCOMP_ASSIGN_OR_RETURN(result.sensitivity, analyze_sensitivity(model, base, scorer, so));
  result.base_score = result.sensitivity.base_score;

  std::vector<std::vector<Option>> opts;
  std::map<std::string, const Tensor*> tensors;
  for (const Tensor& t : model.tensors) tensors[t.name] = &t;
  for (const LayerSensitivity& l : result.sensitivity.layers)
    opts.push_back(layer_options(l, *tensors.at(l.tensor)));

  auto to_choices = [&](const std::vector<size_t>& pick) {
    std::vector<LayerChoice> c;
    for (size_t l = 0; l < pick.size(); ++l)
      c.push_back(
          {result.sensitivity.layers[l].tensor, opts[l][pick[l]].prune, opts[l][pick[l]].bits});
    return c;
  };
  std::map<std::vector<size_t>, Verification> tried;
  bool have_best = false, have_closest = false;
  Verification closest;
  std::vector<LayerChoice> closest_layers;
  CompressOutput closest_output;
  int runs = 0;
  auto verify_choices = [&](const std::vector<LayerChoice>& layers, double alpha, double est,
                            const std::string& phase,
                            const std::string& move) -> Result<Verification> {
    ++runs;
    const CompressOptions o = with_choices(base, layers);
    DEEPCOMP_RETURN_IF_ERROR(validate_options(o));
    DEEPCOMP_ASSIGN_OR_RETURN(CompressOutput c, compress_model(model, o));
    DEEPCOMP_ASSIGN_OR_RETURN(Model m, apply_compressed(model, c.container));
    DEEPCOMP_ASSIGN_OR_RETURN(double s, scorer.score(m, scorer.samples()));
    Verification v;
    v.alpha = alpha;
    v.estimated_loss = est;
    v.ratio = c.report.ratio();
    v.score = s;
    v.samples = scorer.samples();
    v.passed = s >= options.min_score;
    v.phase = phase;
    v.move = move;
    result.verifications.push_back(v);
    if (options.sensitivity.progress)
      options.sensitivity.progress(phase, move, runs, 0, v.ratio, s);
    if (v.passed && (!have_best || v.ratio > result.ratio)) {
      have_best = true;
      result.ratio = v.ratio;
      result.score = s;
      result.layers = layers;
      result.output = std::move(c);
    } else if (!v.passed && !have_best && (!have_closest || s > closest.score)) {
      have_closest = true;
      closest = v;
      closest_layers = layers;
      closest_output = std::move(c);
    }
    return v;
  };
  auto verify = [&](const std::vector<size_t>& pick, double alpha,
                    double est) -> Result<Verification> {
    if (auto it = tried.find(pick); it != tried.end()) return it->second;
    DEEPCOMP_ASSIGN_OR_RETURN(Verification v,
                              verify_choices(to_choices(pick), alpha, est, "curves", ""));
    tried[pick] = v;
    return v;
  };

  // alpha: allowed estimated loss as a fraction of the budget. Doubled while verification
  // passes, bisected once it misses.
  double lo = 0, hi = -1, alpha = 1;
  for (int step = 0; step < 4 * options.max_verifications && runs < options.max_verifications;
       ++step) {
    double est = 0;
    const std::vector<size_t> pick = choose_within(opts, alpha * budget, &est);
    const bool repeat = tried.count(pick) > 0;
    DEEPCOMP_ASSIGN_OR_RETURN(Verification v, verify(pick, alpha, est));
    if (v.passed) {
      lo = alpha;
    } else {
      hi = alpha;
    }
    if (hi < 0) {
      if (repeat && alpha > 64) break;  // the harshest options already pass
      alpha *= 2;
    } else {
      if (hi - lo < 0.03 * std::max(hi, 1e-9)) break;
      alpha = 0.5 * (lo + hi);
    }
  }
  if (!have_best) {
    // Nothing passed: the least compression (every layer unpruned at the widest bits).
    std::vector<size_t> least(opts.size());
    for (size_t l = 0; l < opts.size(); ++l) {
      size_t best = 0;
      for (size_t i = 0; i < opts[l].size(); ++i)
        if (opts[l][i].prune < opts[l][best].prune ||
            (opts[l][i].prune == opts[l][best].prune && opts[l][i].bits > opts[l][best].bits))
          best = i;
      least[l] = best;
    }
    DEEPCOMP_ASSIGN_OR_RETURN(Verification v, verify(least, 0, 0));
    (void)v;
  }
  if (options.uniform) {
    // Uniform settings (one rate and width for every layer), the largest passing rate of the
    // grid per width by bisection: the refinement then starts from whichever is better, so the
    // search never ends below the best uniform setting of its own grid.
    std::vector<double> rates{0.0};
    for (double r : so.rates) rates.push_back(r);
    std::sort(rates.begin(), rates.end());
    rates.erase(std::unique(rates.begin(), rates.end()), rates.end());
    std::vector<int> widths = so.bits;
    std::sort(widths.rbegin(), widths.rend());
    widths.erase(std::unique(widths.begin(), widths.end()), widths.end());
    for (int b : widths) {
      int lo_i = -1, hi_i = static_cast<int>(rates.size());
      while (hi_i - lo_i > 1) {
        const int mid = (lo_i + hi_i) / 2;
        std::vector<LayerChoice> layers;
        for (const LayerSensitivity& l : result.sensitivity.layers)
          layers.push_back({l.tensor, rates[static_cast<size_t>(mid)], b});
        char move[64];
        std::snprintf(move, sizeof move, "prune %g bits %d", rates[static_cast<size_t>(mid)], b);
        DEEPCOMP_ASSIGN_OR_RETURN(Verification v, verify_choices(layers, 0, 0, "uniform", move));
        (v.passed ? lo_i : hi_i) = mid;
      }
      if (lo_i < 0) break;  // unpruned at this width misses: narrower widths miss too
    }
  }
  if (have_best && options.max_refinements > 0) {
    budget_internal::RefineOptions ro;
    ro.min_score = options.min_score;
    ro.base_score = result.sensitivity.base_score;
    ro.subset_base_score = result.sensitivity.subset_base_score;
    ro.subset = result.sensitivity.subset;
    ro.max_evaluations = options.max_refinements;
    ro.bits = so.bits;
    ro.prune_step = options.prune_step;
    ro.progress = options.sensitivity.progress;
    DEEPCOMP_ASSIGN_OR_RETURN(budget_internal::RefineOutcome refined,
                              budget_internal::refine_choices(model, base, scorer, result.layers,
                                                              ro, &result.verifications));
    if (refined.moves > 0) {
      // The refined choice compressed for real: the written model is what was scored.
      const CompressOptions o = with_choices(base, refined.layers);
      DEEPCOMP_RETURN_IF_ERROR(validate_options(o));
      DEEPCOMP_ASSIGN_OR_RETURN(CompressOutput c, compress_model(model, o));
      DEEPCOMP_ASSIGN_OR_RETURN(Model m, apply_compressed(model, c.container));
      DEEPCOMP_ASSIGN_OR_RETURN(double s, scorer.score(m, scorer.samples()));
      Verification v;
      v.ratio = c.report.ratio();
      v.score = s;
      v.samples = scorer.samples();
      v.passed = s >= options.min_score;
      v.phase = "refined";
      result.verifications.push_back(v);
      if (v.passed && v.ratio > result.ratio) {
        result.ratio = v.ratio;
        result.score = s;
        result.layers = refined.layers;
        result.output = std::move(c);
      }
    }
  }
  result.met = have_best;
  if (!have_best) {
    result.score = closest.score;
    result.ratio = closest.ratio;
    result.layers = closest_layers;
    result.output = std::move(closest_output);
  }
  return result;
}

}  // namespace deepcomp::compress
