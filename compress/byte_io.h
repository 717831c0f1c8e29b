// Little-endian fixed-width integers, LEB128 varints and length-prefixed strings: the primitive
// fields of the .dcz format (docs/FORMAT.md, "Primitive types"). ByteReader checks every read
// against the bytes left, so a declared length is never trusted before it has been compared with
// the input. Header-only; depends only on core/status.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace deepcomp::compress {

inline constexpr size_t kMaxVarintBytes = 10;  // ceil(64 / 7)

class ByteWriter {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32le(uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
  }
  // LEB128: 7 bits per byte, least significant group first, high bit set on all but the last.
  void varint(uint64_t v) {
    while (v >= 0x80) {
      u8(static_cast<uint8_t>(v) | 0x80);
      v >>= 7;
    }
    u8(static_cast<uint8_t>(v));
  }
  void bytes(std::string_view b) { out_.append(b.data(), b.size()); }
  void string(std::string_view s) {
    varint(s.size());
    bytes(s);
  }
  std::string& data() { return out_; }
  size_t size() const { return out_.size(); }

 private:
  std::string out_;
};

inline size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Reads fields from a byte range. Every method names the field it was reading in its error.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool at_end() const { return pos_ == data_.size(); }

  Status u8(const char* field, uint8_t* out) {
    if (remaining() < 1) return Truncated(field, 1);
    *out = static_cast<uint8_t>(data_[pos_++]);
    return Status::Ok();
  }
  Status u32le(const char* field, uint32_t* out) {
    if (remaining() < 4) return Truncated(field, 4);
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(data_[pos_ + i])} << (8 * i);
    pos_ += 4;
    *out = v;
    return Status::Ok();
  }
  Status varint(const char* field, uint64_t* out) {
    uint64_t v = 0;
    for (size_t i = 0; i < kMaxVarintBytes; ++i) {
      if (remaining() < 1) return Truncated(field, 1);
      const uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
      // The 10th byte holds bit 63 only; anything more would not fit in 64 bits.
      if (i == kMaxVarintBytes - 1 && byte > 1)
        return Status::Error(std::string(field) + ": varint does not fit in 64 bits");
      v |= uint64_t{byte & 0x7Fu} << (7 * i);
      if ((byte & 0x80) == 0) {
        *out = v;
        return Status::Ok();
      }
    }
    return Status::Error(std::string(field) + ": varint does not fit in 64 bits");
  }
  // A view of the next `n` bytes (no copy, no allocation).
  Status bytes(const char* field, uint64_t n, std::string_view* out) {
    if (n > remaining()) return Truncated(field, n);
    *out = data_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return Status::Ok();
  }
  // Varint length, then that many bytes; the length is checked before anything is allocated.
  Status string(const char* field, std::string* out) {
    uint64_t n = 0;
    DEEPCOMP_RETURN_IF_ERROR(varint(field, &n));
    std::string_view view;
    DEEPCOMP_RETURN_IF_ERROR(bytes(field, n, &view));
    out->assign(view.data(), view.size());
    return Status::Ok();
  }

 private:
  Status Truncated(const char* field, uint64_t needed) const {
    return Status::Error(std::string(field) + ": needs " + std::to_string(needed) +
                         " byte(s) but only " + std::to_string(remaining()) +
                         " remain (truncated or corrupt)");
  }

  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace deepcomp::compress
