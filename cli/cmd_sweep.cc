// `deepcomp sweep MODEL.onnx --prune LIST --bits LIST --init LIST --images F --labels F -o CSV`:
// compresses the model at every combination of settings, rebuilds each compressed model dense in
// memory and measures its accuracy, and writes one row per setting (CSV, optionally JSON and an
// SVG plot of accuracy against size); with --input instead of labels, each row measures how well
// the compressed model's first output agrees with the original's (toolkit/output_compare.h).
// Combinations run in parallel (OpenMP, each one single-threaded inside); the rows come out in a
// fixed order whatever the thread count. `--shard K/N` evaluates every N-th setting only, and
// `--merge` puts the shards' CSVs back together into the unsharded sweep's files
// (toolkit/sweep_merge.h), so that a grid can be spread over a cluster's job array.
#include <fmt/format.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "cli/command.h"
#include "toolkit/dcz_model.h"
#include "toolkit/image_set.h"
#include "toolkit/list_options.h"
#include "toolkit/model_inputs.h"
#include "toolkit/output_compare.h"
#include "toolkit/quant_family.h"
#include "toolkit/sweep_merge.h"
#include "toolkit/sweep_table.h"
#include "compress/checksum.h"
#include "compress/container.h"
#include "compress/pipeline.h"
#include "core/file_io.h"
#include "onnx_io/onnx_io.h"
#include "runtime/batch.h"
#include "runtime/session.h"

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

struct Setting {
  double prune;
  int bits;
  compress::KMeansInit init;
};

Result<std::vector<Setting>> parse_settings(const SweepArgs& args) {
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
  std::vector<Setting> settings;
  for (double p : prune_values)
    for (int b : bit_values)
      for (compress::KMeansInit i : init_values) settings.push_back({p, b, i});
  return settings;
}

// One compressed row: compress, serialize (for the file size), rebuild dense, evaluate.
// Top-1 / top-5 hits of `model` on every image of the set, run single-threaded (the sweep runs
// settings in parallel instead).
Result<AccuracyCounter> evaluate_model(const Model& model, const ImageSet& set,
                                       const runtime::Value& inputs, const std::string& name) {
  runtime::SessionOptions options;
  options.threads = 1;
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::Session session, runtime::Session::create(model, options));
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::BatchRun run, runtime::run_batch(session, inputs));
  AccuracyCounter counter(set, name);
  DEEPCOMP_RETURN_IF_ERROR(counter.add(run.outputs.at(0), 0, set.count));
  return counter;
}

// What every setting is measured on, prepared once: labelled images (preprocessed), or
// --input arrays and the original model's first output on them.
struct EvalInputs {
  bool unlabelled = false;
  ImageSet set;
  runtime::Value stacked;
  ModelInputs inputs;
  runtime::Value reference;  // the original model's first output
  std::string output_name;
};

// Runs `model` single-threaded (the sweep runs settings in parallel instead) on the unlabelled
// inputs and compares its first output with the original's.
Status score_unlabelled(const Model& model, const EvalInputs& eval, SweepRow* row) {
  runtime::SessionOptions options;
  options.threads = 1;
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::Session session, runtime::Session::create(model, options));
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<runtime::Value> outs, run_on_inputs(session, eval.inputs));
  if (outs.empty()) return Status::Error("the model has no outputs");
  DEEPCOMP_ASSIGN_OR_RETURN(OutputComparison c, compare_outputs(eval.output_name, eval.reference,
                                                                outs[0], eval.inputs.samples));
  row->unlabelled = true;
  row->top1_agreement = c.top1_agreement;
  row->rel_l2 = c.rel_l2;
  row->cosine = c.cosine;
  row->samples = c.samples;
  return Status::Ok();
}

// The row's quality columns: accuracy on the labelled images, or agreement with the original.
Status score_model(const Model& model, const EvalInputs& eval, const std::string& name,
                   SweepRow* row) {
  if (eval.unlabelled) return score_unlabelled(model, eval, row);
  DEEPCOMP_ASSIGN_OR_RETURN(AccuracyCounter acc,
                            evaluate_model(model, eval.set, eval.stacked, name));
  row->correct = acc.top1();
  row->correct5 = acc.top5();
  row->count = eval.set.count;
  return Status::Ok();
}

