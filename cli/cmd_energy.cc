// `deepcomp energy MODEL.onnx [--compressed MODEL.dcz]`: energy per inference of the dense and the
// compressed model (docs/ENERGY.md), the deployment footprint and the download footprint. Without
// --compressed the model is compressed in memory with the default pipeline
// (toolkit/energy_file.h).
#include <iostream>

#include "cli/command.h"
#include "toolkit/energy_file.h"
#include "toolkit/energy_report.h"
#include "toolkit/model_inputs.h"

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
  auto specs = parse_input_specs(args.inputs, /*allow_plain=*/false);
  if (!specs.ok()) return print_error(specs.status());
  EnergySettings settings = args.settings;
  settings.inputs = std::move(*specs);
  auto report = energy_for_files(args.input, args.compressed, settings);
  if (!report.ok()) return print_error(report.status());
  if (args.json) {
    std::cout << report->dump(2) << "\n";
  } else {
    std::cout << format_energy_text(*report);
  }
  return 0;
}

std::function<int()> setup_energy(CLI::App& app) {
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

DEEPCOMP_REGISTER_COMMAND(energy_command, "energy", 70, setup_energy);

}  // namespace
}  // namespace deepcomp::cli
