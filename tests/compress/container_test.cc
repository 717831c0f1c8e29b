// The .dcz container: exact round trips of every field, the byte layout of docs/FORMAT.md built
// by hand, determinism, section listing and file I/O. Damage handling is in
// container_damage_test.cc.
#include "compress/container.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "container_test_util.h"
#include "tests/test_util.h"

namespace deepcomp::compress {
namespace {

using namespace container_test;  // NOLINT: the container test helpers

Container every_kind_container() {
  Container c;
  c.header.producer = "deepcomp 0.1.0";
  c.header.metadata = {{"prune", "0.9"}, {"bits", "5"}, {"prune", "repeated keys stay"}, {"", ""}};
  c.skeleton = std::string("\x08\x07\x12\x00graph", 10);

  c.tensors.push_back(sparse_shared_tensor("fc1.weight"));

  EncodedTensor dense;  // kSharedDense, fixed-width clusters, awkward floats kept bit-exact
  dense.name = "conv1.weight";
  dense.shape = {2, 1, 3, 3};
  dense.dtype = DType::kFloat16;
  dense.role = TensorRole::kConvWeight;
  dense.encoding = Encoding::kSharedDense;
  dense.codebook = {-0.0f, std::numeric_limits<float>::denorm_min(),
                    std::numeric_limits<float>::quiet_NaN(), -INFINITY, 3.5f};
  dense.clusters = fixed_stream(5, 18, 3);
  dense.location.kind = LocationKind::kConstantNode;
  dense.location.node = "const_7";
  dense.location.attribute = "value";
  dense.location.graph_path = "loop/body/inner_if/else_branch";
  c.tensors.push_back(dense);

  EncodedTensor sparse_float;  // kSparseFloat, fixed index, external data with a length
  sparse_float.name = "emb";
  sparse_float.shape = {100, 8};
  sparse_float.dtype = DType::kBFloat16;
  sparse_float.role = TensorRole::kEmbedding;
  sparse_float.encoding = Encoding::kSparseFloat;
  sparse_float.index_bits = 8;
  sparse_float.index = fixed_stream(256, 40, 8);
  sparse_float.raw = floats_le({1.5f, -2.0f, 0.125f});
  sparse_float.location.external_file = "weights.bin";
  sparse_float.location.external_offset = 4096;
  sparse_float.location.external_length = 3200;
  sparse_float.location.raw_data = false;
  c.tensors.push_back(sparse_float);

  EncodedTensor ext_to_end = lossless_tensor("ext", {1, 2, 3, 4}, {4});
  ext_to_end.location.external_file = "data/w.bin";  // length -1: to the end of the file
  ext_to_end.location.external_offset = 0;
  c.tensors.push_back(ext_to_end);

  EncodedTensor offset_only = lossless_tensor("odd_location", {7}, {1});
  offset_only.location.external_offset = 12;  // no file name: kept exactly anyway
  offset_only.location.node = "n";            // node on an initializer: kept exactly anyway
  c.tensors.push_back(offset_only);

  EncodedTensor ints;  // lossless non-float dtype, compressible (zstd path)
  ints.name = "shape_const";
  ints.shape = {512};
  ints.dtype = DType::kInt64;
  ints.role = TensorRole::kOther;
  ints.encoding = Encoding::kLossless;
  ints.raw.assign(512 * 8, '\0');
  for (int i = 0; i < 512; ++i) ints.raw[8 * i] = static_cast<char>(i % 7);
  c.tensors.push_back(ints);

  c.tensors.push_back(lossless_tensor("empty", {}, {3, 0, 5}));
  c.tensors.push_back(lossless_tensor("scalar", {0.75f}, {}));

  EncodedTensor empty_sparse = sparse_shared_tensor("empty_sparse");
  empty_sparse.shape = {0, 4};
  empty_sparse.index = SymbolStream();
  empty_sparse.clusters = SymbolStream();
  empty_sparse.codebook = {};
  c.tensors.push_back(empty_sparse);

  EncodedTensor scalar_shared;
  scalar_shared.name = "scalar_shared";
  scalar_shared.encoding = Encoding::kSharedDense;
  scalar_shared.codebook = {2.0f};
  scalar_shared.clusters = huffman_stream({1}, 1);
  scalar_shared.role = TensorRole::kOther;
  c.tensors.push_back(scalar_shared);

  EncodedTensor wide;  // a 16-bit alphabet: 65536 code lengths of 16 (Kraft sum exactly 1)
  wide.name = "wide_index";
  wide.shape = {1 << 20};
  wide.encoding = Encoding::kSparseShared;
  wide.index_bits = 16;
  wide.index = huffman_stream(std::vector<uint8_t>(65536, 16), 1000);
  wide.codebook = {1.0f, 2.0f};
  wide.clusters = fixed_stream(2, 1000, 1);
  c.tensors.push_back(wide);
  return c;
}

TEST(Container, RoundTripKeepsEveryFieldOfEveryEncoding) {
  const Container c = every_kind_container();
  Result<std::string> bytes = serialize_container(c);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  Result<Container> back = parse_container(*bytes, "x.dcz");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->header.version, kFormatVersion);
  expect_container_eq(c, *back);
}

TEST(Container, RoundTripOfEmptyAndLargeSkeletons) {
  std::mt19937 rng(7);
  std::string large;
  // 3 MB: repetitive enough for zstd, random enough not to be trivial.
  while (large.size() < (3u << 20)) large += "node_" + std::to_string(rng() % 5000) + ";";
  for (const std::string& skeleton : {std::string(), large, std::string("\x00", 1)}) {
    Container c;
    c.skeleton = skeleton;
    Result<std::string> bytes = serialize_container(c);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    if (skeleton.size() > 1000) {
      EXPECT_LT(bytes->size(), skeleton.size() / 2);
    }
    Result<Container> back = parse_container(*bytes, "s.dcz");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_TRUE(back->skeleton == skeleton);
    EXPECT_TRUE(back->tensors.empty());
  }
}

TEST(Container, SerializingTwiceGivesIdenticalBytes) {
  const Container c = every_kind_container();
  Result<std::string> a = serialize_container(c);
  Result<std::string> b = serialize_container(c);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(*a == *b);
  Result<Container> back = parse_container(*a, "x.dcz");
  ASSERT_TRUE(back.ok());
  Result<std::string> again = serialize_container(*back);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again == *a);
}

