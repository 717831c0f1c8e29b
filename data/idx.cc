#include "data/idx.h"

#include <zlib.h>

#include <bit>
#include <cstring>
#include <limits>

#include "core/dtype.h"
#include "core/file_io.h"

namespace deepcomp::data {

namespace {

constexpr int64_t kMaxElements = int64_t{1} << 40;

// Whole file, gunzipped when it starts with the gzip magic. The output cap keeps a tiny gzip
// bomb from taking all memory.
Result<std::string> read_maybe_gzip(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::string raw, read_file(path));
  if (raw.size() < 2 || static_cast<uint8_t>(raw[0]) != 0x1f || static_cast<uint8_t>(raw[1]) != 0x8b)
    return raw;
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return Status::Error(path + ": zlib init failed");
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  std::string out;
  constexpr size_t kChunk = 1 << 20;
  constexpr size_t kCap = size_t{16} << 30;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (out.size() >= kCap) {
      inflateEnd(&zs);
      return Status::Error(path + ": gzip content larger than 16 GiB");
    }
    const size_t old = out.size();
    out.resize(old + kChunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    zs.avail_out = static_cast<uInt>(kChunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(old + kChunk - zs.avail_out);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK) {
      inflateEnd(&zs);
      return Status::Error(path + ": corrupt gzip data");
    }
    if (zs.avail_in == 0) {
      inflateEnd(&zs);
      return Status::Error(path + ": truncated gzip data");
    }
  }
  inflateEnd(&zs);
  return out;
}

uint32_t read_be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

template <typename T>
T load_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T>
T load_be(const char* p) {
  unsigned char b[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<unsigned char>(p[sizeof(T) - 1 - i]);
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

// Product of dims with overflow and sanity checks.
Result<int64_t> checked_numel(const std::vector<int64_t>& shape, const std::string& path) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return Status::Error(path + ": negative dimension");
    if (d != 0 && n > kMaxElements / d)
      return Status::Error(path + ": declared shape has more than 2^40 elements");
    n *= d;
  }
  return n;
}

}  // namespace

int64_t Array::sample_size() const {
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

Result<Array> read_idx(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::string bytes, read_maybe_gzip(path));
  if (bytes.empty()) return Status::Error(path + ": empty file");
  if (bytes.size() < 4) return Status::Error(path + ": too short for an IDX header");
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  if (u[0] != 0 || u[1] != 0)
    return Status::Error(path + ": not an IDX file (bad magic; expected 0x0000TTNN)");
  const int type = u[2];
  const int rank = u[3];
  size_t elem = 0;
  switch (type) {
    case 0x08: case 0x09: elem = 1; break;
    case 0x0B: elem = 2; break;
    case 0x0C: case 0x0D: elem = 4; break;
    case 0x0E: elem = 8; break;
    default:
      return Status::Error(path + ": unknown IDX element type 0x" +
                           std::to_string(type) + " (bad magic)");
  }
  if (rank == 0) return Status::Error(path + ": IDX file with no dimensions");
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (bytes.size() < header) return Status::Error(path + ": truncated IDX header");
  Array array;
  for (int i = 0; i < rank; ++i) array.shape.push_back(read_be32(u + 4 + 4 * i));
  DEEPCOMP_ASSIGN_OR_RETURN(int64_t n, checked_numel(array.shape, path));
  const size_t need = static_cast<size_t>(n) * elem;
  if (bytes.size() - header < need)
    return Status::Error(path + ": truncated: header declares " + std::to_string(n) +
                         " elements (" + std::to_string(need) + " bytes) but " +
                         std::to_string(bytes.size() - header) + " bytes follow");
  if (bytes.size() - header > need)
    return Status::Error(path + ": " + std::to_string(bytes.size() - header - need) +
                         " bytes of trailing data after the declared elements");
  array.values.resize(static_cast<size_t>(n));
  const char* p = bytes.data() + header;
  for (int64_t k = 0; k < n; ++k, p += elem) {
    float v = 0;
    switch (type) {
      case 0x08: v = static_cast<uint8_t>(*p); break;
      case 0x09: v = static_cast<int8_t>(*p); break;
      case 0x0B: v = load_be<int16_t>(p); break;
      case 0x0C: v = static_cast<float>(load_be<int32_t>(p)); break;
      case 0x0D: v = load_be<float>(p); break;
      case 0x0E: v = static_cast<float>(load_be<double>(p)); break;
    }
    array.values[static_cast<size_t>(k)] = v;
  }
  return array;
}

