// `deepcomp compress IN.onnx -o OUT.dcz`: the Deep Compression pipeline, with the size report.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "compress/budget_retrain.h"
#include "compress/budget_search.h"
#include "compress/container.h"
#include "compress/pipeline.h"
#include "compress/stream_compress.h"
#include "core/file_io.h"
#include "onnx_io/onnx_io.h"
#include "toolkit/budget_scorer.h"
#include "toolkit/compact_export.h"
#include "toolkit/compress_file.h"
#include "toolkit/energy_inputs.h"
#include "toolkit/energy_report.h"
#include "toolkit/list_options.h"
#include "toolkit/report_output.h"
#include "train/retrain.h"

namespace deepcomp::cli {
namespace {

struct CompressArgs {
  std::string input;
  std::string output;
  std::string report_json;
  std::string onnx_compact;  // --onnx-compact (cli/compact_export.h)
  bool force = false;
  bool quiet = false;
  bool no_energy = false;       // --no-energy
  bool energy_latency = false;  // --energy-latency (cli/energy_report.h)
  bool in_memory = false;       // --in-memory: never the streaming path
  std::vector<std::string> layer_specs;
  std::string init = "linear";
  std::string empty_clusters = "split";
  bool quant_flat_bits = false;  // --quant-flat-bits
  std::optional<double> prune, prune_std, prune_global, prune_conv, prune_fc;
  compress::CompressOptions options;
  // --retrain (train/retrain.h).
  bool retrain = false;
  std::string train_images, train_labels, val_images, val_labels;
  train::Preprocess pre;
  train::RetrainOptions retrain_options;
  std::string optimizer = "sgd", lr_schedule = "constant";
  // Accuracy budget (compress/budget_search.h).
  std::optional<double> max_loss, min_agreement;
  std::vector<std::string> val_inputs;
  bool best_effort = false;
  std::string budget_rates = "0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.95,0.97",
              budget_bits = "8,6,5,4,3,2";
  int64_t budget_subset = 1000;
  int budget_verifications = 8;
  int budget_refine = 64;
  // --retrain with --max-loss (compress/budget_retrain.h): the schedule's settings, and which
  // training flags the user gave (the others take the schedule's defaults).
  double time_limit = 0;
  double tighten = 0.75;
  int max_steps = 16;
  // original, dense or dense-once (docs/RETRAIN.md "The reference"; measured: the dense copy did
  // not help on the training holdout, bench/RESULTS.md session 6).
  std::string budget_reference = "original";
  bool half_step = true;
  std::optional<double> margin;  // points taken off the budget; unset: budget_margin()
  bool given_optimizer = false, given_lr = false, given_lr_schedule = false,
       given_share_lr_scale = false, given_epochs_prune = false, given_epochs_share = false;
};

// The budget search's part of the report JSON.
nlohmann::json search_json(const compress::BudgetResult& r, const std::string& metric,
                           const CompressArgs& args) {
  nlohmann::json j;
  j["metric"] = metric;
  if (args.max_loss) j["max_loss_points"] = *args.max_loss;
  if (args.min_agreement) j["min_agreement"] = *args.min_agreement;
  j["met"] = r.met;
  j["base_score"] = r.base_score;
  j["min_score"] = r.min_score;
  j["score"] = r.score;
  j["loss_points"] = 100 * (r.base_score - r.score);
  j["samples"] = r.sensitivity.samples;
  j["ratio"] = r.ratio;
  j["layers"] = nlohmann::json::array();
  std::string flags;
  for (const compress::LayerChoice& c : r.layers) {
    j["layers"].push_back(
        {{"name", c.tensor}, {"prune", c.prune}, {"bits", c.bits}, {"flag", c.flag()}});
    flags += (flags.empty() ? "" : " ") + std::string("--layer '") + c.flag() + "'";
  }
  j["replay"] = flags;
  j["verifications"] = nlohmann::json::array();
  for (const compress::Verification& v : r.verifications)
    j["verifications"].push_back({{"alpha", v.alpha},
                                  {"estimated_loss_points", 100 * v.estimated_loss},
                                  {"ratio", v.ratio},
                                  {"score", v.score},
                                  {"samples", v.samples},
                                  {"passed", v.passed},
                                  {"phase", v.phase},
                                  {"move", v.move}});
  j["sensitivity_evaluations"] = r.sensitivity.evaluations;
  j["sensitivity_full_evaluations"] = r.sensitivity.full_evaluations;
  j["sensitivity_subset"] = r.sensitivity.subset;
  return j;
}

// The sensitivity grid both budget paths start from: --budget-rates, --budget-bits,
// --budget-subset.
Status set_sensitivity_grid(const CompressArgs& args, compress::SensitivityOptions* out) {
  DEEPCOMP_ASSIGN_OR_RETURN(out->rates, parse_rate_list(args.budget_rates, "--budget-rates"));
  DEEPCOMP_ASSIGN_OR_RETURN(out->bits, parse_bits_list(args.budget_bits, "--budget-bits"));
  out->subset = args.budget_subset;
  return Status::Ok();
}

// Runs the budget search; *search gets the result (its output is the compressed model).
Status run_budget(const CompressArgs& args, const Model& model, compress::CompressOptions options,
                  bool show_progress, compress::BudgetResult* search, std::string* metric) {
  if (args.max_loss && args.min_agreement)
    return Status::Error("--max-loss and --min-agreement exclude each other");
  ValidationArgs val;
  val.images_flag = "--val-images";
  val.labels_flag = "--val-labels";
  val.input_flag = "--val-input";
  if (args.max_loss) {
    if (!(*args.max_loss >= 0) || !std::isfinite(*args.max_loss))
      return Status::Error("--max-loss must be a non-negative number of points");
    if (args.val_images.empty() || args.val_labels.empty())
      return Status::Error(
          "--max-loss needs labelled validation data: --val-images and --val-labels");
    if (!args.val_inputs.empty())
      return Status::Error(
          "--max-loss measures accuracy: use --val-images/--val-labels, not --val-input");
    val.images = args.val_images;
    val.labels = args.val_labels;
  } else {
    if (!(*args.min_agreement >= 0 && *args.min_agreement <= 1))
      return Status::Error("--min-agreement must be a fraction in [0, 1]");
    if (args.val_inputs.empty())
      return Status::Error("--min-agreement needs validation inputs: --val-input NAME=FILE.npy");
    if (!args.val_images.empty() || !args.val_labels.empty())
      return Status::Error("--min-agreement measures agreement: use --val-input, not --val-images");
    val.inputs = args.val_inputs;
  }
  compress::BudgetOptions bo;
  DEEPCOMP_RETURN_IF_ERROR(set_sensitivity_grid(args, &bo.sensitivity));
  bo.max_verifications = args.budget_verifications;
  bo.max_refinements = args.budget_refine;
  DEEPCOMP_ASSIGN_OR_RETURN(std::unique_ptr<compress::Scorer> scorer,
                            make_scorer(model, args.input, val, metric));
  if (args.max_loss) {
    DEEPCOMP_ASSIGN_OR_RETURN(double base, scorer->score(model, scorer->samples()));
    bo.min_score = base - *args.max_loss / 100;
  } else {
    bo.min_score = *args.min_agreement;
  }
  const auto start = std::chrono::steady_clock::now();
  if (show_progress) {
    bo.sensitivity.progress = [start](const std::string& phase, const std::string& layer, int done,
                                      int total, double ratio, double score) {
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::string line = total > 0 ? fmt::format("\r\033[K{} {}/{}", phase, done, total)
                                   : fmt::format("\r\033[K{} {}", phase, done);
      if (!layer.empty()) line += " " + layer;
      if (ratio > 0) line += fmt::format("  ratio {:.1f}x", ratio);
      line += fmt::format("  validation {:.2f}%  {:.0f} s", 100 * score, s);
      std::fputs(line.c_str(), stderr);
      std::fflush(stderr);
    };
  }
  options.progress = nullptr;
  auto r = compress::search_budget(model, options, *scorer, bo);
  if (show_progress) std::fputs("\r\033[K", stderr);
  if (!r.ok()) return r.status();
  *search = std::move(*r);
  return Status::Ok();
}

// Sets up retraining before compress_model runs: the trainer (rejecting ops without a backward
// pass before any work), the data, and the accuracy before compression.
struct RetrainSetup {
  std::unique_ptr<train::Trainer> trainer;
  train::Dataset train_set, eval_set;
  std::unique_ptr<train::Retrainer> tuner;
  std::string eval_name = "first 10000 training samples";
  // Budget without a validation set: the original's top-1 on the holdout and on as many samples
  // of the training part (-1 otherwise). About equal when the model trained on the holdout too.
  double holdout_score = -1, train_part_score = -1;
};

// The holdout counts as new to the model when the model scores at least this much (top-1) lower
// on it than on its training part: LeNet-300-100 / LeNet-5 on Fashion-MNIST measured 3.4 / 6.6
// points trained without the holdout, -0.1 / 0.0 trained with it (bench/RESULTS.md, session 7).
constexpr double kMinGeneralizationGap = 0.01;

bool holdout_looks_seen(const RetrainSetup& setup) {
  return setup.holdout_score >= 0 &&
         setup.holdout_score >= setup.train_part_score - kMinGeneralizationGap;
}

// A holdout the model trained on measures forgetting as loss, so the budget stops early
// (docs/RETRAIN.md, "The reference"): say so, with what to do instead.
void warn_if_holdout_seen(const RetrainSetup& setup) {
  if (!holdout_looks_seen(setup)) return;
  std::fprintf(stderr,
               "warning: the model scores %.2f%% on the %lld held-out training samples and %.2f%% "
               "on as many it is retrained on: it looks trained on the holdout too, so the budget "
               "will count forgetting as loss and stop early; --val-images/--val-labels with images "
               "it never saw measure the loss itself (docs/RETRAIN.md)\n",
               100 * setup.holdout_score, static_cast<long long>(setup.eval_set.n),
               100 * setup.train_part_score);
}

// Fraction of the training set held out as the validation set of a budget without one.
constexpr double kHoldoutFraction = 0.1;
// Retraining defaults under a budget: what bench/RESULTS.md ("Retraining", geometric steps)
// measured best on LeNet-300-100 and LeNet-5 (Adam with a cosine schedule per phase, centroids at
// a tenth of the rate, 4 epochs per pruning step and 4 for the centroids).
constexpr const char* kBudgetOptimizer = "adam";
constexpr double kBudgetLr = 1e-3;
constexpr const char* kBudgetLrSchedule = "cosine";
constexpr double kBudgetShareLrScale = 0.1;
constexpr int kBudgetEpochsPrune = 4;
constexpr int kBudgetEpochsShare = 4;

// --budget-reference.
Result<compress::BudgetReference> budget_reference(const CompressArgs& args) {
  using compress::BudgetReference;
  if (args.budget_reference == "original") return BudgetReference::kOriginal;
  if (args.budget_reference == "dense-once") return BudgetReference::kDenseOnce;
  if (args.budget_reference == "dense") return BudgetReference::kDenseTracked;
  return Status::Error("--budget-reference must be original, dense or dense-once, not '" +
                       args.budget_reference + "'");
}

// What a budget with --retrain needs, checked before any data is read.
Status check_retrain_budget_args(const CompressArgs& args) {
  if (!(*args.max_loss >= 0) || !std::isfinite(*args.max_loss))
    return Status::Error("--max-loss must be a non-negative number of points");
  if (args.train_images.empty() || args.train_labels.empty())
    return Status::Error("--retrain with --max-loss needs --train-images and --train-labels");
  if (!args.val_inputs.empty())
    return Status::Error(
        "--max-loss measures accuracy: use --val-images/--val-labels, not "
        "--val-input");
  if (!(args.time_limit >= 0) || !std::isfinite(args.time_limit))
    return Status::Error("--time-limit must be a non-negative number of seconds");
  if (!(args.tighten > 0 && args.tighten < 1))
    return Status::Error("--budget-tighten must be in (0, 1)");
  if (args.margin && (!(*args.margin >= 0) || !(*args.margin <= *args.max_loss)))
    return Status::Error("--budget-margin must be between 0 and the --max-loss points");
  DEEPCOMP_RETURN_IF_ERROR(budget_reference(args).status());
  return Status::Ok();
}

// With a budget: the schedule's training defaults, and without a validation set the evaluation
// set is a seeded 10% of the training set (retraining uses the rest).
Status setup_retrain(const CompressArgs& args, const Model& model, bool show_progress, bool budget,
                     RetrainSetup* out) {
  if (args.train_images.empty() || args.train_labels.empty())
    return Status::Error("--retrain needs --train-images and --train-labels");
  if (args.val_images.empty() != args.val_labels.empty())
    return Status::Error("--val-images and --val-labels go together");
  train::RetrainOptions options = args.retrain_options;
  std::string optimizer = args.optimizer, lr_schedule = args.lr_schedule;
  if (budget) {  // the schedule's defaults for the flags not given
    if (!args.given_optimizer) optimizer = kBudgetOptimizer;
    if (!args.given_lr) options.optim.lr = kBudgetLr;
    if (!args.given_lr_schedule) lr_schedule = kBudgetLrSchedule;
    if (!args.given_share_lr_scale) options.share_lr_scale = kBudgetShareLrScale;
    if (!args.given_epochs_prune) options.epochs_prune = kBudgetEpochsPrune;
    if (!args.given_epochs_share) options.epochs_share = kBudgetEpochsShare;
  }
  DEEPCOMP_ASSIGN_OR_RETURN(options.optim.kind, train::parse_optimizer(optimizer));
  DEEPCOMP_ASSIGN_OR_RETURN(options.optim.schedule, train::parse_lr_schedule(lr_schedule));
  DEEPCOMP_RETURN_IF_ERROR(train::validate_optimizer(options.optim));
  if (options.epochs_prune < 0 || options.epochs_share < 0)
    return Status::Error("--epochs-prune / --epochs-share must be >= 0");
  if (!(options.share_lr_scale > 0)) return Status::Error("--share-lr-scale must be > 0");
  DEEPCOMP_ASSIGN_OR_RETURN(out->trainer, train::Trainer::create(model));
  DEEPCOMP_ASSIGN_OR_RETURN(
      out->train_set,
      train::load_dataset(args.train_images, args.train_labels, args.pre, *out->trainer));
  if (!args.val_images.empty()) {
    DEEPCOMP_ASSIGN_OR_RETURN(out->eval_set, train::load_dataset(args.val_images, args.val_labels,
                                                                 args.pre, *out->trainer));
    if (out->eval_set.n == 0) return Status::Error(args.val_images + ": no validation images");
    out->eval_name = "validation set";
  } else if (budget) {
    train::Dataset all = std::move(out->train_set);
    DEEPCOMP_RETURN_IF_ERROR(train::split_holdout(all, kHoldoutFraction, options.optim.seed,
                                                  &out->train_set, &out->eval_set)
                                 .WithContext(args.train_images));
    out->eval_name =
        fmt::format("{} held-out training samples (seed {})", out->eval_set.n, options.optim.seed);
  } else {  // the first 10,000 training samples
    out->eval_set = out->train_set;
    const int64_t n = std::min<int64_t>(out->eval_set.n, 10000);
    out->eval_set.n = n;
    out->eval_set.x.resize(static_cast<size_t>(n * out->eval_set.sample));
    out->eval_set.labels.resize(static_cast<size_t>(n));
  }
  if (show_progress) {
    options.on_epoch = [](const train::EpochLog& log) {
      std::fprintf(stderr, "retrain %s epoch %d/%d: loss %.4f, accuracy %.2f%%\n",
                   log.phase.c_str(), log.epoch, log.epochs, log.loss, 100 * log.accuracy);
    };
  }
  out->tuner = std::make_unique<train::Retrainer>(*out->trainer, out->train_set, out->eval_set,
                                                  std::move(options));
  DEEPCOMP_ASSIGN_OR_RETURN(double before, train::evaluate(*out->trainer, model, out->eval_set));
  out->tuner->accuracy().before = before;
  if (budget && args.val_images.empty()) {
    out->holdout_score = before;
    DEEPCOMP_ASSIGN_OR_RETURN(out->train_part_score, train::evaluate(*out->trainer, model,
                                                                     out->train_set, out->eval_set.n));
    warn_if_holdout_seen(*out);
  }
  return Status::Ok();
}

// Points of the budget kept in reserve: --budget-margin, else one standard error of the
// uncompressed model's top-1 `base` on the n validation samples, at most half the budget. The
// schedule keeps the most compressed step that passes, so it picks validation noise in its
// favour: the first budget runs on models that never saw their holdout lost 0.30 / 0.60 test
// points at 0.50 / 0.40 validation points (LeNet-300-100 / LeNet-5, bench/RESULTS.md session 7).
double budget_margin(const CompressArgs& args, double base, int64_t n) {
  if (args.margin) return *args.margin;
  const double standard_error =
      n > 0 ? 100 * std::sqrt(std::max(0.0, base * (1 - base)) / static_cast<double>(n)) : 0;
  return std::min(*args.max_loss / 2, standard_error);
}

// Runs the budget-driven retraining schedule on the set-up trainer and data.
Status run_retrain_budget(const CompressArgs& args, const Model& model,
                          compress::CompressOptions options, const RetrainSetup& setup,
                          bool show_progress, compress::RetrainBudgetResult* out) {
  DatasetScorer scorer(*setup.trainer, setup.eval_set);
  compress::RetrainBudgetOptions ro;
  DEEPCOMP_RETURN_IF_ERROR(set_sensitivity_grid(args, &ro.sensitivity));
  ro.tighten = args.tighten;
  ro.max_steps = args.max_steps;
  ro.time_limit = args.time_limit;
  ro.half_step = args.half_step;
  DEEPCOMP_ASSIGN_OR_RETURN(ro.reference, budget_reference(args));
  DEEPCOMP_ASSIGN_OR_RETURN(double base, scorer.score(model, scorer.samples()));
  ro.min_score = base - (*args.max_loss - budget_margin(args, base, scorer.samples())) / 100;
  const auto start = std::chrono::steady_clock::now();
  if (show_progress) {
    auto seconds = [start] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    ro.sensitivity.progress = [seconds](const std::string& phase, const std::string& layer,
                                        int done, int total, double, double score) {
      std::fputs(fmt::format("\r\033[K{} {}/{} {}  validation {:.2f}%  {:.0f} s", phase, done,
                             total, layer, 100 * score, seconds())
                     .c_str(),
                 stderr);
      std::fflush(stderr);
    };
    ro.progress = [seconds](const std::string& phase, const std::string&, int step, int,
                            double ratio, double score) {
      std::fputs(fmt::format("\r\033[Kbudget {} step {}: ratio {:.1f}x, validation {:.2f}%, "
                             "{:.0f} s\n",
                             phase, step, ratio, 100 * score, seconds())
                     .c_str(),
                 stderr);
    };
  }
  options.progress = nullptr;
  options.tuner = nullptr;
  DEEPCOMP_ASSIGN_OR_RETURN(*out,
                            compress::retrain_budget(model, options, *setup.tuner, scorer, ro));
  return Status::Ok();
}

// The schedule's part of the report JSON.
nlohmann::json retrain_search_json(const compress::RetrainBudgetResult& r,
                                   const RetrainSetup& setup, const CompressArgs& args) {
  auto layers_json = [](const std::vector<compress::LayerChoice>& layers) {
    nlohmann::json a = nlohmann::json::array();
    for (const compress::LayerChoice& c : layers)
      a.push_back({{"name", c.tensor}, {"prune", c.prune}, {"bits", c.bits}});
    return a;
  };
  nlohmann::json j;
  j["metric"] = "top1";
  j["retrain"] = true;
  j["max_loss_points"] = *args.max_loss;
  j["validation"] = setup.eval_name;
  j["samples"] = setup.eval_set.n;
  j["training_samples"] = setup.train_set.n;
  if (setup.holdout_score >= 0) {
    j["holdout_check"] = {{"holdout", setup.holdout_score},
                          {"training_part", setup.train_part_score},
                          {"looks_seen", holdout_looks_seen(setup)}};
  }
  j["met"] = r.met;
  j["base_score"] = r.base_score;
  j["min_score"] = r.min_score;
  j["score"] = r.score;
  j["loss_points"] = 100 * (r.base_score - r.score);
  j["reference"] = args.budget_reference;
  j["dense_score"] = r.dense_score;
  j["margin_points"] = budget_margin(args, r.base_score, setup.eval_set.n);
  j["ratio"] = r.ratio;
  j["layers"] = layers_json(r.layers);
  j["stopped"] = r.stopped;
  j["time_limit"] = args.time_limit;
  j["tighten"] = args.tighten;
  j["schedule"] = nlohmann::json::array();
  for (const compress::ScheduleStep& s : r.steps)
    j["schedule"].push_back({{"phase", s.phase},
                             {"step", s.step},
                             {"at", s.at},
                             {"reference", s.reference},
                             {"min_score", s.min_score},
                             {"layers", layers_json(s.layers)},
                             {"density", s.density},
                             {"ratio", s.ratio},
                             {"score", s.score},
                             {"passed", s.passed},
                             {"seconds", s.seconds}});
  j["sensitivity_evaluations"] = r.sensitivity.evaluations;
  j["sensitivity_full_evaluations"] = r.sensitivity.full_evaluations;
  return j;
}

nlohmann::json accuracy_json(const train::AccuracyLog& a) {
  nlohmann::json j = nlohmann::json::object();
  auto put = [&](const char* key, const std::optional<double>& v) {
    if (v) j[key] = *v;
  };
  put("before", a.before);
  put("after_prune", a.after_prune);
  put("after_prune_retrain", a.after_prune_retrain);
  put("after_share", a.after_share);
  put("after_share_retrain", a.after_share_retrain);
  return j;
}

int run_compress(const CompressArgs& args) {
  compress::CompressOptions options = args.options;
  options.prune = args.prune;
  options.prune_std = args.prune_std;
  options.prune_global = args.prune_global;
  options.prune_conv = args.prune_conv;
  options.prune_fc = args.prune_fc;
  options.quant_size_bits = !args.quant_flat_bits;
  auto init = compress::parse_kmeans_init(args.init);
  if (!init.ok()) return print_error(init.status());
  options.init = *init;
  auto empty = compress::parse_empty_clusters(args.empty_clusters);
  if (!empty.ok()) return print_error(empty.status().WithContext("--empty-clusters"));
  options.empty_clusters = *empty;
  for (const std::string& spec : args.layer_specs) {
    auto override_spec = compress::parse_layer_override(spec);
    if (!override_spec.ok()) return print_error(override_spec.status());
    options.layers.push_back(*override_spec);
  }
  if (Status s = compress::validate_options(options); !s.ok()) return print_error(s);

  WriteOptions write;
  write.force = args.force;
  write.inputs = {args.input};
  if (Status s = check_output_path(args.output, write); !s.ok()) return print_error(s);
  if (!args.report_json.empty()) {
    WriteOptions report_write = write;
    report_write.inputs.push_back(args.output);
    if (Status s = check_output_path(args.report_json, report_write); !s.ok())
      return print_error(s);
  }

  if (!args.onnx_compact.empty()) {
    WriteOptions compact_write = write;
    compact_write.inputs.push_back(args.output);
    if (!args.report_json.empty()) compact_write.inputs.push_back(args.report_json);
    if (Status s = check_output_path(args.onnx_compact, compact_write); !s.ok())
      return print_error(s);
  }

  const bool show_progress = stderr_is_tty() && !args.quiet;
  if (show_progress) {
    options.progress = [](const std::string& tensor, int done, int total) {
      std::fprintf(stderr, "\r\033[K[%d/%d] %s", done, total, tensor.c_str());
      if (done == total) std::fprintf(stderr, "\r\033[K");
      std::fflush(stderr);
    };
  }
  // Loading, the streaming path, writing the .dcz and the energy section are toolkit's
  // compress_to_file; retraining and the budget search replace its compress step.
  CompressFileSettings settings;
  settings.force = args.force;
  // External data is read one tensor at a time unless something needs every weight at once
  // (docs/CLI.md, "Models larger than memory").
  settings.in_memory = args.in_memory || args.retrain || !args.onnx_compact.empty() ||
                       args.max_loss || args.min_agreement;
  settings.energy = !args.no_energy;
  settings.energy_latency = args.energy_latency;
  const bool budget = args.max_loss || args.min_agreement;
  if (budget && args.retrain) {
    if (args.min_agreement)
      return print_error(args.input +
                         ": --retrain with a budget takes --max-loss (accuracy on "
                         "labelled data); --min-agreement is not supported with --retrain");
    if (Status s = check_retrain_budget_args(args); !s.ok())
      return print_error(s.WithContext(args.input));
  }
  RetrainSetup retrain;
  compress::BudgetResult search;
  compress::RetrainBudgetResult schedule;
  std::string metric;
  if (args.retrain || budget) {
    settings.compress =
        [&](const Model& model,
            const compress::CompressOptions& base) -> Result<compress::CompressOutput> {
      compress::CompressOptions options = base;
      if (args.retrain) {
        DEEPCOMP_RETURN_IF_ERROR(setup_retrain(args, model, show_progress, budget, &retrain));
        if (!budget) options.tuner = retrain.tuner.get();
      }
      if (!budget) return compress::compress_model(model, options);
      if (args.retrain) {
        DEEPCOMP_RETURN_IF_ERROR(
            run_retrain_budget(args, model, options, retrain, show_progress, &schedule));
        metric = "top1";
        if (!schedule.met && !args.best_effort) {
          return Status::Error(fmt::format(
              "budget unreachable with retraining: the closest setting tried ({:.1f}x) scores "
              "{:.2f}% against {:.2f}% uncompressed on the {} ({:.2f} points lost, top1 >= "
              "{:.2f}% needed); nothing written (--best-effort writes it)",
              schedule.ratio, 100 * schedule.score, 100 * schedule.base_score, retrain.eval_name,
              100 * (schedule.base_score - schedule.score), 100 * schedule.min_score));
        }
        return std::move(schedule.output);
      }
      DEEPCOMP_RETURN_IF_ERROR(run_budget(args, model, options, show_progress, &search, &metric));
      const double lost = 100 * (search.base_score - search.score);
      if (!search.met && !args.best_effort) {
        return Status::Error(fmt::format(
            "budget unreachable: the closest setting tried ({:.1f}x) scores {:.2f}% against "
            "{:.2f}% uncompressed ({:.2f} points lost, {} >= {:.2f}% needed); nothing written "
            "(--best-effort writes it)",
            search.ratio, 100 * search.score, 100 * search.base_score, lost, metric,
            100 * search.min_score));
      }
      return std::move(search.output);
    };
  }
  std::optional<onnx_io::CompactResult> compact;
  if (!args.onnx_compact.empty()) {
    settings.after_write = [&](const compress::Container& container) -> Status {
      auto c = compact_onnx_from_container(container, args.output);
      if (!c.ok()) return c.status().WithContext(args.onnx_compact);
      DEEPCOMP_RETURN_IF_ERROR(write_file_atomic(args.onnx_compact, c->bytes, write));
      compact = std::move(*c);
      return Status::Ok();
    };
  }
  auto result = compress_to_file(args.input, args.output, options, settings);
  if (!result.ok()) return print_error(result.status());
  const compress::CompressReport& report = result->report;
  const std::optional<nlohmann::json>& energy = result->energy;

  if (!args.report_json.empty()) {
    WriteOptions report_write = write;
    nlohmann::json json = compress_report_document(*result);
    if (budget && args.retrain)
      json["search"] = retrain_search_json(schedule, retrain, args);
    else if (budget)
      json["search"] = search_json(search, metric, args);
    if (args.retrain) {
      json["accuracy"] = accuracy_json(retrain.tuner->accuracy());
      json["retrain_seconds"] = retrain.tuner->seconds();
    }
    Status s = write_file_atomic(args.report_json, json.dump(2) + "\n", report_write);
    if (!s.ok()) return print_error(s);
  }
  if (!args.quiet) {
    std::cout << format_report_table(report);
    if (budget && args.retrain) {
      std::cout << fmt::format(
          "search (top1, retraining schedule{}): {} {:.2f}% against {:.2f}% uncompressed ({:.2f} "
          "points lost, budget {:g} points) at {:.2f}x after {} pruning steps; tightening "
          "stopped: {}\n",
          schedule.met ? "" : ", budget NOT met", retrain.eval_name, 100 * schedule.score,
          100 * schedule.base_score, 100 * (schedule.base_score - schedule.score), *args.max_loss,
          schedule.ratio,
          std::count_if(schedule.steps.begin(), schedule.steps.end(),
                        [](const compress::ScheduleStep& s) { return s.phase != "share"; }),
          schedule.stopped);
      const auto reference = budget_reference(args);  // checked before the run
      const bool dense_reference =
          reference.ok() && *reference != compress::BudgetReference::kOriginal;
      const double margin = budget_margin(args, schedule.base_score, retrain.eval_set.n);
      if (dense_reference || margin > 0)
        std::cout << fmt::format(
            "reference: {}; the chosen setting needed >= {:.2f}% (margin {:g} points)\n",
            dense_reference
                ? fmt::format("the unpruned model retrained alongside scores {:.2f}% after one "
                              "step (uncompressed {:.2f}%)",
                              100 * schedule.dense_score, 100 * schedule.base_score)
                : std::string("the uncompressed model"),
            100 * schedule.min_score, margin);
      // Retraining alone costing the unpruned model more than the budget on this set is the
      // sign of a validation set the model trained on (docs/RETRAIN.md, "The reference").
      if (dense_reference && 100 * (schedule.base_score - schedule.dense_score) > *args.max_loss)
        std::cout << fmt::format(
            "note: one round of retraining alone cost the unpruned model {:.2f} points on the {}: "
            "the model has probably trained on these samples, so its original figure there "
            "overstates what compression loses\n",
            100 * (schedule.base_score - schedule.dense_score), retrain.eval_name);
      std::cout << "chosen:";
      for (const compress::LayerChoice& c : schedule.layers)
        std::cout << fmt::format(" {} prune {:.4f} bits {}", c.tensor, c.prune, c.bits);
      std::cout << "\n";
    } else if (budget) {
      std::cout << fmt::format(
          "search ({}{}): validation {} {:.2f}% against {:.2f}% uncompressed ({:.2f} points "
          "lost, budget {}) at {:.2f}x after {} verification runs\nreplay:",
          metric, search.met ? "" : ", budget NOT met", metric, 100 * search.score,
          100 * search.base_score, 100 * (search.base_score - search.score),
          args.max_loss ? fmt::format("{:g} points", *args.max_loss)
                        : fmt::format("agreement >= {:g}", *args.min_agreement),
          search.ratio, search.verifications.size());
      for (const compress::LayerChoice& c : search.layers)
        std::cout << " --layer '" << c.flag() << "'";
      std::cout << "\n";
    }
    if (args.retrain) {
      const train::AccuracyLog& a = retrain.tuner->accuracy();
      auto pct = [](const std::optional<double>& v) {
        return v ? fmt::format("{:.2f}%", 100 * *v) : std::string("-");
      };
      std::cout << fmt::format(
          "accuracy ({}): before {}, pruned {}, pruned+retrained {}, shared {}, "
          "shared+retrained {}; retraining took {:.1f} s\n",
          retrain.eval_name, pct(a.before), pct(a.after_prune), pct(a.after_prune_retrain),
          pct(a.after_share), pct(a.after_share_retrain), retrain.tuner->seconds());
    }
    std::cout << fmt::format("wrote {} ({}) in {:.2f} s\n", args.output,
                             human_bytes(report.file_bytes), report.seconds);
    if (energy && energy->contains("error")) {
      // Usually an input whose shape is not static, sampled too small for the model: `deepcomp
      // energy` takes real inputs.
      std::cout << "\nenergy: not estimated: " << (*energy)["error"].get<std::string>()
                << "\n  (with real inputs: deepcomp energy " << args.input << " --compressed "
                << args.output << " -i NAME=FILE.npy ...)\n";
    } else if (energy) {
      std::cout << "\n" << format_energy_text(*energy);
    }
    if (compact) std::cout << compact_summary(args.onnx_compact, *compact, report.file_bytes);
  }
  return 0;
}

std::function<int()> setup_compress(CLI::App& app) {
  auto args = std::make_shared<CompressArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compress",
      "Prune, share weights (k-means) and Huffman-code an ONNX model into a .dcz file.");
  cmd->add_option("input", args->input, "Input ONNX model")->required()->check(CLI::ExistingPath);
  cmd->add_option("-o,--output", args->output, "Output .dcz file")->required();
  cmd->add_flag("--force", args->force, "Replace the output file if it exists");
  cmd->add_option("--report-json", args->report_json, "Also write the size report as JSON here");
  cmd->add_option("--onnx-compact", args->onnx_compact,
                  "Also write an ONNX model any ONNX runtime runs, whose shared weights are stored "
                  "as codebooks + uint8/uint16 indices rebuilt by standard ops (Gather, Scatter, "
                  "CumSum)");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");
  cmd->add_flag("--no-energy", args->no_energy, "Skip the energy section (docs/ENERGY.md)");
  cmd->add_flag("--in-memory", args->in_memory,
                "Load every weight before compressing; by default external-data weights are read, "
                "compressed and written one tensor at a time (same output, bounded memory)");
  cmd->add_flag("--energy-latency", args->energy_latency,
                "Also time the dense and compressed models for the energy section's deployment "
                "footprint (defaults of `deepcomp energy`)");

