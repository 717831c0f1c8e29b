// `deepcomp sensitivity MODEL.onnx (--images F --labels F | --input NAME=FILE.npy) -o CSV`: each
// compressible layer alone pruned at a grid of rates and shared at a grid of bit widths, every
// point scored by top-1 accuracy (or agreement with the original model) on a subset of the
// samples first and on all of them near the --max-loss edge (compress/budget_search.h); CSV,
// optionally JSON and the SVG figure (toolkit/sensitivity_table.h). The analysis runs in
// toolkit/sensitivity_run.h; this file parses the flags, checks the outputs and prints.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "compress/budget_search.h"
#include "core/file_io.h"
#include "toolkit/budget_scorer.h"
#include "toolkit/list_options.h"
#include "toolkit/sensitivity_run.h"
#include "toolkit/sensitivity_table.h"
#include "toolkit/terminal.h"

namespace deepcomp::cli {
namespace {

struct SensitivityArgs {
  std::string model, output, json, svg;
  bool json_given = false;
  ValidationArgs val;
  std::string layout = "nchw";
  std::string rates = "0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.95,0.97", bits = "8,6,5,4,3,2";
  int64_t subset = 1000;
  int refine = 2;
  double max_loss = 1.0;
  std::string init = "linear";
  uint64_t seed = 0;
  bool force = false, quiet = false;
};

// One status line on a terminal: phase, layer, point count, the latest score.
compress::BudgetProgress terminal_progress(std::chrono::steady_clock::time_point start) {
  return [start](const std::string& phase, const std::string& layer, int done, int total,
                 double ratio, double score) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string line = fmt::format("\r\033[K{} {}/{}", phase, done, total);
    if (!layer.empty()) line += " " + layer;
    if (ratio > 0) line += fmt::format("  ratio {:.1f}x", ratio);
    line += fmt::format("  score {:.2f}%  {:.0f} s", 100 * score, s);
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  };
}

int run_sensitivity(SensitivityArgs args) {
  if (args.layout != "nchw" && args.layout != "nhwc")
    return print_error("--layout: '" + args.layout + "' is neither nchw nor nhwc");
  args.val.pre.layout = args.layout == "nhwc" ? Layout::kNhwc : Layout::kNchw;
  if (!(args.max_loss >= 0) || !std::isfinite(args.max_loss))
    return print_error("--max-loss must be a non-negative number of points");
  compress::SensitivityOptions so;
  auto rates = parse_rate_list(args.rates, "--rates");
  if (!rates.ok()) return print_error(rates.status());
  auto bits = parse_bits_list(args.bits, "--bits");
  if (!bits.ok()) return print_error(bits.status());
  so.rates = *rates;
  so.bits = *bits;
  so.subset = args.subset;
  so.refine = args.refine;
  so.edge_loss = args.max_loss / 100;
  compress::CompressOptions base;
  auto init = compress::parse_kmeans_init(args.init);
  if (!init.ok()) return print_error(init.status());
  base.init = *init;
  base.seed = args.seed;
  if (args.json_given && args.json.empty())
    args.json = std::filesystem::path(args.output).replace_extension(".json").string();

  WriteOptions write;
  write.force = args.force;
  write.inputs = {args.model};
  for (const std::string& f : {args.val.images, args.val.labels})
    if (!f.empty()) write.inputs.push_back(f);
  std::vector<std::string> outputs{args.output};
  if (!args.json.empty()) outputs.push_back(args.json);
  if (!args.svg.empty()) outputs.push_back(args.svg);
  if (Status s = check_outputs(outputs, {}, write); !s.ok()) return print_error(s);

  SensitivitySettings settings;
  settings.model = args.model;
  settings.validation = args.val;
  settings.options = so;
  settings.base = base;
  const auto start = std::chrono::steady_clock::now();
  const bool progress = stderr_is_tty() && !args.quiet;
  if (progress) settings.options.progress = terminal_progress(start);
  auto run = sensitivity_model(settings);
  if (progress) std::fputs("\r\033[K", stderr);
  if (!run.ok()) return print_error(run.status());
  const compress::Sensitivity* result = &run->result;
  const std::string& metric = run->metric;

  if (Status s = write_file_atomic(args.output, sensitivity_csv(*result, metric), write); !s.ok())
    return print_error(s);
  if (!args.json.empty()) {
    if (Status s =
            write_file_atomic(args.json, sensitivity_json(*result, metric).dump(2) + "\n", write);
        !s.ok())
      return print_error(s);
  }
  if (!args.svg.empty()) {
    const std::string name = std::filesystem::path(args.model).filename().string();
    if (Status s = write_file_atomic(args.svg, sensitivity_svg(*result, metric, name), write);
        !s.ok())
      return print_error(s);
  }
  if (!args.quiet) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "%zu layers x %zu points: %d evaluations (%d on all %lld samples, the rest on %lld) "
        "in %.1f s; uncompressed %s %.2f%%; wrote %s\n",
        result->layers.size(), so.rates.size() + so.bits.size(), result->evaluations,
        result->full_evaluations, static_cast<long long>(result->samples),
        static_cast<long long>(result->subset), seconds, metric.c_str(), 100 * result->base_score,
        args.output.c_str());
  }
  return 0;
}

