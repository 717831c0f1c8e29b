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
