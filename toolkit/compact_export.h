// Glue from a compressed .dcz Container to onnx_io's compact ONNX export: every weight-shared
// float32 tensor of the main graph (encodings shared-dense and sparse-shared) becomes a
// CompactWeight, and so does every compressed 8-bit quantized layer (its integer codes from an
// int8/uint8 codebook by Gather); everything else (lossless tensors, --no-share values, subgraph
// and other tensors) stays a dense initializer, exactly as `deepcomp decompress` writes it.
// Knows no protobuf; onnx_io does the ONNX side.
#pragma once

#include <string>
#include <vector>

#include "compress/container.h"
#include "core/status.h"
#include "onnx_io/compact.h"

namespace deepcomp::cli {

// The CompactWeights of a container's shared main-graph float32 tensors, in container order.
Result<std::vector<onnx_io::CompactWeight>> compact_weights_from_container(
    const compress::Container& container);

// The compact ONNX model of a container (its dense model with the shared tensors replaced).
// `display_name` (the .dcz path) prefixes errors.
Result<onnx_io::CompactResult> compact_onnx_from_container(
    const compress::Container& container, const std::string& display_name,
    const onnx_io::CompactOptions& options = {});

// One line for `deepcomp compress --onnx-compact`: "wrote m.onnx (compact ONNX, 41.2 KB beside the
// .dcz's 20.1 KB; 3 weights rebuilt: 1 dense-indices, 2 sparse-delta; opset 9 -> 11)".
std::string compact_summary(const std::string& path, const onnx_io::CompactResult& result,
                            double dcz_bytes);

}  // namespace deepcomp::cli