std::function<int()> setup_sensitivity(CLI::App& app) {
  auto args = std::make_shared<SensitivityArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sensitivity",
      "Compress each layer alone, pruned at a grid of rates and shared at a grid of bit widths, "
      "and measure top-1 accuracy on labelled images (or, with --input, agreement with the "
      "original model): the per-layer sensitivity curves (CSV, JSON, SVG figure).");
  cmd->add_option("MODEL", args->model, "The .onnx model")->required();
  cmd->add_option("--images", args->val.images, "Images: IDX (gzipped or not) or .npy");
  cmd->add_option("--labels", args->val.labels, "Labels: IDX or .npy, [N]");
  add_input_option(cmd, &args->val.inputs,
                   "Instead of --images/--labels: inputs as for run (NAME=FILE.npy or FILE with "
                   "samples along the first axis); points are scored by the top-1 agreement of "
                   "the first output with the original's");
  cmd->add_option("--rates", args->rates, "Comma-separated prune rates, each in (0,1)")
      ->default_val(args->rates);
  cmd->add_option("--bits", args->bits, "Comma-separated bits per shared weight, 1..16")
      ->default_val(args->bits);
  cmd->add_option("--subset", args->subset,
                  "Samples each point is scored on first (all of them near the --max-loss edge)")
      ->default_val(1000)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--refine", args->refine,
                  "Extra prune rates per layer, bisecting where the curve crosses --max-loss")
      ->default_val(2)
      ->check(CLI::Range(0, 20));
  cmd->add_option("--max-loss", args->max_loss,
                  "The budget edge in points: points whose subset loss is near it are scored on "
                  "every sample")
      ->default_val(1.0);
  cmd->add_option("--scale", args->val.pre.scale,
                  "Pixel scale: input = (pixel * scale - mean) / std")
      ->default_val(args->val.pre.scale);
  cmd->add_option("--mean", args->val.pre.mean, "Subtracted after scaling")->default_val(0.0);
  cmd->add_option("--std", args->val.pre.std, "Divided by after subtracting the mean")
      ->default_val(1.0);
  cmd->add_option("--pad", args->val.pre.pad, "Zero pixels added on each side of the image")
      ->default_val(0)
      ->check(CLI::Range(int64_t{0}, int64_t{1024}));
  cmd->add_option("--layout", args->layout, "Model input layout: nchw or nhwc")
      ->default_val("nchw");
  cmd->add_option("--limit", args->val.limit, "Use the first N images only (0 = all)")
      ->default_val(0)
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--init", args->init, "k-means init: linear, density, random, kmeans++, optimal")
      ->default_val("linear");
  cmd->add_option("--seed", args->seed, "Seed for the random and kmeans++ inits")->default_val(0);
  cmd->add_option("--threads", args->val.threads,
                  "Threads per evaluation (0 = OpenMP default; 1 suits batch-1 models)")
      ->default_val(0);
  cmd->add_option("-o,--output", args->output, "Output CSV")->required();
  CLI::Option* json =
      cmd->add_option("--json", args->json,
                      "Also write JSON, to FILE (--json=FILE) or beside the CSV as a bare flag")
          ->expected(0, 1);
  cmd->add_option("--svg", args->svg, "Also plot the curves (one per layer) to this SVG");
  cmd->add_flag("--force", args->force, "Replace output files that exist");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress or summary line");
  return [args, json] {
    args->json_given = json->count() > 0;
    return run_sensitivity(*args);
  };
}

DEEPCOMP_REGISTER_COMMAND(sensitivity_command, "sensitivity", 62, setup_sensitivity);

}  // namespace
}  // namespace deepcomp::cli
