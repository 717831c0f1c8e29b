#include "compress/huffman.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <queue>
#include <random>

namespace deepcomp::compress {
namespace {

// Textbook Huffman (priority queue): the optimal total cost sum(f * len) is the sum of all merge
// weights. Independent of package-merge.
uint64_t optimal_huffman_cost(const std::vector<uint64_t>& freqs) {
  std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<>> q;
  for (uint64_t f : freqs) {
    if (f > 0) q.push(f);
  }
  if (q.size() == 1) return q.top();  // a lone symbol still takes one bit
  uint64_t cost = 0;
  while (q.size() > 1) {
    const uint64_t a = q.top();
    q.pop();
    const uint64_t b = q.top();
    q.pop();
    cost += a + b;
    q.push(a + b);
  }
  return cost;
}

uint64_t cost_of(const std::vector<uint64_t>& freqs, const std::vector<uint8_t>& lengths) {
  uint64_t c = 0;
  for (size_t s = 0; s < freqs.size(); ++s) c += freqs[s] * lengths[s];
  return c;
}

double kraft_sum(const std::vector<uint8_t>& lengths) {
  double k = 0;
  for (uint8_t l : lengths) {
    if (l) k += std::ldexp(1.0, -l);
  }
  return k;
}

std::vector<uint32_t> round_trip(const std::vector<uint32_t>& symbols, uint32_t alphabet) {
  auto enc = huffman_encode(symbols, alphabet);
  EXPECT_TRUE(enc.ok()) << enc.status().message();
  std::vector<uint32_t> out;
  const Status st = decode_stream(*enc, &out);
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

TEST(Huffman, HandWorkedCanonicalCode) {
  // Frequencies 8,4,2,2 give lengths 1,2,3,3 and canonical codes 0, 10, 110, 111.
  const std::vector<uint64_t> freqs = {8, 4, 2, 2};
  auto lengths = huffman_code_lengths(freqs, 16);
  ASSERT_TRUE(lengths.ok());
  EXPECT_EQ(*lengths, (std::vector<uint8_t>{1, 2, 3, 3}));
  auto codes = canonical_codes(*lengths);
  ASSERT_TRUE(codes.ok());
  EXPECT_EQ(*codes, (std::vector<uint32_t>{0b0, 0b10, 0b110, 0b111}));
  // "A B C D" = 0 10 110 111, first code bit first, LSB-first in bytes: 0xDA 0x01.
  std::vector<uint32_t> syms = {0, 1, 2, 3};
  std::vector<uint32_t> pad(8, 0);  // 8 more A's keep the frequencies 8,4,2,2-shaped
  auto enc = huffman_encode(syms, 4);
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(enc->code_lengths, (std::vector<uint8_t>{2, 2, 2, 2}));  // uniform here
  SymbolStream s;
  s.alphabet_size = 4;
  s.count = 4;
  s.code_lengths = {1, 2, 3, 3};
  s.bits = std::string("\xDA\x01", 2);
  std::vector<uint32_t> out;
  ASSERT_TRUE(decode_stream(s, &out).ok());
  EXPECT_EQ(out, syms);
}

TEST(Huffman, LengthsMatchTextbookHuffmanWhenLimitIsNotBinding) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = 1 + rng() % 300;
    std::vector<uint64_t> freqs(n);
    for (auto& f : freqs) f = (rng() % 4 == 0) ? 0 : 1 + rng() % (trial % 2 ? 1000 : 5);
    auto lengths = huffman_code_lengths(freqs, 16);
    ASSERT_TRUE(lengths.ok());
    for (size_t s = 0; s < n; ++s) ASSERT_EQ(freqs[s] == 0, (*lengths)[s] == 0);
    EXPECT_EQ(cost_of(freqs, *lengths), optimal_huffman_cost(freqs));
    EXPECT_LE(kraft_sum(*lengths), 1.0);
  }
}

TEST(Huffman, BindingLimitIsRespectedAndNoWorseThanAFlatCode) {
  // Fibonacci frequencies make the unlimited Huffman tree as deep as the alphabet.
  std::vector<uint64_t> fib = {1, 1};
  while (fib.size() < 40) fib.push_back(fib[fib.size() - 1] + fib[fib.size() - 2]);
  auto unlimited = huffman_code_lengths(fib, 16);
  ASSERT_TRUE(unlimited.ok());
  for (int limit : {6, 8, 12}) {
    auto lengths = huffman_code_lengths(fib, limit);
    ASSERT_TRUE(lengths.ok());
    for (uint8_t l : *lengths) {
      EXPECT_GE(l, 1);
      EXPECT_LE(l, limit);
    }
    EXPECT_LE(kraft_sum(*lengths), 1.0);
    EXPECT_GE(cost_of(fib, *lengths), optimal_huffman_cost(fib));
    EXPECT_LE(cost_of(fib, *lengths), cost_of(fib, std::vector<uint8_t>(40, 6)));
  }
  // Exactly 2^limit symbols forces a flat code.
  auto flat = huffman_code_lengths(std::vector<uint64_t>(16, 1) = {1, 2, 3, 4, 5, 6, 7, 8, 9,
                                                                    10, 11, 12, 13, 14, 15, 1000},
                                   4);
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(*flat, std::vector<uint8_t>(16, 4));
  EXPECT_FALSE(huffman_code_lengths(std::vector<uint64_t>(17, 1), 4).ok());
}

// Package-merge is optimal for the limit: compare with a brute force over all length vectors on
// tiny alphabets.
TEST(Huffman, LimitedLengthsAreOptimalAgainstBruteForce) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 60; ++trial) {
    const int n = 2 + static_cast<int>(rng() % 5);
    const int limit = 2 + static_cast<int>(rng() % 2);  // 2..3, binding for skewed inputs
    if (n > (1 << limit)) continue;
    std::vector<uint64_t> freqs(n);
    for (auto& f : freqs) f = 1 + rng() % 50;
    uint64_t best = UINT64_MAX;
    std::vector<uint8_t> l(n, 1);
    std::function<void(int)> rec = [&](int i) {
      if (i == n) {
        if (kraft_sum(l) <= 1.0) best = std::min(best, cost_of(freqs, l));
        return;
      }
      for (int v = 1; v <= limit; ++v) {
        l[i] = static_cast<uint8_t>(v);
        rec(i + 1);
      }
    };
    rec(0);
    auto lengths = huffman_code_lengths(freqs, limit);
    ASSERT_TRUE(lengths.ok());
    EXPECT_EQ(cost_of(freqs, *lengths), best);
  }
}

