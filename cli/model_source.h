// Opening a model file (.onnx or .dcz) as what runtime::Session::create needs, in one of two
// modes, for `deepcomp run`, `eval` and `bench`:
//   dense:  .onnx as stored; .dcz with every weight decoded to its dense shared values.
//   sparse: .onnx with CSR built from its dense weights (SessionOptions::sparse_from_dense);
//           .dcz straight from the compressed streams: each compressed Gemm/MatMul/Conv weight
//           becomes a codebook-CSR (or CSR, for unshared encodings) matrix and is never expanded.
// Depends on cli/dcz_model, compress/, onnx_io/ and runtime/session.h; holds no command logic.
#pragma once

#include <string>

#include "core/model.h"
#include "core/status.h"
#include "runtime/session.h"

namespace deepcomp::cli {

enum class Mode { kDense, kSparse };

struct OpenedModel {
  // For a sparse .dcz, the weights provided in `options` are zero-filled placeholders here: the
  // Session reads their shapes (and needs a value of the declared size), never their contents.
  Model model;
  runtime::SessionOptions options;
  // One line for humans: the file, the mode and how many weights run sparse.
  std::string description;
  bool is_dcz = false;
  bool sparse = false;
  int sparse_weights = 0;  // weights given in codebook-CSR / CSR form (dcz sparse)
  int dense_weights = 0;   // compressed weights a sparse .dcz still had to expand (see .cc)
};

// The mode a command uses when neither --sparse nor --dense is given: sparse for a .dcz (its
// natural form), dense for an .onnx.
Mode default_mode(bool is_dcz);

// Opens `path` (.dcz detected by content, anything else loaded as ONNX) in `mode`.
// Errors name the file (and the tensor when a compressed stream is bad).
Result<OpenedModel> open_model(const std::string& path, Mode mode);

// Convenience: open_model with an explicit mode, or default_mode when neither flag was given.
// `sparse_flag` and `dense_flag` must not both be set (checked, message names the options).
Result<OpenedModel> open_model_for_flags(const std::string& path, bool sparse_flag,
                                         bool dense_flag);

}  // namespace deepcomp::cli
