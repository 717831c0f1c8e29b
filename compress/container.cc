// The .dcz file level: the preamble, section framing (kind, varint length, payload, CRC-32), the
// order of sections, and the end marker. Payload layouts live in container_payloads.cc.
#include "compress/container.h"

#include <unordered_set>

#include "compress/byte_io.h"
#include "compress/checksum.h"
#include "compress/container_payloads.h"

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

std::string kind_name(uint8_t kind) {
  switch (kind) {
    case kKindHeader:
      return "header";
    case kKindSkeleton:
      return "skeleton";
    case kKindTensor:
      return "tensor";
    case kKindEnd:
      return "end";
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex = "0x";
  hex += kHex[kind >> 4];
  hex += kHex[kind & 15];
  return (kind & kAncillaryBit) ? "ancillary " + hex : hex;
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
    return Status::Error(where + " (" + kind_name(out->kind) + "): length " +
                         std::to_string(payload_length) + " runs past the end of the file (" +
                         std::to_string(r.remaining()) + " bytes left): truncated or corrupt");
  DEEPCOMP_RETURN_IF_ERROR(r.bytes("payload", payload_length, &out->payload));
  const size_t covered = r.position();
  DEEPCOMP_RETURN_IF_ERROR(r.u32le("crc", &out->crc));
  out->offset = offset;
  out->length = r.position();
  if (crc32(file.substr(offset, covered)) != out->crc) {
    std::string label = where + " (" + kind_name(out->kind) + ")";
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

// The whole reader: fills `container` and, if given, `sections`.
Status parse(std::string_view bytes, Container* container, std::vector<SectionInfo>* sections) {
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
  for (;;) {
    if (pos == bytes.size())
      return Status::Error("truncated: the file ends after " + std::to_string(index) +
                           " sections without an end marker");
    RawSection s;
    DEEPCOMP_RETURN_IF_ERROR(read_section(bytes, pos, index, &s));
    ByteReader r(s.payload);
    if (sections) sections->push_back({"", kind_name(s.kind), s.offset, s.length});
    const std::string where = "section #" + std::to_string(index) + " (" + kind_name(s.kind) + ")";
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
      DEEPCOMP_RETURN_IF_ERROR(decode_blob(r, "graph", 0, UINT64_MAX, 1, &container->skeleton)
                                   .WithContext("skeleton section"));
      DEEPCOMP_RETURN_IF_ERROR(check_payload_end(r, minor).WithContext("skeleton section"));
      have_skeleton = true;
    } else if (s.kind == kKindTensor) {
      DEEPCOMP_RETURN_IF_ERROR(expect_order(have_skeleton, "a tensor before the skeleton"));
      EncodedTensor t;
      Status st = decode_tensor(r, &t);
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
  return std::move(file.data());
}

Status write_container(const Container& container, const std::string& path,
                       const WriteOptions& options) {
  Result<std::string> bytes = serialize_container(container);
  if (!bytes.ok()) return bytes.status().WithContext(path);
  return write_file_atomic(path, *bytes, options);
}

Result<Container> parse_container(std::string_view bytes, const std::string& display_name) {
  Container container;
  DEEPCOMP_RETURN_IF_ERROR(parse(bytes, &container, nullptr).WithContext(display_name));
  return container;
}

Result<Container> read_container(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  return parse_container(bytes, path);
}

bool looks_like_container(std::string_view first_bytes) {
  return first_bytes.size() >= kMagic.size() && first_bytes.substr(0, kMagic.size()) == kMagic;
}

Result<std::vector<SectionInfo>> list_sections(std::string_view bytes,
                                               const std::string& display_name) {
  Container container;
  std::vector<SectionInfo> sections;
  DEEPCOMP_RETURN_IF_ERROR(parse(bytes, &container, &sections).WithContext(display_name));
  return sections;
}

}  // namespace deepcomp::compress
