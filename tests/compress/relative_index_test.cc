#include "compress/relative_index.h"

#include <gtest/gtest.h>

#include <random>

namespace deepcomp::compress {
namespace {

// Paper-style example with 3-bit codes (max gap 7): nonzeros at 1, 4 and 15 (gap 11 -> a filler
// of 7 then a code of 4), and at 16.
TEST(RelativeIndex, EncodesHandWorkedExampleWithFiller) {
  const std::vector<int64_t> pos = {1, 4, 15, 16};
  const auto codes = encode_relative_index(pos, 3);
  EXPECT_EQ(codes, (std::vector<uint32_t>{2, 3, 0, 4, 1}));
  EXPECT_EQ(relative_index_code_count(pos, 3), 5u);
  std::vector<int64_t> back;
  ASSERT_TRUE(decode_relative_index(codes, 3, 17, 4, &back).ok());
  EXPECT_EQ(back, pos);
}

// A gap of exactly 2^b - 1 needs no filler; one more needs one.
TEST(RelativeIndex, GapEqualToMaxCodeNeedsNoFiller) {
  EXPECT_EQ(encode_relative_index(std::vector<int64_t>{6}, 3), (std::vector<uint32_t>{7}));
  EXPECT_EQ(encode_relative_index(std::vector<int64_t>{7}, 3), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(encode_relative_index(std::vector<int64_t>{0}, 1), (std::vector<uint32_t>{1}));
  EXPECT_EQ(encode_relative_index(std::vector<int64_t>{3}, 1),
            (std::vector<uint32_t>{0, 0, 0, 1}));
}

TEST(RelativeIndex, RoundTripsRandomPositionSets) {
  std::mt19937_64 rng(42);
  for (int bits : {1, 2, 3, 5, 8, 16}) {
    for (int trial = 0; trial < 40; ++trial) {
      const int64_t numel = 1 + static_cast<int64_t>(rng() % 200000);
      const double density = (trial % 4 == 0) ? 0.0005 : 0.1 * (trial % 5 + 1) / 5;
      std::vector<int64_t> pos;
      for (int64_t i = 0; i < numel; ++i) {
        if (static_cast<double>(rng() >> 11) * 0x1p-53 < density) pos.push_back(i);
      }
      if (trial % 3 == 0 && (pos.empty() || pos.front() != 0)) pos.insert(pos.begin(), 0);
      if (trial % 3 == 1 && pos.back() != numel - 1) pos.push_back(numel - 1);
      const auto codes = encode_relative_index(pos, bits);
      EXPECT_EQ(codes.size(), relative_index_code_count(pos, bits));
      for (uint32_t c : codes) ASSERT_LT(c, 1u << bits);
      std::vector<int64_t> back;
      const Status st = decode_relative_index(codes, bits, numel, pos.size(), &back);
      ASSERT_TRUE(st.ok()) << st.message();
      ASSERT_EQ(back, pos) << "bits " << bits << " numel " << numel;
    }
  }
}

TEST(RelativeIndex, EmptyPositionSetRoundTrips) {
  EXPECT_TRUE(encode_relative_index({}, 4).empty());
  std::vector<int64_t> back = {5};
  EXPECT_TRUE(decode_relative_index({}, 4, 10, 0, &back).ok());
  EXPECT_TRUE(back.empty());
}

TEST(RelativeIndex, RejectsMalformedCodes) {
  std::vector<int64_t> out;
  // code does not fit the width
  EXPECT_FALSE(decode_relative_index(std::vector<uint32_t>{8}, 3, 100, 1, &out).ok());
  // position beyond numel: cursor -1 + 7 = 6 >= 6
  EXPECT_FALSE(decode_relative_index(std::vector<uint32_t>{7}, 3, 6, 1, &out).ok());
  // nnz mismatch, both ways
  EXPECT_FALSE(decode_relative_index(std::vector<uint32_t>{1, 1}, 3, 10, 1, &out).ok());
  EXPECT_FALSE(decode_relative_index(std::vector<uint32_t>{1, 1}, 3, 10, 3, &out).ok());
  // trailing filler
  EXPECT_FALSE(decode_relative_index(std::vector<uint32_t>{1, 0}, 3, 100, 1, &out).ok());
  // filler running past the end: cursor -1 + 7 = 6, nothing can follow in 7 elements
  EXPECT_FALSE(decode_relative_index(std::vector<uint32_t>{0, 1}, 3, 7, 1, &out).ok());
  EXPECT_TRUE(decode_relative_index(std::vector<uint32_t>{0, 1}, 3, 8, 1, &out).ok());
  EXPECT_EQ(out, (std::vector<int64_t>{7}));
  // bad width, bad counts
  EXPECT_FALSE(decode_relative_index(std::vector<uint32_t>{1}, 0, 10, 1, &out).ok());
  EXPECT_FALSE(decode_relative_index(std::vector<uint32_t>{1}, 17, 10, 1, &out).ok());
  EXPECT_FALSE(decode_relative_index(std::vector<uint32_t>{1}, 3, 10, 11, &out).ok());
}

}  // namespace
}  // namespace deepcomp::compress
