// A Tensor's elements as little-endian bytes in its file dtype, and back. Used by the .dcz
// lossless encoding and by anything that must reproduce a tensor exactly.
#pragma once

#include <string>
#include <string_view>

#include "core/model.h"
#include "core/status.h"

namespace deepcomp {

// The element bytes of `t` in t.dtype: float32/16 and bfloat16 from the working copy (exact),
// float64 keeping each original double whose float copy is unchanged, other dtypes from t.raw.
std::string tensor_element_bytes(const Tensor& t);

// Fills t->values / t->raw from element bytes in t->dtype (shape and dtype must be set).
// Error when the byte count does not match the shape.
Status set_tensor_from_bytes(Tensor* t, std::string_view bytes);

// Rounds a float to the nearest value representable in `dtype` (identity for float32/64).
float round_to_dtype(float value, DType dtype);

}  // namespace deepcomp