// Three tensors covering a Huffman stream, a constant-node location with a lossless scalar and an
// external location with a fixed-width stream, written byte by byte as FORMAT.md describes them.
TEST(Container, TinyContainerMatchesTheBytesOfFormatMd) {
  Container c;
  c.header.producer = "dc";
  c.header.metadata = {{"k", "v"}};
  EncodedTensor w;
  w.name = "w";
  w.shape = {3};
  w.role = TensorRole::kFcWeight;
  w.encoding = Encoding::kSharedDense;
  w.codebook = {1.0f, -2.0f};
  w.clusters.alphabet_size = 2;
  w.clusters.count = 3;
  w.clusters.code_lengths = {1, 1};
  w.clusters.bits = "\x05";
  c.tensors.push_back(w);
  EncodedTensor b = lossless_tensor("b", {0.5f}, {});
  b.location.kind = LocationKind::kConstantNode;
  b.location.node = "c";
  b.location.attribute = "value";
  b.location.raw_data = false;
  c.tensors.push_back(b);
  EncodedTensor s;
  s.name = "s";
  s.shape = {4};
  s.role = TensorRole::kConvWeight;
  s.encoding = Encoding::kSparseFloat;
  s.index_bits = 2;
  s.index.alphabet_size = 4;
  s.index.count = 2;
  s.index.fixed_bits = 2;
  s.index.bits = "\x09";
  s.raw = floats_le({1.5f, -0.25f});
  s.location.external_file = "x.bin";
  s.location.external_offset = 16;
  c.tensors.push_back(s);

  auto bytes_of = [](std::initializer_list<int> v) {
    std::string out;
    for (int x : v) out.push_back(static_cast<char>(x));
    return out;
  };
  std::string expected = bytes_of({'D', 'C', 'Z', 0x1A, 0x01, 0x00});
  std::string chain_input = expected;
  auto section = [&](char kind, const std::string& payload) {
    ASSERT_LT(payload.size(), 128u);  // one-byte varint length
    std::string sec = std::string(1, kind) + static_cast<char>(payload.size()) + payload;
    const uint32_t crc = zlib_crc(sec);
    put_u32(sec, crc);
    put_u32(chain_input, crc);
    expected += sec;
  };
  // clang-format off
  section('H', bytes_of({0x02, 'd', 'c', 0x01, 0x01, 'k', 0x01, 'v'}));
  section('G', bytes_of({0x00, 0x00}));
  section('T', bytes_of({0x01, 'w', 0x01, 0x01, 0x01, 0x03,      // name, dtype, role, rank, dim
                         0x02, 0x00,                             // flags raw_data, graph ""
                         0x01,                                   // shared-dense
                         0x02, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0,  // codebook
                         0x02, 0x03, 0x00, 0x01, 0x03,           // alphabet, count, fixed_bits,
                                                                 // width 1, lengths 0b11
                         0x01, 0x05}));                          // bits: 1 byte
  section('T', bytes_of({0x01, 'b', 0x01, 0x03, 0x00,            // bias, rank 0
                         0x09, 0x00, 0x01, 'c', 0x05, 'v', 'a', 'l', 'u', 'e',  // constant node
                         0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x3F}));  // lossless, stored blob
  section('T', bytes_of({0x01, 's', 0x01, 0x00, 0x01, 0x04,      // conv, rank 1, dim 4
                         0x06, 0x00, 0x05, 'x', '.', 'b', 'i', 'n', 0x10, 0x00,  // external
                         0x03, 0x02,                             // sparse-float, index_bits
                         0x04, 0x02, 0x02, 0x00, 0x01, 0x09,     // fixed index stream
                         0x00, 0x08, 0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x80, 0xBE}));  // values
  // clang-format on
  std::string end = bytes_of({0x05, static_cast<int>(expected.size())});
  ASSERT_LT(expected.size(), 128u);
  put_u32(end, zlib_crc(chain_input));
  std::string end_section = "E" + std::string(1, static_cast<char>(end.size())) + end;
  put_u32(end_section, zlib_crc(end_section));
  expected += end_section;

  Result<std::string> bytes = serialize_container(c);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  EXPECT_EQ(::testing::PrintToString(*bytes), ::testing::PrintToString(expected));
  Result<Container> back = parse_container(expected, "tiny.dcz");
  ASSERT_TRUE(back.ok()) << back.status().message();
  expect_container_eq(c, *back);
}

