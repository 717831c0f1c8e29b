#include "toolkit/image_set.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace deepcomp::cli {
namespace {

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

int64_t rank_of(const float* scores, int64_t classes, int64_t label) {
  const float s = scores[label];
  int64_t rank = 0;
  for (int64_t j = 0; j < classes; ++j) {
    if (scores[j] > s || (j < label && scores[j] == s)) ++rank;
  }
  return rank;
}

}  // namespace

Status validate_image_options(const ImageOptions& options) {
  if (!(options.std > 0) || !std::isfinite(options.std) || !std::isfinite(options.scale) ||
      !std::isfinite(options.mean)) {
    return Status::Error("--std must be > 0 and --scale, --mean finite numbers");
  }
  if (options.pad < 0 || options.pad > 1024) return Status::Error("--pad must be in 0..1024");
  return Status::Ok();
}

Result<ImageSet> load_image_set(const std::string& images_path, const std::string& labels_path,
                                const ValueInfo& input, const ImageOptions& options,
                                int64_t limit) {
  if (input.dtype != DType::kFloat32 && input.dtype != DType::kUndefined)
    return Status::Error("input '" + input.name + "' is not float32; cannot feed images");
  ImageSet set;
  set.images_path = images_path;
  set.labels_path = labels_path;
  DEEPCOMP_ASSIGN_OR_RETURN(set.images, data::read_array(images_path));
  DEEPCOMP_ASSIGN_OR_RETURN(data::Array labels, data::read_array(labels_path));
  if (set.images.samples() == 0) return Status::Error(images_path + ": no images");
  if (labels.samples() != set.images.samples()) {
    return Status::Error(labels_path + ": " + std::to_string(labels.samples()) + " labels for " +
                         std::to_string(set.images.samples()) + " images in " + images_path);
  }
  DEEPCOMP_ASSIGN_OR_RETURN(set.labels, label_indices(labels, labels_path));
  auto geometry = image_geometry(set.images.shape);
  if (!geometry.ok()) return geometry.status().WithContext(images_path);
  set.geometry = *geometry;
  auto plan = plan_image_input(input, set.geometry, options);
  if (!plan.ok()) return plan.status().WithContext(images_path);
  set.plan = std::move(*plan);
  set.count = limit > 0 ? std::min(limit, set.images.samples()) : set.images.samples();
  return set;
}

runtime::Value image_batch(const ImageSet& set, const ImageOptions& options, int64_t first,
                           int64_t n) {
  std::vector<float> values;
  preprocess_images(set.images, first, n, set.geometry, options, set.plan, &values);
  std::vector<int64_t> shape = {n};
  shape.insert(shape.end(), set.plan.sample_shape.begin(), set.plan.sample_shape.end());
  return runtime::Value::floats(std::move(shape), std::move(values));
}

AccuracyCounter::AccuracyCounter(const ImageSet& set, std::string model_path)
    : set_(set), model_path_(std::move(model_path)) {}

Status AccuracyCounter::add(const runtime::Value& out, int64_t first, int64_t n) {
  if (!out.is_float() || out.numel() % n != 0 || out.numel() == 0) {
    return Status::Error(model_path_ + ": output " + runtime::describe(out) +
                         " is not one float score vector per image");
  }
  if (classes_ < 0) {
    classes_ = out.numel() / n;
    const auto end = set_.labels.begin() + set_.count;
    const int64_t max_label = *std::max_element(set_.labels.begin(), end);
    if (max_label >= classes_) {
      const auto at = std::find(set_.labels.begin(), end, max_label);
      return Status::Error(set_.labels_path + ": label " + std::to_string(max_label) + " (sample " +
                           std::to_string(at - set_.labels.begin()) + ") is outside the model's " +
                           std::to_string(classes_) + " outputs");
    }
  } else if (out.numel() / n != classes_) {
    return Status::Error(model_path_ + ": output size changed between batches");
  }
  for (int64_t k = 0; k < n; ++k) {
    const int64_t rank = rank_of(out.f.data() + k * classes_, classes_, set_.labels[first + k]);
    top1_ += rank == 0;
    top5_ += rank < 5;
  }
  return Status::Ok();
}

}  // namespace deepcomp::cli
