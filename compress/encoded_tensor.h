// One tensor as the .dcz container stores it: either lossless (the exact element bytes, zstd on
// disk) or Deep Compression's form (relative sparse index and/or cluster indices into a float
// codebook, each a symbol stream that is Huffman-coded or fixed-width). The pipeline
// (compress/pipeline.*) produces these; the container (compress/container.*) writes and reads
// them without interpreting the bitstreams.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/model.h"

namespace deepcomp::compress {

// A sequence of `count` symbols in [0, alphabet_size), packed in `bits`.
// Huffman-coded when code_lengths is not empty (canonical code, one length per symbol, 0 = unused),
// else fixed-width with `fixed_bits` bits per symbol. Bit order: see docs/FORMAT.md.
struct SymbolStream {
  uint32_t alphabet_size = 0;
  uint64_t count = 0;
  uint8_t fixed_bits = 0;
  std::vector<uint8_t> code_lengths;
  std::string bits;
};

enum class Encoding : uint8_t {
  kLossless = 0,      // `raw` holds every element's exact bytes in the file dtype
  kSharedDense = 1,   // every element is codebook[cluster symbol] (no pruning)
  kSparseShared = 2,  // relative index stream + one cluster symbol per nonzero
  kSparseFloat = 3,   // relative index stream + float32 value per nonzero in `raw` (no sharing)
};

struct EncodedTensor {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::kFloat32;
  TensorRole role = TensorRole::kOther;
  TensorLocation location;
  Encoding encoding = Encoding::kLossless;

  std::string raw;              // kLossless: element bytes; kSparseFloat: float32 per nonzero
  std::vector<float> codebook;  // kSharedDense / kSparseShared
  uint32_t index_bits = 0;      // kSparse*: width of a relative index (code 0 = filler)
  SymbolStream index;           // kSparse*: relative gaps, one per nonzero or filler
  SymbolStream clusters;        // kShared*: one cluster symbol per stored weight
  // An 8-bit quantized layer (dtype int8/uint8, kSharedDense / kSparseShared): the codebook holds
  // integer levels relative to the zero point; element i decodes to codebook[cluster] plus the
  // zero point of its index along `zero_point_axis` (-1: one zero point for all), a pruned
  // element to the zero point itself.
  std::vector<int32_t> zero_points;
  int64_t zero_point_axis = -1;
};

// True for the tensors whose shared encodings carry integer levels and zero points.
inline bool is_quantized_layer(const EncodedTensor& e) {
  return (e.dtype == DType::kInt8 || e.dtype == DType::kUInt8) &&
         (e.encoding == Encoding::kSharedDense || e.encoding == Encoding::kSparseShared);
}

// The tensor `e` describes (name, shape, dtype, role, location), without data.
inline Tensor tensor_header(const EncodedTensor& e) {
  Tensor t;
  t.name = e.name;
  t.shape = e.shape;
  t.dtype = e.dtype;
  t.role = e.role;
  t.location = e.location;
  return t;
}

}  // namespace deepcomp::compress
