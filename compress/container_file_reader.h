// Reading a .dcz one section at a time from its file (positioned reads), for decompressing models
// larger than memory: the header and skeleton on open(), then one tensor per next() call, each
// section's CRC checked before it is decoded, and at the end the end marker (section count,
// length, chained checksum, nothing after it). The checks and messages are parse_container's;
// memory is one section at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

#include "compress/container.h"
#include "compress/encoded_tensor.h"
#include "core/status.h"

namespace deepcomp::compress {

class ContainerFileReader {
 public:
  ContainerFileReader() = default;
  ~ContainerFileReader();
  ContainerFileReader(const ContainerFileReader&) = delete;
  ContainerFileReader& operator=(const ContainerFileReader&) = delete;

  // Opens `path` and reads the preamble, the header and the skeleton. Every tensor's header then
  // passes `limits` (HeaderGuard: the caller's check against the skeleton, the dense cap) before
  // its payload is decoded, as in parse_container.
  Status open(const std::string& path, const ReadLimits& limits = {});
  const ContainerHeader& header() const { return header_; }
  const std::string& skeleton() const { return skeleton_; }
  // The next tensor; sets *done (and checks the end marker) when there is none. Errors start with
  // the path.
  Status next(EncodedTensor* tensor, bool* done);

 private:
  struct Section;
  Status read_section(Section* s);
  Status read_at(uint64_t offset, uint64_t size, std::string* out);

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t pos_ = 0;
  uint64_t index_ = 0;
  uint32_t chain_ = 0;
  uint8_t minor_ = 0;
  bool finished_ = false;
  ContainerHeader header_;
  std::string skeleton_;
  std::string buffer_;
  std::unordered_set<std::string> names_;
  std::unique_ptr<HeaderGuard> guard_;
};

}  // namespace deepcomp::compress
