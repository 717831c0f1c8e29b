// `deepcomp eval MODEL --images F --labels F`: top-1 / top-5 accuracy and speed of a classifier
// (an .onnx, or a .dcz run sparse from its compressed form by default) on an IDX or .npy image
// set, with the preprocessing of cli/preprocess.h.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.h"
#include "cli/model_source.h"
#include "cli/preprocess.h"
#include "data/idx.h"
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
  bool sparse = false;
  bool dense = false;
  int threads = 1;
};

// Position of `label` among the scores: how many classes beat it, counting ties with a lower
// index as beating it (a stable argmax), so rank 0 is exactly "argmax == label".
int64_t rank_of(const float* scores, int64_t classes, int64_t label) {
  const float s = scores[label];
  int64_t rank = 0;
  for (int64_t j = 0; j < classes; ++j) {
    if (scores[j] > s || (j < label && scores[j] == s)) ++rank;
  }
  return rank;
}

// Labels as class indices; errors name the file and the first bad entry.
Result<std::vector<int64_t>> label_indices(const data::Array& labels, const std::string& path) {
  if (labels.sample_size() != 1) {
    return Status::Error(path + ": labels must hold one value per sample, shape is " +
                         array_shape_text(labels.shape));
  }
  std::vector<int64_t> out(labels.values.size());
  for (size_t k = 0; k < labels.values.size(); ++k) {
    const float v = labels.values[k];
    if (!(v >= 0) || v != std::floor(v) || v > 1e9f) {
      return Status::Error(path + ": label " + fmt::format("{}", v) + " (sample " +
                           std::to_string(k) + ") is not a class index");
    }
    out[k] = static_cast<int64_t>(v);
  }
  return out;
}

int run_eval(const EvalArgs& args) {
  if (!(args.std > 0) || !std::isfinite(args.scale) || !std::isfinite(args.mean)) {
    return print_error("--std must be > 0 and --scale, --mean finite numbers");
  }
  ImageOptions image_options;
  image_options.scale = args.scale;
  image_options.mean = args.mean;
  image_options.std = args.std;
  image_options.pad = args.pad;
  image_options.layout = args.layout == "nchw"   ? Layout::kNchw
                         : args.layout == "nhwc" ? Layout::kNhwc
                                                 : Layout::kAuto;
  auto opened = open_model_for_flags(args.model, args.sparse, args.dense);
  if (!opened.ok()) return print_error(opened.status());
  opened->options.threads = args.threads;
  auto session = runtime::Session::create(opened->model, opened->options);
  if (!session.ok()) return print_error(session.status().WithContext(args.model));
  opened->model = Model{};  // the Session holds what it needs
  if (session->inputs().size() != 1) {
    return print_error(args.model + ": eval takes models with one input, this one has " +
                       std::to_string(session->inputs().size()));
  }
  auto images = data::read_array(args.images);
  if (!images.ok()) return print_error(images.status());
  auto label_array = data::read_array(args.labels);
  if (!label_array.ok()) return print_error(label_array.status());
  if (images->samples() == 0) return print_error(args.images + ": no images");
  if (label_array->samples() != images->samples()) {
    return print_error(args.labels + ": " + std::to_string(label_array->samples()) +
                       " labels for " + std::to_string(images->samples()) + " images in " +
                       args.images);
  }
  auto labels = label_indices(*label_array, args.labels);
  if (!labels.ok()) return print_error(labels.status());
  auto geometry = image_geometry(images->shape);
  if (!geometry.ok()) return print_error(geometry.status().WithContext(args.images));
  auto plan = plan_image_input(session->inputs()[0], *geometry, image_options);
  if (!plan.ok()) return print_error(plan.status().WithContext(args.images));

  const int64_t count =
      args.limit > 0 ? std::min(args.limit, images->samples()) : images->samples();
  const bool progress = stderr_is_tty() && !args.json;
  int64_t classes = -1, top1 = 0, top5 = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<float> batch_values;
  for (int64_t first = 0; first < count; first += args.batch) {
    const int64_t n = std::min(args.batch, count - first);
    batch_values.clear();
    preprocess_images(*images, first, n, *geometry, image_options, *plan, &batch_values);
    std::vector<int64_t> shape = {n};
    shape.insert(shape.end(), plan->sample_shape.begin(), plan->sample_shape.end());
    auto run = runtime::run_batch(*session, runtime::Value::floats(shape, std::move(batch_values)));
    if (!run.ok()) {
      return print_error(
          run.status()
              .WithContext("images " + std::to_string(first) + ".." + std::to_string(first + n - 1))
              .WithContext(args.model));
    }
    const runtime::Value& out = run->outputs.at(0);
    if (!out.is_float() || out.numel() % n != 0 || out.numel() == 0) {
      return print_error(args.model + ": output " + runtime::describe(out) +
                         " is not one float score vector per image");
    }
    if (classes < 0) {
      classes = out.numel() / n;
      const int64_t max_label = *std::max_element(labels->begin(), labels->begin() + count);
      if (max_label >= classes) {
        const auto at = std::find(labels->begin(), labels->begin() + count, max_label);
        return print_error(args.labels + ": label " + std::to_string(max_label) + " (sample " +
                           std::to_string(at - labels->begin()) + ") is outside the model's " +
                           std::to_string(classes) + " outputs");
      }
    } else if (out.numel() / n != classes) {
      return print_error(args.model + ": output size changed between batches");
    }
    for (int64_t k = 0; k < n; ++k) {
      const int64_t rank = rank_of(out.f.data() + k * classes, classes, (*labels)[first + k]);
      top1 += rank == 0;
      top5 += rank < 5;
    }
    batch_values = {};
    if (progress)
      std::fprintf(stderr, "\reval: %lld/%lld", static_cast<long long>(first + n),
                   static_cast<long long>(count));
  }
  if (progress) std::fprintf(stderr, "\n");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double per_s = seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
  const bool has_top5 = classes >= 5;
  if (args.json) {
    nlohmann::ordered_json j;
    j["model"] = args.model;
    j["sparse"] = opened->sparse;
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
  std::cout << "model:  " << opened->description << "\n";
  std::cout << "images: " << count << " (" << classes << " classes)\n";
  std::cout << fmt::format("top-1:  {:.2f}% ({}/{})\n", 100.0 * top1 / count, top1, count);
  if (has_top5) {
    std::cout << fmt::format("top-5:  {:.2f}% ({}/{})\n", 100.0 * top5 / count, top5, count);
  }
  std::cout << fmt::format("speed:  {:.0f} images/s\n", per_s);
  return 0;
}

std::function<int()> setup(CLI::App& app) {
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
  cmd->add_flag("--sparse", args->sparse, "Run weights sparse (default for .dcz)");
  cmd->add_flag("--dense", args->dense, "Run every weight dense (default for .onnx)");
  return [args] { return run_eval(*args); };
}

DEEPCOMP_REGISTER_COMMAND(eval_command, "eval", 50, setup);

}  // namespace
}  // namespace deepcomp::cli
