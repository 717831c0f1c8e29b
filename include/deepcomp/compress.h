// Compressing and decompressing files: `deepcomp compress` and `deepcomp decompress` as
// functions. Settings mirror the command's flags (docs/CLI.md); the report is the one the command
// prints and writes with --report-json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compress/report.h"
#include "deepcomp/status.h"

namespace deepcomp {

// The settings of `deepcomp compress` (flag in brackets; defaults are the command's).
struct CompressOptions {
  // Pruning: [--prune] one sparsity for every compressible layer, [--prune-std] |w| < q x std,
  // [--prune-global] one threshold over all layers, [--prune-conv] / [--prune-fc] per kind
  // (defaults 0.2 / 0.3), [--no-prune].
  std::optional<double> prune, prune_std, prune_global, prune_conv, prune_fc;
  bool no_prune = false;
  // Weight sharing: [--bits-conv] [--bits-fc] bits per shared weight, [--init] linear, density,
  // random, kmeans++ or optimal, [--empty-clusters] split or drop, [--iters] Lloyd iterations,
  // [--seed], share = false is [--no-share].
  int bits_conv = 8;
  int bits_fc = 5;
  // [--quant-bits-conv] [--quant-bits-fc] bits of shared levels in layers that are already 8-bit
  // (QuantizeLinear / DequantizeLinear models, docs/CLI.md); quant_flat_bits = true is
  // [--quant-flat-bits] (no extra levels for 8-bit layers under 2^18 weights).
  int quant_bits_conv = 4;
  int quant_bits_fc = 5;
  bool quant_flat_bits = false;
  std::string init = "linear";
  std::string empty_clusters = "split";
  int iters = 100;
  uint64_t seed = 0;
  bool share = true;
  // Relative sparse index: [--index-bits-conv] [--index-bits-fc]; huffman = false is
  // [--no-huffman]; [--include-biases].
  int index_bits_conv = 8;
  int index_bits_fc = 5;
  bool huffman = true;
  bool include_biases = false;
  // [--layer] per-layer overrides, "GLOB=prune:0.9,bits:4", "GLOB=skip", "GLOB=compress".
  std::vector<std::string> layers;
  // [--force] replace `out` when it exists; false: an existing output is an error.
  bool overwrite = false;
  // [--in-memory] load every weight first instead of streaming external data tensor by tensor.
  bool in_memory = false;
  // [--onnx-compact] also write, to this path, an ONNX model any ONNX runtime runs, its shared
  // weights stored as codebooks + indices (loads every weight first, as in_memory). "" = none.
  std::string onnx_compact;
  // The report's "energy" section (compress_file_json only): false is [--no-energy];
  // energy_latency times the runtime as [--energy-latency] does.
  bool energy = true;
  bool energy_latency = false;
};

// Checks `options` as `deepcomp compress` checks its flags (names, ranges, --layer syntax); the
// message names the flag. compress_file runs the same checks first.
Status validate_compress_options(const CompressOptions& options);

// Compresses the ONNX model `in` into the .dcz file `out` (written through a temporary file and
// renamed, never left half-written). Returns the size report; report.ratio() is the
// compression ratio the command prints. Errors: bad settings (naming the option), an unreadable
// model, an existing `out` without overwrite, a tensor the container cannot store.
Result<compress::CompressReport> compress_file(const std::string& in, const std::string& out,
                                               const CompressOptions& options = {});

// As compress_file, returning the JSON document `deepcomp compress --report-json` writes (same
// keys, energy section included unless options.energy is false).
Result<std::string> compress_file_json(const std::string& in, const std::string& out,
                                       const CompressOptions& options = {});

// The settings of `deepcomp decompress`.
struct DecompressOptions {
  bool overwrite = false;      // [--force]
  bool external_data = false;  // [--external-data] weights in OUT.data, decoded one at a time
};

// Restores the dense ONNX model from the .dcz `in` into `out` (every weight equal to its shared
// value, everything else as in the original).
Status decompress_file(const std::string& in, const std::string& out,
                       const DecompressOptions& options = {});

}  // namespace deepcomp
