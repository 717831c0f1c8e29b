// The Deep Compression pipeline over a Model: per layer, magnitude pruning, k-means weight sharing
// and Huffman coding of the cluster indices and relative sparse indices, producing the .dcz
// Container and a size report in the paper's accounting. Also the inverse: decoding a container's
// tensors back to dense values, or to sparse (position, cluster) form for the runtime.
// Knows nothing about protobuf or ONNX; the graph travels as Model::skeleton.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "compress/container.h"
#include "compress/kmeans_1d.h"
#include "compress/report.h"
#include "core/model.h"
#include "core/status.h"

namespace deepcomp::compress {

// --layer 'PATTERN=prune:0.9,bits:4,index-bits:5': settings for the tensors whose name matches
// the glob PATTERN (* ? [..]); later overrides win.
struct LayerOverride {
  std::string pattern;
  std::optional<double> prune;
  std::optional<int> bits;
  std::optional<int> index_bits;
  std::optional<bool> skip;  // "skip": leave the tensor uncompressed (lossless)
};
Result<LayerOverride> parse_layer_override(const std::string& spec);

struct CompressOptions {
  // Pruning. Precedence per layer: --layer override, --prune-global (one threshold over every
  // compressible layer), --prune-std (q x std of the layer), --prune-conv / --prune-fc, --prune.
  std::optional<double> prune;         // target sparsity of every compressible layer
  std::optional<double> prune_std;     // Han's quality parameter q: threshold = q * std(layer)
  std::optional<double> prune_global;  // one magnitude threshold reaching this overall sparsity
  std::optional<double> prune_conv;    // per-kind defaults
  std::optional<double> prune_fc;
  bool no_prune = false;
  // Weight sharing.
  bool share = true;
  int bits_conv = 8;  // the paper's 8 bits for conv layers
  int bits_fc = 5;    // and 5 bits for fc layers
  KMeansInit init = KMeansInit::kLinear;
  int iters = 100;
  uint64_t seed = 0;
  // Relative sparse index width.
  int index_bits_conv = 8;
  int index_bits_fc = 5;
  bool huffman = true;
  std::vector<LayerOverride> layers;
  // Also compress 1-D float tensors (biases); off as in the paper.
  bool include_biases = false;
  // Called after each layer is done (from the calling thread's point of view: serialized).
  std::function<void(const std::string& tensor, int done, int total)> progress;
};

// Rejects out-of-range settings with a message naming the option.
Status validate_options(const CompressOptions& options);

// Sparsity applied by default to a kind when no pruning flag is given: near the paper's rates
// (fc layers keep 8-10%, conv layers 30-40%), a little gentler on conv since no retraining is done.
inline constexpr double kDefaultPruneConv = 0.6;
inline constexpr double kDefaultPruneFc = 0.9;

struct CompressOutput {
  Container container;
  CompressReport report;
};

// Compresses every compressible tensor of `model` (role conv / fc / embedding, float dtype);
// every other tensor is stored losslessly. Deterministic for a given seed and independent of the
// number of OpenMP threads. Errors name the tensor (NaN/Inf weights, bad settings).
Result<CompressOutput> compress_model(const Model& model, const CompressOptions& options);

// A compressed tensor decoded to sparse form: ascending flattened positions of the stored
// weights, and each one's value; `codebook`/`clusters` are set for shared encodings.
struct SparseTensor {
  std::vector<int64_t> positions;
  std::vector<float> values;
  std::vector<float> codebook;
  std::vector<uint32_t> clusters;
};
Result<SparseTensor> decode_sparse(const EncodedTensor& encoded);

// Decodes one tensor to a dense Tensor (values/raw as onnx_io expects them).
Result<Tensor> decode_tensor(const EncodedTensor& encoded);

}  // namespace deepcomp::compress
