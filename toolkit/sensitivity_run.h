// What `deepcomp sensitivity` computes, without its flags and printing: the model loaded, its
// scorer built (toolkit/budget_scorer.h: top-1 accuracy on labelled images, or agreement with the
// original model on given inputs) and every compressible layer's curves measured
// (compress/budget_search.h). The command and deepcomp::sensitivity (api/) both run this; the
// renderings are toolkit/sensitivity_table.h's.
#pragma once

#include <string>

#include "compress/budget_search.h"
#include "compress/pipeline.h"
#include "toolkit/budget_scorer.h"

namespace deepcomp::cli {

struct SensitivitySettings {
  std::string model;  // the .onnx file
  ValidationArgs validation;
  compress::SensitivityOptions options;  // the grid, subset, refine, edge and progress
  compress::CompressOptions base;        // init and seed of every point's weight sharing
};

struct SensitivityRun {
  compress::Sensitivity result;
  std::string metric;  // "top1" or "agreement"
};

// Checks what needs no file: rates in (0,1), bits in 1..16, both grids not empty, subset >= 1,
// refine 0..20, a finite non-negative edge. Messages name the command's flags.
Status check_sensitivity_settings(const SensitivitySettings& settings);

// Errors name the model.
Result<SensitivityRun> sensitivity_model(const SensitivitySettings& settings);

}  // namespace deepcomp::cli
