// The .dcz container: the file deepcomp compresses a model into. It holds the graph without its
// weights (Model::skeleton, an opaque byte string here) and one EncodedTensor per tensor, each in
// its own length-prefixed, CRC32-checked section. docs/FORMAT.md specifies every byte; this API
// writes and reads exactly that. The container stores symbol streams without interpreting their
// bits (compress/huffman.* and compress/relative_index.* do). Depends on core/ (Status, file I/O,
// model types), zstd and zlib; knows nothing about protobuf or ONNX.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compress/encoded_tensor.h"
#include "core/file_io.h"
#include "core/status.h"

namespace deepcomp::compress {

// Format version written by this code: major 1, minor 0. A reader accepts every minor version of
// the majors it knows (minor versions only add things an older reader may skip) and rejects a
// newer major with a clear error.
inline constexpr uint8_t kFormatMajor = 1;
inline constexpr uint8_t kFormatMinor = 0;
// ContainerHeader::version packs them as (major << 8) | minor.
inline constexpr uint16_t kFormatVersion = (uint16_t{kFormatMajor} << 8) | kFormatMinor;

// The 4 bytes every .dcz file starts with: "DCZ" and 0x1A (Ctrl-Z, stops `type` on Windows and
// makes a text-mode transfer that mangles bytes visible, as in PNG).
inline constexpr std::string_view kMagic{"DCZ\x1A", 4};

struct ContainerHeader {
  // Set by the reader to the file's (major << 8) | minor. The writer always writes
  // kFormatVersion and ignores this field.
  uint16_t version = kFormatVersion;
  std::string producer;  // e.g. "deepcomp 0.1.0"
  // The settings used, free-form, in order (e.g. {"prune", "0.9"}); keys may repeat.
  std::vector<std::pair<std::string, std::string>> metadata;

  bool operator==(const ContainerHeader&) const = default;
};

struct Container {
  ContainerHeader header;
  std::string skeleton;  // Model::skeleton: the serialized graph without weight data
  std::vector<EncodedTensor> tensors;
};

// The whole file in memory. Validates every tensor with the checks the reader applies (so that a
// file written is a file that reads back) and fails with the tensor's name otherwise. Fields an
// encoding does not use (e.g. `codebook` of a kLossless tensor) are not stored. Deterministic:
// the same Container gives the same bytes (for a given zstd library version).
Result<std::string> serialize_container(const Container& container);

// The reader's checks on a tensor's header, without data: known dtype with a fixed element size,
// rank <= 64, every dimension in [0, 2^59), fewer than 2^59 elements. serialize_container and
// the reader run the same code; compress runs it on every input tensor before any work, so that
// it never writes a file decompress refuses. Messages lack the tensor's name.
Status check_storable(const Tensor& t);

// serialize_container, then an atomic write (core/file_io.h). Errors name `path`.
Status write_container(const Container& container, const std::string& path,
                       const WriteOptions& options);

// Decompression-bomb guard: the dense size of everything a file holds (the skeleton's bytes plus,
// per tensor, numel x element size) may be at most max(kMinDenseCap, kMaxExpansion x file size).
// Deep Compression reaches 35-50x on real models and a blob's zstd at most 32768x; 1024x leaves
// room for heavily pruned layers while a 34 KB file can no longer claim a 1 GB model. The writer
// applies the same cap (serialize_container), so compress never writes a file the reader refuses.
inline constexpr uint64_t kMinDenseCap = uint64_t{64} << 20;
inline constexpr uint64_t kMaxExpansion = 1024;
// The cap for a file of `file_bytes` bytes.
uint64_t dense_cap(uint64_t file_bytes);
// The writers' side of the cap (serialize_container, ContainerWriter::finish): a written file of
// `file_bytes` whose skeleton and tensors come to `dense_total` bytes dense; the error names
// `largest`, the largest tensor and the likely cause.
Status check_written_cap(uint64_t dense_total, uint64_t file_bytes, const std::string& largest);

// What a reader checks on each tensor section once its header (name, dtype, shape, location,
// encoding; no data yet) is read, before anything is decoded or allocated for it.
struct ReadLimits {
  // Called with the skeleton (already read: it precedes the tensors) and the header; e.g. the
  // CLI checks the shape against what the skeleton declares (cli/dcz_model.h). Its error message
  // is prefixed with the file and section.
  std::function<Status(const std::string& skeleton, const EncodedTensor& header)> check_header;
  // Overrides dense_cap(file size) when nonzero (tests).
  uint64_t dense_cap = 0;
};

// ReadLimits applied tensor by tensor, for readers that see one section at a time: the caller's
// check_header, then the dense cap over the skeleton and every tensor so far. parse_container and
// ContainerFileReader (streaming decompress) share it.
class HeaderGuard {
 public:
  HeaderGuard(ReadLimits limits, uint64_t file_bytes);
  // Once the skeleton is read: it counts towards the cap.
  void set_skeleton(const std::string* skeleton);
  // Before any of a tensor's payload is decoded. The message lacks the file and section.
  Status check(const EncodedTensor& header);
  uint64_t cap() const { return cap_; }

 private:
  ReadLimits limits_;
  uint64_t file_bytes_ = 0, cap_ = 0, dense_total_ = 0;
  const std::string* skeleton_ = nullptr;
};

// Parses and validates a whole file. `display_name` (usually the path) starts every error
// message, e.g. "m.dcz: section 'fc1.weight' (tensor): checksum mismatch". An allocation failure
// is reported the same way, naming the section.
Result<Container> parse_container(std::string_view bytes, const std::string& display_name,
                                  const ReadLimits& limits = {});

// read_file + parse_container.
Result<Container> read_container(const std::string& path, const ReadLimits& limits = {});

// True when the bytes start with kMagic (for dispatching on input type; `first_bytes` may be
// shorter than a file).
bool looks_like_container(std::string_view first_bytes);

// One section of a file, for `deepcomp inspect` and the size report.
struct SectionInfo {
  std::string tensor;   // the tensor's name for "tensor" sections, else ""
  std::string kind;     // "header", "skeleton", "tensor", "end", or "ancillary 0xNN"
  uint64_t offset = 0;  // of the section's kind byte
  uint64_t length = 0;  // the whole section: kind, length field, payload and checksum
};

// Every section in file order, after the same validation as parse_container (the preamble, not
// a section, is the first kPreambleSize bytes).
Result<std::vector<SectionInfo>> list_sections(std::string_view bytes,
                                               const std::string& display_name);

inline constexpr size_t kPreambleSize = 6;  // magic, major, minor

}  // namespace deepcomp::compress
