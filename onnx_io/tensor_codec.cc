// TensorProto <-> Tensor: every storage field ONNX allows (raw_data, float_data, double_data,
// int32_data holding the narrow types, int64_data, uint64_data, string_data, external data), with
// every size checked against the data actually present before anything is allocated.
#include <sys/stat.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/tensor_bytes.h"
#include "onnx_io/internal.h"

namespace deepcomp::onnx_io::internal {
namespace fs = std::filesystem;

namespace {

Status tensor_error(const std::string& name, const std::string& what) {
  return Status::Error("tensor '" + name + "': " + what);
}

// String tensors keep their strings in Tensor::raw as (8-byte little-endian length, bytes)*.
std::string encode_strings(const google::protobuf::RepeatedPtrField<std::string>& strings) {
  std::string out;
  for (const std::string& s : strings) {
    uint64_t len = s.size();
    out.append(reinterpret_cast<const char*>(&len), 8);
    out.append(s);
  }
  return out;
}

Status decode_strings(const Tensor& t, google::protobuf::RepeatedPtrField<std::string>* out) {
  std::string_view rest = t.raw;
  while (!rest.empty()) {
    uint64_t len = 0;
    if (rest.size() < 8) return tensor_error(t.name, "malformed string data");
    std::memcpy(&len, rest.data(), 8);
    rest.remove_prefix(8);
    if (len > rest.size()) return tensor_error(t.name, "malformed string data");
    out->Add(std::string(rest.substr(0, len)));
    rest.remove_prefix(len);
  }
  if (out->size() != t.numel())
    return tensor_error(t.name,
                        std::to_string(out->size()) + " strings for shape " + shape_text(t.shape));
  return Status::Ok();
}

// The typed field a dtype is stored in, and how many values each element takes there.
enum class Field { kFloat, kDouble, kInt32, kInt64, kUInt64, kString };

Field typed_field(DType dtype, int* per_element) {
  *per_element = 1;
  switch (dtype) {
    case DType::kFloat32:
      return Field::kFloat;
    case DType::kComplex64:
      *per_element = 2;
      return Field::kFloat;
    case DType::kFloat64:
      return Field::kDouble;
    case DType::kComplex128:
      *per_element = 2;
      return Field::kDouble;
    case DType::kInt64:
      return Field::kInt64;
    case DType::kUInt32:
    case DType::kUInt64:
      return Field::kUInt64;
    case DType::kString:
      return Field::kString;
    default:
      return Field::kInt32;  // int32/16/8, uint16/8, bool, float16, bfloat16
  }
}

const char* field_name(Field f) {
  switch (f) {
    case Field::kFloat:
      return "float_data";
    case Field::kDouble:
      return "double_data";
    case Field::kInt32:
      return "int32_data";
    case Field::kInt64:
      return "int64_data";
    case Field::kUInt64:
      return "uint64_data";
    case Field::kString:
      return "string_data";
  }
  return "?";
}

int64_t field_size(const onnx::TensorProto& p, Field f) {
  switch (f) {
    case Field::kFloat:
      return p.float_data_size();
    case Field::kDouble:
      return p.double_data_size();
    case Field::kInt32:
      return p.int32_data_size();
    case Field::kInt64:
      return p.int64_data_size();
    case Field::kUInt64:
      return p.uint64_data_size();
    case Field::kString:
      return p.string_data_size();
  }
  return 0;
}

// Element bytes from a typed field whose size has been checked (count * element size bytes).
std::string typed_to_bytes(const onnx::TensorProto& p, Field f, DType dtype) {
  std::string out;
  const size_t elem = dtype_size(dtype);
  switch (f) {
    case Field::kFloat:
      if (p.float_data_size())
        out.assign(reinterpret_cast<const char*>(p.float_data().data()), p.float_data_size() * 4);
      break;
    case Field::kDouble:
      if (p.double_data_size())
        out.assign(reinterpret_cast<const char*>(p.double_data().data()), p.double_data_size() * 8);
      break;
    case Field::kInt64:
      if (p.int64_data_size())
        out.assign(reinterpret_cast<const char*>(p.int64_data().data()), p.int64_data_size() * 8);
      break;
    case Field::kUInt64:
      out.resize(p.uint64_data_size() * elem);
      for (int i = 0; i < p.uint64_data_size(); ++i) {
        const uint64_t v = p.uint64_data(i);
        std::memcpy(out.data() + i * elem, &v, elem);  // little-endian: low bytes first
      }
      break;
    case Field::kInt32:
      out.resize(p.int32_data_size() * elem);
      for (int i = 0; i < p.int32_data_size(); ++i) {
        const int32_t v = p.int32_data(i);
        std::memcpy(out.data() + i * elem, &v, elem);
      }
      break;
    case Field::kString:
      out = encode_strings(p.string_data());
      break;
  }
  return out;
}

bool is_signed_narrow(DType d) { return d == DType::kInt8 || d == DType::kInt16; }

void bytes_to_typed(std::string_view bytes, DType dtype, onnx::TensorProto* p) {
  int per = 1;
  const Field f = typed_field(dtype, &per);
  const size_t elem = dtype_size(dtype);
  const size_t n = elem == 0 ? 0 : bytes.size() / elem;
  switch (f) {
    case Field::kFloat: {
      auto* d = p->mutable_float_data();
      d->Resize(static_cast<int>(n * per), 0.f);
      if (!bytes.empty()) std::memcpy(d->mutable_data(), bytes.data(), bytes.size());
      break;
    }
    case Field::kDouble: {
      auto* d = p->mutable_double_data();
      d->Resize(static_cast<int>(n * per), 0.0);
      if (!bytes.empty()) std::memcpy(d->mutable_data(), bytes.data(), bytes.size());
      break;
    }
    case Field::kInt64: {
      auto* d = p->mutable_int64_data();
      d->Resize(static_cast<int>(n), 0);
      if (!bytes.empty()) std::memcpy(d->mutable_data(), bytes.data(), bytes.size());
      break;
    }
    case Field::kUInt64: {
      auto* d = p->mutable_uint64_data();
      d->Resize(static_cast<int>(n), 0);
      for (size_t i = 0; i < n; ++i) {
        uint64_t v = 0;
        std::memcpy(&v, bytes.data() + i * elem, elem);
        d->Set(static_cast<int>(i), v);
      }
      break;
    }
    case Field::kInt32: {
      auto* d = p->mutable_int32_data();
      d->Resize(static_cast<int>(n), 0);
      for (size_t i = 0; i < n; ++i) {
        int32_t v = 0;
        if (elem == 4) {
          std::memcpy(&v, bytes.data() + i * 4, 4);
        } else if (elem == 2) {
          uint16_t u;
          std::memcpy(&u, bytes.data() + i * 2, 2);
          v = is_signed_narrow(dtype) ? static_cast<int16_t>(u) : u;
        } else {
          const uint8_t u = static_cast<uint8_t>(bytes[i]);
          v = is_signed_narrow(dtype) ? static_cast<int8_t>(u) : u;
        }
        d->Set(static_cast<int>(i), v);
      }
      break;
    }
    case Field::kString:
      break;  // handled by the caller
  }
}

Result<int64_t> parse_int(const std::string& name, const std::string& key, const std::string& v) {
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || ptr != v.data() + v.size() || out < 0)
    return tensor_error(name, "external data " + key + " '" + v + "' is not a valid number");
  return out;
}

// Reads [offset, offset+length) of the external file after checking the path stays inside
// `base_dir` and the file holds that many bytes. `read_data` false: the checks only (the data is
// read later, one tensor at a time, by read_external_data).
Result<std::string> read_external(const onnx::TensorProto& p, const std::string& name,
                                  const std::string& base_dir, uint64_t need_bytes,
                                  const std::string& shape_dtype, TensorLocation* loc,
                                  bool read_data) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset") {
      DEEPCOMP_ASSIGN_OR_RETURN(offset, parse_int(name, "offset", kv.value()));
    } else if (kv.key() == "length") {
      DEEPCOMP_ASSIGN_OR_RETURN(length, parse_int(name, "length", kv.value()));
    }
  }
  if (location.empty()) return tensor_error(name, "external data without a location");
  loc->external_file = location;
  loc->external_offset = offset;
  loc->external_length = length;
  if (base_dir.empty())
    return tensor_error(name, "external data '" + location + "' cannot be resolved here");
  const fs::path rel(location);
  if (rel.is_absolute())
    return tensor_error(name, "external data path '" + location + "' is absolute; refused");
  const fs::path norm = rel.lexically_normal();
  if (norm.empty() || *norm.begin() == ".." || norm == ".")
    return tensor_error(
        name, "external data path '" + location + "' escapes the model's folder; refused");
  const fs::path full = fs::path(base_dir) / norm;
  // A symlink inside the folder may still point outside it.
  std::error_code ec;
  const fs::path real = fs::weakly_canonical(full, ec);
  const fs::path real_base = fs::weakly_canonical(base_dir, ec);
  const std::string rb = real_base.string(), rf = real.string();
  if (rf.compare(0, rb.size(), rb) != 0 || (rf.size() > rb.size() && rf[rb.size()] != '/'))
    return tensor_error(
        name, "external data path '" + location + "' resolves outside the model's folder; refused");
  struct stat st {};
  if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return tensor_error(name, "external data file '" + full.string() + "' is missing");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const uint64_t off = static_cast<uint64_t>(offset);
  const uint64_t len = length >= 0 ? static_cast<uint64_t>(length) : (off <= size ? size - off : 0);
  if (off > size || len > size - off)
    return tensor_error(name, "external data file '" + full.string() + "' is " +
                                  std::to_string(size) + " bytes, too short for offset " +
                                  std::to_string(off) + " + length " + std::to_string(len));
  if (len != need_bytes)
    return tensor_error(name, "external data is " + std::to_string(len) + " bytes, shape " +
                                  shape_dtype + " needs " + std::to_string(need_bytes));
  if (!read_data) return std::string();
  std::ifstream in(full, std::ios::binary);
  std::string data(len, '\0');
  in.seekg(static_cast<std::streamoff>(off));
  in.read(data.data(), static_cast<std::streamsize>(len));
  if (!in || in.gcount() != static_cast<std::streamsize>(len))
    return tensor_error(name, "cannot read external data file '" + full.string() + "'");
  return data;
}

}  // namespace

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Result<Tensor> decode_tensor_proto(const onnx::TensorProto& p, const std::string& name,
                                   const std::string& base_dir, bool defer_external) {
  Tensor t;
  t.name = name;
  if (!is_known_dtype(p.data_type()))
    return tensor_error(name, "unknown data type code " + std::to_string(p.data_type()));
  t.dtype = static_cast<DType>(p.data_type());
  if (p.has_segment()) return tensor_error(name, "segmented tensors are not supported");
  uint64_t numel = 1;
  for (int64_t d : p.dims()) {
    if (d < 0) return tensor_error(name, "negative dimension " + std::to_string(d));
    if (d != 0 && numel > (uint64_t{1} << 62) / static_cast<uint64_t>(d))
      return tensor_error(name, "element count of shape overflows");
    numel *= static_cast<uint64_t>(d);
    t.shape.push_back(d);
  }
  const std::string shape_dtype = shape_text(t.shape) + " " + dtype_name(t.dtype);
  const uint64_t elem = dtype_size(t.dtype);
  if (elem != 0 && numel > (uint64_t{1} << 62) / elem)
    return tensor_error(name, "byte size of shape " + shape_dtype + " overflows");
  const uint64_t need = numel * elem;

  std::string owned;
  std::string_view bytes;
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    if (t.dtype == DType::kString) return tensor_error(name, "external string data");
    DEEPCOMP_ASSIGN_OR_RETURN(
        owned, read_external(p, name, base_dir, need, shape_dtype, &t.location, !defer_external));
    bytes = owned;
    t.location.raw_data = true;
    if (defer_external) return t;  // no data yet: read_external_data reads it
  } else if (p.has_raw_data()) {
    if (t.dtype == DType::kString) return tensor_error(name, "string tensor with raw_data");
    if (p.raw_data().size() != need)
      return tensor_error(name, "data is " + std::to_string(p.raw_data().size()) +
                                    " bytes, shape " + shape_dtype + " needs " +
                                    std::to_string(need));
    bytes = p.raw_data();
    t.location.raw_data = true;
  } else {
    int per = 1;
    const Field f = typed_field(t.dtype, &per);
    const uint64_t have = static_cast<uint64_t>(field_size(p, f));
    if (have != numel * per)
      return tensor_error(name, "data is " + std::to_string(have) + " values in " + field_name(f) +
                                    ", shape " + shape_dtype + " needs " +
                                    std::to_string(numel * per));
    owned = typed_to_bytes(p, f, t.dtype);
    bytes = owned;
    t.location.raw_data = false;
  }
  if (t.dtype == DType::kString) {
    t.raw.assign(bytes);
    return t;
  }
  // core's byte conversion memcpys from the (null) data of empty buffers, which UBSan rejects.
  if (numel == 0) return t;
  DEEPCOMP_RETURN_IF_ERROR(set_tensor_from_bytes(&t, bytes));
  return t;
}

