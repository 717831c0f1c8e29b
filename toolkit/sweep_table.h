// The rows of `deepcomp sweep` and their three renderings: CSV, JSON and the SVG plot of top-1
// accuracy against compressed size (one series per k-means init, the uncompressed baseline and
// the Pareto front). Plain data and text; the command (cli/cmd_sweep.cc) computes the rows.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace deepcomp::cli {

struct SweepRow {
  double prune = 0;  // target sparsity of every compressible layer (0 for the baseline)
  int bits = 32;     // bits per shared weight, conv and fc (32 for the baseline)
  std::string init = "none";
  int64_t params = 0;
  int64_t nonzero = 0;
  double original_bytes = 0, pruned_bytes = 0, quantized_bytes = 0, huffman_bytes = 0;
  double file_bytes = 0;  // the serialized .dcz (the .onnx file for the baseline)
  double ratio = 1;       // original_bytes / huffman_bytes
  int64_t correct = 0, correct5 = 0, count = 0;
  double top1() const { return count > 0 ? static_cast<double>(correct) / count : 0; }
  double top5() const { return count > 0 ? static_cast<double>(correct5) / count : 0; }
  double weight_energy_uj = 0;
  // Unlabelled sweeps (--input instead of --images/--labels): the first output against the
  // original model's on the same inputs (toolkit/output_compare.h); top1 / top5 / correct / count
  // are then unused.
  bool unlabelled = false;
  std::optional<double> top1_agreement;  // nullopt when the output's last axis has one element
  double rel_l2 = 0, cosine = 1;
  int64_t samples = 0;
  // Where the row sits in its sweep: `setting` is its 1-based position in the grid (0 for the
  // baseline) out of `settings`; `model` is the model's file name and `sweep_id` a fingerprint of
  // the grid, seed and evaluation data, equal for every shard of one sweep (`--shard`, `--merge`).
  int64_t setting = 0, settings = 0;
  std::string model, sweep_id;
  // What the sweep ranks and plots: top-1 accuracy, or for an unlabelled sweep the top-1
  // agreement, or 1 - rel_l2 when the output has no top-1.
  double score() const;
};

// Horowitz (ISSCC 2014, 45 nm) figures used by the per-inference weight energy estimate.
inline constexpr double kDramPjPer32Bit = 640.0;
inline constexpr double kFloatMulPj = 3.7;
inline constexpr double kFloatAddPj = 0.9;

// Dense: every parameter is one 32-bit DRAM fetch. Compressed: the Huffman-coded bytes fetched
// in 32-bit words, plus a multiply-add per surviving weight.
double dense_weight_energy_uj(int64_t params);
double compressed_weight_energy_uj(double huffman_bytes, int64_t nonzero);

// Labelled rows: ...,top1,top5,correct,count,weight_energy_uj,setting,settings,model,sweep_id.
// Unlabelled rows (rows[0] decides): ...,top1_agreement,rel_l2,cosine,samples,weight_energy_uj,
// setting,... (top1_agreement empty / null when undefined). Every real number is written in its
// shortest round-trip form, so parse_sweep_csv(sweep_csv(rows)) gives the rows back exactly.
std::string sweep_csv(const std::vector<SweepRow>& rows);
// The rows of a CSV that sweep_csv wrote; `path` names the file in errors.
Result<std::vector<SweepRow>> parse_sweep_csv(const std::string& text, const std::string& path);
nlohmann::ordered_json sweep_json(const std::vector<SweepRow>& rows);
// rows[0] is the baseline; `model_name` goes into the title.
std::string sweep_svg(const std::vector<SweepRow>& rows, const std::string& model_name);

}  // namespace deepcomp::cli
