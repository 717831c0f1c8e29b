// Helpers for the .dcz container tests: field-by-field comparison of Containers (bit-exact for
// floats), sample tensors of every encoding, and an independent writer of section framing that
// follows docs/FORMAT.md with zlib's crc32 (so tests can build files, valid or crafted to be
// wrong in one chosen field, without going through the code under test).
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "compress/container.h"

namespace deepcomp::compress::container_test {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline void expect_stream_eq(const SymbolStream& a, const SymbolStream& b,
                             const std::string& what) {
  EXPECT_EQ(a.alphabet_size, b.alphabet_size) << what;
  EXPECT_EQ(a.count, b.count) << what;
  EXPECT_EQ(a.fixed_bits, b.fixed_bits) << what;
  EXPECT_EQ(a.code_lengths, b.code_lengths) << what;
  EXPECT_EQ(a.bits, b.bits) << what;
}

inline void expect_tensor_eq(const EncodedTensor& a, const EncodedTensor& b) {
  const std::string& n = a.name;
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.shape, b.shape) << n;
  EXPECT_EQ(a.dtype, b.dtype) << n;
  EXPECT_EQ(a.role, b.role) << n;
  EXPECT_EQ(a.location.kind, b.location.kind) << n;
  EXPECT_EQ(a.location.graph_path, b.location.graph_path) << n;
  EXPECT_EQ(a.location.node, b.location.node) << n;
  EXPECT_EQ(a.location.attribute, b.location.attribute) << n;
  EXPECT_EQ(a.location.external_file, b.location.external_file) << n;
  EXPECT_EQ(a.location.external_offset, b.location.external_offset) << n;
  EXPECT_EQ(a.location.external_length, b.location.external_length) << n;
  EXPECT_EQ(a.location.raw_data, b.location.raw_data) << n;
  EXPECT_EQ(a.encoding, b.encoding) << n;
  EXPECT_EQ(a.raw, b.raw) << n;
  ASSERT_EQ(a.codebook.size(), b.codebook.size()) << n;
  for (size_t i = 0; i < a.codebook.size(); ++i)
    EXPECT_EQ(float_bits(a.codebook[i]), float_bits(b.codebook[i])) << n << " codebook " << i;
  EXPECT_EQ(a.index_bits, b.index_bits) << n;
  expect_stream_eq(a.index, b.index, n + " index");
  expect_stream_eq(a.clusters, b.clusters, n + " clusters");
}

inline void expect_container_eq(const Container& a, const Container& b) {
  EXPECT_EQ(a.header, b.header);
  EXPECT_EQ(a.skeleton, b.skeleton);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) expect_tensor_eq(a.tensors[i], b.tensors[i]);
}

inline std::string floats_le(const std::vector<float>& v) {
  std::string out;
  for (float f : v)
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(float_bits(f) >> (8 * i)));
  return out;
}

inline SymbolStream fixed_stream(uint32_t alphabet, uint64_t count, uint8_t bits) {
  SymbolStream s;
  s.alphabet_size = alphabet;
  s.count = count;
  s.fixed_bits = bits;
  // The container does not interpret the bits: any bytes of the right length will do.
  for (uint64_t i = 0; i < (count * bits + 7) / 8; ++i)
    s.bits.push_back(static_cast<char>(i * 37 + 11));
  return s;
}

inline SymbolStream huffman_stream(std::vector<uint8_t> lengths, uint64_t count) {
  SymbolStream s;
  s.alphabet_size = static_cast<uint32_t>(lengths.size());
  s.count = count;
  uint8_t max_len = 0;
  for (uint8_t l : lengths) max_len = std::max(max_len, l);
  s.code_lengths = std::move(lengths);
  for (uint64_t i = 0; i < (count * max_len + 7) / 8; ++i)
    s.bits.push_back(static_cast<char>(i * 13 + 5));
  return s;
}

// A 3x4 fc weight, kSparseShared, Huffman index and cluster streams.
inline EncodedTensor sparse_shared_tensor(const std::string& name) {
  EncodedTensor t;
  t.name = name;
  t.shape = {3, 4};
  t.role = TensorRole::kFcWeight;
  t.encoding = Encoding::kSparseShared;
  t.codebook = {-0.5f, 0.25f, 1.0f};
  t.index_bits = 2;
  t.index = huffman_stream({0, 1, 2, 2}, 5);
  t.clusters = huffman_stream({1, 2, 2}, 4);
  return t;
}

inline EncodedTensor lossless_tensor(const std::string& name, std::vector<float> values,
                                     std::vector<int64_t> shape) {
  EncodedTensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.role = TensorRole::kBias;
  t.encoding = Encoding::kLossless;
  t.raw = floats_le(values);
  return t;
}

// Independent framing per FORMAT.md: LEB128, sections with zlib CRC-32, the end marker.
inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
inline void put_string(std::string& out, const std::string& s) {
  put_varint(out, s.size());
  out += s;
}
inline uint32_t zlib_crc(const std::string& bytes) {
  return static_cast<uint32_t>(
      ::crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// Builds a whole file from section payloads (kind, payload), appending a correct end marker.
inline std::string build_file(const std::vector<std::pair<uint8_t, std::string>>& sections,
                              uint8_t major = 1, uint8_t minor = 0) {
  std::string file = std::string("DCZ\x1A", 4);
  file.push_back(static_cast<char>(major));
  file.push_back(static_cast<char>(minor));
  std::string chain_input = file;
  for (const auto& [kind, payload] : sections) {
    std::string s(1, static_cast<char>(kind));
    put_varint(s, payload.size());
    s += payload;
    const uint32_t crc = zlib_crc(s);
    put_u32(s, crc);
    put_u32(chain_input, crc);
    file += s;
  }
  std::string end;
  put_varint(end, sections.size());
  put_varint(end, file.size());
  put_u32(end, zlib_crc(chain_input));
  std::string s = "E";
  put_varint(s, end.size());
  s += end;
  put_u32(s, zlib_crc(s));
  return file + s;
}

// Header payload {producer "t", no metadata} and an empty stored skeleton.
inline std::vector<std::pair<uint8_t, std::string>> minimal_sections() {
  return {{'H', std::string("\x01t\x00", 3)}, {'G', std::string("\x00\x00", 2)}};
}

}  // namespace deepcomp::compress::container_test