TEST(Huffman, RoundTripsUniformSkewedSingleDistinctAndEmptyStreams) {
  std::mt19937_64 rng(9);
  std::vector<uint32_t> uniform(10000), geometric(20000), single(777, 5), distinct(4096);
  for (auto& s : uniform) s = static_cast<uint32_t>(rng() % 32);
  for (auto& s : geometric) {
    uint32_t v = 0;
    while (v < 255 && (rng() & 1)) ++v;  // P(v) = 2^-(v+1): codes up to the 16-bit limit
    s = v;
  }
  for (size_t i = 0; i < distinct.size(); ++i) distinct[i] = static_cast<uint32_t>(i * 7 % 4096);
  EXPECT_EQ(round_trip(uniform, 32), uniform);
  EXPECT_EQ(round_trip(geometric, 256), geometric);
  EXPECT_EQ(round_trip(single, 8), single);
  EXPECT_EQ(round_trip(distinct, 4096), distinct);
  EXPECT_EQ(round_trip({}, 8), std::vector<uint32_t>());
  auto enc = huffman_encode(single, 8);
  EXPECT_EQ(enc->code_lengths[5], 1);
  EXPECT_EQ(enc->bits.size(), (777u + 7) / 8);
}

TEST(Huffman, SizeIsWithinOneBitPerSymbolOfEntropy) {
  std::mt19937_64 rng(1);
  std::vector<uint32_t> syms(50000);
  for (auto& s : syms) s = static_cast<uint32_t>(std::min<uint64_t>(rng() % 7 * (rng() % 5), 31));
  auto freqs = symbol_frequencies(syms, 32);
  auto enc = huffman_encode(syms, 32);
  const double h = entropy_bits(*freqs);
  const double bits = static_cast<double>(cost_of(*freqs, enc->code_lengths));
  EXPECT_GE(bits, h);
  EXPECT_LE(bits, h + syms.size());
  EXPECT_DOUBLE_EQ(entropy_bits(std::vector<uint64_t>{2, 2}), 4.0);
  EXPECT_DOUBLE_EQ(entropy_bits(std::vector<uint64_t>{0, 6}), 0.0);
}

