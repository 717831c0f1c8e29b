// The sweep itself (toolkit/sweep_run.h), moved out of cli/cmd_sweep.cc.
#include "toolkit/sweep_run.h"

#include <fmt/format.h>
#include <omp.h>

#include <chrono>
#include <filesystem>
#include <mutex>

#include "compress/checksum.h"
#include "compress/container.h"
#include "onnx_io/onnx_io.h"
#include "runtime/batch.h"
#include "runtime/session.h"
#include "toolkit/dcz_model.h"
#include "toolkit/image_set.h"
#include "toolkit/output_compare.h"

namespace deepcomp::cli {
namespace {

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

// One compressed row: compress, serialize (for the file size), rebuild dense, evaluate.
Result<SweepRow> run_setting(const Model& model, const SweepSetting& s,
                             const SweepSettings& settings, const EvalInputs& eval) {
  compress::CompressOptions options;
  options.prune = s.prune;
  options.bits_conv = options.bits_fc = s.bits;
  options.init = s.init;
  options.seed = settings.seed;
  DEEPCOMP_RETURN_IF_ERROR(compress::validate_options(options));
  DEEPCOMP_ASSIGN_OR_RETURN(compress::CompressOutput out, compress::compress_model(model, options));
  // The same header `deepcomp compress` writes, so file_bytes is that command's file size.
  out.container.header.metadata.emplace_back(
      "source", std::filesystem::path(settings.model).filename().string());
  DEEPCOMP_ASSIGN_OR_RETURN(std::string bytes, compress::serialize_container(out.container));
  DEEPCOMP_ASSIGN_OR_RETURN(Model rebuilt, container_to_model(out.container, settings.model));
  SweepRow row;
  DEEPCOMP_RETURN_IF_ERROR(score_model(rebuilt, eval, settings.model, &row));
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

Result<SweepRow> baseline_row(const Model& model, const SweepSettings& settings,
                              const EvalInputs& eval) {
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
  row.file_bytes = static_cast<double>(std::filesystem::file_size(settings.model, ec));
  DEEPCOMP_RETURN_IF_ERROR(score_model(model, eval, settings.model, &row));
  row.weight_energy_uj = dense_weight_energy_uj(row.params);
  return row;
}

// A fingerprint of what makes two shards parts of one sweep: the grid in order, the seed, the
// kind of evaluation and the model's file name (the baseline row, equal in every shard, stands
// for the model's contents and the data).
std::string sweep_id(const SweepSettings& settings, bool unlabelled) {
  std::string text = fmt::format("deepcomp sweep;seed={};{};model={};", settings.seed,
                                 unlabelled ? "agreement" : "accuracy",
                                 std::filesystem::path(settings.model).filename().string());
  for (const SweepSetting& s : settings.grid)
    text += fmt::format("{}/{}/{};", s.prune, s.bits, compress::kmeans_init_name(s.init));
  return fmt::format("{:08x}", compress::crc32(text));
}

// Loads what every setting is scored on; `threads` run the original model for the reference.
Result<EvalInputs> prepare_eval(const Model& model, const SweepSettings& settings, int threads) {
  EvalInputs eval;
  if (!settings.inputs.empty()) {
    auto inputs = load_model_inputs(settings.inputs, model.graph.inputs);
    if (!inputs.ok()) return inputs.status().WithContext(settings.model);
    eval.unlabelled = true;
    eval.inputs = std::move(*inputs);
    if (model.graph.outputs.empty())
      return Status::Error(settings.model + ": the model has no outputs");
    eval.output_name = model.graph.outputs[0].name;
    runtime::SessionOptions options;
    options.threads = threads;
    auto session = runtime::Session::create(model, options);
    if (!session.ok()) return session.status().WithContext(settings.model);
    auto outs = run_on_inputs(*session, eval.inputs);
    if (!outs.ok()) return outs.status().WithContext(settings.model);
    eval.reference = std::move(outs->at(0));
    return eval;
  }
  if (model.graph.inputs.size() != 1)
    return Status::Error(fmt::format(
        "{}: the model has {} graph inputs; sweep evaluates models with one image input (or "
        "use --input)",
        settings.model, model.graph.inputs.size()));
  DEEPCOMP_ASSIGN_OR_RETURN(eval.set,
                            load_image_set(settings.images, settings.labels, model.graph.inputs[0],
                                           settings.pre, settings.limit));
  eval.stacked = image_batch(eval.set, settings.pre, 0, eval.set.count);
  return eval;
}

}  // namespace

std::vector<SweepSetting> sweep_grid(const std::vector<double>& prune, const std::vector<int>& bits,
                                     const std::vector<compress::KMeansInit>& inits) {
  std::vector<SweepSetting> grid;
  for (double p : prune)
    for (int b : bits)
      for (compress::KMeansInit i : inits) grid.push_back({p, b, i});
  return grid;
}

Status check_sweep_settings(const SweepSettings& settings) {
  if (settings.grid.empty()) return Status::Error("sweep: no settings (--prune, --bits, --init)");
  for (const SweepSetting& s : settings.grid) {
    if (!(s.prune >= 0 && s.prune < 1))
      return Status::Error(fmt::format("--prune: {} is not a sparsity in [0,1)", s.prune));
    if (s.bits < 1 || s.bits > 16)
      return Status::Error(fmt::format("--bits: {} is not a bit width in 1..16", s.bits));
  }
  if (settings.shard.count < 1 || settings.shard.index < 1 ||
      settings.shard.index > settings.shard.count)
    return Status::Error(fmt::format("--shard: {}/{} is not K/N with 1 <= K <= N",
                                     settings.shard.index, settings.shard.count));
  if (settings.limit < 0) return Status::Error("--limit must be >= 0");
  DEEPCOMP_RETURN_IF_ERROR(validate_image_options(settings.pre));
  const bool unlabelled = !settings.inputs.empty();
  if (unlabelled && (!settings.images.empty() || !settings.labels.empty()))
    return Status::Error("--input and --images/--labels exclude each other");
  if (!unlabelled && (settings.images.empty() || settings.labels.empty()))
    return Status::Error(
        "sweep needs --images and --labels (accuracy), or --input (agreement with the original)");
  return Status::Ok();
}

Result<SweepRun> sweep_model(const SweepSettings& settings) {
  DEEPCOMP_RETURN_IF_ERROR(check_sweep_settings(settings));
  const int threads = settings.threads > 0 ? settings.threads : omp_get_max_threads();
  DEEPCOMP_ASSIGN_OR_RETURN(Model model, onnx_io::load_model(settings.model));
  DEEPCOMP_ASSIGN_OR_RETURN(EvalInputs eval, prepare_eval(model, settings, threads));

  const auto start = std::chrono::steady_clock::now();
  auto baseline = baseline_row(model, settings, eval);
  if (!baseline.ok()) return baseline.status().WithContext(settings.model);
  const std::string id = sweep_id(settings, eval.unlabelled);
  const std::string model_name = std::filesystem::path(settings.model).filename().string();
  baseline->settings = static_cast<int64_t>(settings.grid.size());
  baseline->model = model_name;
  baseline->sweep_id = id;
  std::vector<int> positions;  // this shard's settings, in grid order
  for (int k = 0; k < static_cast<int>(settings.grid.size()); ++k)
    if (settings.shard.owns(k)) positions.push_back(k);
  const int total = static_cast<int>(positions.size());
  std::vector<Result<SweepRow>> results(positions.size(), Status::Error("not run"));
  std::mutex mutex;
  int done = 0;
  auto seconds = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (settings.progress) settings.progress(0, total, 0);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int k = 0; k < total; ++k) {
    const size_t position = static_cast<size_t>(positions[static_cast<size_t>(k)]);
    Result<SweepRow> row = run_setting(model, settings.grid[position], settings, eval);
    if (row.ok()) {
      row->setting = static_cast<int64_t>(position) + 1;
      row->settings = baseline->settings;
      row->model = model_name;
      row->sweep_id = id;
    }
    results[static_cast<size_t>(k)] = std::move(row);
    std::lock_guard<std::mutex> lock(mutex);
    ++done;
    if (settings.progress) settings.progress(done, total, seconds());
  }

