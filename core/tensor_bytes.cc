#include "core/tensor_bytes.h"

#include <bit>
#include <cstring>

namespace deepcomp {

std::string tensor_element_bytes(const Tensor& t) {
  const size_t n = t.values.size();
  std::string out;
  switch (t.dtype) {
    case DType::kFloat32:
      out.resize(n * 4);
      if (n > 0) std::memcpy(out.data(), t.values.data(), n * 4);
      return out;
    case DType::kFloat16:
    case DType::kBFloat16: {
      out.resize(n * 2);
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = t.dtype == DType::kFloat16 ? float_to_half(t.values[i])
                                                      : float_to_bfloat16(t.values[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
      }
      return out;
    }
    case DType::kFloat64: {
      out.resize(n * 8);
      const bool have_raw = t.raw.size() == n * 8;
      for (size_t i = 0; i < n; ++i) {
        double d = t.values[i];
        if (have_raw) {
          double original;
          std::memcpy(&original, t.raw.data() + 8 * i, 8);
          // Keep the exact original where the working copy was not changed.
          if (std::bit_cast<uint32_t>(static_cast<float>(original)) ==
              std::bit_cast<uint32_t>(t.values[i]))
            d = original;
        }
        std::memcpy(out.data() + 8 * i, &d, 8);
      }
      return out;
    }
    default:
      return t.raw;
  }
}

Status set_tensor_from_bytes(Tensor* t, std::string_view bytes) {
  const int64_t n = t->numel();
  const size_t elem = dtype_size(t->dtype);
  if (elem == 0)
    return Status::Error("tensor '" + t->name + "': dtype " + dtype_name(t->dtype) +
                         " has no fixed element size");
  if (n < 0 || bytes.size() != static_cast<size_t>(n) * elem)
    return Status::Error("tensor '" + t->name + "': " + std::to_string(bytes.size()) +
                         " bytes of data for " + std::to_string(n) + " " +
                         dtype_name(t->dtype) + " elements");
  t->values.clear();
  t->raw.clear();
  switch (t->dtype) {
    case DType::kFloat32:
      t->values.resize(static_cast<size_t>(n));
      if (n > 0) std::memcpy(t->values.data(), bytes.data(), bytes.size());
      break;
    case DType::kFloat16:
    case DType::kBFloat16:
      t->values.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes.data() + 2 * i, 2);
        t->values[i] = t->dtype == DType::kFloat16 ? half_to_float(h) : bfloat16_to_float(h);
      }
      break;
    case DType::kFloat64:
      t->values.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, bytes.data() + 8 * i, 8);
        t->values[i] = static_cast<float>(d);
      }
      t->raw.assign(bytes);
      break;
    default:
      t->raw.assign(bytes);
  }
  return Status::Ok();
}

float round_to_dtype(float value, DType dtype) {
  if (dtype == DType::kFloat16) return half_to_float(float_to_half(value));
  if (dtype == DType::kBFloat16) return bfloat16_to_float(float_to_bfloat16(value));
  return value;
}

}  // namespace deepcomp
