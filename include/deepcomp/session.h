// Running a model: deepcomp::Session opens an .onnx, or a .dcz run straight from its compressed
// form on the runtime's sparse kernels, exactly as `deepcomp run` does, and runs it on named
// in-memory arrays. The weights are loaded once, when the Session is opened; run() never copies
// them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "deepcomp/status.h"

namespace deepcomp {

// A tensor passed to or returned by Session::run, stored as the runtime stores it: floating
// dtypes (float32, float16, bfloat16, float64) in `f` as float32, integer dtypes and bool in `i`
// as int64 (bool 0/1). Row-major; an empty shape is a scalar.
struct Array {
  std::string dtype = "float32";  // ONNX element type name: float32, int64, bool, uint8, ...
  std::vector<int64_t> shape;
  std::vector<float> f;
  std::vector<int64_t> i;
};

// A graph input or output as the model declares it; -1 is a symbolic or unknown dimension.
struct TensorInfo {
  std::string name;
  std::string dtype;  // "" when the model does not declare it
  std::vector<int64_t> shape;
  bool has_shape = false;
};

// How a Session runs the model ([--kernel] and [--threads] of `deepcomp run`).
struct SessionOptions {
  // "auto" (sparse kernels below the density crossover, dense above), "sparse" or "dense".
  std::string kernel = "auto";
  int threads = 1;  // OpenMP threads; 0 = the OpenMP default
};

// A compiled model. Move-only; run() may be called from one thread at a time (calls from several
// threads are serialized).
class Session {
 public:
  // Opens `path` (a .dcz is recognised by its content, anything else is loaded as ONNX). Errors
  // name the file: unreadable model, bad kernel name, an operator the runtime does not support.
  static Result<Session> open(const std::string& path, const SessionOptions& options = {});

  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  // The graph inputs and outputs, in graph order.
  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;

  // Runs the model once. Every graph input must be given by name, with the declared dtype and a
  // shape fitting the declared one; errors name the input (unknown, missing, given twice, wrong
  // dtype or shape, element count not matching the shape). The arrays are moved into the run.
  // Returns every graph output, in graph order, with its name.
  Result<std::vector<std::pair<std::string, Array>>> run(
      std::vector<std::pair<std::string, Array>> inputs);

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deepcomp
