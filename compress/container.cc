// The .dcz file level: the preamble, section framing (kind, varint length, payload, CRC-32), the
// order of sections, and the end marker. Payload layouts live in container_payloads.cc.
#include "compress/container.h"

#include <algorithm>
#include <cstdio>
#include <new>
#include <unordered_set>

#include "compress/byte_io.h"
#include "compress/checksum.h"
#include "compress/container_payloads.h"
#include "core/dtype.h"

namespace deepcomp::compress {
namespace {

using namespace container_internal;  // NOLINT: the format's constants and payload coders

// Writes one section: kind, varint payload length, payload, CRC-32 of everything before it.
// Returns the CRC (the end marker chains them).
uint32_t append_section(uint8_t kind, std::string_view payload, ByteWriter& file) {
  const size_t start = file.size();
  file.u8(kind);
  file.varint(payload.size());
  file.bytes(payload);
  const uint32_t crc = crc32(std::string_view(file.data()).substr(start));
  file.u32le(crc);
  return crc;
}

std::string version_string(uint8_t major, uint8_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// One framed section as found in the file; `payload` views the input.
struct RawSection {
  uint8_t kind = 0;
  uint64_t offset = 0;
  uint64_t length = 0;  // whole section
  std::string_view payload;
  uint32_t crc = 0;
};

// Reads the framing of the section at `offset` and checks its CRC. `index` counts sections from 0.
Status read_section(std::string_view file, size_t offset, size_t index, RawSection* out) {
  const std::string where =
      "section #" + std::to_string(index) + " at offset " + std::to_string(offset);
  ByteReader r(file.substr(offset));
  uint64_t payload_length = 0;
  DEEPCOMP_RETURN_IF_ERROR(r.u8("kind", &out->kind).WithContext(where));
  DEEPCOMP_RETURN_IF_ERROR(r.varint("length", &payload_length).WithContext(where));
  if (payload_length > r.remaining() || r.remaining() - payload_length < 4)
    return Status::Error(where + " (" + section_kind_name(out->kind) + "): length " +
                         std::to_string(payload_length) + " runs past the end of the file (" +
                         std::to_string(r.remaining()) + " bytes left): truncated or corrupt");
  DEEPCOMP_RETURN_IF_ERROR(r.bytes("payload", payload_length, &out->payload));
  const size_t covered = r.position();
  DEEPCOMP_RETURN_IF_ERROR(r.u32le("crc", &out->crc));
  out->offset = offset;
  out->length = r.position();
  if (crc32(file.substr(offset, covered)) != out->crc) {
    std::string label = where + " (" + section_kind_name(out->kind) + ")";
    if (out->kind == kKindTensor) {
      // The name is the payload's first field; it may be the damaged part, so it is only a hint.
      ByteReader name_reader(out->payload);
      std::string name;
      if (name_reader.string("name", &name).ok() && name.size() <= 256)
        label = "section '" + name + "' (tensor #" + std::to_string(index) + " at offset " +
                std::to_string(offset) + ")";
    }
    return Status::Error(label + ": checksum mismatch");
  }
  return Status::Ok();
}

// Fields a newer minor version appends to a payload are skipped; otherwise leftovers are an error.
Status check_payload_end(const ByteReader& r, uint8_t file_minor) {
  if (r.at_end() || file_minor > kFormatMinor) return Status::Ok();
  return Status::Error(std::to_string(r.remaining()) + " unexpected byte(s) after the last field");
}

std::string byte_count(uint64_t n) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return std::to_string(n) + " bytes";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

// Shared by reader and writer: `total` dense bytes from a file of `file_bytes` bytes.
Status check_dense_cap(uint64_t total, uint64_t file_bytes, uint64_t cap) {
  if (total <= cap) return Status::Ok();
  return Status::Error("the model would expand to " + byte_count(total) + " from a " +
                       byte_count(file_bytes) + " file, over the decompression cap of " +
                       byte_count(cap) + " (" + std::to_string(kMaxExpansion) +
                       "x the file size, at least " + byte_count(kMinDenseCap) + ")");
}

uint64_t add_saturating(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

// The whole reader: fills `container` and, if given, `sections`.
Status parse(std::string_view bytes, Container* container, std::vector<SectionInfo>* sections,
             const ReadLimits& limits) {
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic)
    return Status::Error("not a .dcz file (bad magic)");
  if (bytes.size() < kPreambleSize)
    return Status::Error("truncated .dcz preamble (" + std::to_string(bytes.size()) + " bytes)");
  const uint8_t major = static_cast<uint8_t>(bytes[4]);
  const uint8_t minor = static_cast<uint8_t>(bytes[5]);
  if (major > kFormatMajor)
    return Status::Error(".dcz version " + version_string(major, minor) +
                         " is newer than this deepcomp supports (" +
                         version_string(kFormatMajor, kFormatMinor) + ")");
  if (major == 0) return Status::Error("unknown .dcz version " + version_string(major, minor));
  container->header.version = static_cast<uint16_t>((major << 8) | minor);

  uint32_t chain = crc32(bytes.substr(0, kPreambleSize));
  size_t pos = kPreambleSize;
  size_t index = 0;
  bool have_header = false, have_skeleton = false;
  std::unordered_set<std::string> names;
  HeaderGuard guard(limits, bytes.size());
  for (;;) {
    if (pos == bytes.size())
      return Status::Error("truncated: the file ends after " + std::to_string(index) +
                           " sections without an end marker");
    RawSection s;
    DEEPCOMP_RETURN_IF_ERROR(read_section(bytes, pos, index, &s));
    ByteReader r(s.payload);
    if (sections) sections->push_back({"", section_kind_name(s.kind), s.offset, s.length});
    const std::string where =
        "section #" + std::to_string(index) + " (" + section_kind_name(s.kind) + ")";
    auto expect_order = [&](bool ok, const char* what) {
      return ok ? Status::Ok() : Status::Error(where + ": out of order: " + what);
    };
    if (s.kind & kAncillaryBit) {
      // Unknown ancillary section from a newer writer: its CRC matched, skip it.
    } else if (s.kind == kKindHeader) {
      DEEPCOMP_RETURN_IF_ERROR(expect_order(index == 0, "the header must be the first section"));
      DEEPCOMP_RETURN_IF_ERROR(decode_header(r, &container->header).WithContext("header section"));
      DEEPCOMP_RETURN_IF_ERROR(check_payload_end(r, minor).WithContext("header section"));
      have_header = true;
    } else if (s.kind == kKindSkeleton) {
      DEEPCOMP_RETURN_IF_ERROR(
          expect_order(have_header && !have_skeleton, "expected one skeleton after the header"));
      Status st;
      try {
        st = decode_blob(r, "graph", 0, guard.cap(), 1, &container->skeleton);
      } catch (const std::bad_alloc&) {
        st = Status::Error("out of memory decoding the graph");
      }
      DEEPCOMP_RETURN_IF_ERROR(st.WithContext("skeleton section"));
      guard.set_skeleton(&container->skeleton);
      DEEPCOMP_RETURN_IF_ERROR(check_payload_end(r, minor).WithContext("skeleton section"));
      have_skeleton = true;
    } else if (s.kind == kKindTensor) {
      DEEPCOMP_RETURN_IF_ERROR(expect_order(have_skeleton, "a tensor before the skeleton"));
      EncodedTensor t;
      // Before any of the payload is decoded: the caller's check against the skeleton, then the
      // dense cap over every tensor so far.
      auto check_header = [&](const EncodedTensor& header) { return guard.check(header); };
      Status st;
      try {
        st = decode_tensor(r, &t, check_header);
      } catch (const std::bad_alloc&) {
        st = Status::Error("out of memory decoding it (" + byte_count(dense_bytes(t)) + " dense)");
      }
      if (st.ok()) st = check_payload_end(r, minor);
      const std::string label = t.name.empty() && !st.ok()
                                    ? "section #" + std::to_string(index) + " (tensor at offset " +
                                          std::to_string(s.offset) + ")"
                                    : "section '" + t.name + "' (tensor)";
      DEEPCOMP_RETURN_IF_ERROR(st.WithContext(label));
      if (!names.insert(t.name).second) return Status::Error(label + ": duplicate tensor name");
      if (sections) sections->back().tensor = t.name;
      container->tensors.push_back(std::move(t));
    } else if (s.kind == kKindEnd) {
      DEEPCOMP_RETURN_IF_ERROR(expect_order(have_skeleton, "end marker before the skeleton"));
      EndMarker end;
      DEEPCOMP_RETURN_IF_ERROR(decode_end(r, &end).WithContext("end section"));
      DEEPCOMP_RETURN_IF_ERROR(check_payload_end(r, minor).WithContext("end section"));
      if (end.section_count != index || end.body_length != pos)
        return Status::Error("end section: records " + std::to_string(end.section_count) +
                             " sections in " + std::to_string(end.body_length) +
                             " bytes, the file has " + std::to_string(index) + " in " +
                             std::to_string(pos));
      if (end.chain_crc != chain)
        return Status::Error("end section: chained checksum mismatch (preamble or section order)");
      pos += s.length;
      if (pos != bytes.size())
        return Status::Error(std::to_string(bytes.size() - pos) +
                             " byte(s) of trailing data after the end marker");
      return Status::Ok();
    } else {
      return Status::Error(where + " at offset " + std::to_string(s.offset) +
                           ": unknown section kind");
    }
    uint8_t crc_le[4];
    for (int i = 0; i < 4; ++i) crc_le[i] = static_cast<uint8_t>(s.crc >> (8 * i));
    chain = crc32(std::string_view(reinterpret_cast<const char*>(crc_le), 4), chain);
    pos += s.length;
    ++index;
  }
}

}  // namespace

HeaderGuard::HeaderGuard(ReadLimits limits, uint64_t file_bytes)
    : limits_(std::move(limits)),
      file_bytes_(file_bytes),
      cap_(limits_.dense_cap ? limits_.dense_cap : dense_cap(file_bytes)) {}

void HeaderGuard::set_skeleton(const std::string* skeleton) {
  skeleton_ = skeleton;
  dense_total_ = skeleton->size();
}

Status HeaderGuard::check(const EncodedTensor& header) {
  static const std::string kNoSkeleton;
  if (limits_.check_header)
    DEEPCOMP_RETURN_IF_ERROR(limits_.check_header(skeleton_ ? *skeleton_ : kNoSkeleton, header));
  const uint64_t dense = dense_bytes(header);
  dense_total_ = add_saturating(dense_total_, dense);
  Status capped = check_dense_cap(dense_total_, file_bytes_, cap_);
  if (capped.ok()) return capped;
  std::string shape;
  for (int64_t d : header.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
  return Status::Error(dtype_name(header.dtype) + " [" + shape + "] (" + byte_count(dense) +
                       " dense): " + capped.message());
}

Status check_written_cap(uint64_t dense_total, uint64_t file_bytes, const std::string& largest) {
  Status capped = check_dense_cap(dense_total, file_bytes, dense_cap(file_bytes));
  if (!capped.ok() && !largest.empty()) return capped.WithContext("tensor '" + largest + "'");
  return capped;
}

uint64_t dense_cap(uint64_t file_bytes) {
  return std::max(kMinDenseCap, file_bytes > UINT64_MAX / kMaxExpansion
                                    ? UINT64_MAX
                                    : file_bytes * kMaxExpansion);
}

Status check_storable(const Tensor& t) {
  if (!is_known_dtype(static_cast<int32_t>(t.dtype)))
    return Status::Error("unknown dtype code " + std::to_string(static_cast<int32_t>(t.dtype)));
  if (dtype_size(t.dtype) == 0)
    return Status::Error("dtype " + dtype_name(t.dtype) +
                         " cannot be stored in a .dcz (no fixed element size)");
  uint64_t numel = 0;
  return checked_numel(t.shape, &numel);
}

Result<std::string> serialize_container(const Container& container) {
  std::unordered_set<std::string_view> names;
  for (const EncodedTensor& t : container.tensors) {
    DEEPCOMP_RETURN_IF_ERROR(validate_tensor(t).WithContext("tensor '" + t.name + "'"));
    if (!names.insert(t.name).second)
      return Status::Error("tensor '" + t.name + "': duplicate tensor name");
  }
  ByteWriter file;
  file.bytes(kMagic);
  file.u8(kFormatMajor);
  file.u8(kFormatMinor);
  uint32_t chain = crc32(file.data());
  auto add = [&](uint8_t kind, ByteWriter& payload) {
    const uint32_t crc = append_section(kind, payload.data(), file);
    uint8_t crc_le[4];
    for (int i = 0; i < 4; ++i) crc_le[i] = static_cast<uint8_t>(crc >> (8 * i));
    chain = crc32(std::string_view(reinterpret_cast<const char*>(crc_le), 4), chain);
  };
  ByteWriter header;
  encode_header(container.header, header);
  add(kKindHeader, header);
  ByteWriter skeleton;
  encode_blob(container.skeleton, skeleton);
  add(kKindSkeleton, skeleton);
  for (const EncodedTensor& t : container.tensors) {
    ByteWriter payload;
    encode_tensor(t, payload);
    add(kKindTensor, payload);
  }
  ByteWriter end;
  encode_end({2 + container.tensors.size(), file.size(), chain}, end);
  append_section(kKindEnd, end.data(), file);
  // The reader's decompression cap, applied to what was just written (named after the largest
  // tensor, the likely cause): a file compress writes is a file decompress reads.
  uint64_t total = container.skeleton.size();
  const EncodedTensor* largest = nullptr;
  for (const EncodedTensor& t : container.tensors) {
    total = add_saturating(total, dense_bytes(t));
    if (!largest || dense_bytes(t) > dense_bytes(*largest)) largest = &t;
  }
  DEEPCOMP_RETURN_IF_ERROR(check_written_cap(total, file.size(), largest ? largest->name : ""));
  return std::move(file.data());
}

Status write_container(const Container& container, const std::string& path,
                       const WriteOptions& options) {
  Result<std::string> bytes = serialize_container(container);
  if (!bytes.ok()) return bytes.status().WithContext(path);
  return write_file_atomic(path, *bytes, options);
}

Result<Container> parse_container(std::string_view bytes, const std::string& display_name,
                                  const ReadLimits& limits) {
  Container container;
  DEEPCOMP_RETURN_IF_ERROR(parse(bytes, &container, nullptr, limits).WithContext(display_name));
  return container;
}

Result<Container> read_container(const std::string& path, const ReadLimits& limits) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  return parse_container(bytes, path, limits);
}

bool looks_like_container(std::string_view first_bytes) {
  return first_bytes.size() >= kMagic.size() && first_bytes.substr(0, kMagic.size()) == kMagic;
}

Result<std::vector<SectionInfo>> list_sections(std::string_view bytes,
                                               const std::string& display_name) {
  Container container;
  std::vector<SectionInfo> sections;
  DEEPCOMP_RETURN_IF_ERROR(
      parse(bytes, &container, &sections, ReadLimits{}).WithContext(display_name));
  return sections;
}

}  // namespace deepcomp::compress