namespace {

// Parses the Python-dict header of a .npy: {'descr': '<f4', 'fortran_order': False, 'shape': (8, 784), }
Status parse_npy_header(const std::string& header, const std::string& path, std::string* descr,
                        bool* fortran, std::vector<int64_t>* shape) {
  auto value_after = [&](const std::string& key) -> size_t {
    size_t k = header.find("'" + key + "'");
    if (k == std::string::npos) return std::string::npos;
    size_t colon = header.find(':', k);
    if (colon == std::string::npos) return std::string::npos;
    return header.find_first_not_of(' ', colon + 1);
  };
  size_t d = value_after("descr");
  if (d == std::string::npos || header[d] != '\'')
    return Status::Error(path + ": .npy header has no descr");
  size_t d_end = header.find('\'', d + 1);
  if (d_end == std::string::npos) return Status::Error(path + ": bad .npy header");
  *descr = header.substr(d + 1, d_end - d - 1);
  size_t f = value_after("fortran_order");
  if (f == std::string::npos) return Status::Error(path + ": .npy header has no fortran_order");
  *fortran = header.compare(f, 4, "True") == 0;
  size_t s = value_after("shape");
  if (s == std::string::npos || header[s] != '(')
    return Status::Error(path + ": .npy header has no shape");
  size_t s_end = header.find(')', s);
  if (s_end == std::string::npos) return Status::Error(path + ": bad .npy shape");
  std::string dims = header.substr(s + 1, s_end - s - 1);
  shape->clear();
  size_t pos = 0;
  while (pos < dims.size()) {
    size_t comma = dims.find(',', pos);
    std::string item = dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t a = item.find_first_not_of(' ');
    if (a != std::string::npos) {
      size_t b = item.find_last_not_of(' ');
      item = item.substr(a, b - a + 1);
      if (item.empty() || item.size() > 15 || item.find_first_not_of("0123456789") != std::string::npos)
        return Status::Error(path + ": bad .npy shape entry '" + item + "'");
      shape->push_back(std::stoll(item));
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return Status::Ok();
}

}  // namespace

Result<Array> read_npy(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  if (bytes.empty()) return Status::Error(path + ": empty file");
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return Status::Error(path + ": not a .npy file (bad magic)");
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return Status::Error(path + ": truncated .npy header");
    header_len = load_le<uint32_t>(bytes.data() + 8);
    offset = 12;
  } else {
    return Status::Error(path + ": unsupported .npy version " + std::to_string(major));
  }
  if (bytes.size() - offset < header_len) return Status::Error(path + ": truncated .npy header");
  const std::string header = bytes.substr(offset, header_len);
  std::string descr;
  bool fortran = false;
  Array array;
  DEEPCOMP_RETURN_IF_ERROR(parse_npy_header(header, path, &descr, &fortran, &array.shape));
  if (fortran) return Status::Error(path + ": Fortran-order .npy arrays are not supported");
  if (array.shape.empty()) array.shape.push_back(1);  // a 0-d array is one sample of one value
  DEEPCOMP_ASSIGN_OR_RETURN(int64_t n, checked_numel(array.shape, path));
  size_t elem = 0;
  if (descr.size() >= 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=')) {
    elem = static_cast<size_t>(descr[2] - '0');
  }
  const std::string kind = descr.size() >= 2 ? descr.substr(1) : "";
  const bool known = kind == "f4" || kind == "f8" || kind == "u1" || kind == "i1" || kind == "i2" ||
                     kind == "i4" || kind == "i8" || kind == "u2" || kind == "u4" || kind == "u8" ||
                     kind == "b1" || kind == "f2";
  // elem == 0: a byte-order character other than < | = (e.g. 'Pi4'), so no element size.
  if (!known || descr.size() != 3 || elem == 0)
    return Status::Error(path + ": unsupported .npy dtype '" + descr + "'");
  const size_t data_off = offset + header_len;
  const size_t need = static_cast<size_t>(n) * elem;
  if (bytes.size() - data_off < need)
    return Status::Error(path + ": truncated: shape needs " + std::to_string(need) +
                         " bytes of data, file has " + std::to_string(bytes.size() - data_off));
  array.values.resize(static_cast<size_t>(n));
  const char* p = bytes.data() + data_off;
  for (int64_t k = 0; k < n; ++k, p += elem) {
    float v = 0;
    if (kind == "f4") v = load_le<float>(p);
    else if (kind == "f8") v = static_cast<float>(load_le<double>(p));
    else if (kind == "f2") v = half_to_float(load_le<uint16_t>(p));
    else if (kind == "u1" || kind == "b1") v = static_cast<uint8_t>(*p);
    else if (kind == "i1") v = static_cast<int8_t>(*p);
    else if (kind == "i2") v = load_le<int16_t>(p);
    else if (kind == "u2") v = load_le<uint16_t>(p);
    else if (kind == "i4") v = static_cast<float>(load_le<int32_t>(p));
    else if (kind == "u4") v = static_cast<float>(load_le<uint32_t>(p));
    else if (kind == "i8") v = static_cast<float>(load_le<int64_t>(p));
    else if (kind == "u8") v = static_cast<float>(load_le<uint64_t>(p));
    array.values[static_cast<size_t>(k)] = v;
  }
  return array;
}

Result<Array> read_array(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::string head, read_file(path));
  if (head.size() >= 6 && head.compare(0, 6, "\x93NUMPY") == 0) return read_npy(path);
  return read_idx(path);
}

std::string npy_bytes(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) {
    dims += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) dims += ",";
    if (i + 1 < shape.size()) dims += " ";
  }
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad so that the data starts at a multiple of 64 bytes, ending the header with a newline.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>((header.size() >> 8) & 0xFF);
  out += header;
  const size_t off = out.size();
  out.resize(off + values.size() * sizeof(float));
  std::memcpy(out.data() + off, values.data(), values.size() * sizeof(float));
  return out;
}

}  // namespace deepcomp::data
