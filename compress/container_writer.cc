// The .dcz writer in pieces (container_writer.h): the same framing as container.cc's
// serialize_container (kind, varint length, payload, CRC-32; the end marker chaining the
// preamble and every section's CRC), appended to a file instead of a string.
#include "compress/container_writer.h"

#include "compress/byte_io.h"
#include "compress/checksum.h"
#include "compress/container_payloads.h"

namespace deepcomp::compress {

using namespace container_internal;  // NOLINT: the format's constants and payload coders

Status ContainerWriter::open(const std::string& path, const WriteOptions& options,
                             const ContainerHeader& header, std::string_view skeleton) {
  path_ = path;
  DEEPCOMP_RETURN_IF_ERROR(file_.open(path, options));
  ByteWriter preamble;
  preamble.bytes(kMagic);
  preamble.u8(kFormatMajor);
  preamble.u8(kFormatMinor);
  chain_ = crc32(preamble.data());
  DEEPCOMP_RETURN_IF_ERROR(file_.write(preamble.data()));
  size_ = preamble.size();
  open_ = true;
  ByteWriter h;
  encode_header(header, h);
  DEEPCOMP_RETURN_IF_ERROR(append(kKindHeader, h.data()));
  ByteWriter g;
  encode_blob(skeleton, g);
  dense_total_ = skeleton.size();
  return append(kKindSkeleton, g.data());
}

Status ContainerWriter::append(uint8_t kind, std::string_view payload) {
  if (!open_) return Status::Error(path_ + ": container writer is not open");
  ByteWriter section;
  section.u8(kind);
  section.varint(payload.size());
  uint32_t crc = crc32(section.data());
  crc = crc32(payload, crc);
  ByteWriter tail;
  tail.u32le(crc);
  DEEPCOMP_RETURN_IF_ERROR(file_.write(section.data()));
  DEEPCOMP_RETURN_IF_ERROR(file_.write(payload));
  DEEPCOMP_RETURN_IF_ERROR(file_.write(tail.data()));
  size_ += section.size() + payload.size() + tail.size();
  if (kind != kKindEnd) {
    chain_ = crc32(tail.data(), chain_);  // the CRC's 4 bytes as stored (little-endian)
    ++sections_;
  }
  return Status::Ok();
}

Status ContainerWriter::add(const EncodedTensor& t) {
  DEEPCOMP_RETURN_IF_ERROR(validate_tensor(t).WithContext(path_ + ": tensor '" + t.name + "'"));
  if (!names_.insert(t.name).second)
    return Status::Error(path_ + ": tensor '" + t.name + "': duplicate tensor name");
  const uint64_t dense = dense_bytes(t);
  dense_total_ = dense_total_ > UINT64_MAX - dense ? UINT64_MAX : dense_total_ + dense;
  if (largest_.empty() || dense > largest_bytes_) {
    largest_ = t.name;
    largest_bytes_ = dense;
  }
  ByteWriter payload;
  encode_tensor(t, payload);
  return append(kKindTensor, payload.data());
}

Status ContainerWriter::finish() {
  ByteWriter end;
  encode_end({sections_, size_, chain_}, end);
  DEEPCOMP_RETURN_IF_ERROR(append(kKindEnd, end.data()));
  // A file compress writes is a file decompress reads (the temporary file is dropped on error).
  DEEPCOMP_RETURN_IF_ERROR(check_written_cap(dense_total_, size_, largest_));
  open_ = false;
  return file_.commit();
}

}  // namespace deepcomp::compress
