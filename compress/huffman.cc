// Length-limited canonical Huffman coding (package-merge), fixed-width packing and decoding.
#include "compress/huffman.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <string>

#include "compress/bitstream.h"
#include "compress/parallel_blocks.h"

namespace deepcomp::compress {
namespace {

uint32_t reverse_bits(uint32_t code, int len) {
  uint32_t r = 0;
  for (int i = 0; i < len; ++i) r |= ((code >> i) & 1u) << (len - 1 - i);
  return r;
}

// The bit stream must end exactly at the byte holding its last used bit, padded with zeros, so that
// a corrupted count or a spliced stream does not go unnoticed.
Status check_stream_end(const BitReader& reader, size_t byte_size) {
  const uint64_t used_bytes = (reader.position() + 7) / 8;
  if (used_bytes != byte_size) {
    return Status::Error("symbol stream has " + std::to_string(byte_size - used_bytes) +
                         " trailing bytes after its last symbol");
  }
  const int pad = static_cast<int>(reader.bits_left());
  if (reader.peek(pad) != 0) return Status::Error("symbol stream has nonzero padding bits");
  return Status::Ok();
}

Status decode_fixed(const SymbolStream& s, std::vector<uint32_t>* out) {
  out->clear();
  if (s.count == 0) {
    if (!s.bits.empty()) return Status::Error("empty fixed-width stream has trailing bytes");
    return Status::Ok();
  }
  if (s.fixed_bits < 1 || s.fixed_bits > 16) {
    return Status::Error("fixed-width stream has fixed_bits " + std::to_string(s.fixed_bits) +
                         " (must be 1..16)");
  }
  if (s.alphabet_size == 0 || s.alphabet_size > (uint32_t{1} << s.fixed_bits)) {
    return Status::Error("fixed-width stream: alphabet size " + std::to_string(s.alphabet_size) +
                         " does not fit " + std::to_string(s.fixed_bits) + " bits");
  }
  // Check the size before multiplying or allocating: count comes from a file.
  if (s.count > static_cast<uint64_t>(s.bits.size()) * 8 / s.fixed_bits) {
    return Status::Error("fixed-width stream truncated: " + std::to_string(s.count) +
                         " symbols of " + std::to_string(s.fixed_bits) + " bits need more than " +
                         std::to_string(s.bits.size()) + " bytes");
  }
  out->resize(s.count);
  BitReader reader(s.bits);
  for (uint64_t i = 0; i < s.count; ++i) {
    uint32_t v = 0;
    reader.read(s.fixed_bits, &v);  // cannot fail: size checked above
    if (v >= s.alphabet_size) {
      return Status::Error("fixed-width stream: symbol " + std::to_string(v) + " at position " +
                           std::to_string(i) + " is beyond the alphabet size " +
                           std::to_string(s.alphabet_size));
    }
    (*out)[i] = v;
  }
  return check_stream_end(reader, s.bits.size());
}

// Table-driven canonical decoder: codes of up to kTableBits bits are found with one lookup of the
// next kTableBits bits; longer codes (and invalid patterns) fall back to the canonical bit-by-bit
// walk, which needs at most 16 steps.
class HuffmanDecoder {
 public:
  static constexpr int kTableBits = 11;

  explicit HuffmanDecoder(std::span<const uint8_t> lengths, std::span<const uint32_t> codes) {
    for (uint8_t l : lengths) max_len_ = std::max<int>(max_len_, l);
    table_bits_ = std::min(max_len_, kTableBits);
    table_.assign(size_t{1} << table_bits_, 0);
    std::array<uint32_t, 17> count{};
    for (uint8_t l : lengths) ++count[l];
    count[0] = 0;
    uint32_t code = 0, index = 0;
    for (int l = 1; l <= 16; ++l) {
      code = (code + count[l - 1]) << 1;
      first_code_[l] = code;
      first_index_[l] = index;
      count_[l] = count[l];
      index += count[l];
    }
    sorted_.resize(index);
    std::array<uint32_t, 17> fill = first_index_;
    for (uint32_t s = 0; s < lengths.size(); ++s) {
      const int l = lengths[s];
      if (l == 0) continue;
      sorted_[fill[l]++] = s;
      if (l <= table_bits_) {
        for (uint32_t i = reverse_bits(codes[s], l); i < table_.size(); i += 1u << l) {
          table_[i] = (s << 8) | static_cast<uint32_t>(l);
        }
      }
    }
  }