  SweepRun run;
  run.unlabelled = eval.unlabelled;
  run.evaluated = total;
  run.rows.push_back(std::move(*baseline));
  for (size_t k = 0; k < results.size(); ++k) {
    if (!results[k].ok()) {
      const SweepSetting& s = settings.grid[static_cast<size_t>(positions[k])];
      return results[k].status().WithContext(fmt::format("{} (prune {}, bits {}, init {})",
                                                         settings.model, s.prune, s.bits,
                                                         compress::kmeans_init_name(s.init)));
    }
    run.rows.push_back(std::move(*results[k]));
  }
  run.seconds = seconds();
  if (!settings.quantized.empty()) {
    DEEPCOMP_ASSIGN_OR_RETURN(
        run.family, quant_family_rows(settings.model, model, settings.quantized,
                                      compress::CompressOptions{},
                                      [&](const Model& m, SweepRow* row) {
                                        return score_model(m, eval, settings.model, row);
                                      }));
  }
  return run;
}

Status write_sweep_files(const std::vector<SweepRow>& rows, const std::string& csv_path,
                         const std::string& json_path, const std::string& svg_path,
                         const WriteOptions& write) {
  DEEPCOMP_RETURN_IF_ERROR(write_file_atomic(csv_path, sweep_csv(rows), write));
  if (!json_path.empty())
    DEEPCOMP_RETURN_IF_ERROR(write_file_atomic(json_path, sweep_json(rows).dump(2) + "\n", write));
  if (!svg_path.empty())
    DEEPCOMP_RETURN_IF_ERROR(
        write_file_atomic(svg_path, sweep_svg(rows, rows.front().model), write));
  return Status::Ok();
}

}  // namespace deepcomp::cli
