// `deepcomp run MODEL --input IN.npy [--input NAME=FILE.npy ...] -o OUT.npy|OUT.npz`: runs the
// model (an .onnx, or a .dcz run sparse from its compressed form by default) on the given inputs
// (toolkit/model_inputs.h: the plain form's samples batched, NAME=FILE whole tensors) and writes the
// first graph output as .npy, or every graph output, by name and in its own dtype, as .npz.
#include <memory>
#include <string>

#include "cli/command.h"
#include "toolkit/model_inputs.h"
#include "toolkit/model_source.h"
#include "core/file_io.h"
#include "data/npy.h"
#include "data/npz.h"
#include "runtime/session.h"

namespace deepcomp::cli {
namespace {

struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::string output;
  KernelFlags kernel;
  bool force = false;
  int threads = 1;
};

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The bytes of OUT: .npz = every output in its dtype; .npy = the first output, float32 for float
// outputs (as run always wrote), its own dtype for integer and bool outputs.
Result<std::string> output_bytes(const std::string& path, const runtime::Session& session,
                                 std::vector<runtime::Value> outputs) {
  if (ends_with(path, ".npz")) {
    std::vector<std::pair<std::string, data::TypedArray>> arrays;
    for (size_t k = 0; k < outputs.size(); ++k) {
      arrays.emplace_back(session.outputs()[k].name, typed_array_from_value(std::move(outputs[k])));
    }
    return data::npz_bytes(arrays);
  }
  data::TypedArray first = typed_array_from_value(std::move(outputs.at(0)));
  if (first.is_float()) first.dtype = DType::kFloat32;
  return data::npy_bytes_typed(first);
}

int run_run(const RunArgs& args) {
  auto specs = parse_input_specs(args.inputs, /*allow_plain=*/true);
  if (!specs.ok()) return print_error(specs.status());
  WriteOptions write;
  write.force = args.force;
  write.inputs = {args.model};
  for (const InputSpec& spec : *specs) write.inputs.push_back(spec.path);
  if (Status s = check_output_path(args.output, write); !s.ok()) return print_error(s);
  auto loaded = load_for_kernel_flags(args.model, args.kernel, args.threads);
  if (!loaded.ok()) return print_error(loaded.status());
  runtime::Session* session = &loaded->session;
  auto inputs = load_model_inputs(*specs, session->inputs());
  if (!inputs.ok()) return print_error(inputs.status().WithContext(args.model));
  auto outputs = run_on_inputs(*session, *inputs);
  if (!outputs.ok()) return print_error(outputs.status().WithContext(args.model));
  auto bytes = output_bytes(args.output, *session, std::move(*outputs));
  if (!bytes.ok()) return print_error(bytes.status().WithContext(args.output));
  if (Status s = write_file_atomic(args.output, *bytes, write); !s.ok()) return print_error(s);
  return 0;
}

std::function<int()> setup_run(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run a model (.onnx, or .dcz straight from its compressed form) on .npy inputs.");
  cmd->add_option("model", args->model, "Model: .onnx or .dcz")
      ->required()
      ->check(CLI::ExistingFile);
  add_input_option(cmd, &args->inputs,
                   "Repeatable. NAME=FILE.npy: the graph input NAME gets the array as its whole "
                   "tensor (its exact dtype, any shape fitting the declared one). FILE (.npy or "
                   "IDX, no NAME=): the first input, first axis = samples, batched when the model "
                   "allows it; float inputs take any numeric array converted to their dtype")
      ->required();
  cmd->add_option("-o,--output", args->output,
                  "OUT.npz: every graph output, keyed by output name, each in its own dtype "
                  "(bfloat16 as float32). OUT.npy: the first output only, as float32 when it is a "
                  "float output, in its own dtype when it is an integer or bool output")
      ->required();
  add_kernel_flags(cmd, &args->kernel);
  cmd->add_option("--threads", args->threads, "OpenMP threads (default 1; 0 = OpenMP default)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--force", args->force, "Replace the output file if it exists");
  return [args] { return run_run(*args); };
}

DEEPCOMP_REGISTER_COMMAND(run_command, "run", 40, setup_run);

}  // namespace
}  // namespace deepcomp::cli
