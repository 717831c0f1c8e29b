// `deepcomp decompress IN.dcz -o OUT.onnx`: the dense ONNX model, every weight equal to its
// shared value and everything else as in the original model.
#include <fmt/format.h>

#include <iostream>

#include "cli/command.h"
#include "toolkit/dcz_model.h"
#include "compress/stream_decompress.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::cli {
namespace {

struct DecompressArgs {
  std::string input;
  std::string output;
  bool force = false;
  bool external_data = false;
  bool in_memory = false;
};

// --external-data: one section read, decoded and written to OUTPUT.data at a time (bounded
// memory, docs/CLI.md "Models larger than memory"); same files as the in-memory path.
int run_streaming(const DecompressArgs& args, const onnx_io::SaveOptions& save) {
  onnx_io::StreamingModelWriter writer;
  Status s = compress::decode_container_streaming(
      args.input, dcz_read_limits(),
      [&](const compress::ContainerHeader&, const std::string& skeleton) {
        return writer.open(skeleton, args.output, save);
      },
      [&](Tensor&& t) { return writer.add(t); });
  if (s.ok()) s = writer.finish();
  return s.ok() ? 0 : print_error(s);
}

int run_decompress(const DecompressArgs& args) {
  onnx_io::SaveOptions save;
  save.write.force = args.force;
  save.write.inputs = {args.input};
  save.external_data = args.external_data;
  if (Status s = check_output_path(args.output, save.write); !s.ok()) return print_error(s);
  if (args.external_data && !args.in_memory) return run_streaming(args, save);
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
                "Write weights to OUTPUT.data beside the model (automatic past 2 GB); decodes and "
                "writes one tensor at a time");
  cmd->add_flag("--in-memory", args->in_memory,
                "With --external-data: decode every tensor before writing (same output)");
  return [args] { return run_decompress(*args); };
}

DEEPCOMP_REGISTER_COMMAND(decompress_command, "decompress", 20, setup);

}  // namespace
}  // namespace deepcomp::cli
