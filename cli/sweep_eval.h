// The sweep's own minimal evaluation: image files to the model's input tensor ((pixel * scale -
// mean) / std, zero padding, reshape to the graph input incl. shapes like [1,784,1], NCHW or NHWC)
// and top-1 / top-5 accuracy of a Model run by the runtime. Deliberately small and independent of
// `deepcomp eval`'s preprocessing (a later cleanup merges the two). Depends on core/, data/ and
// runtime/; never on compress/ or onnx_io.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "runtime/value.h"

namespace deepcomp::cli {

struct EvalPreprocess {
  double scale = 1.0 / 255.0;  // the project's models take pixels / 255
  double mean = 0.0;
  double std = 1.0;   // must be > 0
  int pad = 0;        // zero pixels added on each side of H and W (after normalization)
  bool nhwc = false;  // layout of the model input; images are read as [N,H,W] or [N,H,W,C]
  int64_t limit = 0;  // first `limit` samples only (0 = all)
};

// Inputs stacked along axis 0, ready for runtime::run_batch, and one label per sample.
struct EvalSet {
  runtime::Value inputs;
  std::vector<int64_t> labels;
};

// Reads the images and labels (IDX, gzipped or not, or .npy) and shapes them for `input` (the
// model's single graph input). Errors name the file and what does not fit.
Result<EvalSet> load_eval_set(const std::string& images_path, const std::string& labels_path,
                              const EvalPreprocess& options, const ValueInfo& input);

struct Accuracy {
  int64_t top1 = 0;  // samples whose label is the arg max (first of equal maxima)
  int64_t top5 = 0;  // samples with fewer than 5 scores strictly above the label's
  int64_t count = 0;
};

// Counts top-1 / top-5 hits of `logits` ([N, classes], any trailing shape flattened per sample).
Result<Accuracy> count_hits(const runtime::Value& logits, const std::vector<int64_t>& labels);

// Runs `model` (single-threaded: the sweep parallelizes over models) on the set and counts hits.
Result<Accuracy> evaluate_model(const Model& model, const EvalSet& set);

}  // namespace deepcomp::cli
