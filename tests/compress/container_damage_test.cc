// The .dcz reader on damaged and hostile input: every truncation, every single-bit flip, wrong
// magic and versions, lengths and counts that point past the data. Each must give an error that
// names the file (and the section where known), never a crash or a huge allocation.
#include <gtest/gtest.h>

#include <random>

#include "compress/container.h"
#include "container_test_util.h"

namespace deepcomp::compress {
namespace {

using namespace container_test;  // NOLINT: the container test helpers

std::string small_file() {
  Container c;
  c.header.producer = "p";
  c.header.metadata = {{"bits", "2"}};
  c.skeleton = "graph";
  c.tensors.push_back(sparse_shared_tensor("fc1.weight"));
  c.tensors.push_back(lossless_tensor("fc1.bias", {0.5f, -1.0f}, {2}));
  Result<std::string> bytes = serialize_container(c);
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? *bytes : std::string();
}

Status parse_status(const std::string& bytes, const ReadLimits& limits = {}) {
  Result<Container> r = parse_container(bytes, "d.dcz", limits);
  return r.ok() ? Status::Ok() : r.status();
}

void expect_error(const std::string& bytes, const std::string& needle,
                  const ReadLimits& limits = {}) {
  const Status st = parse_status(bytes, limits);
  ASSERT_FALSE(st.ok()) << "expected an error containing '" << needle << "'";
  EXPECT_EQ(st.message().rfind("d.dcz: ", 0), 0u) << st.message();
  EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
}

TEST(ContainerDamage, TruncationAtEveryOffsetIsAnError) {
  const std::string file = small_file();
  ASSERT_GT(file.size(), 50u);
  for (size_t n = 0; n < file.size(); ++n) {
    const Status st = parse_status(file.substr(0, n));
    EXPECT_FALSE(st.ok()) << "truncated to " << n << " bytes";
    EXPECT_EQ(st.message().rfind("d.dcz: ", 0), 0u) << st.message();
    EXPECT_FALSE(list_sections(file.substr(0, n), "d.dcz").ok());
  }
  EXPECT_TRUE(parse_status(file).ok());
}

// CRC-32 detects every single-bit error in a section; the preamble is covered by the magic, the
// version check and the end marker's chained CRC. So no flip anywhere may go unnoticed.
TEST(ContainerDamage, EverySingleBitFlipIsDetected) {
  const std::string file = small_file();
  for (size_t i = 0; i < file.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = file;
      damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
      EXPECT_FALSE(parse_status(damaged).ok()) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(ContainerDamage, ChecksumMismatchNamesTheTensor) {
  const std::string file = small_file();
  const size_t at = file.find("fc1.weight") + 14;  // inside that tensor's payload
  std::string damaged = file;
  damaged[at] = static_cast<char>(damaged[at] ^ 0x40);
  expect_error(damaged, "section 'fc1.weight' (tensor #2 at offset ");
  expect_error(damaged, "checksum mismatch");
}

TEST(ContainerDamage, BadMagicAndVersions) {
  const std::string file = small_file();
  expect_error("PK\x03\x04 not a dcz", "not a .dcz file");
  expect_error("", "not a .dcz file");
  EXPECT_FALSE(looks_like_container("DCZ"));
  EXPECT_TRUE(looks_like_container(file));
  EXPECT_FALSE(looks_like_container("\x08\x07\x12\x00"));

  std::string newer = file;
  newer[4] = 2;
  expect_error(newer, ".dcz version 2.0 is newer than this deepcomp supports (1.0)");
  std::string zero = file;
  zero[4] = 0;
  expect_error(zero, "unknown .dcz version 0.0");
  // A newer minor of a known major reads (its additions are skippable), if its bytes are intact.
  const std::string minor = build_file(minimal_sections(), 1, 3);
  Result<Container> r = parse_container(minor, "d.dcz");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->header.version, 0x0103);
  // The same minor bump applied to an existing file breaks the chained CRC.
  std::string bumped = file;
  bumped[5] = 1;
  expect_error(bumped, "chained checksum mismatch");
}

TEST(ContainerDamage, LengthPastTheEndIsReported) {
  auto sections = minimal_sections();
  std::string file = build_file(sections);
  // Header payload is 3 bytes; claim 100 (CRC then fails to matter: the bound is checked first).
  file[kPreambleSize + 1] = 100;
  expect_error(file, "runs past the end of the file");
  std::string big = build_file(sections);
  big.replace(kPreambleSize + 1, 1, std::string("\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 9));
  expect_error(big, "runs past the end of the file");
}

TEST(ContainerDamage, TrailingBytesAndMissingEndAreErrors) {
  const std::string file = small_file();
  expect_error(file + "x", "1 byte(s) of trailing data after the end marker");
  Result<std::vector<SectionInfo>> sections = list_sections(file, "d.dcz");
  ASSERT_TRUE(sections.ok());
  std::string no_end = file.substr(0, sections->back().offset);
  expect_error(no_end, "without an end marker");
}

TEST(ContainerDamage, SectionOrderAndKindsAreChecked) {
  auto s = minimal_sections();
  expect_error(build_file({s[1], s[0]}), "out of order");
  expect_error(build_file({s[0]}), "end marker before the skeleton");
  expect_error(build_file({s[0], s[1], {'Z', "zz"}}), "unknown section kind");
  // Ancillary sections (bit 7 set) from newer writers are skipped once their CRC is checked.
  Result<Container> r = parse_container(build_file({s[0], {0xC1, "note"}, s[1]}), "d.dcz");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->header.producer, "t");
  Result<std::vector<SectionInfo>> list = list_sections(build_file({s[0], {0xC1, ""}, s[1]}), "");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[1].kind, "ancillary 0xc1");
}

// A tensor payload in FORMAT.md's layout: name, float32, fc, shape, default location, encoding,
// then `rest`.
std::string tensor_payload(const std::vector<uint64_t>& dims, uint8_t encoding,
                           const std::string& rest) {
  std::string p;
  put_string(p, "t1");
  p += std::string("\x01\x01", 2);
  put_varint(p, dims.size());
  for (uint64_t d : dims) put_varint(p, d);
  p += std::string("\x02\x00", 2);
  p.push_back(static_cast<char>(encoding));
  return p + rest;
}

// With the dense cap lifted, so that the checks behind it are exercised too: each huge claim is
// still refused by the payload check it meets (blob sizes, zstd bound, stream lengths).
TEST(ContainerDamage, HugeDeclaredSizesInATinyFileFailFast) {
  auto with_tensor = [](const std::string& payload) {
    auto s = minimal_sections();
    s.push_back({'T', payload});
    return build_file(s);
  };
  ReadLimits uncapped;
  uncapped.dense_cap = UINT64_MAX;
  auto expect_error = [&](const std::string& bytes, const std::string& needle) {
    ::deepcomp::compress::expect_error(bytes, needle, uncapped);
    // With the default cap, each is refused at its header, before any of its payload is read.
    if (needle != "2^59" && needle != "metadata count" && needle != "codebook")
      ::deepcomp::compress::expect_error(bytes, "over the decompression cap");
  };
  const uint64_t huge = uint64_t{1} << 40;
  std::string blob_stored;  // stored blob claiming 4 TiB
  blob_stored.push_back(0);
  put_varint(blob_stored, huge * 4);
  expect_error(with_tensor(tensor_payload({huge}, 0, blob_stored + "abc")), "section 't1'");
  std::string blob_zstd;  // zstd blob claiming 4 TiB from 9 bytes
  blob_zstd.push_back(1);
  put_varint(blob_zstd, huge * 4);
  put_varint(blob_zstd, 9);
  blob_zstd += std::string(9, '\x28');
  expect_error(with_tensor(tensor_payload({huge}, 0, blob_zstd)), "cannot hold");
  // Shared-dense: codebook of 1, then a fixed stream of 2^40 one-bit symbols in 1 byte.
  std::string stream = std::string("\x01\x00\x00\x80\x3f", 5);
  stream += "\x02";
  put_varint(stream, huge);
  stream += std::string("\x01\x00\x01\x00", 4);
  expect_error(with_tensor(tensor_payload({huge}, 1, stream)), "too short");
  // Shapes whose product overflows.
  expect_error(with_tensor(tensor_payload({huge, huge, 0x10}, 0, "")), "2^59");
  // A codebook count far beyond the bytes present.
  std::string codebook;
  put_varint(codebook, 60000);
  expect_error(with_tensor(tensor_payload({4}, 1, codebook)), "codebook");
  // A metadata count far beyond the header's bytes.
  auto s = minimal_sections();
  s[0].second = std::string("\x00\xff\xff\xff\x0f", 5);
  expect_error(build_file(s), "metadata count");
}

// A fully pruned kSparseShared tensor: no stored weight, so any shape costs a few bytes.
EncodedTensor all_pruned(const std::string& name, std::vector<int64_t> shape) {
  EncodedTensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.role = TensorRole::kFcWeight;
  t.encoding = Encoding::kSparseShared;
  t.index_bits = 4;
  return t;
}

// Writer and reader share the shape checks (check_storable / checked_numel): a zero-size tensor
// with a dimension >= 2^59 is refused by both, as is rank 65.
TEST(ContainerLimits, WriterRefusesEveryShapeTheReaderRefuses) {
  const int64_t big = int64_t{1} << 59;
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{0, big}, std::vector<int64_t>(65, 1), std::vector<int64_t>{big}}) {
    Tensor plain;
    plain.name = "z";
    plain.shape = shape;
    EXPECT_FALSE(check_storable(plain).ok());
    Container c;
    c.skeleton = "g";
    c.tensors.push_back(lossless_tensor("z", {}, shape));
    Result<std::string> bytes = serialize_container(c);
    ASSERT_FALSE(bytes.ok()) << "rank " << shape.size();
    EXPECT_NE(bytes.status().message().find("tensor 'z'"), std::string::npos);
    std::vector<uint64_t> dims(shape.begin(), shape.end());
    auto sections = minimal_sections();
    sections.push_back({'T', tensor_payload(dims, 0, std::string("\x00\x00", 2))});
    expect_error(build_file(sections), "section 't1'");
  }
  Tensor fine;
  fine.shape = {0, big - 1};
  EXPECT_TRUE(check_storable(fine).ok());
}

// 2^26 floats (256 MiB dense) from a file of ~100 bytes: over the cap for writer and reader alike;
// 2^23 floats (32 MiB, under the 64 MiB floor) pass both.
TEST(ContainerLimits, DenseCapIsSharedByWriterAndReader) {
  Container c;
  c.skeleton = "g";
  c.tensors.push_back(all_pruned("w", {1 << 13, 1 << 13}));
  Result<std::string> refused = serialize_container(c);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("tensor 'w': the model would expand to 256.0 MiB"),
            std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("over the decompression cap of 64.0 MiB"),
            std::string::npos)
      << refused.status().message();

