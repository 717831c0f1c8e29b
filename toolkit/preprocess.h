// Turning arrays from files into a model's input: fitting N samples to the declared input shape
// (`deepcomp run`, `bench`), and image preprocessing for `deepcomp eval` ((pixel * scale - mean)
// / std, zero padding, NCHW/NHWC). Depends on core/model.h and data/idx.h only; no runtime.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "data/idx.h"

namespace deepcomp::cli {

// "[1,784,1]"; free dimensions print as "?" (or their symbolic name).
std::string dims_string(const ValueInfo& input);
std::string array_shape_text(const std::vector<int64_t>& shape);

// The shape of `count` stacked samples of `sample_shape` fed to `input`: [count, declared tail]
// when the declared non-batch dimensions are fixed and hold as many elements as a sample (so
// [8,784,1] samples feed a [1,784,1] model and [8,1,784,1] ones too), or [count, sample_shape]
// when the declared tail has free dimensions that the sample fills (the fixed ones must agree).
// Errors name the input and both shapes.
Result<std::vector<int64_t>> batch_input_shape(const ValueInfo& input,
                                               const std::vector<int64_t>& sample_shape,
                                               int64_t count);

enum class Layout { kAuto, kNchw, kNhwc };

struct ImageOptions {
  double scale = 1.0 / 255.0;  // pixels 0..255 to [0, 1]
  double mean = 0.0;
  double std = 1.0;
  int64_t pad = 0;  // zeros added on each side of H and W, after normalization
  Layout layout = Layout::kAuto;
};

// Geometry of an image set: [n,H,W] (one channel), [n,H,W,C] stored HWC (C <= 4),
// [n,C,H,W] stored CHW (C <= 4 and the last dim larger), or [n,D] flat vectors.
struct ImageGeometry {
  int64_t h = 0, w = 0, c = 1;
  bool chw = false;  // stored channel-first
};
Result<ImageGeometry> image_geometry(const std::vector<int64_t>& shape);

// How each (padded) image becomes one sample of the model input.
struct InputPlan {
  std::vector<int64_t> sample_shape;  // the model input's shape without its batch dimension
  bool nhwc = false;                  // channels last in the model input
  ImageGeometry padded;               // geometry after padding
};
// Errors (plain text; the caller adds the file) say what the model wants and what the images
// give, e.g. "images are 1x28x28 (784 values) but input 'x' takes [1,3,32,32] (3072 values)".
Result<InputPlan> plan_image_input(const ValueInfo& input, const ImageGeometry& geometry,
                                   const ImageOptions& options);

// Appends images [first, first + count) of `images`, preprocessed per `options` into the plan's
// layout, to `out` (count * numel(sample_shape) floats).
void preprocess_images(const data::Array& images, int64_t first, int64_t count,
                       const ImageGeometry& geometry, const ImageOptions& options,
                       const InputPlan& plan, std::vector<float>* out);

}  // namespace deepcomp::cli
