// Greedy measured refinement of a budget choice (compress/budget_refine.h).
#include "compress/budget_refine.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "compress/budget_internal.h"

namespace deepcomp::compress::budget_internal {
namespace {

// One layer compressed alone at one setting: its decoded values and its bytes.
struct Variant {
  std::vector<float> values;
  double bytes = 0;
};

// A setting harsher than `prune` by one move: the keep fraction times `step`, on a 1e-4 grid so
// the --layer flags stay short. Returns `prune` when the move would not change it.
double harsher_rate(double prune, double step) {
  const double next = std::round((1 - (1 - prune) * step) * 1e4) / 1e4;
  return next > prune && next < 1 ? next : prune;
}

class Refiner {
 public:
  Refiner(const Model& model, const CompressOptions& base, Scorer& scorer,
          const RefineOptions& options, std::vector<Verification>* log)
      : model_(model), base_(base), scorer_(scorer), options_(options), log_(log) {}

  Result<RefineOutcome> run(const std::vector<LayerChoice>& start) {
    for (const LayerChoice& c : start) names_.push_back(c.tensor);
    for (const std::string& n : names_) {
      auto it = std::find_if(model_.tensors.begin(), model_.tensors.end(),
                             [&](const Tensor& t) { return t.name == n; });
      if (it == model_.tensors.end()) return Status::Error("refine: no tensor '" + n + "'");
      index_.push_back(static_cast<size_t>(it - model_.tensors.begin()));
    }
    bits_ = options_.bits;
    std::sort(bits_.rbegin(), bits_.rend());
    bits_.erase(std::unique(bits_.begin(), bits_.end()), bits_.end());

    std::vector<LayerChoice> cur = start;
    DEEPCOMP_ASSIGN_OR_RETURN(double cur_score, full_score(cur));
    RefineOutcome out;
    out.layers = cur;
    out.score = cur_score;
    DEEPCOMP_ASSIGN_OR_RETURN(double cur_bytes, bytes(cur));
    out.ratio = original_ / cur_bytes;
    if (cur_score < options_.min_score) return out;  // not a passing start: nothing to refine

    const size_t n = cur.size();
    std::vector<double> step(n, options_.prune_step);
    std::vector<bool> prune_frozen(n, false), bits_frozen(n, false);
    const double floor = 0.5 / static_cast<double>(scorer_.samples());
    while (evaluations_ < options_.max_evaluations) {
      bool any_candidate = false;
      std::vector<Passing> passing;
      for (size_t l = 0; l < n && evaluations_ < options_.max_evaluations; ++l) {
        for (int kind = 0; kind < 2 && evaluations_ < options_.max_evaluations; ++kind) {
          std::vector<LayerChoice> cand = cur;
          std::string move;
          if (kind == 0) {
            if (prune_frozen[l]) continue;
            cand[l].prune = harsher_rate(cur[l].prune, step[l]);
            if (cand[l].prune == cur[l].prune) {
              prune_frozen[l] = true;
              continue;
            }
            move = names_[l] + " prune " + short_number(cur[l].prune) + " -> " +
                   short_number(cand[l].prune);
          } else {
            if (bits_frozen[l]) continue;
            auto next =
                std::find_if(bits_.begin(), bits_.end(), [&](int b) { return b < cur[l].bits; });
            if (next == bits_.end()) {
              bits_frozen[l] = true;
              continue;
            }
            cand[l].bits = *next;
            move = names_[l] + " bits " + std::to_string(cur[l].bits) + " -> " +
                   std::to_string(cand[l].bits);
          }
          any_candidate = true;
          DEEPCOMP_ASSIGN_OR_RETURN(double cand_bytes, bytes(cand));
          DEEPCOMP_ASSIGN_OR_RETURN(Measured m, measure(cand, move, original_ / cand_bytes));
          if (!m.passed) {
            // A prune step that misses is retried smaller; a width that misses is final.
            if (kind == 0) {
              step[l] = std::sqrt(step[l]);
              if (step[l] > 0.97) prune_frozen[l] = true;
            } else {
              bits_frozen[l] = true;
            }
            continue;
          }
          if (cand_bytes < cur_bytes)
            passing.push_back({l, kind, cand[l], m.score,
                               (cur_bytes - cand_bytes) / std::max(cur_score - m.score, floor),
                               move});
        }
      }
      if (!any_candidate) break;
      if (passing.empty()) continue;  // only smaller prune steps are left to try
      // The move with the most bytes saved per point lost; then the other layers' passing moves
      // in the same order, each kept when the combination still passes (layers that cost
      // nothing move together instead of one per round).
      std::stable_sort(passing.begin(), passing.end(),
                       [](const Passing& a, const Passing& b) { return a.gain > b.gain; });
      std::vector<bool> moved(n, false);
      // A prune step that passed is doubled (in keep-fraction terms) for the next round: far
      // from the edge the layer gets there in fewer rounds.
      auto taken = [&](const Passing& p) {
        moved[p.layer] = true;
        if (p.kind == 0) step[p.layer] = std::max(step[p.layer] * step[p.layer], 0.5);
      };
      cur[passing[0].layer] = passing[0].choice;
      cur_score = passing[0].score;
      taken(passing[0]);
      for (size_t k = 1; k < passing.size() && evaluations_ < options_.max_evaluations; ++k) {
        const Passing& p = passing[k];
        if (moved[p.layer]) continue;
        std::vector<LayerChoice> cand = cur;
        cand[p.layer] = p.choice;
        DEEPCOMP_ASSIGN_OR_RETURN(double cand_bytes, bytes(cand));
        DEEPCOMP_ASSIGN_OR_RETURN(Measured m,
                                  measure(cand, "with " + p.move, original_ / cand_bytes));
        if (!m.passed) continue;
        cur = cand;
        cur_score = m.score;
        taken(p);
      }
      DEEPCOMP_ASSIGN_OR_RETURN(cur_bytes, bytes(cur));
      ++out.moves;
      forget_milder(cur);
    }
    out.layers = cur;
    out.score = cur_score;
    out.ratio = original_ / cur_bytes;
    out.evaluations = evaluations_;
    return out;
  }

