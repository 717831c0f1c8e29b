// The section-at-a-time .dcz reader (container_file_reader.h). The framing and order rules mirror
// container.cc's parse(); the payload decoders (and their size checks) are the same functions.
#include "compress/container_file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "compress/byte_io.h"
#include "compress/checksum.h"
#include "compress/container_payloads.h"

namespace deepcomp::compress {

using namespace container_internal;  // NOLINT: the format's constants and payload decoders

struct ContainerFileReader::Section {
  uint8_t kind = 0;
  uint64_t offset = 0;
  uint64_t length = 0;  // the whole section
  std::string_view payload;
  uint32_t crc = 0;
};

namespace {

Status payload_end(const ByteReader& r, uint8_t file_minor) {
  if (r.at_end() || file_minor > kFormatMinor) return Status::Ok();
  return Status::Error(std::to_string(r.remaining()) + " unexpected byte(s) after the last field");
}

}  // namespace

ContainerFileReader::~ContainerFileReader() {
  if (fd_ >= 0) ::close(fd_);
}

Status ContainerFileReader::read_at(uint64_t offset, uint64_t size, std::string* out) {
  out->resize(size);
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd_, out->data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(path_ + ": read failed: " + std::strerror(errno));
    if (n == 0) return Status::Error(path_ + ": the file shrank while being read");
    done += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status ContainerFileReader::open(const std::string& path, const ReadLimits& limits) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return Status::Error(path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || S_ISDIR(st.st_mode))
    return Status::Error(path + ": is not a regular file");
  size_ = static_cast<uint64_t>(st.st_size);
  guard_ = std::make_unique<HeaderGuard>(limits, size_);
  std::string preamble;
  DEEPCOMP_RETURN_IF_ERROR(read_at(0, std::min<uint64_t>(size_, kPreambleSize), &preamble));
  if (!looks_like_container(preamble)) return Status::Error(path + ": not a .dcz file (bad magic)");
  if (preamble.size() < kPreambleSize)
    return Status::Error(path + ": truncated .dcz preamble (" + std::to_string(size_) + " bytes)");
  const uint8_t major = static_cast<uint8_t>(preamble[4]);
  minor_ = static_cast<uint8_t>(preamble[5]);
  const std::string version = std::to_string(major) + "." + std::to_string(minor_);
  if (major > kFormatMajor)
    return Status::Error(path + ": .dcz version " + version +
                         " is newer than this deepcomp supports (" + std::to_string(kFormatMajor) +
                         "." + std::to_string(kFormatMinor) + ")");
  if (major == 0) return Status::Error(path + ": unknown .dcz version " + version);
  header_.version = static_cast<uint16_t>((major << 8) | minor_);
  chain_ = crc32(preamble);
  pos_ = kPreambleSize;
  // The header first, then (after any ancillary sections) the skeleton.
  bool have_header = false;
  for (;;) {
    Section s;
    DEEPCOMP_RETURN_IF_ERROR(read_section(&s));
    ByteReader r(s.payload);
    const std::string where =
        "section #" + std::to_string(index_ - 1) + " (" + section_kind_name(s.kind) + ")";
    if (s.kind & kAncillaryBit) continue;
    if (s.kind == kKindHeader && !have_header && index_ == 1) {
      DEEPCOMP_RETURN_IF_ERROR(decode_header(r, &header_).WithContext(path_ + ": header section"));
      header_.version = static_cast<uint16_t>((major << 8) | minor_);
      DEEPCOMP_RETURN_IF_ERROR(payload_end(r, minor_).WithContext(path_ + ": header section"));
      have_header = true;
    } else if (s.kind == kKindSkeleton && have_header) {
      DEEPCOMP_RETURN_IF_ERROR(decode_blob(r, "graph", 0, guard_->cap(), 1, &skeleton_)
                                   .WithContext(path_ + ": skeleton section"));
      guard_->set_skeleton(&skeleton_);
      DEEPCOMP_RETURN_IF_ERROR(payload_end(r, minor_).WithContext(path_ + ": skeleton section"));
      return Status::Ok();
    } else if (s.kind == kKindHeader || s.kind == kKindSkeleton || s.kind == kKindTensor ||
               s.kind == kKindEnd) {
      return Status::Error(path_ + ": " + where +
                           ": out of order: expected the header, then the "
                           "skeleton");
    } else {
      return Status::Error(path_ + ": " + where + " at offset " + std::to_string(s.offset) +
                           ": unknown section kind");
    }
  }
}

Status ContainerFileReader::read_section(Section* s) {
  const std::string where =
      path_ + ": section #" + std::to_string(index_) + " at offset " + std::to_string(pos_);
  if (pos_ == size_)
    return Status::Error(path_ + ": truncated: the file ends after " + std::to_string(index_) +
                         " sections without an end marker");
  std::string head;
  DEEPCOMP_RETURN_IF_ERROR(
      read_at(pos_, std::min<uint64_t>(size_ - pos_, 1 + kMaxVarintBytes), &head));
  ByteReader hr(head);
  uint64_t length = 0;
  DEEPCOMP_RETURN_IF_ERROR(hr.u8("kind", &s->kind).WithContext(where));
  DEEPCOMP_RETURN_IF_ERROR(hr.varint("length", &length).WithContext(where));
  const uint64_t framing = hr.position();
  const uint64_t left = size_ - pos_ - framing;
  if (length > left || left - length < 4)
    return Status::Error(where + " (" + section_kind_name(s->kind) + "): length " +
                         std::to_string(length) + " runs past the end of the file (" +
                         std::to_string(left) + " bytes left): truncated or corrupt");
  DEEPCOMP_RETURN_IF_ERROR(read_at(pos_, framing + length + 4, &buffer_));
  const std::string_view all(buffer_);
  s->offset = pos_;
  s->length = framing + length + 4;
  s->payload = all.substr(framing, length);
  ByteReader cr(all.substr(framing + length));
  DEEPCOMP_RETURN_IF_ERROR(cr.u32le("crc", &s->crc));
  if (crc32(all.substr(0, framing + length)) != s->crc) {
    std::string label = where + " (" + section_kind_name(s->kind) + ")";
    if (s->kind == kKindTensor) {
      ByteReader nr(s->payload);
      std::string name;
      if (nr.string("name", &name).ok() && name.size() <= 256)
        label = path_ + ": section '" + name + "' (tensor #" + std::to_string(index_) +
                " at offset " + std::to_string(pos_) + ")";
    }
    return Status::Error(label + ": checksum mismatch");
  }
  if (s->kind != kKindEnd) {
    uint8_t crc_le[4];
    for (int i = 0; i < 4; ++i) crc_le[i] = static_cast<uint8_t>(s->crc >> (8 * i));
    chain_ = crc32(std::string_view(reinterpret_cast<const char*>(crc_le), 4), chain_);
    pos_ += s->length;
    ++index_;
  }
  return Status::Ok();
}

Status ContainerFileReader::next(EncodedTensor* tensor, bool* done) {
  *done = false;
  if (finished_) {
    *done = true;
    return Status::Ok();
  }
  for (;;) {
    const uint64_t end_offset = pos_;
    const uint32_t chain_before = chain_;
    Section s;
    DEEPCOMP_RETURN_IF_ERROR(read_section(&s));
    ByteReader r(s.payload);
    if (s.kind & kAncillaryBit) continue;
    if (s.kind == kKindTensor) {
      *tensor = EncodedTensor();
      Status st =
          decode_tensor(r, tensor, [this](const EncodedTensor& h) { return guard_->check(h); });
      if (st.ok()) st = payload_end(r, minor_);
      const std::string label = tensor->name.empty() && !st.ok()
                                    ? "section #" + std::to_string(index_ - 1) +
                                          " (tensor at offset " + std::to_string(s.offset) + ")"
                                    : "section '" + tensor->name + "' (tensor)";
      DEEPCOMP_RETURN_IF_ERROR(st.WithContext(path_ + ": " + label));
      if (!names_.insert(tensor->name).second)
        return Status::Error(path_ + ": " + label + ": duplicate tensor name");
      return Status::Ok();
    }
    if (s.kind == kKindEnd) {
      EndMarker end;
      DEEPCOMP_RETURN_IF_ERROR(decode_end(r, &end).WithContext(path_ + ": end section"));
      DEEPCOMP_RETURN_IF_ERROR(payload_end(r, minor_).WithContext(path_ + ": end section"));
      if (end.section_count != index_ || end.body_length != end_offset)
        return Status::Error(path_ + ": end section: records " + std::to_string(end.section_count) +
                             " sections in " + std::to_string(end.body_length) +
                             " bytes, the file has " + std::to_string(index_) + " in " +
                             std::to_string(end_offset));
      if (end.chain_crc != chain_before)
        return Status::Error(
            path_ + ": end section: chained checksum mismatch (preamble or section order)");
      if (end_offset + s.length != size_)
        return Status::Error(path_ + ": " + std::to_string(size_ - end_offset - s.length) +
                             " byte(s) of trailing data after the end marker");
      finished_ = true;
      *done = true;
      return Status::Ok();
    }
    const std::string where =
        "section #" + std::to_string(index_ - 1) + " (" + section_kind_name(s.kind) + ")";
    if (s.kind == kKindHeader || s.kind == kKindSkeleton)
      return Status::Error(path_ + ": " + where + ": out of order: expected one " +
                           section_kind_name(s.kind) + " at the start");
    return Status::Error(path_ + ": " + where + " at offset " + std::to_string(s.offset) +
                         ": unknown section kind");
  }
}

}  // namespace deepcomp::compress