  c.tensors[0] = all_pruned("w", {1 << 13, 1 << 10});
  Result<std::string> ok = serialize_container(c);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(parse_container(*ok, "d.dcz").ok());
  ReadLimits tight;
  tight.dense_cap = 1 << 20;
  expect_error(*ok, "d.dcz: section 'w' (tensor): float32 [8192, 1024] (32.0 MiB dense)", tight);

  // The header is checked before the payload is read: the reader's own shape claim, patched in
  // with valid checksums, is refused at the cap whatever follows.
  auto sections = minimal_sections();
  sections.push_back({'T', tensor_payload({1 << 20, 1 << 20}, 2, "")});
  expect_error(build_file(sections), "section 't1' (tensor): float32 [1048576, 1048576] (4.0 TiB "
                                     "dense): the model would expand to 4.0 TiB");
}

// ReadLimits::check_header sees the skeleton and each header before its payload; its error is
// reported against the file and section.
TEST(ContainerLimits, HeaderCheckRunsBeforeThePayloadWithTheSkeleton) {
  Container c;
  c.skeleton = "the graph";
  c.tensors.push_back(sparse_shared_tensor("a"));
  c.tensors.push_back(sparse_shared_tensor("b"));
  Result<std::string> bytes = serialize_container(c);
  ASSERT_TRUE(bytes.ok());
  std::vector<std::string> seen;
  ReadLimits limits;
  limits.check_header = [&](const std::string& skeleton, const EncodedTensor& h) -> Status {
    EXPECT_EQ(skeleton, "the graph");
    EXPECT_TRUE(h.codebook.empty() && h.index.count == 0) << "payload decoded before the check";
    seen.push_back(h.name);
    return h.name == "b" ? Status::Error("not in the model") : Status::Ok();
  };
  expect_error(*bytes, "d.dcz: section 'b' (tensor): not in the model", limits);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
}

