// Compact ONNX export: a model in which each weight-shared tensor is no longer a dense float
// initializer but a few small initializers (a float codebook, uint8/uint16 cluster indices and,
// for pruned layers, the positions of the stored weights) plus a subgraph of standard ONNX ops
// that rebuilds the exact same float tensor at run time. Any ONNX runtime runs the result; ONNX
// Runtime folds the subgraph once when the session is created.
//
// The forms (per weight, the smallest available is chosen unless forced):
//   dense indices:   W = Gather(codebook, Cast<int64>(idx[shape]))          any opset; pruned
//                    weights point at a 0.0 codebook entry (appended if the codebook has none)
//   sparse absolute: W = Reshape(Scatter(ConstantOfShape([numel]), Cast<int64>(pos[nnz]),
//                    Gather(codebook, Cast<int64>(cl[nnz]))), shape)         opset >= 9
//                    (Scatter at opset 9/10, ScatterElements from 11)
//   sparse delta:    as sparse absolute with pos = CumSum(Cast<int64>(gap[nnz]))   opset >= 11
// Raising a model's default-domain opset (9 -> 11, for CumSum) is only done when every operator
// in the model keeps its meaning across the raise (see opset_raise_blocker).
// Part of onnx_io (the only folder that touches protobuf/ONNX); the header is protobuf-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace deepcomp::onnx_io {

// One weight to replace: W[p] = codebook[clusters[i]] for p = positions[i], 0 elsewhere.
struct CompactWeight {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> codebook;
  std::vector<int64_t> positions;  // ascending flattened positions; empty = every element, in order
  std::vector<uint32_t> clusters;  // one per position (per element when positions is empty)
  // int8 / uint8 for an 8-bit quantized weight: the codebook holds its integer codes (every
  // element listed, positions empty), rebuilt as Gather(int8 codebook, indices): dense-indices
  // only.
  DType dtype = DType::kFloat32;
};

enum class CompactForm { kAuto, kDenseIndices, kSparseAbsolute, kSparseDelta };
const char* compact_form_name(CompactForm form);  // "auto", "dense-indices", "sparse-abs", ...

struct CompactOptions {
  // kAuto picks the smallest form per weight; anything else forces that form for every weight
  // (an error when the model's opset does not allow it and cannot be raised).
  CompactForm form = CompactForm::kAuto;
  // Allow raising the default-domain opset to 11 when that makes some weight smaller.
  bool allow_opset_raise = true;
  // Check that each reconstructed weight equals the model's tensor bit for bit (the model is the
  // dense decompressed one). Off only for callers whose model holds other values on purpose.
  bool verify_values = true;
};

struct CompactLayer {
  std::string name;
  CompactForm form = CompactForm::kAuto;
  int64_t dense_bytes = 0;    // the float32 initializer it replaces
  int64_t compact_bytes = 0;  // element bytes of the initializers that replace it
};

struct CompactResult {
  std::string bytes;  // the serialized ModelProto, already checked by onnx::checker
  int64_t opset_before = 0;
  int64_t opset_after = 0;
  std::vector<CompactLayer> layers;
};

// Replaces every weight of `weights` in `model` (dense, e.g. from model_from_skeleton). A weight
// must be a float32 initializer or Constant node of the main graph with the given shape. Errors
// name the weight and what is wrong (unknown name, shape mismatch, cluster out of the codebook,
// positions not ascending or out of range, values differing from the model's tensor).
Result<CompactResult> compact_model(const Model& model, const std::vector<CompactWeight>& weights,
                                    const CompactOptions& options = {});

// compact_model with default options, bytes only.
Result<std::string> compact_model_bytes(const Model& model,
                                        const std::vector<CompactWeight>& weights);

// Why raising the model's default-domain opset from its current version to `to` could change what
// some node computes, e.g. "node 'pad0' (Pad): changes at opset 11"; "" when the raise is safe
// (every operator either keeps its schema or only gains backward-compatible features in between).
// Walks subgraphs too. Unknown operators block the raise.
std::string opset_raise_blocker(const Model& model, int64_t to);

}  // namespace deepcomp::onnx_io
