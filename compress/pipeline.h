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

// --layer 'PATTERN=prune:0.9,bits:4,index-bits:5' (or PATTERN=skip, PATTERN=compress): settings
// for the tensors whose name matches the glob PATTERN (* ? [..]); later overrides win.
struct LayerOverride {
  std::string pattern;
  std::optional<double> prune;
  std::optional<int> bits;
  std::optional<int> index_bits;
  // "skip": leave the tensor uncompressed (lossless); "compress" (false): compress a fixed basis,
  // which is lossless by default (docs/ROLES.md). Later overrides win.
  std::optional<bool> skip;
};
Result<LayerOverride> parse_layer_override(const std::string& spec);

// One compressed tensor as handed to FineTuner::after_share: the surviving weights' flattened
// positions (every position when the tensor is not pruned), each one's cluster label, and the
// layer's codebook, which the tuner may change (labels stay fixed).
struct SharedLayer {
  size_t tensor = 0;  // index in Model::tensors
  std::vector<int64_t> positions;
  std::vector<uint32_t> labels;
  std::vector<float> codebook;
};

// Retraining hooks (Han et al.: masked fine-tuning after pruning, centroid fine-tuning after
// sharing). compress/ only calls them; the implementation lives in train/, which compress must not
// depend on. Both run on the pipeline's working copy of the model.
class FineTuner {
 public:
  virtual ~FineTuner() = default;
  // `model` holds the pruned weights (pruned entries exactly 0). masks[i] is empty for a tensor
  // that is not pruned, else one byte per element, 1 = surviving. The tuner may change surviving
  // weights of any tensor and every other float tensor; the pipeline re-zeroes pruned entries.
  virtual Status after_prune(Model& model, const std::vector<std::vector<uint8_t>>& masks) = 0;
  // `model` holds the fine-tuned (not yet quantized) weights. The tuner may change each layer's
  // codebook; the encoded tensors use the final codebooks. Uncompressed tensors (biases) may be
  // changed too and are stored as left in `model`.
  virtual Status after_share(Model& model, std::vector<SharedLayer>& layers) = 0;
};

// Defaults for layers that are already 8-bit (bench/RESULTS.md, issue 19, top-1 agreement and mask
// IoU against the 8-bit model): a large conv layer shares 4 bits of levels (the real uint8 IS-Net:
// >= 2x, IoU >= 0.99), a large fc layer 5; smaller layers get more (quant_layer_bits below), and
// none is pruned unless a pruning flag asks (at 80% density the relative index costs more than
// pruning saves: IS-Net 2.10x at conv 20%, and the LeNets lost 2-3% agreement at the float
// defaults).
inline constexpr int kDefaultQuantBitsConv = 4;
inline constexpr int kDefaultQuantBitsFc = 5;
// The layer size from which an 8-bit layer takes exactly its kind's width. Why smaller layers get
// more: sharing to b bits adds noise of relative power ~2^-2b to a layer's output whatever its
// size, while it saves bits in proportion to the layer's weights; minimizing the summed relative
// noise of all layers for a given total size (Lagrange) gives b = const - log2(weights) / 2, half
// a bit more per halving of the layer. Measured (LeNet-5 8-bit, one layer shared at 4 bits, the
// others kept): its 500-weight first conv layer alone cost 0.8-1.6% top-1 agreement, its
// 400,000-weight fc layer 0.4%.
inline constexpr int64_t kQuantFullWidthWeights = int64_t{1} << 18;

// The shared-level width of an 8-bit layer of `weights` weights whose kind's width is `bits`:
// bits + round(log2(kQuantFullWidthWeights / weights) / 2), never fewer than `bits` and never more
// than max(bits, 8) (8 bits of levels keep nearly every code).
int quant_layer_bits(int bits, int64_t weights);

inline constexpr double kDefaultQuantPruneConv = 0;
inline constexpr double kDefaultQuantPruneFc = 0;

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
  // Layers whose weights are already 8-bit (int8/uint8 with a scale and zero point): 8 bits would
  // keep every level, so they share to their own widths (defaults measured below). A --layer
  // override's bits apply to them too.
  int quant_bits_conv = kDefaultQuantBitsConv;
  int quant_bits_fc = kDefaultQuantBitsFc;
  // false: every 8-bit layer takes its kind's width, whatever its size (--quant-flat-bits).
  bool quant_size_bits = true;
  KMeansInit init = KMeansInit::kLinear;
  // Empty clusters after Lloyd: re-seeded by splitting the largest-SSE cluster (the default; keeps
  // min(2^bits, #distinct) centroids) or dropped (the behaviour before; fewer codebook entries).
  EmptyClusters empty_clusters = EmptyClusters::kSplit;
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
  // Retraining (not owned). When set, compress_model runs in phases: prune every layer, then
  // tuner->after_prune; k-means on the fine-tuned weights, then tuner->after_share; then encode.
  // Unset: the single-pass pipeline, output unchanged.
  FineTuner* tuner = nullptr;
  // With a tuner: prune in this many steps of increasing sparsity (or threshold), calling
  // after_prune after each step; pruned weights stay pruned.
  int prune_steps = 1;
  // How the sparsity target s grows over the K steps: geometric (the default), 1 - (1-s)^(k/K):
  // each step removes the same fraction of what is left, so the last step is no harsher than the
  // first (measured: 88.96% against 87.49% for linear on LeNet-300-100 at 41-42x,
  // bench/RESULTS.md); linear, s*k/K. Threshold-based pruning (--prune-std, --prune-global) always
  // steps the threshold linearly.
  enum class PruneSchedule { kLinear, kGeometric };
  PruneSchedule prune_schedule = PruneSchedule::kGeometric;
};

// The k-means settings of a layer shared with `bits` bits.
KMeansOptions kmeans_options(const CompressOptions& options, int bits);

// "linear" / "geometric".
Result<CompressOptions::PruneSchedule> parse_prune_schedule(const std::string& name);

// Rejects out-of-range settings with a message naming the option.
Status validate_options(const CompressOptions& options);

// Sparsity applied by default to a kind when no pruning flag is given. Conservative because
// pruning without retraining costs accuracy fast (measured on models/, Fashion-MNIST, top-1:
// LeNet-300-100 89.37% -> 88.73% at these defaults, 87.2% at fc 0.5, 62.9% at fc 0.8 without
// sharing); the paper's rates (fc 0.9+, conv 0.6+) need retraining.
inline constexpr double kDefaultPruneConv = 0.2;
inline constexpr double kDefaultPruneFc = 0.3;

struct CompressOutput {
  Container container;
  CompressReport report;
};

// Compresses every compressible tensor of `model` (role conv / fc / embedding, float dtype, and a
// fixed basis only under a "compress" override); every other tensor is stored losslessly.
// Deterministic for a given seed and independent of the number of OpenMP threads. Errors name the
// tensor (NaN/Inf weights, bad settings).
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
