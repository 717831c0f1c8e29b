// Readers for the array files deepcomp evaluates on: IDX (the MNIST / Fashion-MNIST format,
// gzipped or not) and NumPy .npy widened to float (typed .npy: data/npy.h), plus a float32 .npy
// writer. Depends only on zlib, core/ and data/npy.h. Every size read from a file is checked
// against the bytes actually present before anything is allocated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace deepcomp::data {

// An n-D array of values widened to float (images, labels or model inputs); shape[0] = samples.
struct Array {
  std::vector<int64_t> shape;
  std::vector<float> values;

  int64_t samples() const { return shape.empty() ? 0 : shape[0]; }
  // Elements per sample (product of shape[1:]; 1 for a 1-D array).
  int64_t sample_size() const;
};

// Reads an IDX file (magic 0x00000800 | type, big-endian dims), gzipped or not. Types: ubyte,
// byte, short, int, float, double.
Result<Array> read_idx(const std::string& path);

// Reads a .npy file (the dtypes of data/npy.h's read_npy_typed), every element widened to float;
// a 0-d array becomes shape [1].
Result<Array> read_npy(const std::string& path);

// Reads either format, by content: .npy magic, else IDX.
Result<Array> read_array(const std::string& path);

// Serializes a float32 C-order .npy (version 1.0) into bytes ("" when values.size() does not match
// the shape).
std::string npy_bytes(const std::vector<int64_t>& shape, const std::vector<float>& values);

}  // namespace deepcomp::data