  auto* prune =
      cmd->add_option_group("Pruning", "Unstructured magnitude pruning of conv/fc weights");
  prune->add_option("--prune", args->prune,
                    "Target sparsity (fraction of zeros) of every compressible layer, in [0,1)");
  prune->add_option("--prune-std", args->prune_std,
                    "Prune |w| < Q x std(layer) (the paper's quality parameter), Q >= 0");
  prune->add_option("--prune-global", args->prune_global,
                    "One magnitude threshold across all compressible layers reaching this overall "
                    "sparsity, in [0,1)");
  prune->add_option("--prune-conv", args->prune_conv,
                    fmt::format("Sparsity of conv layers (default {}; {} for 8-bit ones)",
                                compress::kDefaultPruneConv, compress::kDefaultQuantPruneConv));
  prune->add_option("--prune-fc", args->prune_fc,
                    fmt::format("Sparsity of fc layers (default {}; {} for 8-bit ones)",
                                compress::kDefaultPruneFc, compress::kDefaultQuantPruneFc));
  prune->add_flag("--no-prune", args->options.no_prune, "Do not prune");
  prune->add_option("--layer", args->layer_specs,
                    "Per-layer override 'GLOB=prune:0.9,bits:4,index-bits:5', 'GLOB=skip' or "
                    "'GLOB=compress' (a fixed STFT/DFT basis, lossless by default; glob on tensor "
                    "names; repeatable, later ones win)");