  Status decode(BitReader* reader, uint64_t count, std::vector<uint32_t>* out) const {
    for (uint64_t i = 0; i < count; ++i) {
      const uint32_t e = table_[reader->peek(table_bits_)];
      const int l = static_cast<int>(e & 0xFF);
      if (l != 0) {
        if (!reader->skip(l)) return truncated(i);
        (*out)[i] = e >> 8;
        continue;
      }
      uint32_t code = 0;
      bool found = false;
      for (int len = 1; len <= max_len_; ++len) {
        uint32_t bit = 0;
        if (!reader->read(1, &bit)) return truncated(i);
        code = (code << 1) | bit;
        if (code - first_code_[len] < count_[len]) {
          (*out)[i] = sorted_[first_index_[len] + (code - first_code_[len])];
          found = true;
          break;
        }
      }
      if (!found) {
        return Status::Error("Huffman stream: bits at symbol " + std::to_string(i) +
                             " are not a code of the table");
      }
    }
    return Status::Ok();
  }

 private:
  static Status truncated(uint64_t i) {
    return Status::Error("Huffman stream truncated at symbol " + std::to_string(i));
  }
  int max_len_ = 0;
  int table_bits_ = 0;
  std::vector<uint32_t> table_;  // (symbol << 8) | length, 0 = not a short code
  std::array<uint32_t, 17> first_code_{}, first_index_{}, count_{};
  std::vector<uint32_t> sorted_;  // symbols ordered by (length, value)
};

}  // namespace

Result<std::vector<uint8_t>> huffman_code_lengths(std::span<const uint64_t> freqs, int max_len) {
  if (freqs.size() > kMaxAlphabetSize) {
    return Status::Error("Huffman alphabet of " + std::to_string(freqs.size()) +
                         " symbols exceeds 65536");
  }
  if (max_len < 1 || max_len > kMaxHuffmanCodeLength) {
    return Status::Error("Huffman max code length " + std::to_string(max_len) + " not in 1..16");
  }
  constexpr uint64_t kMaxTotal = uint64_t{1} << 58;
  std::vector<uint32_t> used;
  uint64_t total = 0;
  for (uint32_t s = 0; s < freqs.size(); ++s) {
    if (freqs[s] == 0) continue;
    if (freqs[s] >= kMaxTotal - total) return Status::Error("Huffman frequencies sum to >= 2^58");
    total += freqs[s];
    used.push_back(s);
  }
  std::vector<uint8_t> lengths(freqs.size(), 0);
  const size_t n = used.size();
  if (n == 0) return lengths;
  if (n == 1) {
    lengths[used[0]] = 1;
    return lengths;
  }
  if (n > (size_t{1} << max_len)) {
    return Status::Error(std::to_string(n) + " used symbols cannot have codes of at most " +
                         std::to_string(max_len) + " bits");
  }
  std::stable_sort(used.begin(), used.end(),
                   [&](uint32_t a, uint32_t b) { return freqs[a] < freqs[b]; });

  // Package-merge (Larmore & Hirschberg): level 0 holds the leaves at depth max_len; each higher
  // level merges the leaves with pairs ("packages") of the level below. Taking the 2n-2 cheapest
  // items of the top level is optimal; a symbol's code length is the number of levels at which it
  // is selected. Because leaves enter every level in sorted order, the selected leaves of a level
  // are its c cheapest, and the selected packages are its first p, which select the first 2p items
  // of the level below: only the merge order (leaf or package) needs to be remembered.
  std::vector<std::vector<uint8_t>> is_package(max_len);
  std::vector<uint64_t> prev, cur;
  for (int level = 0; level < max_len; ++level) {
    cur.clear();
    std::vector<uint8_t>& kind = is_package[level];
    size_t li = 0, pi = 0;
    const size_t packages = prev.size() / 2;
    while (li < n || pi < packages) {
      const uint64_t pw = pi < packages ? prev[2 * pi] + prev[2 * pi + 1] : 0;
      if (li < n && (pi >= packages || freqs[used[li]] <= pw)) {
        cur.push_back(freqs[used[li++]]);
        kind.push_back(0);
      } else {
        cur.push_back(pw);
        kind.push_back(1);
        ++pi;
      }
    }
    prev.swap(cur);
  }
  size_t take = 2 * n - 2;
  for (int level = max_len - 1; level >= 0; --level) {
    size_t leaves = 0;
    for (size_t i = 0; i < take; ++i) leaves += is_package[level][i] == 0;
    for (size_t i = 0; i < leaves; ++i) ++lengths[used[i]];
    take = 2 * (take - leaves);
  }
  return lengths;
}

Status validate_code_lengths(std::span<const uint8_t> lengths) {
  if (lengths.size() > kMaxAlphabetSize) {
    return Status::Error("Huffman table has " + std::to_string(lengths.size()) +
                         " symbols (max 65536)");
  }
  uint64_t kraft = 0;  // in units of 2^-16
  for (size_t s = 0; s < lengths.size(); ++s) {
    if (lengths[s] > kMaxHuffmanCodeLength) {
      return Status::Error("Huffman code length " + std::to_string(lengths[s]) + " of symbol " +
                           std::to_string(s) + " exceeds 16");
    }
    if (lengths[s] > 0) kraft += uint64_t{1} << (kMaxHuffmanCodeLength - lengths[s]);
  }
  if (kraft > (uint64_t{1} << kMaxHuffmanCodeLength)) {
    return Status::Error("Huffman code lengths violate the Kraft inequality (oversubscribed)");
  }
  return Status::Ok();
}

Result<std::vector<uint32_t>> canonical_codes(std::span<const uint8_t> lengths) {
  DEEPCOMP_RETURN_IF_ERROR(validate_code_lengths(lengths));
  std::array<uint32_t, 17> count{}, next{};
  for (uint8_t l : lengths) ++count[l];
  count[0] = 0;
  uint32_t code = 0;
  for (int l = 1; l <= 16; ++l) {
    code = (code + count[l - 1]) << 1;
    next[l] = code;
  }
  std::vector<uint32_t> codes(lengths.size(), 0);
  for (size_t s = 0; s < lengths.size(); ++s) {
    if (lengths[s] != 0) codes[s] = next[lengths[s]]++;
  }
  return codes;
}

namespace {

// The position of the first symbol for which bad(symbol) holds, or symbols.size(); blocks are
// scanned in parallel and the lowest hit wins, so errors name the same symbol on any thread count.
template <typename Symbol, typename Bad>
size_t first_bad(std::span<const Symbol> symbols, const Bad& bad) {
  const size_t n = symbols.size();
  std::vector<size_t> first(parallel::block_count(n), n);
  parallel::for_each_block(n, [&](size_t b, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      if (bad(symbols[i])) {
        first[b] = i;
        return;
      }
    }
  });
  for (size_t f : first)
    if (f < n) return f;
  return n;
}

template <typename Symbol>
Status beyond_alphabet(std::span<const Symbol> symbols, uint32_t alphabet_size) {
  const size_t i = first_bad(symbols, [alphabet_size](Symbol s) { return s >= alphabet_size; });
  if (i == symbols.size()) return Status::Ok();
  return Status::Error("symbol " + std::to_string(symbols[i]) + " at position " +
                       std::to_string(i) + " is beyond the alphabet size " +
                       std::to_string(alphabet_size));
}

template <typename Symbol>
Result<std::vector<uint64_t>> frequencies_of(std::span<const Symbol> symbols,
                                             uint32_t alphabet_size) {
  if (alphabet_size > kMaxAlphabetSize) {
    return Status::Error("alphabet size " + std::to_string(alphabet_size) + " exceeds 65536");
  }
  DEEPCOMP_RETURN_IF_ERROR(beyond_alphabet(symbols, alphabet_size));
  std::vector<uint64_t> freqs(alphabet_size, 0);
  const int64_t blocks = static_cast<int64_t>(parallel::block_count(symbols.size()));
  // Counts per thread, added up at the end: integer sums, the same in any order.
#pragma omp parallel if (blocks > 1)
  {
    std::vector<uint64_t> local(alphabet_size, 0);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; ++b) {
      const size_t begin = static_cast<size_t>(b) * parallel::kBlock;
      const size_t end = std::min(symbols.size(), begin + parallel::kBlock);
      for (size_t i = begin; i < end; ++i) ++local[symbols[i]];
    }
#pragma omp critical
    for (uint32_t s = 0; s < alphabet_size; ++s) freqs[s] += local[s];
  }
  return freqs;
}

