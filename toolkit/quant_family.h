// The row family of issue 19: a float model, its 8-bit form, Deep Compression of the float model
// and Deep Compression of the 8-bit model, each sized in the paper accounting (compress report:
// every tensor, 4 bytes per float32 and 1 per 8-bit weight) and scored on the same data, so that
// "Deep Compression vs 8-bit quantization vs both" is one table. The 8-bit form is given (e.g.
// scripts/quantize_onnx.py's output, or a third-party 8-bit model); `deepcomp sweep --quantized`
// writes it next to its grid.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "compress/pipeline.h"
#include "core/model.h"
#include "core/status.h"
#include "toolkit/sweep_table.h"

namespace deepcomp::cli {

struct QuantFamilyRow {
  std::string form;   // "float", "8-bit", "deep compression of float", "deep compression of 8-bit"
  std::string model;  // file name of the model the row starts from
  double weight_bytes = 0;  // paper accounting (huffman bytes for the compressed rows)
  double file_bytes = 0;    // the .onnx file, or the serialized .dcz
  SweepRow scored;          // the quality columns (score()), filled by the scorer
};

// Fills a row's quality columns for a model (the sweep's own scoring: accuracy on labelled
// images, or agreement with the float model's first output).
using QuantFamilyScorer = std::function<Status(const Model& model, SweepRow* row)>;

// Compresses both models with `options` (their defaults: float layers at the float widths, 8-bit
// layers at theirs), rebuilds each .dcz in memory and scores the four models.
Result<std::vector<QuantFamilyRow>> quant_family_rows(const std::string& float_path,
                                                      const Model& float_model,
                                                      const std::string& quantized_path,
                                                      const compress::CompressOptions& options,
                                                      const QuantFamilyScorer& score);

// CSV: form,model,weight_bytes,vs_float,file_bytes,score (score as SweepRow::score()).
std::string quant_family_csv(const std::vector<QuantFamilyRow>& rows);

}  // namespace deepcomp::cli