Result<Tensor> decode_constant_attribute(const onnx::AttributeProto& a, const std::string& name) {
  Tensor t;
  t.name = name;
  t.location.raw_data = false;
  const std::string& an = a.name();
  if (an == "value_float") {
    t.dtype = DType::kFloat32;
    t.values = {a.f()};
  } else if (an == "value_floats") {
    t.dtype = DType::kFloat32;
    t.shape = {a.floats_size()};
    t.values.assign(a.floats().begin(), a.floats().end());
  } else if (an == "value_int") {
    t.dtype = DType::kInt64;
    const int64_t v = a.i();
    t.raw.assign(reinterpret_cast<const char*>(&v), 8);
  } else if (an == "value_ints") {
    t.dtype = DType::kInt64;
    t.shape = {a.ints_size()};
    if (a.ints_size())
      t.raw.assign(reinterpret_cast<const char*>(a.ints().data()), a.ints_size() * 8);
  } else {
    return tensor_error(name, "Constant attribute '" + an + "' holds no numeric tensor");
  }
  return t;
}

void strip_tensor_proto(onnx::TensorProto* p) {
  // Swap with empties rather than clear(): clear() keeps the capacity, and the stripped proto
  // would go on holding a copy of every weight while the Model holds another.
  if (p->has_raw_data()) std::string().swap(*p->mutable_raw_data());
  p->clear_raw_data();
  google::protobuf::RepeatedField<float>().Swap(p->mutable_float_data());
  google::protobuf::RepeatedField<double>().Swap(p->mutable_double_data());
  google::protobuf::RepeatedField<int32_t>().Swap(p->mutable_int32_data());
  google::protobuf::RepeatedField<int64_t>().Swap(p->mutable_int64_data());
  google::protobuf::RepeatedField<uint64_t>().Swap(p->mutable_uint64_data());
  p->clear_string_data();
  if (p->data_location() == onnx::TensorProto::EXTERNAL) {
    p->clear_external_data();
    p->clear_data_location();
  }
}