// Writes code[s] (length[s] bits, bit 0 first) for every symbol s, exactly as one BitWriter
// would, split across threads: each block's bit offset comes from the lengths of the blocks
// before it, a block writes the bytes only it touches, and the two bytes it may share with its
// neighbours (its first and its last) are ORed in afterwards.
template <typename Symbol>
std::string pack_codes(std::span<const Symbol> symbols, const std::vector<uint32_t>& code,
                       const std::vector<uint8_t>& length) {
  const size_t blocks = parallel::block_count(symbols.size());
  std::vector<uint64_t> bit_at(blocks + 1, 0);
  parallel::for_each_block(symbols.size(), [&](size_t b, size_t begin, size_t end) {
    uint64_t bits = 0;
    for (size_t i = begin; i < end; ++i) bits += length[symbols[i]];
    bit_at[b + 1] = bits;
  });
  for (size_t b = 0; b < blocks; ++b) bit_at[b + 1] += bit_at[b];
  std::string out(static_cast<size_t>((bit_at[blocks] + 7) / 8), '\0');
  struct Edge {
    size_t head_at = 0, tail_at = 0;
    uint8_t head = 0, tail = 0;
    bool has_tail = false;
  };
  std::vector<Edge> edges(blocks);
  parallel::for_each_block(symbols.size(), [&](size_t b, size_t begin, size_t end) {
    Edge& e = edges[b];
    size_t at = static_cast<size_t>(bit_at[b] / 8);
    e.head_at = at;
    uint64_t acc = 0;
    int filled = static_cast<int>(bit_at[b] % 8);
    for (size_t i = begin; i < end; ++i) {
      const Symbol s = symbols[i];
      acc |= static_cast<uint64_t>(code[s]) << filled;
      filled += length[s];
      while (filled >= 8) {
        const uint8_t byte = static_cast<uint8_t>(acc & 0xFF);
        if (at == e.head_at)
          e.head = byte;
        else
          out[at] = static_cast<char>(byte);
        ++at;
        acc >>= 8;
        filled -= 8;
      }
    }
    if (filled > 0) {
      e.has_tail = true;
      e.tail_at = at;
      e.tail = static_cast<uint8_t>(acc & 0xFF);
    }
  });
  for (const Edge& e : edges) {
    if (e.head_at < out.size()) out[e.head_at] = static_cast<char>(out[e.head_at] | e.head);
    if (e.has_tail) out[e.tail_at] = static_cast<char>(out[e.tail_at] | e.tail);
  }
  return out;
}