TEST(ContainerDamage, InconsistentStreamsAreRejectedByTheReader) {
  auto with_tensor = [](const std::string& payload) {
    auto s = minimal_sections();
    s.push_back({'T', payload});
    return build_file(s);
  };
  const std::string codebook("\x01\x00\x00\x80\x3f", 5);
  // Over-subscribed Huffman lengths {1,1,1}: width 1, packed 0b111.
  expect_error(with_tensor(tensor_payload(
                   {3}, 1, codebook + std::string("\x03\x03\x00\x01\x07\x01\x00", 7))),
               "over-subscribed");
  // Shared-dense with 2 cluster symbols for 3 elements.
  expect_error(
      with_tensor(tensor_payload({3}, 1, codebook + std::string("\x02\x02\x01\x00\x01\x00", 6))),
      "differs from the shape's 3 elements");
  // Fixed stream with fixed_bits 17, and one whose alphabet needs more bits than given.
  expect_error(with_tensor(tensor_payload(
                   {3}, 1, codebook + std::string("\x02\x03\x11\x00\x03\x00\x00\x00", 8))),
               "fixed_bits 17");
  expect_error(
      with_tensor(tensor_payload({3}, 1, codebook + std::string("\x05\x03\x02\x00\x01\x00", 6))),
      "does not fit in 2 bits");
  // An alphabet over 65536.
  expect_error(with_tensor(tensor_payload(
                   {3}, 1, codebook + std::string("\x81\x80\x04\x03\x02\x00\x01\x00", 8))),
               "alphabet size 65537");
  // Unknown encoding, dtype and role codes.
  expect_error(with_tensor(tensor_payload({3}, 9, "")), "unknown encoding 9");
  std::string bad_dtype = tensor_payload({3}, 0, std::string("\x00\x0c", 2) + std::string(12, 'x'));
  bad_dtype[3] = 77;
  expect_error(with_tensor(bad_dtype), "unknown dtype code 77");
  std::string bad_role = tensor_payload({3}, 0, std::string("\x00\x0c", 2) + std::string(12, 'x'));
  bad_role[4] = 9;
  expect_error(with_tensor(bad_role), "unknown role code 9");
  // Extra bytes after the last field of a version 1.0 tensor.
  expect_error(with_tensor(tensor_payload({1}, 0, std::string("\x00\x04zzzz!", 7))),
               "1 unexpected byte(s)");
}

