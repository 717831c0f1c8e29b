#include "compress/bitstream.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace deepcomp::compress {
namespace {

TEST(BitStream, PacksLsbFirstWithinBytes) {
  BitWriter w;
  w.write(1, 1);      // bit 0 of byte 0
  w.write(0, 1);      // bit 1
  w.write(0b101, 3);  // bits 2..4: 1,0,1
  w.write(0x1FF, 9);  // bits 5..13
  EXPECT_EQ(w.bit_count(), 14u);
  const std::string bytes = w.finish();
  ASSERT_EQ(bytes.size(), 2u);
  // byte 0: bit0=1, bit1=0, bit2=1, bit3=0, bit4=1, bits5..7=1 -> 0b11110101
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 0xF5);
  // byte 1: bits 8..13 = 1 (six ones), padding 0 -> 0b00111111
  EXPECT_EQ(static_cast<uint8_t>(bytes[1]), 0x3F);
}

TEST(BitStream, RoundTripsRandomFieldWidths) {
  std::mt19937_64 rng(7);
  std::vector<std::pair<uint32_t, int>> fields;
  BitWriter w;
  for (int i = 0; i < 5000; ++i) {
    const int n = static_cast<int>(rng() % 33);
    const uint32_t v = n == 32 ? static_cast<uint32_t>(rng())
                               : static_cast<uint32_t>(rng()) & ((uint32_t{1} << n) - 1);
    fields.push_back({v, n});
    w.write(v, n);
  }
  const std::string bytes = w.finish();
  BitReader r(bytes);
  for (const auto& [v, n] : fields) {
    uint32_t got = 0;
    ASSERT_TRUE(r.read(n, &got));
    ASSERT_EQ(got, v);
  }
  EXPECT_LT(r.bits_left(), 8u);
}

TEST(BitStream, ReaderRefusesToReadPastTheEnd) {
  const std::string one_byte("\xAB", 1);
  BitReader r(one_byte);
  uint32_t v = 0;
  ASSERT_TRUE(r.read(5, &v));
  EXPECT_EQ(v, 0xABu & 0x1F);
  EXPECT_EQ(r.peek(8), 0xABu >> 5);  // bits past the end read as zero
  EXPECT_FALSE(r.read(4, &v));
  EXPECT_EQ(r.position(), 5u);  // a failed read consumes nothing
  EXPECT_TRUE(r.read(3, &v));
  EXPECT_FALSE(r.skip(1));
  BitReader empty{std::string_view()};
  EXPECT_EQ(empty.peek(16), 0u);
  EXPECT_FALSE(empty.read(1, &v));
}

}  // namespace
}  // namespace deepcomp::compress