// The example of FORMAT.md section 5, CRCs included, copied from the document.
TEST(Container, FormatMdExampleIsByteExact) {
  const std::vector<int> doc = {
      0x44, 0x43, 0x5A, 0x1A, 0x01, 0x00,  // preamble
      0x48, 0x08, 0x02, 0x64, 0x63, 0x01, 0x01, 0x6B, 0x01, 0x76, 0x19, 0x10, 0xA0, 0x07,  // H
      0x47, 0x02, 0x00, 0x00, 0xF6, 0x6B, 0x03, 0x24,                                      // G
      0x54, 0x19, 0x01, 0x77, 0x01, 0x01, 0x01, 0x03, 0x02, 0x00, 0x01,                    // T
      0x02, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x02, 0x03, 0x00, 0x01, 0x03,
      0x01, 0x05, 0xDF, 0x29, 0x13, 0x1A, 0x45, 0x06, 0x03, 0x3B, 0x72, 0xC1, 0x52, 0x7F,
      0xF8, 0x1A, 0x86, 0x2E};  // E
  std::string expected;
  for (int b : doc) expected.push_back(static_cast<char>(b));
  ASSERT_EQ(expected.size(), 71u);
  Container c;
  c.header.producer = "dc";
  c.header.metadata = {{"k", "v"}};
  EncodedTensor w;
  w.name = "w";
  w.shape = {3};
  w.role = TensorRole::kFcWeight;
  w.encoding = Encoding::kSharedDense;
  w.codebook = {1.0f, -2.0f};
  w.clusters.alphabet_size = 2;
  w.clusters.count = 3;
  w.clusters.code_lengths = {1, 1};
  w.clusters.bits = "\x05";
  c.tensors.push_back(w);
  Result<std::string> bytes = serialize_container(c);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  EXPECT_EQ(::testing::PrintToString(*bytes), ::testing::PrintToString(expected));
  Result<Container> back = parse_container(expected, "example.dcz");
  ASSERT_TRUE(back.ok()) << back.status().message();
  expect_container_eq(c, *back);
}

