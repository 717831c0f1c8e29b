// Bit-level writer and reader for deepcomp's symbol streams (Huffman and fixed-width).
//
// Bit order (the container format relies on it): bits are packed LSB-first within each byte, i.e.
// the first bit written is bit 0 (value 1) of byte 0, the ninth is bit 0 of byte 1. A multi-bit
// field written with write(value, n) stores value's bit 0 first. The last byte is padded with zero
// bits. Huffman codes are written so that the code's first (most significant, canonical) bit comes
// first in the stream, as in DEFLATE (see huffman.h).
//
// Depends only on the standard library.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace deepcomp::compress {

// BitReader::peek loads 8 bytes at once and relies on little-endian byte order.
static_assert(std::endian::native == std::endian::little, "bitstream.h assumes a little-endian host");

class BitWriter {
 public:
  // Appends the low `nbits` bits of `value`, bit 0 first. nbits must be in [0, 32].
  void write(uint32_t value, int nbits) {
    if (nbits == 0) return;
    const uint64_t masked = nbits == 32 ? value : (value & ((uint32_t{1} << nbits) - 1));
    acc_ |= masked << filled_;
    filled_ += nbits;
    while (filled_ >= 8) {
      out_.push_back(static_cast<char>(acc_ & 0xFF));
      acc_ >>= 8;
      filled_ -= 8;
    }
  }
  // Reserves room for `bits` more bits (avoids regrowing the buffer of a large stream).
  void reserve_bits(uint64_t bits) { out_.reserve(out_.size() + static_cast<size_t>(bits / 8 + 1)); }
  // Number of bits written so far.
  uint64_t bit_count() const { return static_cast<uint64_t>(out_.size()) * 8 + filled_; }
  // Pads the last byte with zeros and returns the bytes; the writer is empty afterwards.
  std::string finish() {
    if (filled_ > 0) out_.push_back(static_cast<char>(acc_ & 0xFF));
    acc_ = 0;
    filled_ = 0;
    return std::exchange(out_, std::string());
  }

 private:
  std::string out_;
  uint64_t acc_ = 0;  // at most 7 + 32 pending bits
  int filled_ = 0;
};

// Reads bits in the order BitWriter wrote them. Never reads past the end of the buffer: peek()
// returns zeros for bits beyond the end, and skip()/read() fail when too few bits remain.
class BitReader {
 public:
  explicit BitReader(std::string_view bytes)
      : data_(reinterpret_cast<const uint8_t*>(bytes.data())),
        size_(bytes.size()),
        total_bits_(static_cast<uint64_t>(bytes.size()) * 8) {}

  uint64_t position() const { return pos_; }
  uint64_t bits_left() const { return total_bits_ - pos_; }

  // The next `nbits` bits (nbits in [0, 32]) without consuming them; bits past the end read as 0.
  uint32_t peek(int nbits) const {
    if (nbits == 0) return 0;
    const uint64_t byte = pos_ >> 3;
    uint64_t word = 0;
    if (byte + 8 <= size_) {
      std::memcpy(&word, data_ + byte, 8);
    } else {
      for (uint64_t i = byte; i < size_; ++i) word |= static_cast<uint64_t>(data_[i]) << (8 * (i - byte));
    }
    word >>= (pos_ & 7);  // at most 7: 57 valid bits remain, enough for 32
    return static_cast<uint32_t>(word & ((uint64_t{1} << nbits) - 1));
  }
  // Consumes `nbits`; returns false and consumes nothing if fewer remain.
  bool skip(int nbits) {
    if (static_cast<uint64_t>(nbits) > bits_left()) return false;
    pos_ += nbits;
    return true;
  }
  bool read(int nbits, uint32_t* value) {
    if (static_cast<uint64_t>(nbits) > bits_left()) return false;
    *value = peek(nbits);
    pos_ += nbits;
    return true;
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t total_bits_;
  uint64_t pos_ = 0;
};

}  // namespace deepcomp::compress