TEST(Huffman, FixedWidthRoundTripsAndPacksExactly) {
  std::mt19937_64 rng(2);
  for (int bits = 1; bits <= 16; ++bits) {
    const uint32_t alphabet = (1u << bits) - (bits > 1 ? 1 : 0);
    std::vector<uint32_t> syms(1001);
    for (auto& s : syms) s = static_cast<uint32_t>(rng() % alphabet);
    auto enc = fixed_encode(syms, alphabet, bits);
    ASSERT_TRUE(enc.ok());
    EXPECT_EQ(enc->bits.size(), (1001u * bits + 7) / 8);
    std::vector<uint32_t> out;
    ASSERT_TRUE(decode_stream(*enc, &out).ok());
    EXPECT_EQ(out, syms);
  }
  EXPECT_FALSE(fixed_encode(std::vector<uint32_t>{4}, 4, 2).ok());  // symbol beyond alphabet
  EXPECT_FALSE(fixed_encode(std::vector<uint32_t>{1}, 5, 2).ok());  // alphabet too wide
  EXPECT_EQ(bits_for_alphabet(1), 1);
  EXPECT_EQ(bits_for_alphabet(32), 5);
  EXPECT_EQ(bits_for_alphabet(33), 6);
}

TEST(Huffman, RejectsInvalidCodeLengths) {
  SymbolStream s;
  s.alphabet_size = 3;
  s.count = 1;
  s.bits = std::string(1, '\0');
  std::vector<uint32_t> out;
  s.code_lengths = {1, 1, 1};  // Kraft 1.5
  EXPECT_FALSE(decode_stream(s, &out).ok());
  s.code_lengths = {17, 1, 0};
  EXPECT_FALSE(decode_stream(s, &out).ok());
  s.code_lengths = {1, 1};  // size differs from alphabet
  EXPECT_FALSE(decode_stream(s, &out).ok());
  s.code_lengths = {0, 0, 0};  // no codes but symbols to decode
  EXPECT_FALSE(decode_stream(s, &out).ok());
  s.code_lengths = {1, 1, 0};
  EXPECT_TRUE(decode_stream(s, &out).ok());
}

TEST(Huffman, RejectsTruncatedAndCorruptBits) {
  std::vector<uint32_t> syms(1000);
  for (size_t i = 0; i < syms.size(); ++i) syms[i] = static_cast<uint32_t>(i % 37 * (i % 3));
  auto enc = huffman_encode(syms, 80);
  ASSERT_TRUE(enc.ok());
  std::vector<uint32_t> out;
  SymbolStream cut = *enc;
  cut.bits.pop_back();
  EXPECT_FALSE(decode_stream(cut, &out).ok());
  cut.bits.clear();
  EXPECT_FALSE(decode_stream(cut, &out).ok());
  SymbolStream longer = *enc;
  longer.bits.push_back('\0');
  EXPECT_FALSE(decode_stream(longer, &out).ok());  // trailing byte
  SymbolStream huge = *enc;
  huge.count = uint64_t{1} << 60;  // must fail before allocating
  EXPECT_FALSE(decode_stream(huge, &out).ok());
  // A lone symbol has code "0"; a 1 bit is no code.
  SymbolStream lone;
  lone.alphabet_size = 2;
  lone.count = 3;
  lone.code_lengths = {0, 1};
  lone.bits = std::string(1, '\x02');
  EXPECT_FALSE(decode_stream(lone, &out).ok());
  lone.bits = std::string(1, '\x00');
  ASSERT_TRUE(decode_stream(lone, &out).ok());
  EXPECT_EQ(out, (std::vector<uint32_t>{1, 1, 1}));
  lone.bits = std::string(1, '\x08');  // padding bit set
  EXPECT_FALSE(decode_stream(lone, &out).ok());
}

TEST(Huffman, FixedStreamRejectsBadHeadersAndSymbols) {
  std::vector<uint32_t> out;
  SymbolStream s;
  s.alphabet_size = 3;
  s.count = 2;
  s.fixed_bits = 2;
  s.bits = std::string(1, '\x0E');  // symbols 2, 3: 3 is beyond the alphabet
  EXPECT_FALSE(decode_stream(s, &out).ok());
  s.bits = std::string(1, '\x06');  // 2, 1
  ASSERT_TRUE(decode_stream(s, &out).ok());
  EXPECT_EQ(out, (std::vector<uint32_t>{2, 1}));
  s.fixed_bits = 0;
  EXPECT_FALSE(decode_stream(s, &out).ok());
  s.fixed_bits = 17;
  EXPECT_FALSE(decode_stream(s, &out).ok());
  s.fixed_bits = 1;  // alphabet 3 does not fit 1 bit
  EXPECT_FALSE(decode_stream(s, &out).ok());
  s.fixed_bits = 8;
  s.count = 3;  // needs 3 bytes
  EXPECT_FALSE(decode_stream(s, &out).ok());
}

}  // namespace
}  // namespace deepcomp::compress
