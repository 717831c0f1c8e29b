// `deepcomp decompress IN.dcz -o OUT.onnx`: the dense ONNX model, every weight equal to its
// shared value and everything else as in the original model.
#include <fmt/format.h>

#include <iostream>

#include "cli/command.h"
#include "cli/dcz_model.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::cli {
namespace {

struct DecompressArgs {
  std::string input;
  std::string output;
  bool force = false;
  bool external_data = false;
};

int run_decompress(const DecompressArgs& args) {
  onnx_io::SaveOptions save;
  save.write.force = args.force;
  save.write.inputs = {args.input};
  save.external_data = args.external_data;
  if (Status s = check_output_path(args.output, save.write); !s.ok()) return print_error(s);
  auto model = load_dcz_dense(args.input);
  if (!model.ok()) return print_error(model.status());
  if (Status s = onnx_io::save_model(*model, args.output, save); !s.ok()) return print_error(s);
  return 0;
}

std::function<int()> setup(CLI::App& app) {
  auto args = std::make_shared<DecompressArgs>();
  CLI::App* cmd = app.add_subcommand("decompress", "Restore a dense ONNX model from a .dcz file.");
  cmd->add_option("input", args->input, "Input .dcz file")->required()->check(CLI::ExistingPath);
  cmd->add_option("-o,--output", args->output, "Output .onnx file")->required();
  cmd->add_flag("--force", args->force, "Replace the output file if it exists");
  cmd->add_flag("--external-data", args->external_data,
                "Write weights to OUTPUT.data beside the model (automatic past 2 GB)");
  return [args] { return run_decompress(*args); };
}

DEEPCOMP_REGISTER_COMMAND(decompress_command, "decompress", 20, setup);

}  // namespace
}  // namespace deepcomp::cli
