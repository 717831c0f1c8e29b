// What `deepcomp compare` and the unlabelled `deepcomp sweep` measure between a reference model's
// output and a candidate's, without labels: largest absolute difference, relative L2 error,
// cosine similarity and top-1 agreement (argmax over the last axis). Plain arithmetic on
// runtime::Value; runs nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "runtime/value.h"

namespace deepcomp::cli {

struct OutputComparison {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  int64_t samples = 1;  // slices compared separately (see compare_outputs)
  double max_abs = 0;   // max |c - r| over every element
  // ||c - r|| / ||r|| per sample, averaged; 0 when both are zero, +inf when only r is.
  double rel_l2 = 0;
  // (c . r) / (||c|| ||r||) per sample, averaged; 1 when both are zero, 0 when one is.
  double cosine = 1;
  // Fraction of positions (every index but the last axis) whose argmax over the last axis (first
  // maximum, as numpy.argmax) agrees; nullopt when the last axis has one element or none, or
  // the output is a scalar.
  std::optional<double> top1_agreement;
  int64_t positions = 0;  // positions counted by top1_agreement
};

// Compares `candidate` with `reference` (same dtype and shape, else an error naming `name` and
// both). With samples > 1 and an output whose first axis is `samples`, each slice along that axis
// is a sample: max_abs is the largest over samples, rel_l2 and cosine the mean over samples, and
// top1_agreement counts positions of every sample; any other output is one sample.
Result<OutputComparison> compare_outputs(const std::string& name, const runtime::Value& reference,
                                         const runtime::Value& candidate, int64_t samples);

}  // namespace deepcomp::cli
