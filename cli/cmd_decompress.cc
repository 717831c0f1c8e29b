// `deepcomp decompress IN.dcz -o OUT.onnx`: the dense ONNX model, every weight equal to its
// shared value and everything else as in the original model (toolkit/decompress_file.h).
#include "cli/command.h"
#include "toolkit/decompress_file.h"

namespace deepcomp::cli {
namespace {

struct DecompressArgs {
  std::string input;
  std::string output;
  DecompressSettings settings;
};

std::function<int()> setup_decompress(CLI::App& app) {
  auto args = std::make_shared<DecompressArgs>();
  CLI::App* cmd = app.add_subcommand("decompress", "Restore a dense ONNX model from a .dcz file.");
  cmd->add_option("input", args->input, "Input .dcz file")->required()->check(CLI::ExistingPath);
  cmd->add_option("-o,--output", args->output, "Output .onnx file")->required();
  cmd->add_flag("--force", args->settings.force, "Replace the output file if it exists");
  cmd->add_flag("--external-data", args->settings.external_data,
                "Write weights to OUTPUT.data beside the model (automatic past 2 GB); decodes and "
                "writes one tensor at a time");
  cmd->add_flag("--in-memory", args->settings.in_memory,
                "With --external-data: decode every tensor before writing (same output)");
  return [args] {
    Status s = decompress_to_file(args->input, args->output, args->settings);
    return s.ok() ? 0 : print_error(s);
  };
}

DEEPCOMP_REGISTER_COMMAND(decompress_command, "decompress", 20, setup_decompress);

}  // namespace
}  // namespace deepcomp::cli
