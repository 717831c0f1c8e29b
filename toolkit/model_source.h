// Opening a model file (.onnx or .dcz) as what runtime::Session::create needs, in one of two
// modes, for `deepcomp run`, `eval` and `bench` (and which kernels the Session then uses):
//   dense:  .onnx as stored; .dcz with every weight decoded to its dense shared values.
//   sparse: .onnx with CSR built from its dense weights (SessionOptions::sparse_from_dense);
//           .dcz straight from the compressed streams: each compressed Gemm/MatMul/Conv weight
//           becomes a codebook-CSR (or CSR, for unshared encodings) matrix and is never expanded.
// Depends on toolkit/dcz_model, compress/, onnx_io/ and runtime/session.h; holds no command logic.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core/model.h"
#include "core/status.h"
#include "runtime/session.h"

namespace deepcomp::cli {

enum class Mode { kDense, kSparse };

struct OpenedModel {
  // For a sparse .dcz, the weights provided in `options` have a shape and no values here
  // (Tensor::values empty): the Session takes them in sparse form only (session.h).
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

// --kernel auto|sparse|dense (run, eval), with --sparse and --dense short for --kernel sparse and
// --kernel dense; `kernel` is "" when --kernel was not given, and the default is auto.
struct KernelFlags {
  std::string kernel;
  bool sparse = false;
  bool dense = false;
};
// Adds the three options to a command.
void add_kernel_flags(CLI::App* cmd, KernelFlags* flags);
// The choice they make; more than one of the three is an error naming them.
Result<runtime::KernelChoice> kernel_for_flags(const KernelFlags& flags);

// Opens `path` for `kernel`: sparse and auto open the sparse form (a .dcz from its compressed
// streams, an .onnx with CSR built from its weights) and set options.kernel, so that under auto
// the Session expands the layers above the density crossover; dense opens the model dense. Under
// auto the crossover is the kernel profile's (toolkit/kernel_profile.h) at `profile_path` when that
// file exists ("" = the default location), the built-in 10% otherwise.
Result<OpenedModel> open_model_for_kernel(const std::string& path, runtime::KernelChoice kernel,
                                          const std::string& profile_path = "");

// A model opened per the kernel flags and compiled, for run and eval.
struct LoadedModel {
  OpenedModel opened;  // its `model` is emptied once the Session holds what it needs
  runtime::Session session;
};
// Errors name the file (bad flags, unreadable model, a node the runtime rejects).
Result<LoadedModel> load_for_kernel_flags(const std::string& path, const KernelFlags& flags,
                                          int threads);

// One line on what the Session compiled: "kernel auto (dense above 10% density): 1 layer sparse,
// 2 dense".
std::string kernel_summary(const runtime::Session& session, const runtime::SessionOptions& options);
// Layers of `session` that run on a sparse kernel.
int sparse_layer_count(const runtime::Session& session);

}  // namespace deepcomp::cli