TEST(Container, ListSectionsCoversTheFileInOrder) {
  const Container c = every_kind_container();
  Result<std::string> bytes = serialize_container(c);
  ASSERT_TRUE(bytes.ok());
  Result<std::vector<SectionInfo>> sections = list_sections(*bytes, "x.dcz");
  ASSERT_TRUE(sections.ok()) << sections.status().message();
  ASSERT_EQ(sections->size(), c.tensors.size() + 3);
  EXPECT_EQ((*sections)[0].kind, "header");
  EXPECT_EQ((*sections)[1].kind, "skeleton");
  EXPECT_EQ(sections->back().kind, "end");
  uint64_t pos = kPreambleSize;
  for (size_t i = 0; i < sections->size(); ++i) {
    const SectionInfo& s = (*sections)[i];
    EXPECT_EQ(s.offset, pos) << i;
    pos += s.length;
    if (i >= 2 && i < sections->size() - 1) {
      EXPECT_EQ(s.kind, "tensor");
      EXPECT_EQ(s.tensor, c.tensors[i - 2].name);
    } else {
      EXPECT_EQ(s.tensor, "");
    }
  }
  EXPECT_EQ(pos, bytes->size());
}

TEST(Container, SmallTensorOverheadIsTensOfBytes) {
  // A 10-float bias stored losslessly: 40 data bytes plus name, framing and fields.
  Container c;
  std::vector<float> bias;
  for (int i = 0; i < 10; ++i) bias.push_back(0.1f + 0.37f * static_cast<float>(i * i));
  c.tensors.push_back(lossless_tensor("fc3.bias", bias, {10}));
  Result<std::string> with = serialize_container(c);
  c.tensors.clear();
  Result<std::string> without = serialize_container(c);
  ASSERT_TRUE(with.ok() && without.ok());
  const long overhead = static_cast<long>(with->size() - without->size()) - 40;
  EXPECT_LE(overhead, 30) << "per-tensor overhead " << overhead;
}

TEST(Container, WriteAndReadAFile) {
  const std::string path = deepcomp::testing::temp_dir() + "/m.dcz";
  const Container c = every_kind_container();
  ASSERT_TRUE(write_container(c, path, {}).ok());
  Result<Container> back = read_container(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  expect_container_eq(c, *back);
  // An existing output is refused without force, and replaced with it.
  EXPECT_FALSE(write_container(c, path, {}).ok());
  WriteOptions force;
  force.force = true;
  EXPECT_TRUE(write_container(Container(), path, force).ok());
  Result<Container> empty = read_container(path);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->tensors.empty());
  EXPECT_TRUE(looks_like_container(deepcomp::testing::read_text(path).substr(0, 4)));
}

TEST(Container, WriterRejectsInconsistentTensorsNamingThem) {
  struct Case {
    const char* what;
    void (*damage)(EncodedTensor&);
  };
  const Case cases[] = {
      {"count", [](EncodedTensor& t) { t.clusters.count = 6; }},  // > index count 5
      {"index_bits", [](EncodedTensor& t) { t.index_bits = 17; }},
      {"over-subscribed",
       [](EncodedTensor& t) {
         t.index.code_lengths = {1, 1, 1, 0};
       }},
      {"code lengths", [](EncodedTensor& t) { t.clusters.code_lengths.push_back(3); }},
      {"too short", [](EncodedTensor& t) { t.index.bits.clear(); }},
      {"negative", [](EncodedTensor& t) { t.shape[0] = -1; }},
      {"float dtype", [](EncodedTensor& t) { t.dtype = DType::kInt32; }},
      {"unknown dtype", [](EncodedTensor& t) { t.dtype = static_cast<DType>(99); }},
      {"codebook", [](EncodedTensor& t) { t.codebook.clear(); }},
  };
  for (const Case& k : cases) {
    Container c;
    c.tensors.push_back(sparse_shared_tensor("fc9.weight"));
    k.damage(c.tensors[0]);
    Result<std::string> bytes = serialize_container(c);
    ASSERT_FALSE(bytes.ok()) << k.what;
    EXPECT_NE(bytes.status().message().find("tensor 'fc9.weight'"), std::string::npos)
        << bytes.status().message();
    EXPECT_NE(bytes.status().message().find(k.what), std::string::npos) << bytes.status().message();
  }
  Container dup;
  dup.tensors = {lossless_tensor("a", {1}, {1}), lossless_tensor("a", {2}, {1})};
  EXPECT_FALSE(serialize_container(dup).ok());
  Container lossless_size;
  lossless_size.tensors = {lossless_tensor("a", {1, 2}, {3})};
  EXPECT_FALSE(serialize_container(lossless_size).ok());
}

}  // namespace
}  // namespace deepcomp::compress
