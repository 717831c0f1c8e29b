// Value helpers and the Model tensor -> Value conversion.
#include "runtime/value.h"

#include <cmath>
#include <cstring>

#include "runtime/buffer_pool.h"

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

int64_t Value::stored() const { return static_cast<int64_t>(is_float() ? f.size() : i.size()); }

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

bool is_integer_dtype(DType dtype) {
  switch (dtype) {
    case DType::kInt8:
    case DType::kInt16:
    case DType::kInt32:
    case DType::kInt64:
    case DType::kUInt8:
    case DType::kUInt16:
    case DType::kUInt32:
    case DType::kUInt64:
      return true;
    default:
      return false;
  }
}

bool is_runtime_dtype(DType dtype) {
  return is_float_dtype(dtype) || is_integer_dtype(dtype) || dtype == DType::kBool;
}

Value zeros_like_dtype(DType dtype, std::vector<int64_t> shape) {
  Value v;
  v.dtype = dtype;
  v.shape = std::move(shape);
  const int64_t n = v.numel();
  if (v.is_float()) {
    // Storage recycled from the running Session's earlier values when there is one.
    if (FloatBufferPool* pool = active_float_pool()) v.f = pool->take(n);
    v.f.resize(n);
  } else {
    v.i.resize(n);
  }
  return v;
}

Value for_overwrite_like_dtype(DType dtype, std::vector<int64_t> shape) {
  FloatBufferPool* pool = active_float_pool();
  if (!pool || !is_float_dtype(dtype)) return zeros_like_dtype(dtype, std::move(shape));
  Value v;
  v.dtype = dtype;
  v.shape = std::move(shape);
  const int64_t n = v.numel();
  v.f = pool->take_for_overwrite(n);
  v.f.resize(n);  // (nothing fitted: fresh zeroed storage)
  return v;
}

void fit_to_dtype(Value* v) {
  auto wrap = [v](auto type_tag) {
    using T = decltype(type_tag);
    for (int64_t& x : v->i) x = static_cast<int64_t>(static_cast<T>(x));
  };
  switch (v->dtype) {
    case DType::kFloat16:
      for (float& x : v->f) x = half_to_float(float_to_half(x));
      break;
    case DType::kBFloat16:
      for (float& x : v->f) x = bfloat16_to_float(float_to_bfloat16(x));
      break;
    case DType::kInt8:
      wrap(int8_t{});
      break;
    case DType::kInt16:
      wrap(int16_t{});
      break;
    case DType::kInt32:
      wrap(int32_t{});
      break;
    case DType::kUInt8:
      wrap(uint8_t{});
      break;
    case DType::kUInt16:
      wrap(uint16_t{});
      break;
    case DType::kUInt32:
      wrap(uint32_t{});
      break;
    case DType::kBool:
      for (int64_t& x : v->i) x = x != 0;
      break;
    default:
      break;
  }
}

Value cast_value(const Value& x, DType to) {
  Value y = zeros_like_dtype(to, x.shape);
  const size_t n = static_cast<size_t>(x.stored());
  const bool from_u64 = x.dtype == DType::kUInt64;
  if (y.is_float()) {
    for (size_t k = 0; k < n; ++k) {
      y.f[k] = x.is_float() ? x.f[k]
               : from_u64   ? static_cast<float>(static_cast<uint64_t>(x.i[k]))
                            : static_cast<float>(x.i[k]);
    }
  } else if (to == DType::kBool) {
    for (size_t k = 0; k < n; ++k) y.i[k] = x.is_float() ? x.f[k] != 0.0f : x.i[k] != 0;
  } else if (x.is_float()) {
    for (size_t k = 0; k < n; ++k) {
      // Out-of-range and NaN conversions are undefined in C++; saturate instead.
      const float v = x.f[k];
      if (std::isnan(v)) {
        y.i[k] = 0;
      } else if (to == DType::kUInt64 && v >= 9.2e18f) {
        y.i[k] = v >= 1.8e19f ? -1 : static_cast<int64_t>(static_cast<uint64_t>(v));
      } else {
        y.i[k] = v >= 9.2e18f ? INT64_MAX : v <= -9.2e18f ? INT64_MIN : static_cast<int64_t>(v);
      }
    }
  } else {
    y.i.assign(x.i.begin(), x.i.end());
  }
  fit_to_dtype(&y);
  return y;
}

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
    v.dtype = tensor.dtype;
    v.f = tensor.values;
    return v;
  }
  const size_t esize = dtype_size(tensor.dtype);
  if (esize == 0 || !is_runtime_dtype(tensor.dtype)) {
    return Status::Error(where + ": dtype " + dtype_name(tensor.dtype) +
                         " is not supported by the runtime");
  }
  if (tensor.raw.size() != static_cast<size_t>(n) * esize) {
    return Status::Error(where + ": has " + std::to_string(tensor.raw.size()) +
                         " bytes for shape " + shape_string(tensor.shape) + " of " +
                         dtype_name(tensor.dtype));
  }
  v.dtype = tensor.dtype;
  switch (tensor.dtype) {
    case DType::kInt64:
      decode_ints<int64_t>(tensor.raw, n, &v.i);
      break;
    case DType::kInt32:
      decode_ints<int32_t>(tensor.raw, n, &v.i);
      break;
    case DType::kInt16:
      decode_ints<int16_t>(tensor.raw, n, &v.i);
      break;
    case DType::kInt8:
      decode_ints<int8_t>(tensor.raw, n, &v.i);
      break;
    case DType::kUInt64:
      decode_ints<uint64_t>(tensor.raw, n, &v.i);
      break;
    case DType::kUInt32:
      decode_ints<uint32_t>(tensor.raw, n, &v.i);
      break;
    case DType::kUInt16:
      decode_ints<uint16_t>(tensor.raw, n, &v.i);
      break;
    case DType::kUInt8:
      decode_ints<uint8_t>(tensor.raw, n, &v.i);
      break;
    case DType::kBool:
      decode_ints<uint8_t>(tensor.raw, n, &v.i);
      break;
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