// Symbols must be below lengths.size() (checked by the callers).
template <typename Symbol>
Result<SymbolStream> encode_with(std::span<const Symbol> symbols, std::vector<uint8_t> lengths) {
  const uint32_t alphabet_size = static_cast<uint32_t>(lengths.size());
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<uint32_t> codes, canonical_codes(lengths));
  // Writing the reversed code LSB-first puts the code's most significant bit first in the stream.
  std::vector<uint32_t> reversed(alphabet_size);
  for (uint32_t s = 0; s < alphabet_size; ++s) reversed[s] = reverse_bits(codes[s], lengths[s]);
  SymbolStream out;
  out.alphabet_size = alphabet_size;
  out.count = symbols.size();
  out.fixed_bits = 0;
  out.bits = pack_codes(symbols, reversed, lengths);
  out.code_lengths = std::move(lengths);
  return out;
}

template <typename Symbol>
Result<SymbolStream> huffman_encode_impl(std::span<const Symbol> symbols, uint32_t alphabet_size,
                                         int max_len) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<uint64_t> freqs, frequencies_of(symbols, alphabet_size));
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<uint8_t> lengths, huffman_code_lengths(freqs, max_len));
  return encode_with(symbols, std::move(lengths));
}

template <typename Symbol>
Result<SymbolStream> fixed_encode_impl(std::span<const Symbol> symbols, uint32_t alphabet_size,
                                       int bits) {
  if (bits < 1 || bits > 16) {
    return Status::Error("fixed-width symbol size " + std::to_string(bits) + " not in 1..16");
  }
  if (alphabet_size > (uint32_t{1} << bits)) {
    return Status::Error("alphabet size " + std::to_string(alphabet_size) + " does not fit " +
                         std::to_string(bits) + " bits");
  }
  DEEPCOMP_RETURN_IF_ERROR(beyond_alphabet(symbols, alphabet_size));
  std::vector<uint32_t> code(alphabet_size);
  for (uint32_t s = 0; s < alphabet_size; ++s) code[s] = s;
  const std::vector<uint8_t> length(alphabet_size, static_cast<uint8_t>(bits));
  SymbolStream out;
  out.alphabet_size = alphabet_size;
  out.count = symbols.size();
  out.fixed_bits = static_cast<uint8_t>(bits);
  out.bits = pack_codes(symbols, code, length);
  return out;
}

}  // namespace

