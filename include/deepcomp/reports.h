// Reports about models as JSON text: `deepcomp inspect --json` and `deepcomp energy --json`.
// JSON keeps the public headers free of a JSON library; parse it with the one you use.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "deepcomp/status.h"

namespace deepcomp {

// The document `deepcomp inspect PATH --json` prints (without its final newline): for an .onnx,
// producer, opsets, inputs, outputs and every tensor with role and statistics; for a .dcz, the
// container's header, settings, sections and per-tensor encodings (docs/CLI.md).
Result<std::string> inspect(const std::string& path);

// The settings of `deepcomp energy` (docs/ENERGY.md); unset values take the documented defaults.
struct EnergyOptions {
  std::string compressed;  // [--compressed] its .dcz; "" compresses in memory with the defaults
  // [--input NAME=FILE.npy] what an input holds in one inference (needed for symbolic shapes).
  std::map<std::string, std::string> inputs;
  // false: time nothing (no deployment section), as `compress` does without --energy-latency.
  bool measure_latency = true;
  int runs = 10;            // [--runs] timed runs per model
  double max_seconds = 10;  // [--max-seconds] timing stops after this, per model
  int threads = 1;          // [--threads] of the timed runs
  std::optional<double> watts, pue, carbon, inferences, downloads;
  std::string region;  // [--region] grid carbon intensity by region name
};

// The document `deepcomp energy MODEL --json` prints: energy per inference of the dense and the
// compressed model, deployment and download footprints, and every assumption with its source.
Result<std::string> energy(const std::string& model, const EnergyOptions& options = {});

}  // namespace deepcomp
