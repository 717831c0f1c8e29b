#include "data/idx.h"

#include <zlib.h>

#include <cstring>

#include "core/dtype.h"
#include "core/file_io.h"
#include "data/npy.h"

namespace deepcomp::data {

namespace {

constexpr int64_t kMaxIdxElements = int64_t{1} << 40;

// Whole file, gunzipped when it starts with the gzip magic. The output cap keeps a tiny gzip
// bomb from taking all memory.
Result<std::string> read_maybe_gzip(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::string raw, read_file(path));
  if (raw.size() < 2 || static_cast<uint8_t>(raw[0]) != 0x1f ||
      static_cast<uint8_t>(raw[1]) != 0x8b)
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
    if (d != 0 && n > kMaxIdxElements / d)
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
    case 0x08:
    case 0x09:
      elem = 1;
      break;
    case 0x0B:
      elem = 2;
      break;
    case 0x0C:
    case 0x0D:
      elem = 4;
      break;
    case 0x0E:
      elem = 8;
      break;
    default:
      return Status::Error(path + ": unknown IDX element type 0x" + std::to_string(type) +
                           " (bad magic)");
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
      case 0x08:
        v = static_cast<uint8_t>(*p);
        break;
      case 0x09:
        v = static_cast<int8_t>(*p);
        break;
      case 0x0B:
        v = load_be<int16_t>(p);
        break;
      case 0x0C:
        v = static_cast<float>(load_be<int32_t>(p));
        break;
      case 0x0D:
        v = load_be<float>(p);
        break;
      case 0x0E:
        v = static_cast<float>(load_be<double>(p));
        break;
    }
    array.values[static_cast<size_t>(k)] = v;
  }
  return array;
}

Result<Array> read_npy(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(TypedArray typed, read_npy_typed(path));
  Array array;
  array.shape = std::move(typed.shape);
  if (array.shape.empty()) array.shape.push_back(1);  // a 0-d array is one sample of one value
  if (typed.is_float()) {
    array.values = std::move(typed.f);
  } else {
    array.values.resize(typed.i.size());
    for (size_t k = 0; k < typed.i.size(); ++k) {
      // uint64 keeps its bits in int64 storage; widen it as unsigned.
      array.values[k] = typed.dtype == DType::kUInt64
                            ? static_cast<float>(static_cast<uint64_t>(typed.i[k]))
                            : static_cast<float>(typed.i[k]);
    }
  }
  return array;
}

Result<Array> read_array(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::string head, read_file(path));
  if (head.size() >= 6 && head.compare(0, 6, "\x93NUMPY") == 0) return read_npy(path);
  return read_idx(path);
}

std::string npy_bytes(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  TypedArray array;
  array.shape = shape;
  array.f = values;
  auto bytes = npy_bytes_typed(array);
  return bytes.ok() ? std::move(bytes).value() : std::string();
}

}  // namespace deepcomp::data
