// `deepcomp compress IN.onnx -o OUT.dcz`: the Deep Compression pipeline, with the size report.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "cli/command.h"
#include "cli/report_output.h"
#include "compress/container.h"
#include "compress/pipeline.h"
#include "core/file_io.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::cli {
namespace {

struct CompressArgs {
  std::string input;
  std::string output;
  std::string report_json;
  bool force = false;
  bool quiet = false;
  std::vector<std::string> layer_specs;
  std::string init = "linear";
  std::optional<double> prune, prune_std, prune_global, prune_conv, prune_fc;
  compress::CompressOptions options;
};

int run_compress(const CompressArgs& args) {
  compress::CompressOptions options = args.options;
  options.prune = args.prune;
  options.prune_std = args.prune_std;
  options.prune_global = args.prune_global;
  options.prune_conv = args.prune_conv;
  options.prune_fc = args.prune_fc;
  auto init = compress::parse_kmeans_init(args.init);
  if (!init.ok()) return print_error(init.status());
  options.init = *init;
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

  const auto start = std::chrono::steady_clock::now();
  auto model = onnx_io::load_model(args.input);
  if (!model.ok()) return print_error(model.status());

  const bool show_progress = stderr_is_tty() && !args.quiet;
  if (show_progress) {
    options.progress = [](const std::string& tensor, int done, int total) {
      std::fprintf(stderr, "\r\033[K[%d/%d] %s", done, total, tensor.c_str());
      if (done == total) std::fprintf(stderr, "\r\033[K");
      std::fflush(stderr);
    };
  }
  auto result = compress::compress_model(*model, options);
  if (!result.ok()) return print_error(result.status().WithContext(args.input));
  compress::CompressOutput& out = *result;
  out.container.header.metadata.emplace_back("source", std::filesystem::path(args.input).filename().string());

  auto bytes = compress::serialize_container(out.container);
  if (!bytes.ok()) return print_error(bytes.status().WithContext(args.output));
  if (Status s = write_file_atomic(args.output, *bytes, write); !s.ok()) return print_error(s);

  std::error_code ec;
  out.report.model_bytes = static_cast<double>(std::filesystem::file_size(args.input, ec));
  out.report.file_bytes = static_cast<double>(bytes->size());
  out.report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!args.report_json.empty()) {
    WriteOptions report_write = write;
    Status s = write_file_atomic(args.report_json, report_json(out.report).dump(2) + "\n", report_write);
    if (!s.ok()) return print_error(s);
  }
  if (!args.quiet) {
    std::cout << format_report_table(out.report);
    std::cout << fmt::format("wrote {} ({}) in {:.2f} s\n", args.output,
                             human_bytes(out.report.file_bytes), out.report.seconds);
  }
  return 0;
}

std::function<int()> setup(CLI::App& app) {
  auto args = std::make_shared<CompressArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compress",
      "Prune, share weights (k-means) and Huffman-code an ONNX model into a .dcz file.");
  cmd->add_option("input", args->input, "Input ONNX model")->required()->check(CLI::ExistingPath);
  cmd->add_option("-o,--output", args->output, "Output .dcz file")->required();
  cmd->add_flag("--force", args->force, "Replace the output file if it exists");
  cmd->add_option("--report-json", args->report_json, "Also write the size report as JSON here");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");

  auto* prune = cmd->add_option_group("Pruning", "Unstructured magnitude pruning of conv/fc weights");
  prune->add_option("--prune", args->prune,
                    "Target sparsity (fraction of zeros) of every compressible layer, in [0,1)");
  prune->add_option("--prune-std", args->prune_std,
                    "Prune |w| < Q x std(layer) (the paper's quality parameter), Q >= 0");
  prune->add_option("--prune-global", args->prune_global,
                    "One magnitude threshold across all compressible layers reaching this overall "
                    "sparsity, in [0,1)");
  prune->add_option("--prune-conv", args->prune_conv,
                    fmt::format("Sparsity of conv layers (default {})", compress::kDefaultPruneConv));
  prune->add_option("--prune-fc", args->prune_fc,
                    fmt::format("Sparsity of fc layers (default {})", compress::kDefaultPruneFc));
  prune->add_flag("--no-prune", args->options.no_prune, "Do not prune");
  prune->add_option("--layer", args->layer_specs,
                    "Per-layer override 'GLOB=prune:0.9,bits:4,index-bits:5' or 'GLOB=skip' "
                    "(glob on tensor names; repeatable, later ones win)");

  auto* share = cmd->add_option_group("Weight sharing", "k-means over each layer's surviving weights");
  share->add_option("--bits-conv", args->options.bits_conv, "Bits per shared weight in conv layers (1..16)")
      ->default_val(8);
  share->add_option("--bits-fc", args->options.bits_fc, "Bits per shared weight in fc layers (1..16)")
      ->default_val(5);
  share->add_option("--init", args->init,
                    "Centroid initialization: linear, density, random, kmeans++ or optimal "
                    "(exact 1-D k-means by dynamic programming)")
      ->default_val("linear");
  share->add_option("--iters", args->options.iters, "Maximum Lloyd iterations")->default_val(100);
  share->add_option("--seed", args->options.seed, "Seed for the random and kmeans++ inits")
      ->default_val(0);
  share->add_flag("--no-share", [args](int64_t) { args->options.share = false; },
                  "Keep float32 values (no weight sharing)");

  auto* index = cmd->add_option_group("Sparse index", "Relative indices with filler entries, as in the paper");
  index->add_option("--index-bits-conv", args->options.index_bits_conv,
                    "Bits per relative index in conv layers (1..16)")
      ->default_val(8);
  index->add_option("--index-bits-fc", args->options.index_bits_fc,
                    "Bits per relative index in fc layers (1..16)")
      ->default_val(5);
  cmd->add_flag("--no-huffman", [args](int64_t) { args->options.huffman = false; },
                "Store cluster and index streams at fixed width instead of Huffman-coding them");
  cmd->add_flag("--include-biases", args->options.include_biases,
                "Also prune and share 1-D tensors (biases); off by default as in the paper");
  return [args] { return run_compress(*args); };
}

DEEPCOMP_REGISTER_COMMAND(compress_command, "compress", 10, setup);

}  // namespace
}  // namespace deepcomp::cli
