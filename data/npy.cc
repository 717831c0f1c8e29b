// .npy reading into typed arrays and writing in any numeric dtype.
#include "data/npy.h"

#include <cstring>

#include "core/file_io.h"

namespace deepcomp::data {

namespace {

constexpr int64_t kMaxNpyElements = int64_t{1} << 40;

template <typename T>
T load_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T>
void store_le(T v, char* p) {
  std::memcpy(p, &v, sizeof(T));
}

// Parses the Python-dict header of a .npy: {'descr': '<f4', 'fortran_order': False, 'shape': (8,
// 784), }
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
    std::string item =
        dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t a = item.find_first_not_of(' ');
    if (a != std::string::npos) {
      size_t b = item.find_last_not_of(' ');
      item = item.substr(a, b - a + 1);
      if (item.empty() || item.size() > 15 ||
          item.find_first_not_of("0123456789") != std::string::npos)
        return Status::Error(path + ": bad .npy shape entry '" + item + "'");
      shape->push_back(std::stoll(item));
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return Status::Ok();
}

// The dtype of a descr's kind ("f4", "i8", "b1" ...); kUndefined when deepcomp reads no such kind.
DType dtype_of_kind(const std::string& kind) {
  static const struct {
    const char* kind;
    DType dtype;
  } kKinds[] = {{"f2", DType::kFloat16}, {"f4", DType::kFloat32}, {"f8", DType::kFloat64},
                {"i1", DType::kInt8},    {"i2", DType::kInt16},   {"i4", DType::kInt32},
                {"i8", DType::kInt64},   {"u1", DType::kUInt8},   {"u2", DType::kUInt16},
                {"u4", DType::kUInt32},  {"u8", DType::kUInt64},  {"b1", DType::kBool}};
  for (const auto& k : kKinds)
    if (kind == k.kind) return k.dtype;
  return DType::kUndefined;
}

}  // namespace

int64_t TypedArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string npy_descr(DType dtype) {
  switch (dtype) {
    case DType::kFloat16:
      return "<f2";
    case DType::kFloat32:
      return "<f4";
    case DType::kFloat64:
      return "<f8";
    case DType::kInt8:
      return "|i1";
    case DType::kInt16:
      return "<i2";
    case DType::kInt32:
      return "<i4";
    case DType::kInt64:
      return "<i8";
    case DType::kUInt8:
      return "|u1";
    case DType::kUInt16:
      return "<u2";
    case DType::kUInt32:
      return "<u4";
    case DType::kUInt64:
      return "<u8";
    case DType::kBool:
      return "|b1";
    default:
      return "";
  }
}

Result<TypedArray> read_npy_typed(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  if (bytes.empty()) return Status::Error(path + ": empty file");
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return Status::Error(path + ": not a .npy file (bad magic)");
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len =
        static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
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
  TypedArray array;
  DEEPCOMP_RETURN_IF_ERROR(parse_npy_header(header, path, &descr, &fortran, &array.shape));
  if (fortran) return Status::Error(path + ": Fortran-order .npy arrays are not supported");
  int64_t n = 1;
  for (int64_t d : array.shape) {
    if (d != 0 && n > kMaxNpyElements / d)
      return Status::Error(path + ": declared shape has more than 2^40 elements");
    n *= d;
  }
  // '<' little-endian, '|' no byte order (1-byte types), '=' native (little-endian here).
  const bool order_ok =
      descr.size() == 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=');
  array.dtype = order_ok ? dtype_of_kind(descr.substr(1)) : DType::kUndefined;
  if (array.dtype == DType::kUndefined)
    return Status::Error(path + ": unsupported .npy dtype '" + descr + "'");
  const size_t elem = static_cast<size_t>(descr[2] - '0');
  const size_t data_off = offset + header_len;
  const size_t need = static_cast<size_t>(n) * elem;
  if (bytes.size() - data_off < need)
    return Status::Error(path + ": truncated: shape needs " + std::to_string(need) +
                         " bytes of data, file has " + std::to_string(bytes.size() - data_off));
  const char* p = bytes.data() + data_off;
  const size_t count = static_cast<size_t>(n);
  if (array.is_float()) {
    array.f.resize(count);
    for (size_t k = 0; k < count; ++k, p += elem) {
      switch (array.dtype) {
        case DType::kFloat16:
          array.f[k] = half_to_float(load_le<uint16_t>(p));
          break;
        case DType::kFloat64:
          array.f[k] = static_cast<float>(load_le<double>(p));
          break;
        default:
          array.f[k] = load_le<float>(p);
          break;
      }
    }
    return array;
  }
  array.i.resize(count);
  for (size_t k = 0; k < count; ++k, p += elem) {
    int64_t v = 0;
    switch (array.dtype) {
      case DType::kInt8:
        v = static_cast<int8_t>(*p);
        break;
      case DType::kInt16:
        v = load_le<int16_t>(p);
        break;
      case DType::kInt32:
        v = load_le<int32_t>(p);
        break;
      case DType::kInt64:
        v = load_le<int64_t>(p);
        break;
      case DType::kUInt8:
        v = static_cast<uint8_t>(*p);
        break;
      case DType::kUInt16:
        v = load_le<uint16_t>(p);
        break;
      case DType::kUInt32:
        v = load_le<uint32_t>(p);
        break;
      case DType::kUInt64:
        v = static_cast<int64_t>(load_le<uint64_t>(p));
        break;
      case DType::kBool:
        v = *p != 0;
        break;
      default:
        break;
    }
    array.i[k] = v;
  }
  return array;
}

Result<std::string> npy_bytes_typed(const TypedArray& array) {
  // NumPy has no bfloat16: its values are exact in float32.
  const DType file_dtype = array.dtype == DType::kBFloat16 ? DType::kFloat32 : array.dtype;
  const std::string descr = npy_descr(file_dtype);
  if (descr.empty())
    return Status::Error("no .npy dtype for " + dtype_name(array.dtype) + " elements");
  int64_t n = 1;
  for (int64_t d : array.shape) {
    if (d < 0 || (d != 0 && n > kMaxNpyElements / d))
      return Status::Error("cannot write an array of invalid shape");
    n *= d;
  }
  const size_t stored = array.is_float() ? array.f.size() : array.i.size();
  if (stored != static_cast<size_t>(n))
    return Status::Error("array holds " + std::to_string(stored) + " elements for " +
                         std::to_string(n));
  std::string dims;
  for (size_t k = 0; k < array.shape.size(); ++k) {
    dims += std::to_string(array.shape[k]);
    if (array.shape.size() == 1 || k + 1 < array.shape.size()) dims += ",";
    if (k + 1 < array.shape.size()) dims += " ";
  }
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
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
  const size_t elem = dtype_size(file_dtype);
  const size_t off = out.size();
  out.resize(off + static_cast<size_t>(n) * elem);
  char* p = out.data() + off;
  for (size_t k = 0; k < static_cast<size_t>(n); ++k, p += elem) {
    switch (file_dtype) {
      case DType::kFloat32:
        store_le<float>(array.f[k], p);
        break;
      case DType::kFloat16:
        store_le<uint16_t>(float_to_half(array.f[k]), p);
        break;
      case DType::kFloat64:
        store_le<double>(array.f[k], p);
        break;
      case DType::kInt8:
        store_le<int8_t>(static_cast<int8_t>(array.i[k]), p);
        break;
      case DType::kInt16:
        store_le<int16_t>(static_cast<int16_t>(array.i[k]), p);
        break;
      case DType::kInt32:
        store_le<int32_t>(static_cast<int32_t>(array.i[k]), p);
        break;
      case DType::kInt64:
        store_le<int64_t>(array.i[k], p);
        break;
      case DType::kUInt8:
        store_le<uint8_t>(static_cast<uint8_t>(array.i[k]), p);
        break;
      case DType::kUInt16:
        store_le<uint16_t>(static_cast<uint16_t>(array.i[k]), p);
        break;
      case DType::kUInt32:
        store_le<uint32_t>(static_cast<uint32_t>(array.i[k]), p);
        break;
      case DType::kUInt64:
        store_le<uint64_t>(static_cast<uint64_t>(array.i[k]), p);
        break;
      case DType::kBool:
        store_le<uint8_t>(array.i[k] != 0, p);
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace deepcomp::data
