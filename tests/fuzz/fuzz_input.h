// A cursor over libFuzzer's input bytes for targets that build structured values (symbol streams,
// index codes, float tensors) rather than parse a file. Header-only; depends on nothing but the
// standard library, so that the GoogleTest replays in tests/reliability can include it too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace deepcomp::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  // Little-endian integer from the next sizeof(T) bytes; missing bytes read as zero.
  template <typename T>
  T take() {
    T value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      T byte = pos_ < size_ ? data_[pos_++] : 0;
      value |= static_cast<T>(byte << (8 * i));
    }
    return value;
  }
  // Up to n of the remaining bytes.
  std::string take_bytes(size_t n) {
    n = n < remaining() ? n : remaining();
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }
  std::string rest() { return take_bytes(remaining()); }
  size_t remaining() const { return size_ - pos_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace deepcomp::fuzz
