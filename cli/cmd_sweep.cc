// `deepcomp sweep MODEL.onnx --prune LIST --bits LIST --init LIST --images F --labels F -o CSV`:
// compresses the model at every combination of settings, rebuilds each compressed model dense in
// memory and measures its accuracy, and writes one row per setting (CSV, optionally JSON and an
// SVG plot of accuracy against size); with --input instead of labels, each row measures how well
// the compressed model's first output agrees with the original's (toolkit/output_compare.h).
// Combinations run in parallel (OpenMP, each one single-threaded inside); the rows come out in a
// fixed order whatever the thread count. The work is toolkit/sweep_run.h's; this file parses the
// flags, checks the outputs and prints. `--shard K/N` evaluates every N-th setting only, and
// `--merge` puts the shards' CSVs back together into the unsharded sweep's files
// (toolkit/sweep_merge.h), so that a grid can be spread over a cluster's job array.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "core/file_io.h"
#include "toolkit/image_set.h"
#include "toolkit/list_options.h"
#include "toolkit/model_inputs.h"
#include "toolkit/sweep_merge.h"
#include "toolkit/sweep_run.h"
#include "toolkit/sweep_table.h"
#include "toolkit/terminal.h"

namespace deepcomp::cli {
namespace {

struct SweepArgs {
  std::string model, images, labels, output, json, svg, shard;
  std::string quantized;  // --quantized: the 8-bit form, for the row family (toolkit/quant_family.h)
  std::vector<std::string> inputs, merge;
  bool json_given = false;
  std::string prune = "0.5,0.7,0.8,0.9,0.95", bits = "8,6,5,4,3", init = "linear,density,random";
  std::string layout = "nchw";
  ImageOptions pre;
  int64_t limit = 0;
  uint64_t seed = 0;
  int threads = 0;
  bool force = false, quiet = false;
};

// The grid from the flags: prune x bits x init, in that order.
Result<std::vector<SweepSetting>> parse_settings(const SweepArgs& args) {
  DEEPCOMP_ASSIGN_OR_RETURN(auto prune_values,
                            parse_rate_list(args.prune, "--prune", /*allow_zero=*/true));
  DEEPCOMP_ASSIGN_OR_RETURN(auto bit_values, parse_bits_list(args.bits, "--bits"));
  DEEPCOMP_ASSIGN_OR_RETURN(auto inits, split_list(args.init, "--init"));
  std::vector<compress::KMeansInit> init_values;
  for (const std::string& i : inits) {
    auto init = compress::parse_kmeans_init(i);
    if (!init.ok()) return init.status().WithContext("--init");
    init_values.push_back(*init);
  }
  return sweep_grid(prune_values, bit_values, init_values);
}

void show_progress(int done, int total, double elapsed) {
  const int width = 30;
  const int filled = total > 0 ? done * width / total : width;
  const double eta = done > 0 ? elapsed * (total - done) / done : 0;
  std::fprintf(stderr, "\r\033[K[%s%s] %d/%d  %.1f s elapsed, ETA %s",
               std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), done,
               total, elapsed, done > 0 ? fmt::format("{:.1f} s", eta).c_str() : "?");
  if (done == total) std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

int run_merge(const SweepArgs& args) {
  if (!args.model.empty())
    return print_error("--merge takes the shards' CSV files, not a MODEL ('" + args.model + "')");
  if (!args.shard.empty() || !args.images.empty() || !args.labels.empty() || !args.inputs.empty())
    return print_error("--merge excludes --shard, --images, --labels and --input");
  WriteOptions write;
  write.force = args.force;
  write.inputs = args.merge;
  std::vector<std::string> outputs{args.output};
  if (!args.json.empty()) outputs.push_back(args.json);
  if (!args.svg.empty()) outputs.push_back(args.svg);
  if (Status s = check_outputs(outputs, {}, write); !s.ok()) return print_error(s);
  std::vector<ShardFile> shards;
  for (const std::string& path : args.merge) {
    auto text = read_file(path);
    if (!text.ok()) return print_error(text.status());
    auto rows = parse_sweep_csv(*text, path);
    if (!rows.ok()) return print_error(rows.status());
    shards.push_back({path, std::move(*rows)});
  }
  auto rows = merge_shards(shards);
  if (!rows.ok()) return print_error(rows.status());
  if (Status s = write_sweep_files(*rows, args.output, args.json, args.svg, write); !s.ok())
    return print_error(s);
  if (!args.quiet)
    std::printf("merged %zu shard files: %zu settings + baseline; wrote %s\n", shards.size(),
                rows->size() - 1, args.output.c_str());
  return 0;
}

int run_sweep(SweepArgs args) {
  if (args.json_given && args.json.empty())
    args.json = std::filesystem::path(args.output).replace_extension(".json").string();
  if (!args.merge.empty()) return run_merge(args);
  if (args.model.empty()) return print_error("sweep needs a MODEL (or --merge SHARD.csv ...)");
  SweepSettings settings;
  settings.model = args.model;
  if (!args.shard.empty()) {
    auto parsed = parse_shard(args.shard);
    if (!parsed.ok()) return print_error(parsed.status());
    settings.shard = *parsed;
  }
  auto grid = parse_settings(args);
  if (!grid.ok()) return print_error(grid.status());
  settings.grid = std::move(*grid);
  if (args.layout != "nchw" && args.layout != "nhwc")
    return print_error("--layout: '" + args.layout + "' is neither nchw nor nhwc");
  args.pre.layout = args.layout == "nhwc" ? Layout::kNhwc : Layout::kNchw;
  if (Status s = validate_image_options(args.pre); !s.ok()) return print_error(s);
  auto specs = parse_input_specs(args.inputs, /*allow_plain=*/true);
  if (!specs.ok()) return print_error(specs.status());
  settings.images = args.images;
  settings.labels = args.labels;
  settings.pre = args.pre;
  settings.limit = args.limit;
  settings.inputs = *specs;
  settings.seed = args.seed;
  settings.threads = args.threads;
  settings.quantized = args.quantized;
  if (Status s = check_sweep_settings(settings); !s.ok()) return print_error(s);

  WriteOptions write;
  write.force = args.force;
  write.inputs = {args.model};
  if (specs->empty()) write.inputs.insert(write.inputs.end(), {args.images, args.labels});
  for (const InputSpec& spec : *specs) write.inputs.push_back(spec.path);
  std::vector<std::string> outputs{args.output};
  if (!args.json.empty()) outputs.push_back(args.json);
  if (!args.svg.empty()) outputs.push_back(args.svg);
  const std::string family_csv =
      std::filesystem::path(args.output).replace_extension(".family.csv").string();
  if (!args.quantized.empty()) {
    outputs.push_back(family_csv);
    write.inputs.push_back(args.quantized);
  }
  if (Status s = check_outputs(outputs, {}, write); !s.ok()) return print_error(s);

  if (stderr_is_tty() && !args.quiet) settings.progress = show_progress;
  auto run = sweep_model(settings);
  if (!run.ok()) return print_error(run.status());
  if (Status s = write_sweep_files(run->rows, args.output, args.json, args.svg, write); !s.ok())
    return print_error(s);
  if (!args.quantized.empty()) {
    if (Status s = write_file_atomic(family_csv, quant_family_csv(run->family), write); !s.ok())
      return print_error(s);
  }
  if (!args.quiet) {
    const SweepRow& baseline = run->rows.front();
    if (settings.shard.count > 1)
      std::printf("shard %lld/%lld: ", static_cast<long long>(settings.shard.index),
                  static_cast<long long>(settings.shard.count));
    if (run->unlabelled) {
      std::printf("%d settings + baseline on %lld samples (no labels) in %.1f s; wrote %s\n",
                  run->evaluated, static_cast<long long>(baseline.samples), run->seconds,
                  args.output.c_str());
    } else {
      std::printf("%d settings + baseline on %lld images in %.1f s; wrote %s\n", run->evaluated,
                  static_cast<long long>(baseline.count), run->seconds, args.output.c_str());
    }
  }
  return 0;
}

std::function<int()> setup_sweep(CLI::App& app) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Compress a model at every combination of pruning rate, bit width and k-means init, "
      "measure each one's accuracy on a labelled image set (or, with --input, its agreement with "
      "the original model), and tabulate size against it (CSV, JSON, SVG plot).");
  cmd->add_option("MODEL", args->model, "The .onnx model (not with --merge)");
  cmd->add_option("--prune", args->prune, "Comma-separated sparsities, each in [0,1)")
      ->default_val(args->prune);
  cmd->add_option("--bits", args->bits,
                  "Comma-separated bits per shared weight (conv and fc), 1..16")
      ->default_val(args->bits);
  cmd->add_option("--init", args->init,
                  "Comma-separated k-means inits: linear, density, random, kmeans++, optimal")
      ->default_val(args->init);
  cmd->add_option("--images", args->images,
                  "Images: IDX (gzipped or not) or .npy, [N,H,W], [N,H,W,C] or [N,D]");
  cmd->add_option("--labels", args->labels, "Labels: IDX or .npy, [N]");
  add_input_option(cmd, &args->inputs,
                   "Instead of --images/--labels: inputs as for run (NAME=FILE.npy whole tensors, "
                   "or FILE with samples along the first axis); each setting is then ranked by "
                   "the top-1 agreement (and rel_l2) of its first output with the original's");
  cmd->add_option("--scale", args->pre.scale, "Pixel scale: input = (pixel * scale - mean) / std")
      ->default_val(args->pre.scale);
  cmd->add_option("--mean", args->pre.mean, "Subtracted after scaling")->default_val(0.0);
  cmd->add_option("--std", args->pre.std, "Divided by after subtracting the mean")
      ->default_val(1.0);
  cmd->add_option("--pad", args->pre.pad, "Zero pixels added on each side of the image")
      ->default_val(0)
      ->check(CLI::Range(int64_t{0}, int64_t{1024}));
  cmd->add_option("--layout", args->layout, "Model input layout: nchw or nhwc")
      ->default_val("nchw");
  cmd->add_option("--limit", args->limit, "Evaluate the first N images only (0 = all)")
      ->default_val(0)
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-o,--output", args->output, "Output CSV")->required();
  CLI::Option* json =
      cmd->add_option(
             "--json", args->json,
             "Also write the rows as a JSON array, to FILE (use --json=FILE) or, as a bare flag, "
             "beside the CSV with a .json extension")
          ->expected(0, 1);
  cmd->add_option("--svg", args->svg,
                  "Also plot top-1 accuracy against compressed size to this SVG");
  cmd->add_option("--seed", args->seed, "Seed for the random and kmeans++ inits")->default_val(0);
  cmd->add_option("--threads", args->threads, "Settings run in parallel (0 = OpenMP's default)")
      ->default_val(0);
  cmd->add_option("--shard", args->shard,
                  "K/N: evaluate only the settings at grid positions K, K+N, K+2N, ... (1-based), "
                  "e.g. one task of a job array; the rows carry their positions so that --merge "
                  "rebuilds the whole sweep");
  cmd->add_option("--merge", args->merge,
                  "Instead of MODEL: the CSV files of a sharded sweep's shards; writes the whole "
                  "sweep's CSV (and --json, --svg) exactly as one unsharded run would")
      ->expected(1, -1);
  cmd->add_option("--quantized", args->quantized,
                  "The model's 8-bit form: also writes OUTPUT.family.csv, the float model, this "
                  "one and Deep Compression of each at the defaults, scored on the same data");
  cmd->add_flag("--force", args->force, "Replace output files that exist");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar or summary line");
  return [args, json] {
    args->json_given = json->count() > 0;
    return run_sweep(*args);
  };
}

DEEPCOMP_REGISTER_COMMAND(sweep_command, "sweep", 60, setup_sweep);

}  // namespace
}  // namespace deepcomp::cli
