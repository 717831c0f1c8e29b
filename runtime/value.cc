// Value helpers and the Model tensor -> Value conversion.
#include "runtime/value.h"

#include <cstring>

namespace deepcomp::runtime {

Value Value::floats(std::vector<int64_t> shape, std::vector<float> data) {
  Value v;
  v.dtype = DType::kFloat32;
  v.shape = std::move(shape);
  v.f = std::move(data);
  return v;
}

Value Value::ints(std::vector<int64_t> shape, std::vector<int64_t> data) {
  Value v;
  v.dtype = DType::kInt64;
  v.shape = std::move(shape);
  v.i = std::move(data);
  return v;
}

Value Value::bools(std::vector<int64_t> shape, std::vector<int64_t> data) {
  Value v = ints(std::move(shape), std::move(data));
  v.dtype = DType::kBool;
  return v;
}

int64_t Value::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t Value::stored() const {
  return static_cast<int64_t>(is_float() ? f.size() : i.size());
}

double Value::as_double(int64_t k) const { return is_float() ? f[k] : static_cast<double>(i[k]); }

int64_t Value::as_int(int64_t k) const { return is_float() ? static_cast<int64_t>(f[k]) : i[k]; }

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t k = 0; k < shape.size(); ++k) {
    if (k) s += ",";
    s += std::to_string(shape[k]);
  }
  return s + "]";
}

std::string describe(const Value& v) { return dtype_name(v.dtype) + shape_string(v.shape); }

bool checked_numel(const std::vector<int64_t>& shape, int64_t* out) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return false;
    if (d != 0 && n > INT64_MAX / d) return false;
    n *= d;
  }
  *out = n;
  return true;
}

namespace {

template <typename T>
void decode_ints(const std::string& raw, int64_t n, std::vector<int64_t>* out) {
  out->resize(n);
  for (int64_t k = 0; k < n; ++k) {
    T x;
    std::memcpy(&x, raw.data() + k * sizeof(T), sizeof(T));
    (*out)[k] = static_cast<int64_t>(x);
  }
}

}  // namespace

Result<Value> value_from_tensor(const Tensor& tensor) {
  const std::string where = "tensor '" + tensor.name + "'";
  int64_t n = 0;
  if (!checked_numel(tensor.shape, &n)) {
    return Status::Error(where + ": invalid shape " + shape_string(tensor.shape));
  }
  Value v;
  v.shape = tensor.shape;
  if (is_float_dtype(tensor.dtype)) {
    if (static_cast<int64_t>(tensor.values.size()) != n) {
      return Status::Error(where + ": has " + std::to_string(tensor.values.size()) +
                           " values for shape " + shape_string(tensor.shape));
    }
    v.dtype = DType::kFloat32;
    v.f = tensor.values;
    return v;
  }
  const size_t esize = dtype_size(tensor.dtype);
  if (esize == 0 || tensor.dtype == DType::kUInt64 || tensor.dtype == DType::kComplex64 ||
      tensor.dtype == DType::kComplex128) {
    return Status::Error(where + ": dtype " + dtype_name(tensor.dtype) +
                         " is not supported by the runtime");
  }
  if (tensor.raw.size() != static_cast<size_t>(n) * esize) {
    return Status::Error(where + ": has " + std::to_string(tensor.raw.size()) +
                         " bytes for shape " + shape_string(tensor.shape) + " of " +
                         dtype_name(tensor.dtype));
  }
  v.dtype = tensor.dtype == DType::kBool ? DType::kBool : DType::kInt64;
  switch (tensor.dtype) {
    case DType::kInt64: decode_ints<int64_t>(tensor.raw, n, &v.i); break;
    case DType::kInt32: decode_ints<int32_t>(tensor.raw, n, &v.i); break;
    case DType::kInt16: decode_ints<int16_t>(tensor.raw, n, &v.i); break;
    case DType::kInt8: decode_ints<int8_t>(tensor.raw, n, &v.i); break;
    case DType::kUInt32: decode_ints<uint32_t>(tensor.raw, n, &v.i); break;
    case DType::kUInt16: decode_ints<uint16_t>(tensor.raw, n, &v.i); break;
    case DType::kUInt8: decode_ints<uint8_t>(tensor.raw, n, &v.i); break;
    case DType::kBool: decode_ints<uint8_t>(tensor.raw, n, &v.i); break;
    default:
      return Status::Error(where + ": dtype " + dtype_name(tensor.dtype) +
                           " is not supported by the runtime");
  }
  if (v.dtype == DType::kBool) {
    for (auto& x : v.i) x = x != 0;
  }
  return v;
}

}  // namespace deepcomp::runtime