Result<SweepRow> run_setting(const Model& model, const Setting& s, const SweepArgs& args,
                             const EvalInputs& eval) {
  compress::CompressOptions options;
  options.prune = s.prune;
  options.bits_conv = options.bits_fc = s.bits;
  options.init = s.init;
  options.seed = args.seed;
  DEEPCOMP_RETURN_IF_ERROR(compress::validate_options(options));
  DEEPCOMP_ASSIGN_OR_RETURN(compress::CompressOutput out, compress::compress_model(model, options));
  // The same header `deepcomp compress` writes, so file_bytes is that command's file size.
  out.container.header.metadata.emplace_back("source",
                                             std::filesystem::path(args.model).filename().string());
  DEEPCOMP_ASSIGN_OR_RETURN(std::string bytes, compress::serialize_container(out.container));
  DEEPCOMP_ASSIGN_OR_RETURN(Model rebuilt, container_to_model(out.container, args.model));
  SweepRow row;
  DEEPCOMP_RETURN_IF_ERROR(score_model(rebuilt, eval, args.model, &row));
  row.prune = s.prune;
  row.bits = s.bits;
  row.init = std::string(compress::kmeans_init_name(s.init));
  row.params = out.report.params;
  row.nonzero = out.report.nonzero;
  row.original_bytes = out.report.bytes.original;
  row.pruned_bytes = out.report.bytes.pruned;
  row.quantized_bytes = out.report.bytes.quantized;
  row.huffman_bytes = out.report.bytes.huffman;
  row.file_bytes = static_cast<double>(bytes.size());
  row.ratio = out.report.ratio();
  row.weight_energy_uj = compressed_weight_energy_uj(row.huffman_bytes, row.nonzero);
  return row;
}

Result<SweepRow> baseline_row(const Model& model, const SweepArgs& args, const EvalInputs& eval) {
  SweepRow row;
  for (const Tensor& t : model.tensors) {
    row.params += t.numel();
    row.original_bytes += static_cast<double>(t.byte_size());
    if (t.values.empty()) {
      row.nonzero += t.numel();
    } else {
      for (float v : t.values) row.nonzero += v != 0.0f;
    }
  }
  row.pruned_bytes = row.quantized_bytes = row.huffman_bytes = row.original_bytes;
  std::error_code ec;
  row.file_bytes = static_cast<double>(std::filesystem::file_size(args.model, ec));
  DEEPCOMP_RETURN_IF_ERROR(score_model(model, eval, args.model, &row));
  row.weight_energy_uj = dense_weight_energy_uj(row.params);
  return row;
}

