// The payloads of the .dcz sections, one encoder/decoder pair per box of docs/FORMAT.md: the
// header, a blob (stored or zstd bytes), a symbol stream, a tensor location, a tensor, the end
// marker. Internal to the container (container.cc frames these into sections); no other module
// should include it. Depends on byte_io.h, zstd and core/ types.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "compress/byte_io.h"
#include "compress/container.h"
#include "compress/encoded_tensor.h"
#include "compress/huffman.h"
#include "core/status.h"

namespace deepcomp::compress::container_internal {

// Section kinds (FORMAT.md "Sections"). ASCII letters so a hex dump is readable. A kind with bit 7
// set is ancillary: a reader that does not know it skips it (after checking its CRC).
inline constexpr uint8_t kKindHeader = 'H';
inline constexpr uint8_t kKindSkeleton = 'G';
inline constexpr uint8_t kKindTensor = 'T';
inline constexpr uint8_t kKindEnd = 'E';
inline constexpr uint8_t kAncillaryBit = 0x80;
// "header", "skeleton", "tensor", "end", "ancillary 0xNN" or "0xNN", for messages and inspect.
std::string section_kind_name(uint8_t kind);

// Status::Error, short for the many checks of the section parsers.
inline Status Err(std::string message) { return Status::Error(std::move(message)); }

// Limits every reader enforces (and the writer, so that it never writes what cannot be read);
// the alphabet size limit is compress/huffman.h's kMaxAlphabetSize.
inline constexpr uint8_t kMaxFixedBits = 16;
inline constexpr uint8_t kMaxCodeLength = 16;  // as compress/huffman.h limits them
inline constexpr uint32_t kMaxIndexBits = 16;
inline constexpr uint64_t kMaxRank = 64;
inline constexpr uint64_t kMaxCodebookSize = 65536;
// Elements per tensor: below 2^59 so that numel * 16 (the widest dtype) fits in int64.
inline constexpr uint64_t kMaxNumel = uint64_t{1} << 59;
// zstd cannot expand by more than this: a 128 KiB block needs at least a 3-byte block header and
// 1 byte of content (an RLE block), so a frame produces at most 32768 bytes per input byte.
inline constexpr uint64_t kMaxZstdExpansion = 32768;

// Blob: method u8 (0 stored, 1 zstd), raw_size varint, [zstd: packed_size varint], data.
inline constexpr uint8_t kBlobStored = 0;
inline constexpr uint8_t kBlobZstd = 1;
// Blob (container_streams.cc).
void encode_blob(std::string_view data, ByteWriter& w);
// `min_size`..`max_size` and `multiple_of` constrain raw_size; all are checked before any byte is
// decompressed, and the output grows only as zstd actually produces it.
Status decode_blob(ByteReader& r, const char* field, uint64_t min_size, uint64_t max_size,
                   uint64_t multiple_of, std::string* out);

// Symbol stream (container_streams.cc). validate_stream checks one stream on its own; `which`
// ("index stream", "cluster stream") starts its messages.
Status validate_stream(const SymbolStream& s, uint64_t max_count, const char* which);
void encode_stream(const SymbolStream& s, ByteWriter& w);
Status decode_stream(ByteReader& r, const char* which, SymbolStream* s);

void encode_header(const ContainerHeader& header, ByteWriter& w);
Status decode_header(ByteReader& r, ContainerHeader* header);

// Tensor payload. The writer calls validate_tensor first; the reader calls it on what it decoded.
// Messages do not carry the tensor's name (the caller adds it).
Status validate_tensor(const EncodedTensor& t);
void encode_tensor(const EncodedTensor& t, ByteWriter& w);
// `after_header`, when set, runs once name, dtype, shape, location and encoding are read, before
// any of the payload is decoded; its error stops the read.
Status decode_tensor(ByteReader& r, EncodedTensor* t,
                     const std::function<Status(const EncodedTensor&)>& after_header = {});
// numel x element size of a tensor's dense form (element size 1 for dtypes without a fixed one),
// saturating at UINT64_MAX; the shape must have passed the reader's checks.
uint64_t dense_bytes(const EncodedTensor& t);
// Rank <= kMaxRank, every dimension in [0, kMaxNumel), product below kMaxNumel (0 if any
// dimension is 0): the shape checks shared by writer and reader.
Status checked_numel(const std::vector<int64_t>& shape, uint64_t* numel);

// End marker payload.
struct EndMarker {
  uint64_t section_count = 0;  // sections before the end marker
  uint64_t body_length = 0;    // bytes before the end marker (its offset)
  uint32_t chain_crc = 0;      // CRC-32 of the preamble then each earlier section's CRC (LE)
};
void encode_end(const EndMarker& end, ByteWriter& w);
Status decode_end(ByteReader& r, EndMarker* end);

}  // namespace deepcomp::compress::container_internal
