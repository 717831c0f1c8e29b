#include "cli/sweep_eval.h"

#include <cmath>

#include "data/idx.h"
#include "runtime/batch.h"
#include "runtime/session.h"

namespace deepcomp::cli {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) { return runtime::shape_string(shape); }

// The per-sample shape the model input asks for (its dims after the batch one), with unknown
// dimensions taken from the images' own shape or inferred from the element count.
Result<std::vector<int64_t>> target_tail(const ValueInfo& input,
                                         const std::vector<int64_t>& natural, int64_t sample_size) {
  if (!input.has_shape || input.dims.empty()) return natural;
  std::vector<int64_t> tail(input.dims.begin() + 1, input.dims.end());
  int unknown = 0;
  int64_t known = 1;
  for (int64_t d : tail) {
    if (d < 0) {
      ++unknown;
    } else {
      known *= d;
    }
  }
  if (unknown > 0 && tail.size() == natural.size()) {
    for (size_t i = 0; i < tail.size(); ++i)
      if (tail[i] < 0) tail[i] = natural[i];
  } else if (unknown == 1 && known > 0 && sample_size % known == 0) {
    for (int64_t& d : tail)
      if (d < 0) d = sample_size / known;
  } else if (unknown > 0) {
    return Status::Error("input '" + input.name + "' has " + std::to_string(unknown) +
                         " unknown dimensions that the images' shape " + shape_text(natural) +
                         " does not determine");
  }
  int64_t product = 1;
  for (int64_t d : tail) product *= d;
  if (product != sample_size) {
    std::vector<int64_t> declared = input.dims;
    return Status::Error("input '" + input.name + "' " + shape_text(declared) + " takes " +
                         std::to_string(product) + " values per sample but an image has " +
                         std::to_string(sample_size) + " (shape " + shape_text(natural) +
                         "); check --pad and the image size");
  }
  return tail;
}

}  // namespace

Result<EvalSet> load_eval_set(const std::string& images_path, const std::string& labels_path,
                              const EvalPreprocess& o, const ValueInfo& input) {
  if (!(o.std > 0) || !std::isfinite(o.std)) return Status::Error("--std must be > 0");
  if (!std::isfinite(o.scale) || !std::isfinite(o.mean))
    return Status::Error("--scale and --mean must be finite");
  if (o.pad < 0 || o.pad > 1024) return Status::Error("--pad must be in 0..1024");
  if (o.limit < 0) return Status::Error("--limit must be >= 0");
  if (input.dtype != DType::kFloat32 && input.dtype != DType::kUndefined)
    return Status::Error("input '" + input.name + "' is not float32; cannot feed images");

  DEEPCOMP_ASSIGN_OR_RETURN(data::Array images, data::read_array(images_path));
  DEEPCOMP_ASSIGN_OR_RETURN(data::Array labels, data::read_array(labels_path));
  if (images.shape.size() < 2 || images.shape.size() > 4)
    return Status::Error(images_path + ": images of shape " + shape_text(images.shape) +
                         "; expected [N,D], [N,H,W] or [N,H,W,C]");
  if (labels.shape.size() != 1 || labels.samples() != images.samples())
    return Status::Error(labels_path + ": labels of shape " + shape_text(labels.shape) + " for " +
                         std::to_string(images.samples()) + " images");
  if (o.pad > 0 && images.shape.size() == 2)
    return Status::Error(images_path + ": --pad needs images of shape [N,H,W] or [N,H,W,C]");

  int64_t n = images.samples();
  if (o.limit > 0 && o.limit < n) n = o.limit;
  if (n == 0) return Status::Error(images_path + ": no images");
  // Per-sample geometry as H, W, C (a flat [N,D] file is one row of D pixels).
  const auto& s = images.shape;
  const int64_t h = s.size() == 2 ? 1 : s[1];
  const int64_t w = s.size() == 2 ? s[1] : s[2];
  const int64_t c = s.size() == 4 ? s[3] : 1;
  const int64_t ph = h + 2 * o.pad, pw = w + 2 * o.pad;
  const int64_t sample_size = ph * pw * c;
  std::vector<int64_t> natural;
  if (s.size() == 2) {
    natural = {w};
  } else {
    natural = o.nhwc ? std::vector<int64_t>{ph, pw, c} : std::vector<int64_t>{c, ph, pw};
  }
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<int64_t> tail, target_tail(input, natural, sample_size));

  EvalSet set;
  std::vector<float> values(static_cast<size_t>(n * sample_size), 0.0f);
  const float scale = static_cast<float>(o.scale), mean = static_cast<float>(o.mean),
              inv_std = static_cast<float>(1.0 / o.std);
  const float padded = (0.0f * scale - mean) * inv_std;  // pad as a zero pixel would come out
  std::fill(values.begin(), values.end(), padded);
  for (int64_t k = 0; k < n; ++k) {
    const float* src = images.values.data() + k * h * w * c;
    float* dst = values.data() + k * sample_size;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int64_t ch = 0; ch < c; ++ch) {
          const float v = (src[(y * w + x) * c + ch] * scale - mean) * inv_std;
          const int64_t py = y + o.pad, px = x + o.pad;
          const int64_t at = o.nhwc ? (py * pw + px) * c + ch : (ch * ph + py) * pw + px;
          dst[at] = v;
        }
  }
  std::vector<int64_t> shape{n};
  shape.insert(shape.end(), tail.begin(), tail.end());
  set.inputs = runtime::Value::floats(std::move(shape), std::move(values));
  set.labels.reserve(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const float label = labels.values[static_cast<size_t>(k)];
    if (!(label >= 0) || label != std::floor(label))
      return Status::Error(labels_path + ": label " + std::to_string(k) + " is not a class index");
    set.labels.push_back(static_cast<int64_t>(label));
  }
  return set;
}

Result<Accuracy> count_hits(const runtime::Value& logits, const std::vector<int64_t>& labels) {
  if (!logits.is_float() || logits.rank() < 1 ||
      logits.shape[0] != static_cast<int64_t>(labels.size()))
    return Status::Error("model output " + runtime::describe(logits) +
                         " does not hold one score row per sample (" +
                         std::to_string(labels.size()) + " samples)");
  const int64_t n = logits.shape[0];
  const int64_t classes = n > 0 ? logits.numel() / n : 0;
  if (classes < 1)
    return Status::Error("model output " + runtime::describe(logits) + " has no classes");
  Accuracy acc;
  acc.count = n;
  for (int64_t k = 0; k < n; ++k) {
    const float* row = logits.f.data() + k * classes;
    const int64_t label = labels[static_cast<size_t>(k)];
    if (label >= classes)
      return Status::Error("label " + std::to_string(label) + " of sample " + std::to_string(k) +
                           " is outside the model's " + std::to_string(classes) + " classes");
    int64_t best = 0, above = 0;
    for (int64_t j = 0; j < classes; ++j) {
      if (row[j] > row[best]) best = j;
      if (row[j] > row[label]) ++above;
    }
    acc.top1 += best == label;
    acc.top5 += above < 5;
  }
  return acc;
}

Result<Accuracy> evaluate_model(const Model& model, const EvalSet& set) {
  runtime::SessionOptions options;
  options.threads = 1;
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::Session session, runtime::Session::create(model, options));
  if (session.inputs().size() != 1 || session.outputs().empty())
    return Status::Error("the model has " + std::to_string(session.inputs().size()) +
                         " graph inputs; image evaluation needs exactly one");
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::BatchRun run, runtime::run_batch(session, set.inputs));
  return count_hits(run.outputs[0], set.labels);
}

}  // namespace deepcomp::cli
