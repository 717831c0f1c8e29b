// A labelled image set as `deepcomp eval` and `deepcomp sweep` use it: images and labels read
// (IDX, gzipped or not, or .npy), checked against each other and fitted to a model's single input
// with toolkit/preprocess.h, and the top-1 / top-5 counting both commands report. Depends on
// toolkit/preprocess.h, data/ and runtime/value.h (a plain tensor); never runs a model itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "toolkit/preprocess.h"
#include "core/model.h"
#include "core/status.h"
#include "data/idx.h"
#include "runtime/value.h"

namespace deepcomp::cli {

// --std > 0, --scale and --mean finite, --pad in 0..1024.
Status validate_image_options(const ImageOptions& options);

struct ImageSet {
  std::string images_path, labels_path;  // for error messages
  data::Array images;
  std::vector<int64_t> labels;  // class indices, one per image
  ImageGeometry geometry;
  InputPlan plan;
  int64_t count = 0;  // images to use: all, or the first `limit`
};

// Reads and checks both files and plans the input: errors name the file (no images, label count
// different from image count, a label that is not a class index, images that do not fit `input`).
// limit > 0 keeps the first `limit` images.
Result<ImageSet> load_image_set(const std::string& images_path, const std::string& labels_path,
                                const ValueInfo& input, const ImageOptions& options, int64_t limit);

// Images [first, first + n) preprocessed and stacked as the model input ([n, sample shape...]).
runtime::Value image_batch(const ImageSet& set, const ImageOptions& options, int64_t first,
                           int64_t n);

// Top-1 and top-5 hits over batches of model outputs. The label's rank counts the classes scoring
// higher and the equal ones with a lower index (a stable argmax, as in bench/ort_eval.js), so
// rank 0 is exactly "argmax == label" and ties count against the label.
class AccuracyCounter {
 public:
  AccuracyCounter(const ImageSet& set, std::string model_path);

  // Adds the scores of images [first, first + n): `out` must hold n equal float score vectors.
  // The first batch fixes the class count and checks every label of the set against it.
  Status add(const runtime::Value& out, int64_t first, int64_t n);

  int64_t top1() const { return top1_; }
  int64_t top5() const { return top5_; }
  int64_t classes() const { return classes_; }

 private:
  const ImageSet& set_;
  std::string model_path_;
  int64_t classes_ = -1;
  int64_t top1_ = 0, top5_ = 0;
};

}  // namespace deepcomp::cli