 private:
  struct Measured {
    double score = 0;
    bool passed = false;
  };
  // A single-layer move that passed in this round.
  struct Passing {
    size_t layer = 0;
    int kind = 0;  // 0 prune, 1 bits
    LayerChoice choice;
    double score = 0;
    double gain = 0;  // bytes saved per score unit lost
    std::string move;
  };

  static std::string short_number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }

  Result<const Variant*> variant(size_t l, double prune, int bits) {
    const auto key = std::make_tuple(l, prune, bits);
    if (auto it = cache_.find(key); it != cache_.end()) return &it->second;
    const CompressOptions o = alone(base_, names_, names_[l], prune, bits);
    DEEPCOMP_RETURN_IF_ERROR(validate_options(o));
    DEEPCOMP_ASSIGN_OR_RETURN(CompressOutput c, compress_model(model_, o));
    const size_t i = index_[l];
    if (c.container.tensors.size() != model_.tensors.size())
      return Status::Error("refine: unexpected container for '" + names_[l] + "'");
    Variant v;
    if (c.container.tensors[i].encoding == Encoding::kLossless) {
      v.values = model_.tensors[i].values;
    } else {
      DEEPCOMP_ASSIGN_OR_RETURN(Tensor t, decode_tensor(c.container.tensors[i]));
      v.values = std::move(t.values);
    }
    // The tensors outside the search are stored the same way whatever the choice.
    double layer_bytes = -1, searched = 0;
    for (const LayerReport& r : c.report.layers) {
      if (r.name == names_[l]) layer_bytes = r.bytes.huffman;
      if (std::find(names_.begin(), names_.end(), r.name) != names_.end())
        searched += r.bytes.huffman;
    }
    if (layer_bytes < 0) return Status::Error("refine: '" + names_[l] + "' not in the report");
    v.bytes = layer_bytes;
    fixed_ = c.report.bytes.huffman - searched;
    original_ = c.report.bytes.original;
    return &cache_.emplace(key, std::move(v)).first->second;
  }

