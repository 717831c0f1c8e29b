// `deepcomp eval MODEL --images F --labels F`: top-1 / top-5 accuracy and speed of a classifier
// (an .onnx, or a .dcz run sparse from its compressed form by default) on an IDX or .npy image
// set, with the preprocessing of toolkit/preprocess.h (read and checked by toolkit/image_set.h).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/command.h"
#include "toolkit/image_set.h"
#include "toolkit/model_inputs.h"
#include "toolkit/model_source.h"
#include "runtime/batch.h"
#include "runtime/session.h"

namespace deepcomp::cli {
namespace {

struct EvalArgs {
  std::string model;
  std::string images;
  std::string labels;
  double scale = 1.0 / 255.0;
  double mean = 0.0;
  double std = 1.0;
  int64_t pad = 0;
  std::string layout = "auto";
  int64_t limit = 0;
  int64_t batch = 100;
  bool json = false;
  KernelFlags kernel;
  int threads = 1;
  std::vector<std::string> inputs;  // --input NAME=FILE.npy: the model's other inputs
};

// The input the images feed: the only one --input does not give. Fills `values` with the given
// arrays (the image slot left empty).
Result<size_t> image_input(const runtime::Session& session, const std::vector<InputSpec>& specs,
                           std::vector<runtime::Value>* values) {
  DEEPCOMP_ASSIGN_OR_RETURN(auto given, load_named_inputs(specs, session.inputs()));
  std::optional<size_t> image;
  std::string left;
  for (size_t k = 0; k < given.size(); ++k) {
    if (given[k]) {
      values->push_back(std::move(*given[k]));
      continue;
    }
    left += (left.empty() ? "'" : ", '") + session.inputs()[k].name + "'";
    if (!image) image = k;
    values->emplace_back();
  }
  if (!image) return Status::Error("--input gives every input; the images need one left");
  if (left.find(',') != std::string::npos) {
    return Status::Error("the images feed one input, " + left +
                         " are not given: give all but the image input with --input NAME=FILE.npy");
  }
  return *image;
}

int run_eval(const EvalArgs& args) {
  ImageOptions image_options;
  image_options.scale = args.scale;
  image_options.mean = args.mean;
  image_options.std = args.std;
  image_options.pad = args.pad;
  image_options.layout = args.layout == "nchw"   ? Layout::kNchw
                         : args.layout == "nhwc" ? Layout::kNhwc
                                                 : Layout::kAuto;
  if (Status s = validate_image_options(image_options); !s.ok()) return print_error(s);
  auto loaded = load_for_kernel_flags(args.model, args.kernel, args.threads);
  if (!loaded.ok()) return print_error(loaded.status());
  runtime::Session* session = &loaded->session;
  auto specs = parse_input_specs(args.inputs, /*allow_plain=*/false);
  if (!specs.ok()) return print_error(specs.status());
  std::vector<runtime::Value> inputs;
  auto slot = image_input(*session, *specs, &inputs);
  if (!slot.ok()) return print_error(slot.status().WithContext(args.model));
  auto set =
      load_image_set(args.images, args.labels, session->inputs()[*slot], image_options, args.limit);
  if (!set.ok()) return print_error(set.status());

  const int64_t count = set->count;
  const bool progress = stderr_is_tty() && !args.json;
  AccuracyCounter counter(*set, args.model);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < count; first += args.batch) {
    const int64_t n = std::min(args.batch, count - first);
    inputs[*slot] = image_batch(*set, image_options, first, n);
    auto run = runtime::run_batch(*session, inputs, *slot);
    if (!run.ok()) {
      return print_error(
          run.status()
              .WithContext("images " + std::to_string(first) + ".." + std::to_string(first + n - 1))
              .WithContext(args.model));
    }
    if (Status s = counter.add(run->outputs.at(0), first, n); !s.ok()) return print_error(s);
    if (progress)
      std::fprintf(stderr, "\reval: %lld/%lld", static_cast<long long>(first + n),
                   static_cast<long long>(count));
  }
  if (progress) std::fprintf(stderr, "\n");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double per_s = seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
  const int64_t classes = counter.classes(), top1 = counter.top1(), top5 = counter.top5();
  const bool has_top5 = classes >= 5;
  const int sparse_layers = sparse_layer_count(*session);
  if (args.json) {
    nlohmann::ordered_json j;
    j["model"] = args.model;
    j["sparse"] = sparse_layers > 0;
    j["kernel"] = runtime::kernel_choice_name(loaded->opened.options.kernel);
    j["sparse_layers"] = sparse_layers;
    j["dense_layers"] = static_cast<int>(session->layer_kernels().size()) - sparse_layers;
    j["count"] = count;
    j["correct"] = top1;
    j["top1"] = static_cast<double>(top1) / static_cast<double>(count);
    if (has_top5) {
      j["top5_correct"] = top5;
      j["top5"] = static_cast<double>(top5) / static_cast<double>(count);
    } else {
      j["top5"] = nullptr;
    }
    j["images_per_s"] = per_s;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "model:  " << loaded->opened.description << "\n";
  std::cout << "        " << kernel_summary(*session, loaded->opened.options) << "\n";
  std::cout << "images: " << count << " (" << classes << " classes)\n";
  std::cout << fmt::format("top-1:  {:.2f}% ({}/{})\n", 100.0 * top1 / count, top1, count);
  if (has_top5) {
    std::cout << fmt::format("top-5:  {:.2f}% ({}/{})\n", 100.0 * top5 / count, top5, count);
  }
  std::cout << fmt::format("speed:  {:.0f} images/s\n", per_s);
  return 0;
}

std::function<int()> setup_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Top-1/top-5 accuracy of a classifier (.onnx or .dcz) on an image set.");
  cmd->add_option("model", args->model, "Model: .onnx or .dcz")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--images", args->images, "Images: IDX (gzipped or not) or .npy")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--labels", args->labels, "Labels: IDX (gzipped or not) or .npy")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--scale", args->scale, "Pixel scale (default 1/255: pixels to [0,1])");
  cmd->add_option("--mean", args->mean, "Subtracted after scaling (default 0)");
  cmd->add_option("--std", args->std, "Divides after the mean (default 1)");
  cmd->add_option("--pad", args->pad, "Zero padding on each side of H and W")
      ->check(CLI::Range(int64_t{0}, int64_t{1024}));
  cmd->add_option("--layout", args->layout, "Model input layout (default: auto)")
      ->check(CLI::IsMember({"auto", "nchw", "nhwc"}));
  cmd->add_option("--limit", args->limit, "Evaluate the first N images only (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", args->batch, "Images per run (models with a free batch dim)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_option("--threads", args->threads, "OpenMP threads (default 1; 0 = OpenMP default)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  add_kernel_flags(cmd, &args->kernel);
  add_input_option(cmd, &args->inputs,
                   "Repeatable, NAME=FILE.npy: the model's inputs other than the images, each a "
                   "whole tensor given to every batch (its dtype, a shape fitting the declared "
                   "one); the images feed the one input left");
  return [args] { return run_eval(*args); };
}

DEEPCOMP_REGISTER_COMMAND(eval_command, "eval", 50, setup_eval);

}  // namespace
}  // namespace deepcomp::cli
