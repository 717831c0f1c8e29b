// `deepcomp run MODEL --input IN.npy -o OUT.npy`: runs every sample of IN (first axis = samples)
// through the model (an .onnx, or a .dcz run sparse from its compressed form by default) and
// writes the first graph output, stacked along the first axis, as float32 .npy.
#include <memory>
#include <string>

#include "cli/command.h"
#include "cli/model_source.h"
#include "cli/preprocess.h"
#include "core/file_io.h"
#include "data/idx.h"
#include "runtime/batch.h"
#include "runtime/session.h"

namespace deepcomp::cli {
namespace {

struct RunArgs {
  std::string model;
  std::string input;
  std::string output;
  KernelFlags kernel;
  bool force = false;
  int threads = 1;
};

int run_run(const RunArgs& args) {
  WriteOptions write;
  write.force = args.force;
  write.inputs = {args.model, args.input};
  if (Status s = check_output_path(args.output, write); !s.ok()) return print_error(s);
  auto loaded = load_for_kernel_flags(args.model, args.kernel, args.threads);
  if (!loaded.ok()) return print_error(loaded.status());
  runtime::Session* session = &loaded->session;
  if (session->inputs().size() != 1) {
    return print_error(args.model + ": the model has " + std::to_string(session->inputs().size()) +
                       " inputs; run takes models with exactly one");
  }
  auto array = data::read_array(args.input);
  if (!array.ok()) return print_error(array.status());
  if (array->shape.empty() || array->samples() == 0) {
    return print_error(args.input + ": no samples (shape " + array_shape_text(array->shape) + ")");
  }
  const std::vector<int64_t> sample(array->shape.begin() + 1, array->shape.end());
  auto shape = batch_input_shape(session->inputs()[0], sample, array->samples());
  if (!shape.ok()) return print_error(shape.status().WithContext(args.input));
  runtime::Value stacked = runtime::Value::floats(*shape, std::move(array->values));
  auto result = runtime::run_batch(*session, stacked);
  if (!result.ok()) return print_error(result.status().WithContext(args.model));
  const runtime::Value& out = result->outputs.at(0);
  std::vector<float> values = out.f;
  if (!out.is_float()) {
    values.resize(out.i.size());
    for (size_t k = 0; k < out.i.size(); ++k) values[k] = static_cast<float>(out.i[k]);
  }
  if (Status s = write_file_atomic(args.output, data::npy_bytes(out.shape, values), write);
      !s.ok()) {
    return print_error(s);
  }
  return 0;
}

std::function<int()> setup(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run a model (.onnx, or .dcz straight from its compressed form) on a .npy input.");
  cmd->add_option("model", args->model, "Model: .onnx or .dcz")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-i,--input", args->input, "Input .npy (or IDX); first axis = samples")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", args->output, "Output .npy: the first graph output, float32")
      ->required();
  add_kernel_flags(cmd, &args->kernel);
  cmd->add_option("--threads", args->threads, "OpenMP threads (default 1; 0 = OpenMP default)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--force", args->force, "Replace the output file if it exists");
  return [args] { return run_run(*args); };
}

DEEPCOMP_REGISTER_COMMAND(run_command, "run", 40, setup);

}  // namespace
}  // namespace deepcomp::cli
