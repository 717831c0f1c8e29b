// What `deepcomp sweep` computes, without its flags and printing: the model compressed at every
// setting of a grid (pruning rate x bit width x k-means init), each compressed model rebuilt dense
// in memory and scored on labelled images (top-1 / top-5) or, with inputs instead of labels, by
// how well its first output agrees with the original model's (toolkit/output_compare.h). The
// rows are toolkit/sweep_table.h's; the command and deepcomp::sweep (api/) both run this.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "compress/pipeline.h"
#include "core/file_io.h"
#include "core/status.h"
#include "toolkit/model_inputs.h"
#include "toolkit/preprocess.h"
#include "toolkit/quant_family.h"
#include "toolkit/sweep_merge.h"
#include "toolkit/sweep_table.h"

namespace deepcomp::cli {

struct SweepSetting {
  double prune = 0;
  int bits = 8;
  compress::KMeansInit init = compress::KMeansInit::kLinear;
};

// Every combination, in the command's grid order: prune outermost, then bits, then init.
std::vector<SweepSetting> sweep_grid(const std::vector<double>& prune, const std::vector<int>& bits,
                                     const std::vector<compress::KMeansInit>& inits);

struct SweepSettings {
  std::string model;  // the .onnx file
  std::vector<SweepSetting> grid;
  // Labelled evaluation: images and labels (IDX or .npy), preprocessed as `pre` says; `limit`
  // keeps the first N images (0 = all). Or unlabelled: `inputs` as parsed from --input.
  std::string images, labels;
  ImageOptions pre;
  int64_t limit = 0;
  std::vector<InputSpec> inputs;
  uint64_t seed = 0;  // of the random and kmeans++ inits
  int threads = 0;    // settings evaluated in parallel (0 = OpenMP's default)
  Shard shard;        // evaluate only this shard's settings
  // The model's 8-bit form (--quantized): also computes the row family of toolkit/quant_family.h
  // (float, 8-bit, Deep Compression of each at the defaults), scored the same way.
  std::string quantized;
  // Called as settings finish (from the worker threads, one call at a time), first with done = 0:
  // settings done, this shard's total, seconds since the evaluation started.
  std::function<void(int done, int total, double seconds)> progress;
};

// Checks what needs no file: the grid's values (sparsities in [0,1), bits 1..16, not empty),
// the preprocessing, the shard, and that exactly one kind of evaluation is asked for. Messages
// name the command's flags.
Status check_sweep_settings(const SweepSettings& settings);

struct SweepRun {
  std::vector<SweepRow> rows;  // the baseline (the uncompressed model), then the shard's settings
  bool unlabelled = false;
  int evaluated = 0;   // settings evaluated (this shard's)
  double seconds = 0;  // from the baseline's evaluation to the last setting's
  std::vector<QuantFamilyRow> family;  // empty unless settings.quantized is given
};

// Runs the sweep. Errors name the model, and for a failed setting its prune, bits and init.
Result<SweepRun> sweep_model(const SweepSettings& settings);

// The CSV (always), JSON and SVG (when their paths are not empty) of a sweep's rows.
Status write_sweep_files(const std::vector<SweepRow>& rows, const std::string& csv_path,
                         const std::string& json_path, const std::string& svg_path,
                         const WriteOptions& write);

}  // namespace deepcomp::cli
