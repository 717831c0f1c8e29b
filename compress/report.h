// The size report of one compression run, in the paper's accounting (weights + sparse index +
// codebook, per stage) and as whole files. Plain data; printing is the CLI's job.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace deepcomp::compress {

// Bytes of one tensor after each stage of the pipeline.
struct StageBytes {
  double original = 0;   // dense, in the file dtype
  double pruned = 0;     // surviving weights in the file dtype + relative indices
  double quantized = 0;  // cluster indices at fixed width + relative indices + codebook
  double huffman = 0;    // Huffman-coded cluster indices and relative indices + codebook
};

struct LayerReport {
  std::string name;
  std::string kind;  // "conv", "fc", "embedding", "bias", "other"
  std::vector<int64_t> shape;
  bool compressed = false;  // false: stored losslessly
  int64_t params = 0;
  int64_t nonzero = 0;
  int64_t fillers = 0;   // filler entries of the relative index
  double sparsity = 0;   // achieved fraction of zeros
  double threshold = 0;  // magnitude threshold used
  int bits = 0;          // 0 when weights are not shared
  int clusters = 0;      // codebook entries actually used
  int index_bits = 0;    // 0 when not pruned
  double sse = 0;        // sum over surviving weights of (weight - shared value)^2
  double index_entropy_bits = 0;
  double cluster_entropy_bits = 0;
  double entropy_bits = 0;  // the two above: Shannon bound of the coded streams
  double index_huffman_bits = 0;
  double cluster_huffman_bits = 0;
  double huffman_bits = 0;  // the two above as coded (fixed width where Huffman would not help)
  int kmeans_iterations = 0;
  double seconds = 0;
  StageBytes bytes;
  // Why a weight was stored losslessly although it has a weight role (an 8-bit weight whose
  // scale or zero point cannot be used, ...); empty otherwise.
  std::string note;
};

struct CompressReport {
  std::vector<LayerReport> layers;  // every tensor of the model, compressed or not
  int64_t params = 0;
  int64_t nonzero = 0;
  StageBytes bytes;        // totals over all tensors
  double model_bytes = 0;  // the input .onnx file, when known
  double file_bytes = 0;   // the .dcz written, when known
  double seconds = 0;
  double ratio() const { return bytes.huffman > 0 ? bytes.original / bytes.huffman : 0; }
};

}  // namespace deepcomp::compress
