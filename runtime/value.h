// The runtime's tensor: a dtype (float32, int64 or bool), a shape and its elements, floats in `f`,
// int64 and bool (0/1) in `i`. Kept deliberately minimal: these three dtypes are all the
// classifier graphs deepcomp runs carry (weights and activations float32, shapes and indices
// int64, masks bool). Depends on core/ only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/model.h"
#include "core/status.h"

namespace deepcomp::runtime {

struct Value {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  std::vector<float> f;    // float32 elements, row-major
  std::vector<int64_t> i;  // int64 or bool elements, row-major

  static Value floats(std::vector<int64_t> shape, std::vector<float> data);
  static Value ints(std::vector<int64_t> shape, std::vector<int64_t> data);
  static Value bools(std::vector<int64_t> shape, std::vector<int64_t> data);

  bool is_float() const { return dtype == DType::kFloat32; }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  // Product of the shape (1 for a scalar).
  int64_t numel() const;
  // Elements held in f or i; equals numel() for a well-formed value.
  int64_t stored() const;
  // Element k as a double / int64, whatever the dtype.
  double as_double(int64_t k) const;
  int64_t as_int(int64_t k) const;
};

// "float32[1,3,224,224]" for messages.
std::string describe(const Value& v);
std::string shape_string(const std::vector<int64_t>& shape);

// Product of a shape; false when a dimension is negative or the product overflows int64.
bool checked_numel(const std::vector<int64_t>& shape, int64_t* out);

// Converts a Model tensor (float dtypes from the working copy; integer and bool dtypes from the
// raw little-endian bytes) into a Value. Errors name the tensor: unsupported dtype, or a raw size
// that does not match the shape.
Result<Value> value_from_tensor(const Tensor& tensor);

}  // namespace deepcomp::runtime
