// The ZIP container of .npz: local headers, stored data, central directory, end record (PKWARE
// APPNOTE 4.3). Fixed timestamps (1980-01-01) so that equal arrays give equal files.
#include "data/npz.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>

namespace deepcomp::data {

namespace {

constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint16_t kVersion = 20;        // 2.0: the oldest version with folders; plain stored data
constexpr uint16_t kDosDate = 0x0021;    // 1980-01-01
constexpr uint16_t kUtf8Flag = 1 << 11;  // names are UTF-8

void put16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xFF));
  out->push_back(static_cast<char>(v >> 8));
}

void put32(std::string* out, uint32_t v) {
  for (int k = 0; k < 4; ++k) out->push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
}

uint16_t get16(const std::string& s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) |
                               (static_cast<uint8_t>(s[at + 1]) << 8));
}

uint32_t get32(const std::string& s, size_t at) {
  return static_cast<uint32_t>(get16(s, at)) | (static_cast<uint32_t>(get16(s, at + 2)) << 16);
}

uint32_t crc_of(const std::string& data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // crc32 takes a uInt length: feed large data in pieces.
  size_t at = 0;
  while (at < data.size()) {
    const size_t n = std::min<size_t>(data.size() - at, size_t{1} << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + at), static_cast<uInt>(n));
    at += n;
  }
  return static_cast<uint32_t>(crc);
}

bool ascii(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

// The fields local and central headers share, from "version needed" to "extra field length".
void put_common(std::string* out, const std::string& name, uint32_t crc, uint32_t size) {
  put16(out, kVersion);
  put16(out, ascii(name) ? 0 : kUtf8Flag);
  put16(out, 0);  // method: stored
  put16(out, 0);  // time 00:00:00
  put16(out, kDosDate);
  put32(out, crc);
  put32(out, size);  // compressed size
  put32(out, size);  // uncompressed size
  put16(out, static_cast<uint16_t>(name.size()));
  put16(out, 0);  // extra field length
}

}  // namespace

Result<std::string> npz_bytes(const std::vector<std::pair<std::string, TypedArray>>& arrays) {
  constexpr uint64_t kMax32 = std::numeric_limits<uint32_t>::max();
  if (arrays.size() >= 0xFFFF)
    return Status::Error(".npz: " + std::to_string(arrays.size()) +
                         " arrays need zip64, which deepcomp does not write");
  std::set<std::string> seen;
  std::string out, central;
  for (const auto& [name, array] : arrays) {
    if (name.empty()) return Status::Error(".npz: an array has an empty name");
    if (!seen.insert(name).second) return Status::Error(".npz: two arrays named '" + name + "'");
    const std::string member = name + ".npy";
    if (member.size() >= 0xFFFF) return Status::Error(".npz: array name too long");
    auto npy = npy_bytes_typed(array);
    if (!npy.ok()) return npy.status().WithContext(".npz array '" + name + "'");
    const uint64_t offset = out.size();
    if (npy->size() >= kMax32 || offset + 30 + member.size() + npy->size() >= kMax32)
      return Status::Error(".npz: array '" + name +
                           "' ends beyond 4 GiB, which needs zip64 (not written by deepcomp)");
    const uint32_t crc = crc_of(*npy);
    const uint32_t size = static_cast<uint32_t>(npy->size());
    put32(&out, kLocalSignature);
    put_common(&out, member, crc, size);
    out += member;
    out += *npy;
    put32(&central, kCentralSignature);
    put16(&central, kVersion);  // version made by: MS-DOS attributes, spec 2.0
    put_common(&central, member, crc, size);
    put16(&central, 0);  // file comment length
    put16(&central, 0);  // disk number start
    put16(&central, 0);  // internal attributes
    put32(&central, 0);  // external attributes
    put32(&central, static_cast<uint32_t>(offset));
    central += member;
  }
  const uint64_t central_offset = out.size();
  if (central_offset + central.size() + 22 >= kMax32)
    return Status::Error(".npz: archive larger than 4 GiB needs zip64 (not written by deepcomp)");
  out += central;
  put32(&out, kEndSignature);
  put16(&out, 0);  // this disk
  put16(&out, 0);  // disk with the central directory
  put16(&out, static_cast<uint16_t>(arrays.size()));
  put16(&out, static_cast<uint16_t>(arrays.size()));
  put32(&out, static_cast<uint32_t>(central.size()));
  put32(&out, static_cast<uint32_t>(central_offset));
  put16(&out, 0);  // comment length
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> read_stored_zip(const std::string& bytes) {
  if (bytes.size() < 22) return Status::Error("zip: too short for an end record");
  const size_t end = bytes.size() - 22;  // deepcomp writes no archive comment
  if (get32(bytes, end) != kEndSignature) return Status::Error("zip: no end record");
  const size_t count = get16(bytes, end + 10);
  const size_t cd_size = get32(bytes, end + 12), cd_offset = get32(bytes, end + 16);
  if (cd_offset > end || cd_size > end - cd_offset)
    return Status::Error("zip: central directory outside the file");
  std::vector<std::pair<std::string, std::string>> members;
  size_t at = cd_offset;
  for (size_t k = 0; k < count; ++k) {
    if (at + 46 > cd_offset + cd_size || get32(bytes, at) != kCentralSignature)
      return Status::Error("zip: bad central directory entry " + std::to_string(k));
    const uint16_t method = get16(bytes, at + 10);
    const uint32_t crc = get32(bytes, at + 16), size = get32(bytes, at + 20);
    const size_t name_len = get16(bytes, at + 28), extra = get16(bytes, at + 30),
                 comment = get16(bytes, at + 32);
    const size_t local = get32(bytes, at + 42);
    if (at + 46 + name_len > cd_offset + cd_size)
      return Status::Error("zip: truncated central directory");
    std::string name = bytes.substr(at + 46, name_len);
    if (method != 0) return Status::Error("zip: member '" + name + "' is compressed");
    if (local + 30 > cd_offset || get32(bytes, local) != kLocalSignature)
      return Status::Error("zip: member '" + name + "' has no local header");
    const size_t data = local + 30 + get16(bytes, local + 26) + get16(bytes, local + 28);
    if (data > cd_offset || size > cd_offset - data)
      return Status::Error("zip: member '" + name + "' data outside the file");
    std::string content = bytes.substr(data, size);
    if (crc_of(content) != crc) return Status::Error("zip: member '" + name + "' CRC mismatch");
    members.emplace_back(std::move(name), std::move(content));
    at += 46 + name_len + extra + comment;
  }
  return members;
}

}  // namespace deepcomp::data
