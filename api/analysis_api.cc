// deepcomp::sweep and deepcomp::sensitivity (include/deepcomp/analysis.h): the public settings
// turned into toolkit/sweep_run.h's and toolkit/sensitivity_run.h's, which `deepcomp sweep` and
// `deepcomp sensitivity` run too, and the rows copied out with the CSV, JSON and SVG texts the
// commands write.
#include <filesystem>

#include "compress/pipeline.h"
#include "deepcomp/analysis.h"
#include "toolkit/image_set.h"
#include "toolkit/sensitivity_run.h"
#include "toolkit/sensitivity_table.h"
#include "toolkit/sweep_run.h"
#include "toolkit/sweep_table.h"

namespace deepcomp {
namespace {

Result<cli::Layout> parse_layout(const std::string& name) {
  if (name == "nchw") return cli::Layout::kNchw;
  if (name == "nhwc") return cli::Layout::kNhwc;
  return Status::Error("--layout: '" + name + "' is neither nchw nor nhwc");
}

// The preprocessing of `v`, checked as the commands check their flags.
Result<cli::ImageOptions> image_options(const Validation& v) {
  cli::ImageOptions pre;
  pre.scale = v.scale;
  pre.mean = v.mean;
  pre.std = v.std;
  pre.pad = v.pad;
  if (v.pad < 0 || v.pad > 1024) return Status::Error("--pad must be in 0..1024");
  DEEPCOMP_ASSIGN_OR_RETURN(pre.layout, parse_layout(v.layout));
  DEEPCOMP_RETURN_IF_ERROR(cli::validate_image_options(pre));
  return pre;
}

SweepRow public_row(const cli::SweepRow& r) {
  SweepRow p;
  p.setting = r.setting;
  p.settings = r.settings;
  p.prune = r.prune;
  p.bits = r.bits;
  p.init = r.init;
  p.params = r.params;
  p.nonzero = r.nonzero;
  p.original_bytes = r.original_bytes;
  p.pruned_bytes = r.pruned_bytes;
  p.quantized_bytes = r.quantized_bytes;
  p.huffman_bytes = r.huffman_bytes;
  p.file_bytes = r.file_bytes;
  p.ratio = r.ratio;
  p.weight_energy_uj = r.weight_energy_uj;
  p.correct = r.correct;
  p.correct5 = r.correct5;
  p.count = r.count;
  p.top1 = r.top1();
  p.top5 = r.top5();
  p.unlabelled = r.unlabelled;
  p.top1_agreement = r.top1_agreement;
  p.rel_l2 = r.rel_l2;
  p.cosine = r.cosine;
  p.samples = r.samples;
  p.score = r.score();
  p.model = r.model;
  p.sweep_id = r.sweep_id;
  return p;
}

// The CSV's rows: the uncompressed model, then each layer's prune curve and share curve.
std::vector<SensitivityRow> public_rows(const compress::Sensitivity& s) {
  std::vector<SensitivityRow> rows;
  SensitivityRow base;
  base.layer = "(uncompressed)";
  base.curve = "none";
  base.bits = 32;
  base.score = s.base_score;
  base.samples = s.samples;
  rows.push_back(base);
  for (const compress::LayerSensitivity& l : s.layers) {
    for (const auto* curve : {&l.prune, &l.share}) {
      for (const compress::SensitivityPoint& p : *curve) {
        SensitivityRow r;
        r.layer = l.tensor;
        r.kind = l.kind;
        r.params = l.params;
        r.original_bytes = l.original_bytes;
        r.curve = curve == &l.prune ? "prune" : "share";
        r.prune = p.prune;
        r.bits = p.bits;
        r.score = p.score;
        r.loss_points = 100 * p.loss;
        r.samples = p.samples;
        r.bytes = p.bytes;
        rows.push_back(std::move(r));
      }
    }
  }
  return rows;
}

// The toolkit settings of `options`, checked as the command checks its flags.
Result<cli::SweepSettings> sweep_settings(const std::string& model, const SweepOptions& options) {
  std::vector<compress::KMeansInit> inits;
  for (const std::string& name : options.init) {
    auto init = compress::parse_kmeans_init(name);
    if (!init.ok()) return init.status().WithContext("--init");
    inits.push_back(*init);
  }
  cli::SweepSettings settings;
  settings.model = model;
  settings.grid = cli::sweep_grid(options.prune, options.bits, inits);
  const Validation& v = options.validation;
  settings.images = v.images;
  settings.labels = v.labels;
  DEEPCOMP_ASSIGN_OR_RETURN(settings.pre, image_options(v));
  settings.limit = v.limit;
  DEEPCOMP_ASSIGN_OR_RETURN(settings.inputs,
                            cli::parse_input_specs(v.inputs, /*allow_plain=*/true));
  settings.seed = options.seed;
  if (options.threads < 0) return Status::Error("--threads must be >= 0");
  settings.threads = options.threads;
  settings.shard.index = options.shard_index;
  settings.shard.count = options.shard_count;
  DEEPCOMP_RETURN_IF_ERROR(cli::check_sweep_settings(settings));
  return settings;
}

// The toolkit settings of `options`, checked as the command checks its flags.
Result<cli::SensitivitySettings> sensitivity_settings(const std::string& model,
                                                      const SensitivityOptions& options) {
  cli::SensitivitySettings settings;
  settings.model = model;
  const Validation& v = options.validation;
  settings.validation.images = v.images;
  settings.validation.labels = v.labels;
  settings.validation.inputs = v.inputs;
  DEEPCOMP_ASSIGN_OR_RETURN(settings.validation.pre, image_options(v));
  settings.validation.limit = v.limit;
  if (options.threads < 0) return Status::Error("--threads must be >= 0");
  settings.validation.threads = options.threads;
  settings.options.rates = options.rates;
  settings.options.bits = options.bits;
  settings.options.subset = options.subset;
  settings.options.refine = options.refine;
  settings.options.edge_loss = options.max_loss / 100;
  auto init = compress::parse_kmeans_init(options.init);
  if (!init.ok()) return init.status().WithContext("--init");
  settings.base.init = *init;
  settings.base.seed = options.seed;
  DEEPCOMP_RETURN_IF_ERROR(cli::check_sensitivity_settings(settings));
  return settings;
}

}  // namespace

Status validate_sweep_options(const SweepOptions& options) {
  return sweep_settings("", options).status();
}

Result<SweepResult> sweep(const std::string& model, const SweepOptions& options) {
  DEEPCOMP_ASSIGN_OR_RETURN(cli::SweepSettings settings, sweep_settings(model, options));
  DEEPCOMP_ASSIGN_OR_RETURN(cli::SweepRun run, cli::sweep_model(settings));
  SweepResult result;
  for (const cli::SweepRow& r : run.rows) result.rows.push_back(public_row(r));
  result.csv = cli::sweep_csv(run.rows);
  result.json = cli::sweep_json(run.rows).dump(2) + "\n";
  result.svg = cli::sweep_svg(run.rows, run.rows.front().model);
  return result;
}

Status validate_sensitivity_options(const SensitivityOptions& options) {
  return sensitivity_settings("", options).status();
}

Result<SensitivityResult> sensitivity(const std::string& model, const SensitivityOptions& options) {
  DEEPCOMP_ASSIGN_OR_RETURN(cli::SensitivitySettings settings,
                            sensitivity_settings(model, options));
  DEEPCOMP_ASSIGN_OR_RETURN(cli::SensitivityRun run, cli::sensitivity_model(settings));
  SensitivityResult result;
  result.metric = run.metric;
  result.base_score = run.result.base_score;
  result.samples = run.result.samples;
  result.subset = run.result.subset;
  result.evaluations = run.result.evaluations;
  result.full_evaluations = run.result.full_evaluations;
  result.rows = public_rows(run.result);
  result.csv = cli::sensitivity_csv(run.result, run.metric);
  result.json = cli::sensitivity_json(run.result, run.metric).dump(2) + "\n";
  result.svg = cli::sensitivity_svg(run.result, run.metric,
                                    std::filesystem::path(model).filename().string());
  return result;
}

}  // namespace deepcomp
