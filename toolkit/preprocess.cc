#include "toolkit/preprocess.h"

namespace deepcomp::cli {
namespace {

int64_t product(const std::vector<int64_t>& dims, size_t from = 0) {
  int64_t n = 1;
  for (size_t k = from; k < dims.size(); ++k) n *= dims[k];
  return n;
}

bool tail_fixed(const ValueInfo& input) {
  for (size_t k = 1; k < input.dims.size(); ++k) {
    if (input.dims[k] < 0) return false;
  }
  return true;
}

}  // namespace

std::string array_shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t k = 0; k < shape.size(); ++k) {
    if (k) s += ",";
    s += std::to_string(shape[k]);
  }
  return s + "]";
}

std::string dims_string(const ValueInfo& input) {
  if (!input.has_shape) return "(any shape)";
  std::string s = "[";
  for (size_t k = 0; k < input.dims.size(); ++k) {
    if (k) s += ",";
    if (input.dims[k] >= 0) {
      s += std::to_string(input.dims[k]);
    } else if (k < input.dim_params.size() && !input.dim_params[k].empty()) {
      s += input.dim_params[k];
    } else {
      s += "?";
    }
  }
  return s + "]";
}

Result<std::vector<int64_t>> batch_input_shape(const ValueInfo& input,
                                               const std::vector<int64_t>& sample_shape,
                                               int64_t count) {
  std::vector<int64_t> shape = {count};
  if (!input.has_shape || input.dims.empty()) {
    shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
    return shape;
  }
  if (tail_fixed(input)) {
    if (product(input.dims, 1) != product(sample_shape)) {
      std::vector<int64_t> given = {count};
      given.insert(given.end(), sample_shape.begin(), sample_shape.end());
      return Status::Error("input '" + input.name + "' takes " + dims_string(input) + " (" +
                           std::to_string(product(input.dims, 1)) +
                           " values per sample), the input array is " + array_shape_text(given) +
                           " (" + std::to_string(product(sample_shape)) + " per sample)");
    }
    shape.insert(shape.end(), input.dims.begin() + 1, input.dims.end());
    return shape;
  }
  bool ok = sample_shape.size() + 1 == input.dims.size();
  for (size_t k = 1; ok && k < input.dims.size(); ++k) {
    ok = input.dims[k] < 0 || input.dims[k] == sample_shape[k - 1];
  }
  if (!ok) {
    std::vector<int64_t> given = {count};
    given.insert(given.end(), sample_shape.begin(), sample_shape.end());
    return Status::Error("input '" + input.name + "' takes " + dims_string(input) +
                         ", the input array is " + array_shape_text(given));
  }
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  return shape;
}

Result<ImageGeometry> image_geometry(const std::vector<int64_t>& shape) {
  ImageGeometry g;
  if (shape.size() == 2) {
    g.h = 1;
    g.w = shape[1];
  } else if (shape.size() == 3) {
    g.h = shape[1];
    g.w = shape[2];
  } else if (shape.size() == 4 && shape[3] <= 4) {
    g.h = shape[1];
    g.w = shape[2];
    g.c = shape[3];
  } else if (shape.size() == 4 && shape[1] <= 4) {
    g.c = shape[1];
    g.h = shape[2];
    g.w = shape[3];
    g.chw = true;
  } else {
    return Status::Error("expected images [n,H,W], [n,H,W,C], [n,C,H,W] or [n,D], got " +
                         array_shape_text(shape));
  }
  if (g.h <= 0 || g.w <= 0 || g.c <= 0)
    return Status::Error("empty images " + array_shape_text(shape));
  return g;
}

Result<InputPlan> plan_image_input(const ValueInfo& input, const ImageGeometry& geometry,
                                   const ImageOptions& options) {
  InputPlan plan;
  plan.padded = geometry;
  plan.padded.h += 2 * options.pad;
  plan.padded.w += 2 * options.pad;
  const int64_t c = geometry.c, h = plan.padded.h, w = plan.padded.w;
  const int64_t total = c * h * w;
  const std::string images = std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w) +
                             " (" + std::to_string(total) + " values" +
                             (options.pad ? ", padded" : "") + ")";
  const std::vector<int64_t> tail =
      input.has_shape && !input.dims.empty()
          ? std::vector<int64_t>(input.dims.begin() + 1, input.dims.end())
          : std::vector<int64_t>{};
  // Channels last when asked, or (auto) when a 3-D sample ends in the channel count and does not
  // start with it.
  const bool three = tail.size() == 3;
  plan.nhwc = options.layout == Layout::kNhwc ||
              (options.layout == Layout::kAuto && three && tail[2] == c && tail[0] != c);
  if (!input.has_shape || input.dims.empty()) {
    plan.sample_shape = plan.nhwc ? std::vector<int64_t>{h, w, c} : std::vector<int64_t>{c, h, w};
    return plan;
  }
  if (tail_fixed(input)) {
    if (product(tail) != total) {
      return Status::Error("images are " + images + " but input '" + input.name + "' takes " +
                           dims_string(input) + " (" + std::to_string(product(tail)) +
                           " values per image)");
    }
    plan.sample_shape = tail;
    return plan;
  }
  std::vector<int64_t> want;
  if (three) {
    want = plan.nhwc ? std::vector<int64_t>{h, w, c} : std::vector<int64_t>{c, h, w};
  } else if (tail.size() == 1) {
    want = {total};
  } else {
    return Status::Error("input '" + input.name + "' takes " + dims_string(input) +
                         ": cannot fit images " + images + " to its free dimensions");
  }
  for (size_t k = 0; k < want.size(); ++k) {
    if (tail[k] >= 0 && tail[k] != want[k]) {
      return Status::Error("images are " + images + " but input '" + input.name + "' takes " +
                           dims_string(input));
    }
  }
  plan.sample_shape = want;
  return plan;
}

void preprocess_images(const data::Array& images, int64_t first, int64_t count,
                       const ImageGeometry& geometry, const ImageOptions& options,
                       const InputPlan& plan, std::vector<float>* out) {
  const int64_t c = geometry.c, h = geometry.h, w = geometry.w, pad = options.pad;
  const int64_t ph = plan.padded.h, pw = plan.padded.w;
  const int64_t per_image = c * h * w;
  const double scale = options.scale / options.std, shift = options.mean / options.std;
  const size_t base = out->size();
  out->resize(base + static_cast<size_t>(count * c * ph * pw), 0.0f);
  float* dst = out->data() + base;
  for (int64_t i = 0; i < count; ++i) {
    const float* src = images.values.data() + (first + i) * per_image;
    float* img = dst + i * c * ph * pw;
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        for (int64_t ch = 0; ch < c; ++ch) {
          const float pixel = geometry.chw ? src[(ch * h + y) * w + x] : src[(y * w + x) * c + ch];
          const int64_t ty = y + pad, tx = x + pad;
          const int64_t at = plan.nhwc ? (ty * pw + tx) * c + ch : (ch * ph + ty) * pw + tx;
          img[at] = static_cast<float>(pixel * scale - shift);
        }
      }
    }
  }
}

}  // namespace deepcomp::cli