  auto* share =
      cmd->add_option_group("Weight sharing", "k-means over each layer's surviving weights");
  share
      ->add_option("--bits-conv", args->options.bits_conv,
                   "Bits per shared weight in conv layers (1..16)")
      ->default_val(8);
  share
      ->add_option("--bits-fc", args->options.bits_fc,
                   "Bits per shared weight in fc layers (1..16)")
      ->default_val(5);
  share
      ->add_option("--quant-bits-conv", args->options.quant_bits_conv,
                   "Bits of shared levels in conv layers that are already 8-bit (1..16)")
      ->default_val(compress::kDefaultQuantBitsConv);
  share
      ->add_option("--quant-bits-fc", args->options.quant_bits_fc,
                   "Bits of shared levels in fc layers that are already 8-bit (1..16)")
      ->default_val(compress::kDefaultQuantBitsFc);
  share->add_flag("--quant-flat-bits", args->quant_flat_bits,
                  "8-bit layers all take --quant-bits-conv / --quant-bits-fc (by default a layer "
                  "under 2^18 weights gets half a bit more per halving, up to 8)");
  share
      ->add_option("--init", args->init,
                   "Centroid initialization: linear, density, random, kmeans++ or optimal "
                   "(exact 1-D k-means by dynamic programming)")
      ->default_val("linear");
  share
      ->add_option("--empty-clusters", args->empty_clusters,
                   "Clusters left empty by Lloyd: split (re-seed by splitting the cluster with "
                   "the largest squared error, keeping 2^bits centroids) or drop")
      ->default_val("split");
  share->add_option("--iters", args->options.iters, "Maximum Lloyd iterations")->default_val(100);
  share->add_option("--seed", args->options.seed, "Seed for the random and kmeans++ inits")
      ->default_val(0);
  share->add_flag(
      "--no-share", [args](int64_t) { args->options.share = false; },
      "Keep float32 values (no weight sharing)");