Result<std::vector<uint64_t>> symbol_frequencies(std::span<const uint32_t> symbols,
                                                 uint32_t alphabet_size) {
  return frequencies_of(symbols, alphabet_size);
}

Result<std::vector<uint64_t>> symbol_frequencies(std::span<const uint16_t> symbols,
                                                 uint32_t alphabet_size) {
  return frequencies_of(symbols, alphabet_size);
}

Result<SymbolStream> huffman_encode(std::span<const uint32_t> symbols, uint32_t alphabet_size,
                                    int max_len) {
  return huffman_encode_impl(symbols, alphabet_size, max_len);
}

Result<SymbolStream> huffman_encode(std::span<const uint16_t> symbols, uint32_t alphabet_size,
                                    int max_len) {
  return huffman_encode_impl(symbols, alphabet_size, max_len);
}

Result<SymbolStream> huffman_encode_with_lengths(std::span<const uint16_t> symbols,
                                                 std::vector<uint8_t> lengths) {
  DEEPCOMP_RETURN_IF_ERROR(validate_code_lengths(lengths));
  const size_t i =
      first_bad(symbols, [&lengths](uint16_t s) { return s >= lengths.size() || lengths[s] == 0; });
  if (i < symbols.size()) {
    return Status::Error("symbol " + std::to_string(symbols[i]) + " at position " +
                         std::to_string(i) + " has no code");
  }
  return encode_with(symbols, std::move(lengths));
}

int bits_for_alphabet(uint32_t alphabet_size) {
  int bits = 1;
  while (bits < 32 && (uint64_t{1} << bits) < alphabet_size) ++bits;
  return bits;
}

Result<SymbolStream> fixed_encode(std::span<const uint32_t> symbols, uint32_t alphabet_size,
                                  int bits) {
  return fixed_encode_impl(symbols, alphabet_size, bits);
}

Result<SymbolStream> fixed_encode(std::span<const uint16_t> symbols, uint32_t alphabet_size,
                                  int bits) {
  return fixed_encode_impl(symbols, alphabet_size, bits);
}

Status decode_stream(const SymbolStream& s, std::vector<uint32_t>* out) {
  if (s.code_lengths.empty()) return decode_fixed(s, out);
  out->clear();
  if (s.alphabet_size > kMaxAlphabetSize || s.code_lengths.size() != s.alphabet_size) {
    return Status::Error("Huffman stream has " + std::to_string(s.code_lengths.size()) +
                         " code lengths for an alphabet of " + std::to_string(s.alphabet_size));
  }
  DEEPCOMP_RETURN_IF_ERROR(validate_code_lengths(s.code_lengths));
  if (s.count == 0) {
    if (!s.bits.empty()) return Status::Error("empty Huffman stream has trailing bytes");
    return Status::Ok();
  }
  if (std::all_of(s.code_lengths.begin(), s.code_lengths.end(), [](uint8_t l) { return l == 0; })) {
    return Status::Error("Huffman stream of " + std::to_string(s.count) + " symbols has no codes");
  }
  // Every code takes at least one bit: bound count before allocating.
  if (s.count > static_cast<uint64_t>(s.bits.size()) * 8) {
    return Status::Error("Huffman stream truncated: " + std::to_string(s.count) +
                         " symbols cannot fit in " + std::to_string(s.bits.size()) + " bytes");
  }
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<uint32_t> codes, canonical_codes(s.code_lengths));
  const HuffmanDecoder decoder(s.code_lengths, codes);
  out->resize(s.count);
  BitReader reader(s.bits);
  Status st = decoder.decode(&reader, s.count, out);
  if (!st.ok()) {
    out->clear();
    return st;
  }
  return check_stream_end(reader, s.bits.size());
}

double entropy_bits(std::span<const uint64_t> freqs) {
  double total = 0;
  for (uint64_t f : freqs) total += static_cast<double>(f);
  if (total == 0) return 0;
  double bits = 0;
  for (uint64_t f : freqs) {
    if (f > 0) bits += static_cast<double>(f) * std::log2(total / static_cast<double>(f));
  }
  return bits;
}

}  // namespace deepcomp::compress
