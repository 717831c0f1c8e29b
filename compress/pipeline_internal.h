// Internals of the pipeline shared by its three sources: pipeline.cc (options, planning,
// compress_model, decoding), pipeline_layer.cc (one tensor through prune, index, share and code)
// and pipeline_tuned.cc (the phases with retraining). Not part of the API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "compress/pipeline.h"

namespace deepcomp::compress::pipeline_internal {

// What the pipeline does to one tensor, resolved from the options.
struct LayerPlan {
  bool compress = false;
  bool prune = false;
  bool use_threshold = false;  // threshold given directly (global or std) instead of sparsity
  double sparsity = 0;
  float threshold = 0;
  int bits = 0;
  int index_bits = 0;
};

struct LayerResult {
  Status status;
  EncodedTensor encoded;
  LayerReport report;
};

// With retraining, the surviving positions and the final codebook/labels were decided by the
// earlier phases; compress_layer then only encodes them.
struct Preset {
  const std::vector<int64_t>* positions = nullptr;  // when plan.prune
  float threshold = 0;
  const SharedLayer* shared = nullptr;  // when options.share
};

struct CodedStream {
  SymbolStream stream;
  double bits = 0;     // exact payload bits (without the last byte's padding)
  double entropy = 0;  // Shannon bound of the stream, in bits
};

// Huffman-codes a stream, or packs it at fixed width when that is smaller (or Huffman is off).
Result<CodedStream> code_stream(std::span<const uint16_t> symbols, uint32_t alphabet,
                                int fixed_bits, bool huffman);

// A tensor's report before any stage: params and bytes as stored.
LayerReport base_report(const Tensor& t);

// An 8-bit weight's dequantization, resolved from Tensor::quant against the model: the scale and
// zero point of every channel (one channel when per-tensor).
struct QuantView {
  std::vector<float> scale;         // per channel
  std::vector<int32_t> zero_point;  // per channel
  int64_t axis = -1;
  int64_t inner = 1;  // elements after the axis
  int64_t dim = 1;    // channels
  int64_t channel(int64_t k) const { return axis < 0 ? 0 : (k / inner) % dim; }
};
// Errors (one line, naming the tensor) when the scale / zero point are missing, mismatched or
// unusable; the caller then stores the weight losslessly with the message as its note.
Result<QuantView> quant_view(const Model& model, const Tensor& t);

// One 8-bit weight through the pipeline on its integer codes (pipeline_quantized.cc).
LayerResult compress_quantized_layer(const Tensor& t, const QuantView& q, const LayerPlan& plan,
                                     const CompressOptions& options);
// Decodes a quantized layer (is_quantized_layer) to its integer bytes.
Result<Tensor> decode_quantized(const EncodedTensor& e);

// Runs one tensor through the pipeline (`preset` given: encodes the retraining phases' decisions).
LayerResult compress_layer(const Tensor& t, const LayerPlan& plan, const CompressOptions& options,
                           const Preset* preset = nullptr);

// A tensor that is not compressed: stored losslessly, with its report.
LayerResult store_lossless(const Tensor& t);

// What compress_model does to `t` (its data must be loaded: --prune-std reads it), before the
// one-threshold-for-all-layers step of --prune-global.
LayerPlan layer_plan(const Tensor& t, const CompressOptions& options);

// Whether --prune-global's one threshold applies to `t` (compressible, no --layer prune).
bool in_global_threshold(const Tensor& t, const LayerPlan& plan, const CompressOptions& options);

// The container header compress_model writes: producer and the settings (metadata) in order.
ContainerHeader container_header(const CompressOptions& options);

// Appends one tensor's report to the model's and adds it to the totals.
void add_layer_report(LayerReport layer, CompressReport* report);

// The retraining phases (options.tuner set): prune (in options.prune_steps steps, after_prune
// after each), k-means on the fine-tuned survivors, after_share, then encode with the final
// codebooks into (*results)[i] for every i in `order`. `work` is the pipeline's copy of the model;
// uncompressed tensors are stored as the tuner left them.
Status run_tuned(Model& work, const std::vector<LayerPlan>& plans, const std::vector<size_t>& order,
                 const CompressOptions& options, std::vector<LayerResult>* results);

}  // namespace deepcomp::compress::pipeline_internal