// A fingerprint of what makes two shards parts of one sweep: the grid in order, the seed, the
// kind of evaluation and the model's file name (the baseline row, equal in every shard, stands
// for the model's contents and the data).
std::string sweep_id(const std::vector<Setting>& settings, const SweepArgs& args, bool unlabelled) {
  std::string text = fmt::format("deepcomp sweep;seed={};{};model={};", args.seed,
                                 unlabelled ? "agreement" : "accuracy",
                                 std::filesystem::path(args.model).filename().string());
  for (const Setting& s : settings)
    text += fmt::format("{}/{}/{};", s.prune, s.bits, compress::kmeans_init_name(s.init));
  return fmt::format("{:08x}", compress::crc32(text));
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

// Writes the CSV, and the JSON and SVG when asked for, of a whole sweep.
Status write_sweep_files(const std::vector<SweepRow>& rows, const SweepArgs& args,
                         const WriteOptions& write) {
  DEEPCOMP_RETURN_IF_ERROR(write_file_atomic(args.output, sweep_csv(rows), write));
  if (!args.json.empty())
    DEEPCOMP_RETURN_IF_ERROR(write_file_atomic(args.json, sweep_json(rows).dump(2) + "\n", write));
  if (!args.svg.empty())
    DEEPCOMP_RETURN_IF_ERROR(
        write_file_atomic(args.svg, sweep_svg(rows, rows.front().model), write));
  return Status::Ok();
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
  if (Status s = write_sweep_files(*rows, args, write); !s.ok()) return print_error(s);
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
  Shard shard;
  if (!args.shard.empty()) {
    auto parsed = parse_shard(args.shard);
    if (!parsed.ok()) return print_error(parsed.status());
    shard = *parsed;
  }
  const int threads = args.threads > 0 ? args.threads : omp_get_max_threads();
  auto settings = parse_settings(args);
  if (!settings.ok()) return print_error(settings.status());
  if (args.layout != "nchw" && args.layout != "nhwc")
    return print_error("--layout: '" + args.layout + "' is neither nchw nor nhwc");
  args.pre.layout = args.layout == "nhwc" ? Layout::kNhwc : Layout::kNchw;
  if (Status s = validate_image_options(args.pre); !s.ok()) return print_error(s);

  auto specs = parse_input_specs(args.inputs, /*allow_plain=*/true);
  if (!specs.ok()) return print_error(specs.status());
  const bool unlabelled = !specs->empty();
  if (unlabelled && (!args.images.empty() || !args.labels.empty()))
    return print_error("--input and --images/--labels exclude each other");
  if (!unlabelled && (args.images.empty() || args.labels.empty()))
    return print_error(
        "sweep needs --images and --labels (accuracy), or --input (agreement with the original)");

  WriteOptions write;
  write.force = args.force;
  write.inputs = {args.model};
  if (!unlabelled) write.inputs.insert(write.inputs.end(), {args.images, args.labels});
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

  auto model = onnx_io::load_model(args.model);
  if (!model.ok()) return print_error(model.status());
  EvalInputs eval;
  if (unlabelled) {
    auto inputs = load_model_inputs(*specs, model->graph.inputs);
    if (!inputs.ok()) return print_error(inputs.status().WithContext(args.model));
    eval.unlabelled = true;
    eval.inputs = std::move(*inputs);
    if (model->graph.outputs.empty()) return print_error(args.model + ": the model has no outputs");
    eval.output_name = model->graph.outputs[0].name;
    runtime::SessionOptions options;
    options.threads = threads;
    auto session = runtime::Session::create(*model, options);
    if (!session.ok()) return print_error(session.status().WithContext(args.model));
    auto outs = run_on_inputs(*session, eval.inputs);
    if (!outs.ok()) return print_error(outs.status().WithContext(args.model));
    eval.reference = std::move(outs->at(0));
  } else {
    if (model->graph.inputs.size() != 1)
      return print_error(fmt::format(
          "{}: the model has {} graph inputs; sweep evaluates models with one image input (or "
          "use --input)",
          args.model, model->graph.inputs.size()));
    auto set =
        load_image_set(args.images, args.labels, model->graph.inputs[0], args.pre, args.limit);
    if (!set.ok()) return print_error(set.status());
    eval.set = std::move(*set);
    eval.stacked = image_batch(eval.set, args.pre, 0, eval.set.count);
  }

  const auto start = std::chrono::steady_clock::now();
  auto baseline = baseline_row(*model, args, eval);
  if (!baseline.ok()) return print_error(baseline.status().WithContext(args.model));

  const std::string id = sweep_id(*settings, args, unlabelled);
  const std::string model_name = std::filesystem::path(args.model).filename().string();
  baseline->settings = static_cast<int64_t>(settings->size());
  baseline->model = model_name;
  baseline->sweep_id = id;
  std::vector<int> positions;  // this shard's settings, in grid order
  for (int k = 0; k < static_cast<int>(settings->size()); ++k)
    if (shard.owns(k)) positions.push_back(k);
  const int total = static_cast<int>(positions.size());
  std::vector<Result<SweepRow>> results(positions.size(), Status::Error("not run"));
  const bool progress = stderr_is_tty() && !args.quiet;
  std::mutex mutex;
  int done = 0;
  if (progress) show_progress(0, total, 0);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int k = 0; k < total; ++k) {
    const size_t position = static_cast<size_t>(positions[static_cast<size_t>(k)]);
    Result<SweepRow> row = run_setting(*model, (*settings)[position], args, eval);
    if (row.ok()) {
      row->setting = static_cast<int64_t>(position) + 1;
      row->settings = baseline->settings;
      row->model = model_name;
      row->sweep_id = id;
    }
    results[static_cast<size_t>(k)] = std::move(row);
    std::lock_guard<std::mutex> lock(mutex);
    ++done;
    if (progress)
      show_progress(
          done, total,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  std::vector<SweepRow> rows{*baseline};
  for (size_t k = 0; k < results.size(); ++k) {
    if (!results[k].ok()) {
      const Setting& s = (*settings)[static_cast<size_t>(positions[k])];
      return print_error(results[k].status().WithContext(
          fmt::format("{} (prune {}, bits {}, init {})", args.model, s.prune, s.bits,
                      compress::kmeans_init_name(s.init))));
    }
    rows.push_back(std::move(*results[k]));
  }

  if (Status s = write_sweep_files(rows, args, write); !s.ok()) return print_error(s);
  if (!args.quantized.empty()) {
    auto family = quant_family_rows(
        args.model, *model, args.quantized, compress::CompressOptions{},
        [&](const Model& m, SweepRow* row) { return score_model(m, eval, args.model, row); });
    if (!family.ok()) return print_error(family.status());
    if (Status s = write_file_atomic(family_csv, quant_family_csv(*family), write); !s.ok())
      return print_error(s);
  }
  if (!args.quiet) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (shard.count > 1)
      std::printf("shard %lld/%lld: ", static_cast<long long>(shard.index),
                  static_cast<long long>(shard.count));
    if (unlabelled) {
      std::printf("%d settings + baseline on %lld samples (no labels) in %.1f s; wrote %s\n", total,
                  static_cast<long long>(baseline->samples), seconds, args.output.c_str());
    } else {
      std::printf("%d settings + baseline on %lld images in %.1f s; wrote %s\n", total,
                  static_cast<long long>(baseline->count), seconds, args.output.c_str());
    }
  }
  return 0;
}

std::function<int()> setup(CLI::App& app) {
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

DEEPCOMP_REGISTER_COMMAND(sweep_command, "sweep", 60, setup);

}  // namespace
}  // namespace deepcomp::cli
