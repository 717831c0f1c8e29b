// Canonical, length-limited Huffman coding and fixed-width packing of symbol streams
// (SymbolStream in encoded_tensor.h), plus the Shannon entropy bound they are compared against.
//
// Code lengths: optimal among prefix codes whose lengths are <= max_len (package-merge).
// Canonical code (as in DEFLATE): symbols sorted by (length, symbol value) receive consecutive
// code values; the first code of length L is (last code of length L-1 + 1) << 1. A code is written
// most significant bit first into the LSB-first bit stream of bitstream.h, so a decoder reads one
// bit at a time and appends it at the right of the code it has so far.
// Stream layout: SymbolStream.bits holds the `count` codes back to back, the last byte padded with
// zero bits and no further bytes. Fixed-width streams hold `count` fields of fixed_bits bits each,
// symbol bit 0 first. A Huffman stream has code_lengths.size() == alphabet_size (0 = symbol unused)
// and fixed_bits == 0; a fixed-width stream has empty code_lengths.
//
// Depends on core/status.h and encoded_tensor.h only; no ONNX, no protobuf.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "compress/encoded_tensor.h"
#include "core/status.h"

namespace deepcomp::compress {

inline constexpr int kMaxHuffmanCodeLength = 16;
inline constexpr uint32_t kMaxAlphabetSize = 65536;

// Optimal code lengths with every length <= max_len (1..16) for the given symbol frequencies
// (one per symbol of the alphabet; 0 = unused symbol, gets length 0). A single used symbol gets
// length 1. Errors: max_len out of range, more used symbols than 2^max_len, alphabet > 65536, or a
// total frequency >= 2^58 (so package weights cannot overflow).
Result<std::vector<uint8_t>> huffman_code_lengths(std::span<const uint64_t> freqs,
                                                  int max_len = kMaxHuffmanCodeLength);

// Checks code lengths as a decoder must: alphabet <= 65536, every length <= 16, Kraft sum <= 1.
// (An incomplete code, Kraft sum < 1, is allowed: a lone symbol has length 1.)
Status validate_code_lengths(std::span<const uint8_t> lengths);

// Canonical code values (MSB-first, `lengths[s]` significant bits) for valid lengths; 0 for unused.
Result<std::vector<uint32_t>> canonical_codes(std::span<const uint8_t> lengths);

// Counts each symbol; error if a symbol is >= alphabet_size.
Result<std::vector<uint64_t>> symbol_frequencies(std::span<const uint32_t> symbols,
                                                 uint32_t alphabet_size);
Result<std::vector<uint64_t>> symbol_frequencies(std::span<const uint16_t> symbols,
                                                 uint32_t alphabet_size);

// Huffman-codes `symbols` (each < alphabet_size <= 65536). An empty input gives count 0, all
// lengths 0 and no bytes.
Result<SymbolStream> huffman_encode(std::span<const uint32_t> symbols, uint32_t alphabet_size,
                                    int max_len = kMaxHuffmanCodeLength);
Result<SymbolStream> huffman_encode(std::span<const uint16_t> symbols, uint32_t alphabet_size,
                                    int max_len = kMaxHuffmanCodeLength);

// Huffman-codes `symbols` with code lengths already computed (huffman_code_lengths of their
// frequencies; alphabet = lengths.size()), so a caller that needed the lengths to choose between
// Huffman and fixed width does not count the symbols twice. Errors: invalid lengths, or a symbol
// without a code.
Result<SymbolStream> huffman_encode_with_lengths(std::span<const uint16_t> symbols,
                                                 std::vector<uint8_t> lengths);

// Packs `symbols` in `bits` (1..16) bits each; needs alphabet_size <= 2^bits and symbols in range.
Result<SymbolStream> fixed_encode(std::span<const uint32_t> symbols, uint32_t alphabet_size,
                                  int bits);
Result<SymbolStream> fixed_encode(std::span<const uint16_t> symbols, uint32_t alphabet_size,
                                  int bits);

// The smallest width that holds every symbol of the alphabet (at least 1).
int bits_for_alphabet(uint32_t alphabet_size);

// Decodes either form into `out` (replaced). Rejects, with an error and without reading out of
// bounds: invalid code lengths, a length table whose size is not alphabet_size, fixed_bits outside
// 1..16 or too narrow for the alphabet, bit patterns that are no code, symbols >= alphabet_size,
// truncated bits, nonzero padding bits and trailing bytes.
Status decode_stream(const SymbolStream& stream, std::vector<uint32_t>* out);

// Shannon entropy of the distribution times the number of symbols, in bits: the lower bound for
// any symbol-by-symbol code of a stream with these frequencies.
double entropy_bits(std::span<const uint64_t> freqs);

}  // namespace deepcomp::compress
