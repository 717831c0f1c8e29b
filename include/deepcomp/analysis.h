// Exploring settings before compressing: `deepcomp sweep` (the whole model compressed at a grid
// of pruning rates, bit widths and k-means inits, each point scored) and `deepcomp sensitivity`
// (each layer compressed alone along a prune curve and a bit-width curve) as functions. Both
// return their rows as data and, as text, the CSV and JSON files the command writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "deepcomp/status.h"

namespace deepcomp {

// What the points are scored on (flag in brackets), one of two kinds:
// - labelled images: top-1 (and for a sweep top-5) accuracy, as `deepcomp eval`;
// - inputs: how well the compressed model's first output agrees with the original's on them
//   (top-1 agreement; 1 - rel_l2 when the output has no class axis), as `deepcomp compare`.
struct Validation {
  std::string images;  // [--images] IDX (gzipped or not) or .npy: [N,H,W], [N,H,W,C] or [N,D]
  std::string labels;  // [--labels] IDX or .npy, [N]
  // [--input] instead of images and labels: "NAME=FILE.npy" per graph input, or one "FILE.npy"
  // holding samples along its first axis.
  std::vector<std::string> inputs;
  // Image preprocessing: input = (pixel * scale - mean) / std, then `pad` zeros on each side.
  double scale = 1.0 / 255.0;   // [--scale]
  double mean = 0;              // [--mean]
  double std = 1;               // [--std]
  int64_t pad = 0;              // [--pad]
  std::string layout = "nchw";  // [--layout] the model's input layout: nchw or nhwc
  int64_t limit = 0;            // [--limit] use the first N images only (0 = all)
};

// The settings of `deepcomp sweep` (defaults are the command's).
struct SweepOptions {
  std::vector<double> prune = {0.5, 0.7, 0.8, 0.9, 0.95};           // [--prune] sparsities in [0,1)
  std::vector<int> bits = {8, 6, 5, 4, 3};                          // [--bits] conv and fc, 1..16
  std::vector<std::string> init = {"linear", "density", "random"};  // [--init]
  Validation validation;
  uint64_t seed = 0;  // [--seed] of the random and kmeans++ inits
  int threads = 0;    // [--threads] settings evaluated in parallel (0 = OpenMP's default)
  // [--shard K/N] evaluate only grid positions K, K+N, ... (1-based); 1/1 is the whole grid.
  int64_t shard_index = 1, shard_count = 1;
};

// One row of the sweep, the columns of its CSV and keys of its JSON.
struct SweepRow {
  int64_t setting = 0;   // 1-based grid position; 0 for the baseline (the uncompressed model)
  int64_t settings = 0;  // size of the whole grid
  double prune = 0;      // 0 for the baseline
  int bits = 32;         // 32 for the baseline
  std::string init = "none";
  int64_t params = 0, nonzero = 0;
  // The paper's size accounting after each stage; ratio = original_bytes / huffman_bytes.
  double original_bytes = 0, pruned_bytes = 0, quantized_bytes = 0, huffman_bytes = 0;
  double file_bytes = 0;  // the .dcz `deepcomp compress` writes (the .onnx for the baseline)
  double ratio = 1;
  double weight_energy_uj = 0;  // weight fetches and multiply-adds per inference (Horowitz)
  // Labelled: hits among `count` images.
  int64_t correct = 0, correct5 = 0, count = 0;
  double top1 = 0, top5 = 0;
  // Unlabelled (scored on inputs): the first output against the original model's.
  bool unlabelled = false;
  std::optional<double> top1_agreement;  // unset when the output has one element per sample
  double rel_l2 = 0, cosine = 1;
  int64_t samples = 0;
  double score = 0;             // what the sweep ranks: top1, or top1_agreement, or 1 - rel_l2
  std::string model, sweep_id;  // the model's file name; the grid's fingerprint (for shards)
};

struct SweepResult {
  std::vector<SweepRow> rows;  // the baseline, then the (shard's) settings in grid order
  std::string csv;             // the file `sweep -o` writes
  std::string json;            // the file `sweep --json` writes (an array, one object per row)
  std::string svg;             // the plot `sweep --svg` writes
};

// Checks `options` as `deepcomp sweep` checks its flags before reading any file (grid values,
// preprocessing, shard, exactly one kind of validation data); the message names the flag.
Status validate_sweep_options(const SweepOptions& options);

// Runs `deepcomp sweep MODEL` with `options` (checked first as validate_sweep_options does).
// Errors: bad settings (naming the flag), neither or both kinds of validation data, unreadable
// files, a setting that fails (named by its values).
Result<SweepResult> sweep(const std::string& model, const SweepOptions& options = {});

// The settings of `deepcomp sensitivity` (defaults are the command's).
struct SensitivityOptions {
  std::vector<double> rates = {0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97};  // [--rates]
  std::vector<int> bits = {8, 6, 5, 4, 3, 2};                                        // [--bits]
  Validation validation;
  int64_t subset = 1000;        // [--subset] samples scored first (all of them near the edge)
  int refine = 2;               // [--refine] extra rates per layer where the curve crosses max_loss
  double max_loss = 1.0;        // [--max-loss] the budget edge, in points
  std::string init = "linear";  // [--init]
  uint64_t seed = 0;            // [--seed]
  int threads = 0;              // [--threads] per evaluation (0 = OpenMP's default)
};

// One point of the analysis, a row of its CSV. The first row is the uncompressed model
// (layer "(uncompressed)", curve "none", bits 32).
struct SensitivityRow {
  std::string layer;  // the weight tensor's name
  std::string kind;   // "conv", "fc", "embedding" ("" for the uncompressed row)
  int64_t params = 0;
  double original_bytes = 0;
  std::string curve;       // "prune" (pruned only), "share" (shared only) or "none"
  double prune = 0;        // sparsity applied (0 on the share curve)
  int bits = 0;            // bits per shared weight (0 on the prune curve)
  double score = 0;        // top-1 accuracy or agreement, on `samples` samples
  double loss_points = 0;  // the uncompressed score on the same samples minus score, x100
  int64_t samples = 0;
  double bytes = 0;  // the layer's bytes at this point in the paper's accounting
};

struct SensitivityResult {
  std::string metric;  // "top1" or "agreement"
  double base_score = 0;
  int64_t samples = 0, subset = 0;
  int evaluations = 0, full_evaluations = 0;
  std::vector<SensitivityRow> rows;
  std::string csv;   // the file `sensitivity -o` writes
  std::string json;  // the file `sensitivity --json` writes (layers with their curves)
  std::string svg;   // the figure `sensitivity --svg` writes
};

// Checks `options` as `deepcomp sensitivity` checks its flags before reading any file (the
// validation data are checked against the model, when it runs).
Status validate_sensitivity_options(const SensitivityOptions& options);

// Runs `deepcomp sensitivity MODEL` with `options`. Errors as for sweep.
Result<SensitivityResult> sensitivity(const std::string& model,
                                      const SensitivityOptions& options = {});

}  // namespace deepcomp