  // Paper-accounting bytes of a choice (the sum of its layers' bytes and the rest, lossless).
  Result<double> bytes(const std::vector<LayerChoice>& c) {
    double total = 0;
    for (size_t l = 0; l < c.size(); ++l) {
      DEEPCOMP_ASSIGN_OR_RETURN(const Variant* v, variant(l, c[l].prune, c[l].bits));
      total += v->bytes;
    }
    return total + fixed_;
  }

  Result<Model> build(const std::vector<LayerChoice>& c) {
    Model m = model_;
    for (size_t l = 0; l < c.size(); ++l) {
      DEEPCOMP_ASSIGN_OR_RETURN(const Variant* v, variant(l, c[l].prune, c[l].bits));
      m.tensors[index_[l]].values = v->values;
    }
    return m;
  }

  Result<double> full_score(const std::vector<LayerChoice>& c) {
    DEEPCOMP_ASSIGN_OR_RETURN(Model m, build(c));
    ++evaluations_;
    return scorer_.score(m, scorer_.samples());
  }

  // Scores a candidate: on the subset first, where that is far outside the budget it fails
  // there; else on every sample.
  Result<Measured> measure(const std::vector<LayerChoice>& c, const std::string& move,
                           double ratio) {
    DEEPCOMP_ASSIGN_OR_RETURN(Model m, build(c));
    ++evaluations_;
    const int64_t full = scorer_.samples();
    const double budget = std::max(0.0, options_.base_score - options_.min_score);
    Measured out;
    int64_t used = full;
    if (scorer_.subsets() && options_.subset > 0 && options_.subset < full) {
      DEEPCOMP_ASSIGN_OR_RETURN(double s, scorer_.score(m, options_.subset));
      const double p = std::clamp(options_.subset_base_score, 0.0, 1.0);
      const double se = std::max(std::sqrt(p * (1 - p) / options_.subset), 1.0 / options_.subset);
      if (options_.subset_base_score - s > budget + std::max(2 * se, 0.5 * budget)) {
        out.score = s;
        used = options_.subset;
      } else {
        used = full;
      }
    }
    if (used == full) {
      DEEPCOMP_ASSIGN_OR_RETURN(out.score, scorer_.score(m, full));
      out.passed = out.score >= options_.min_score;
    }
    Verification v;
    v.phase = "refine";
    v.move = move;
    v.ratio = ratio;
    v.score = out.score;
    v.samples = used;
    v.passed = out.passed;
    log_->push_back(v);
    if (options_.progress)
      options_.progress("refine", move, evaluations_, options_.max_evaluations, ratio, out.score);
    return out;
  }

  // Variants milder than the current choice are never asked for again.
  void forget_milder(const std::vector<LayerChoice>& cur) {
    for (auto it = cache_.begin(); it != cache_.end();) {
      const auto& [l, prune, bits] = it->first;
      if (prune < cur[l].prune || bits > cur[l].bits)
        it = cache_.erase(it);
      else
        ++it;
    }
  }

  const Model& model_;
  const CompressOptions& base_;
  Scorer& scorer_;
  const RefineOptions& options_;
  std::vector<Verification>* log_;
  std::vector<std::string> names_;
  std::vector<size_t> index_;
  std::vector<int> bits_;
  std::map<std::tuple<size_t, double, int>, Variant> cache_;
  double fixed_ = 0, original_ = 0;
  int evaluations_ = 0;
};

}  // namespace

Result<RefineOutcome> refine_choices(const Model& model, const CompressOptions& base,
                                     Scorer& scorer, const std::vector<LayerChoice>& start,
                                     const RefineOptions& options, std::vector<Verification>* log) {
  if (start.empty()) return Status::Error("refine: no layers");
  for (const LayerChoice& c : start)
    if (c.bits <= 0) return Status::Error("refine: layer '" + c.tensor + "' is not shared");
  Refiner r(model, base, scorer, options, log);
  return r.run(start);
}

}  // namespace deepcomp::compress::budget_internal
