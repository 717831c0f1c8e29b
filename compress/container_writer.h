// Writing a .dcz one section at a time, for models larger than memory: the header and skeleton
// first, then each tensor as soon as it is encoded, then the end marker with the chained checksum
// (docs/FORMAT.md: sections are in file order, so no index or seeking is needed). The bytes equal
// serialize_container's for the same header, skeleton and tensors in the same order. Output goes
// to a temporary file beside `path` (core/file_io's AtomicFile) renamed by finish(); a writer
// destroyed before finish() (an error, a full disk) removes it, so nothing partial is left.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

#include "compress/container.h"
#include "compress/encoded_tensor.h"
#include "core/file_io.h"
#include "core/status.h"

namespace deepcomp::compress {

class ContainerWriter {
 public:
  // Creates the temporary file and writes the preamble, header and skeleton sections.
  Status open(const std::string& path, const WriteOptions& options, const ContainerHeader& header,
              std::string_view skeleton);
  // Validates `t` as serialize_container does (names unique) and appends its section.
  Status add(const EncodedTensor& t);
  // Appends the end marker, flushes and renames the file into place.
  Status finish();
  // Bytes written so far (the file size after finish()).
  uint64_t size() const { return size_; }

 private:
  Status append(uint8_t kind, std::string_view payload);

  AtomicFile file_;
  std::string path_;
  uint64_t size_ = 0;
  uint64_t sections_ = 0;
  uint32_t chain_ = 0;
  uint64_t dense_total_ = 0;  // skeleton + tensors, for the reader's decompression cap
  std::string largest_;
  uint64_t largest_bytes_ = 0;
  bool open_ = false;
  std::unordered_set<std::string> names_;
};

}  // namespace deepcomp::compress