void strip_constant_attribute(onnx::AttributeProto* a) {
  a->clear_f();
  a->clear_floats();
  a->clear_i();
  a->clear_ints();
}

std::string element_bytes(const Tensor& t) {
  if (t.dtype == DType::kString || t.numel() == 0) return t.raw;
  return tensor_element_bytes(t);
}

Status fill_tensor_proto(const Tensor& t, onnx::TensorProto* p) {
  if (t.dtype == DType::kString) {
    p->clear_string_data();
    return decode_strings(t, p->mutable_string_data());
  }
  const std::string bytes = element_bytes(t);
  if (bytes.size() != t.byte_size())
    return tensor_error(t.name, "holds " + std::to_string(bytes.size()) + " bytes, shape " +
                                    shape_text(t.shape) + " " + dtype_name(t.dtype) + " needs " +
                                    std::to_string(t.byte_size()));
  if (t.location.raw_data) {
    p->set_raw_data(bytes);
  } else {
    bytes_to_typed(bytes, t.dtype, p);
  }
  return Status::Ok();
}

Status fill_constant_attribute(const Tensor& t, onnx::AttributeProto* a) {
  const std::string& an = a->name();
  const bool scalar = an == "value_float" || an == "value_int";
  const bool is_float = an == "value_float" || an == "value_floats";
  const DType want = is_float ? DType::kFloat32 : DType::kInt64;
  if (t.dtype != want || (scalar && t.numel() != 1))
    return tensor_error(t.name, "does not fit Constant attribute '" + an + "' (" +
                                    dtype_name(t.dtype) + " " + shape_text(t.shape) + ")");
  const std::string bytes = element_bytes(t);
  if (bytes.size() != t.byte_size()) return tensor_error(t.name, "data does not match its shape");
  const size_t n = static_cast<size_t>(t.numel());
  if (an == "value_float") {
    a->set_f(t.values[0]);
  } else if (an == "value_floats") {
    a->mutable_floats()->Assign(t.values.begin(), t.values.end());
  } else {
    std::vector<int64_t> v(n);
    if (n) std::memcpy(v.data(), bytes.data(), n * 8);
    if (scalar)
      a->set_i(v[0]);
    else
      a->mutable_ints()->Assign(v.begin(), v.end());
  }
  return Status::Ok();
}

}  // namespace deepcomp::onnx_io::internal
