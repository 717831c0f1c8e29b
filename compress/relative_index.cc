// Relative sparse index with fillers (see relative_index.h for the contract).
#include "compress/relative_index.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace deepcomp::compress {

std::vector<uint32_t> encode_relative_index(std::span<const int64_t> positions, int bits) {
  assert(bits >= 1 && bits <= 16);
  std::vector<uint32_t> codes;
  codes.reserve(positions.size());
  RelativeIndexWriter<uint32_t> writer(bits, &codes);
  for (size_t i = 0; i < positions.size(); ++i) {
    assert(i == 0 || positions[i] > positions[i - 1]);
    writer.add(positions[i]);
  }
  return codes;
}

uint64_t relative_index_code_count(std::span<const int64_t> positions, int bits) {
  const int64_t max_gap = (int64_t{1} << bits) - 1;
  uint64_t count = 0;
  int64_t cursor = -1;
  for (int64_t p : positions) {
    count += static_cast<uint64_t>((p - cursor - 1) / max_gap) + 1;
    cursor = p;
  }
  return count;
}

Status decode_relative_index(std::span<const uint32_t> codes, int bits, int64_t numel,
                             int64_t expected_nnz, std::vector<int64_t>* positions) {
  positions->clear();
  if (bits < 1 || bits > 16) {
    return Status::Error("relative index width " + std::to_string(bits) + " not in 1..16");
  }
  if (numel < 0 || expected_nnz < 0 || expected_nnz > numel) {
    return Status::Error("relative index: " + std::to_string(expected_nnz) +
                         " nonzeros declared for " + std::to_string(numel) + " elements");
  }
  const int64_t max_gap = (int64_t{1} << bits) - 1;
  positions->reserve(static_cast<size_t>(std::min<int64_t>(expected_nnz, codes.size())));
  int64_t cursor = -1;
  for (size_t i = 0; i < codes.size(); ++i) {
    const uint32_t c = codes[i];
    if (c > static_cast<uint32_t>(max_gap)) {
      return Status::Error("relative index code " + std::to_string(c) + " at entry " +
                           std::to_string(i) + " does not fit " + std::to_string(bits) + " bits");
    }
    if (c == 0) {
      cursor += max_gap;
      if (cursor + 1 >= numel) {
        return Status::Error("relative index filler at entry " + std::to_string(i) +
                             " runs past the end of the tensor (" + std::to_string(numel) +
                             " elements)");
      }
      if (i + 1 == codes.size()) {
        return Status::Error("relative index ends with a filler");
      }
      continue;
    }
    cursor += c;
    if (cursor >= numel) {
      return Status::Error("relative index entry " + std::to_string(i) + " points at element " +
                           std::to_string(cursor) + " of a tensor with " + std::to_string(numel) +
                           " elements");
    }
    if (static_cast<int64_t>(positions->size()) == expected_nnz) {
      return Status::Error("relative index holds more than the declared " +
                           std::to_string(expected_nnz) + " nonzeros");
    }
    positions->push_back(cursor);
  }
  if (static_cast<int64_t>(positions->size()) != expected_nnz) {
    return Status::Error("relative index holds " + std::to_string(positions->size()) +
                         " nonzeros, declared " + std::to_string(expected_nnz));
  }
  return Status::Ok();
}

}  // namespace deepcomp::compress
