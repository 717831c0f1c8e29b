// `deepcomp energy MODEL.onnx [--compressed MODEL.dcz]`: energy per inference of the dense and the
// compressed model (docs/ENERGY.md), the deployment footprint and the download footprint. Without
// --compressed the model is compressed in memory with the default pipeline.
#include <filesystem>
#include <iostream>

#include "cli/command.h"
#include "toolkit/dcz_model.h"
#include "toolkit/energy_report.h"
#include "toolkit/model_inputs.h"
#include "compress/container.h"
#include "compress/pipeline.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::cli {
namespace {

struct EnergyArgs {
  std::string input;
  std::string compressed;
  bool json = false;
  EnergySettings settings;
  std::vector<std::string> inputs;
};

int run_energy(const EnergyArgs& args) {
  if (Status s = validate_energy_settings(args.settings); !s.ok()) return print_error(s);
  auto specs = parse_input_specs(args.inputs, /*allow_plain=*/false);
  if (!specs.ok()) return print_error(specs.status());
  EnergySettings settings = args.settings;
  settings.inputs = std::move(*specs);
  auto model = onnx_io::load_model(args.input);
  if (!model.ok()) return print_error(model.status());
  std::error_code ec;
  const double dense_bytes = static_cast<double>(std::filesystem::file_size(args.input, ec));

  compress::Container container;
  CompressedStats stats;
  double compressed_bytes = 0;
  if (!args.compressed.empty()) {
    auto read = read_dcz(args.compressed);
    if (!read.ok()) return print_error(read.status());
    container = std::move(*read);
    stats = compressed_stats_from_container(container);
    compressed_bytes = static_cast<double>(std::filesystem::file_size(args.compressed, ec));
  } else {
    auto out = compress::compress_model(*model, compress::CompressOptions{});
    if (!out.ok()) return print_error(out.status().WithContext(args.input));
    auto bytes = compress::serialize_container(out->container);
    if (!bytes.ok()) return print_error(bytes.status().WithContext(args.input));
    compressed_bytes = static_cast<double>(bytes->size());
    stats = compressed_stats_from_report(out->report);
    container = std::move(out->container);
  }
  auto report = energy_report(*model, container, stats, dense_bytes, compressed_bytes, settings);
  if (!report.ok()) return print_error(report.status().WithContext(args.input));
  (*report)["model"] = args.input;
  (*report)["compressed"] =
      args.compressed.empty() ? "(default pipeline, in memory)" : args.compressed;
  if (args.json) {
    std::cout << report->dump(2) << "\n";
  } else {
    std::cout << format_energy_text(*report);
  }
  return 0;
}

std::function<int()> setup(CLI::App& app) {
  auto args = std::make_shared<EnergyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "energy",
      "Energy per inference (dense vs compressed), deployment and download footprint in kWh and "
      "kg CO2e (model and sources: docs/ENERGY.md).");
  cmd->add_option("model", args->input, "Original ONNX model")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--compressed", args->compressed,
                  "Its .dcz (default: compress in memory with the default settings)")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  add_input_option(cmd, &args->inputs,
                   "Repeatable, NAME=FILE.npy: what input NAME holds in one inference (its dtype, "
                   "a shape fitting the declared one); needed when a shape is not static. Inputs "
                   "not given get a batch-1 sample of their declared shape (floats pseudo-random "
                   "in [0,1), integers and bools zero)");
  add_energy_options(cmd, &args->settings);
  return [args] { return run_energy(*args); };
}

DEEPCOMP_REGISTER_COMMAND(energy_command, "energy", 70, setup);

}  // namespace
}  // namespace deepcomp::cli
