// Relative (difference) sparse index with filler entries, as in Deep Compression (Han et al. 2016,
// section 2): the positions of a tensor's nonzeros stored as gaps of `bits` bits each.
//
// Contract (docs/FORMAT.md describes the same): positions are indices into the flattened tensor,
// strictly ascending. Each entry is a code c in [0, 2^b - 1], b = bits in 1..16. A cursor starts at
// -1. c > 0: the next nonzero is at cursor + c and the cursor moves there. c == 0 is a filler: the
// cursor advances by 2^b - 1 and no weight is stored. A gap g >= 1 is therefore written as
// floor((g - 1) / (2^b - 1)) fillers followed by the code g - fillers * (2^b - 1).
//
// Depends on core/status.h only. (Plain CSR column indices belong to kernels/, not here.)
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"

namespace deepcomp::compress {

// Appends the codes of strictly ascending positions one at a time: the streaming form of
// encode_relative_index, for callers that find the positions while scanning a tensor.
template <typename Code>
class RelativeIndexWriter {
 public:
  RelativeIndexWriter(int bits, std::vector<Code>* out)
      : max_gap_((int64_t{1} << bits) - 1), out_(out) {}
  void add(int64_t position) {
    const int64_t gap = position - cursor_;
    const int64_t fillers = (gap - 1) / max_gap_;
    out_->insert(out_->end(), static_cast<size_t>(fillers), Code{0});
    out_->push_back(static_cast<Code>(gap - fillers * max_gap_));
    cursor_ = position;
  }

 private:
  int64_t max_gap_;
  int64_t cursor_ = -1;
  std::vector<Code>* out_;
};

// Codes for `positions` (precondition: strictly ascending, >= 0; bits in 1..16).
std::vector<uint32_t> encode_relative_index(std::span<const int64_t> positions, int bits);

// Number of codes encode_relative_index would produce (fillers included), without building them.
uint64_t relative_index_code_count(std::span<const int64_t> positions, int bits);

// Decodes `codes` into `positions` (replaced). Errors: bits outside 1..16, a code >= 2^bits, a
// position >= numel, a filler after which no position < numel can follow, trailing fillers, or a
// number of positions other than expected_nnz.
Status decode_relative_index(std::span<const uint32_t> codes, int bits, int64_t numel,
                             int64_t expected_nnz, std::vector<int64_t>* positions);

}  // namespace deepcomp::compress
