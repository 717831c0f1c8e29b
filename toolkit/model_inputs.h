// `--input` for run, compare, sweep, bench, eval and energy: NAME=FILE.npy gives the graph input
// NAME that array as its whole tensor (any numeric dtype, scalars included); the plain form FILE
// feeds the first graph input N samples stacked along the first axis (a .npy or IDX, reshaped
// and batched as `run` always did). Every check happens before a model runs or a file is written,
// with one-line errors naming the input: unknown name (listing the model's inputs), missing
// input, duplicate, dtype and static-shape mismatch. Depends on data/, runtime/value.h and
// toolkit/preprocess.h (the plain form's batch shape) and runtime/batch.h (run_on_inputs).
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "data/npy.h"
#include "runtime/session.h"
#include "runtime/value.h"

namespace deepcomp::cli {

// One --input value: name "" is the plain form.
struct InputSpec {
  std::string name;
  std::string path;
};

// Adds the repeatable `-i,--input` option (one value per occurrence) to `cmd`.
CLI::Option* add_input_option(CLI::App* cmd, std::vector<std::string>* values,
                              const std::string& help);

// Splits each value at its first '=' into NAME=FILE; a value without '=', or one that is an
// existing file as a whole (a path containing '='), is the plain form. Errors: an empty name or
// file, the same name twice, more than one plain value, a plain value when `allow_plain` is false.
Result<std::vector<InputSpec>> parse_input_specs(const std::vector<std::string>& values,
                                                 bool allow_plain);

// What a model is run on: one value per graph input, in graph input order.
struct ModelInputs {
  std::vector<runtime::Value> values;
  // The input fed by the plain form (N samples along axis 0), if any: runtime::run_batch batches
  // it, the others are whole tensors given to every run.
  std::optional<size_t> batched;
  int64_t samples = 1;  // N of the plain form; 1 without it
};

// Reads and checks every spec against `inputs` (the Session's graph inputs); every input must be
// given. The plain form feeds inputs[0]: float inputs take any numeric .npy or IDX converted to
// their dtype (first axis = samples); integer and bool inputs take a .npy of exactly their dtype.
// A named .npy must have exactly the input's declared dtype (float64 into float32 is an error:
// the safe choice, and the message says how to convert) and fit its static dimensions.
Result<ModelInputs> load_model_inputs(const std::vector<InputSpec>& specs,
                                      const std::vector<ValueInfo>& inputs);

// The named specs only, for commands that fill the other inputs themselves (eval's images, bench's
// random batch, energy's sample): index in `inputs` -> value. Missing inputs are not an error here.
Result<std::vector<std::optional<runtime::Value>>> load_named_inputs(
    const std::vector<InputSpec>& specs, const std::vector<ValueInfo>& inputs);

// "input 'mask' (bool[1,?]) is not given: add --input mask=FILE.npy"
// The declared static dimensions of `input` agree with `shape` (free ones match anything).
bool fits_declared(const ValueInfo& input, const std::vector<int64_t>& shape);

std::string missing_input_message(const ValueInfo& input);
// "int64[1,?]" (dtype "any" when undeclared, dims_string for the shape).
std::string declared_type(const ValueInfo& input);

// Runs `session` on `inputs`: run_batch over the plain form's samples, else one run. Returns the
// graph outputs in order (stacked along axis 0 when batched).
Result<std::vector<runtime::Value>> run_on_inputs(runtime::Session& session,
                                                  const ModelInputs& inputs);

// A runtime value as a typed array for .npy / .npz writing (same dtype, storage moved).
data::TypedArray typed_array_from_value(runtime::Value value);

}  // namespace deepcomp::cli