  auto* index = cmd->add_option_group("Sparse index",
                                      "Relative indices with filler entries, as in the paper");
  index
      ->add_option("--index-bits-conv", args->options.index_bits_conv,
                   "Bits per relative index in conv layers (1..16)")
      ->default_val(8);
  index
      ->add_option("--index-bits-fc", args->options.index_bits_fc,
                   "Bits per relative index in fc layers (1..16)")
      ->default_val(5);
  cmd->add_flag(
      "--no-huffman", [args](int64_t) { args->options.huffman = false; },
      "Store cluster and index streams at fixed width instead of Huffman-coding them");
  cmd->add_flag("--include-biases", args->options.include_biases,
                "Also prune and share 1-D tensors (biases); off by default as in the paper");
  auto* budget = cmd->add_option_group(
      "Accuracy budget",
      "Choose per-layer prune rates and bit widths for the largest ratio within a loss budget "
      "(sensitivity curves, then verified runs of the combined setting; docs/CLI.md)");
  budget->add_option("--max-loss", args->max_loss,
                     "Top-1 points the compressed model may lose on --val-images/--val-labels");
  budget->add_option("--min-agreement", args->min_agreement,
                     "Fraction of --val-input samples whose top-1 must agree with the original");
  budget->add_option("--val-input", args->val_inputs,
                     "Validation inputs for --min-agreement: NAME=FILE.npy or FILE (samples along "
                     "the first axis); repeatable");
  budget->add_flag("--best-effort", args->best_effort,
                   "Write the closest setting when the budget cannot be met (default: error)");
  budget->add_option("--budget-rates", args->budget_rates, "Prune rates the search considers")
      ->default_val(args->budget_rates);
  budget->add_option("--budget-bits", args->budget_bits, "Bit widths the search considers")
      ->default_val(args->budget_bits);
  budget
      ->add_option("--budget-subset", args->budget_subset,
                   "Validation samples each sensitivity point is scored on first")
      ->default_val(1000)
      ->check(CLI::PositiveNumber);
  budget
      ->add_option("--budget-verifications", args->budget_verifications,
                   "Most full compress + validate runs of combined settings")
      ->default_val(8)
      ->check(CLI::Range(1, 100));
  budget
      ->add_option("--budget-refine", args->budget_refine,
                   "Most single-layer moves scored after the curve-based choice (0 = none)")
      ->default_val(64)
      ->check(CLI::Range(0, 10000));
  budget
      ->add_option("--time-limit", args->time_limit,
                   "With --retrain: stop tightening the pruning schedule after about this many "
                   "seconds and keep the best setting within the budget (0 = no limit)")
      ->default_val(0);
  budget
      ->add_option("--budget-tighten", args->tighten,
                   "With --retrain: the largest layer's keep fraction per pruning step, in (0, 1)")
      ->default_val(0.75);
  budget
      ->add_option("--budget-steps", args->max_steps,
                   "With --retrain: most tightening steps after the start step")
      ->default_val(16)
      ->check(CLI::Range(0, 1000));
  budget
      ->add_option("--budget-reference", args->budget_reference,
                   "With --retrain: what the loss is measured against: original (the "
                   "uncompressed model), dense (an unpruned copy given the same retraining at "
                   "every step), dense-once (one step's retraining)")
      ->default_val("original");
  budget->add_flag("--budget-half-step,!--no-budget-half-step", args->half_step,
                   "With --retrain: after a step misses, try half a step back (default on)");
  budget
      ->add_option_function<std::string>(
          "--budget-margin",
          [args](const std::string& text) {
            if (text == "auto") {
              args->margin.reset();
              return;
            }
            size_t used = 0;
            double points = 0;
            try {
              points = std::stod(text, &used);
            } catch (const std::exception&) {
              used = 0;
            }
            if (used == 0 || used != text.size())
              throw CLI::ValidationError("--budget-margin",
                                         "'" + text + "' is neither a number of points nor auto");
            args->margin = points;
          },
          "With --retrain: points of the budget kept in reserve (the threshold is "
          "reference - (max-loss - margin)); auto (the default): one standard error of the "
          "uncompressed model's validation figure, at most half the budget")
      ->type_name("POINTS|auto")
      ->default_str("auto");
  auto* retrain = cmd->add_option_group(
      "Retraining", "Masked fine-tuning after pruning and centroid fine-tuning after sharing");
  retrain->add_flag("--retrain", args->retrain, "Retrain after pruning and after weight sharing");
  retrain->add_option("--train-images", args->train_images, "Training images (IDX or .npy)");
  retrain->add_option("--train-labels", args->train_labels, "Training labels (IDX or .npy)");
  retrain->add_option("--val-images", args->val_images,
                      "Validation images: the accuracy report of --retrain, the set --max-loss is "
                      "measured on");
  retrain->add_option("--val-labels", args->val_labels, "Validation labels");
  retrain->add_option("--scale", args->pre.scale, "Pixel scale: (pixel*scale - mean)/std")
      ->default_val(1.0 / 255.0);
  retrain->add_option("--mean", args->pre.mean, "Mean subtracted after scaling")->default_val(0.0);
  retrain->add_option("--std", args->pre.std, "Divisor after subtracting the mean")
      ->default_val(1.0);
  retrain
      ->add_option("--epochs-prune", args->retrain_options.epochs_prune,
                   "Epochs of masked fine-tuning after each pruning step")
      ->default_val(1);
  retrain
      ->add_option("--epochs-share", args->retrain_options.epochs_share,
                   "Epochs of centroid fine-tuning after weight sharing")
      ->default_val(1);
  retrain
      ->add_option("--optimizer", args->optimizer,
                   "sgd (torch.optim.SGD: momentum, weight decay) or adam (torch.optim.Adam)")
      ->default_val("sgd");
  retrain->add_option("--lr", args->retrain_options.optim.lr, "Learning rate")->default_val(0.01);
  retrain
      ->add_option("--lr-schedule", args->lr_schedule,
                   "Per phase: constant, cosine (to 0 over the phase's steps) or step (/10 at "
                   "1/2, /100 at 3/4 of the phase)")
      ->default_val("constant");
  retrain
      ->add_option("--share-lr-scale", args->retrain_options.share_lr_scale,
                   "Centroid learning rate = lr x this")
      ->default_val(1.0);
  retrain->add_option("--momentum", args->retrain_options.optim.momentum, "SGD momentum")
      ->default_val(0.9);
  retrain
      ->add_option("--weight-decay", args->retrain_options.optim.weight_decay,
                   "Weight decay (L2, added to the gradient)")
      ->default_val(0.0);
  retrain->add_option("--batch", args->retrain_options.optim.batch, "Mini-batch size")
      ->default_val(64);
  retrain->add_option("--train-seed", args->retrain_options.optim.seed, "Seed of the batch order")
      ->default_val(0);
  retrain
      ->add_option("--prune-steps", args->options.prune_steps,
                   "Prune in this many steps of increasing sparsity, retraining after each")
      ->default_val(1);
  retrain
      ->add_option_function<std::string>(
          "--prune-schedule",
          [args](const std::string& name) {
            auto schedule = compress::parse_prune_schedule(name);
            if (!schedule.ok()) throw CLI::ValidationError(schedule.status().message());
            args->options.prune_schedule = *schedule;
          },
          "Sparsity of step k of K: geometric (1-(1-s)^(k/K), the same fraction of the "
          "survivors removed at every step) or linear (s*k/K)")
      ->default_str("geometric");
  return [args, cmd] {
    args->given_optimizer = cmd->count("--optimizer") > 0;
    args->given_lr = cmd->count("--lr") > 0;
    args->given_lr_schedule = cmd->count("--lr-schedule") > 0;
    args->given_share_lr_scale = cmd->count("--share-lr-scale") > 0;
    args->given_epochs_prune = cmd->count("--epochs-prune") > 0;
    args->given_epochs_share = cmd->count("--epochs-share") > 0;
    return run_compress(*args);
  };
}

DEEPCOMP_REGISTER_COMMAND(compress_command, "compress", 10, setup_compress);

}  // namespace
}  // namespace deepcomp::cli