// Hostile payloads behind valid checksums: random byte changes and cuts inside each section's
// payload, re-framed with correct CRCs, reach the payload decoders. None may crash, and whatever
// the reader accepts the writer must accept too (both apply the same validation).
TEST(ContainerDamage, MutatedPayloadsWithValidChecksumsNeverCrash) {
  const std::string file = small_file();
  Result<std::vector<SectionInfo>> sections = list_sections(file, "d.dcz");
  ASSERT_TRUE(sections.ok());
  std::vector<std::pair<uint8_t, std::string>> payloads;
  for (const SectionInfo& s : *sections) {
    if (s.kind == "end") break;
    size_t pos = s.offset + 1;
    while (static_cast<uint8_t>(file[pos]) & 0x80) ++pos;  // skip the length varint
    ++pos;
    payloads.push_back(
        {static_cast<uint8_t>(file[s.offset]), file.substr(pos, s.offset + s.length - 4 - pos)});
  }
  std::mt19937 rng(12345);
  int accepted = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    auto mutated = payloads;
    std::string& p = mutated[rng() % mutated.size()].second;
    if (p.empty()) continue;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % p.size();
      switch (rng() % 4) {
        case 0:
          p[at] = static_cast<char>(rng());
          break;
        case 1:
          p[at] = static_cast<char>(p[at] ^ (1 << (rng() % 8)));
          break;
        case 2:
          p.resize(at);
          break;
        default:
          p.insert(at, 1, static_cast<char>(rng()));
          break;
      }
      if (p.empty()) break;
    }
    Result<Container> r = parse_container(build_file(mutated), "m.dcz");
    if (!r.ok()) {
      EXPECT_EQ(r.status().message().rfind("m.dcz: ", 0), 0u);
      continue;
    }
    ++accepted;
    Result<std::string> again = serialize_container(*r);
    EXPECT_TRUE(again.ok()) << again.status().message();
  }
  EXPECT_GT(accepted, 0);  // some edits (inside names, floats, bits) are legitimately valid
}

}  // namespace
}  // namespace deepcomp::compress
