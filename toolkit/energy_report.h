// The energy report shared by `deepcomp energy` and `deepcomp compress`: the settings (every
// assumption of docs/ENERGY.md with its default and source, each overridable by a flag), running
// the model to measure what is measured, and printing the result as text or JSON.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "toolkit/energy_inputs.h"
#include "compress/container.h"
#include "core/model.h"
#include "core/status.h"

namespace deepcomp::cli {

// Defaults (sources in docs/ENERGY.md and in the report's "assumptions").
inline constexpr double kDefaultOnChipMb = 8;     // MiB: a typical desktop last-level cache
inline constexpr double kDefaultWatts = 65;       // a common desktop CPU TDP
inline constexpr double kDefaultPue = 1.58;       // Uptime Institute 2018, as in Strubell 2019
inline constexpr double kDefaultCarbon = 0.4327;  // kg CO2e/kWh, U.S. average (Strubell 2019)
inline constexpr double kDefaultKwhPerGb = 0.06;  // Aslan et al. 2018, for 2015
inline constexpr double kDefaultInferences = 1e6;
inline constexpr double kDefaultDownloads = 1e6;

// Every assumption is optional here: unset means the default above (or Horowitz's price).
struct EnergySettings {
  std::optional<double> dram_pj, sram_pj, fmul_pj, fadd_pj, int_add_pj, int8_add_pj, int8_mul_pj,
      codebook_pj;
  std::optional<double> on_chip_mb;
  int64_t batch = 1;
  int runs = 10;
  double max_seconds = 10;  // per model: timing stops after this, once a run is done
  // false: time nothing (the deployment section is then skipped unless both latencies are given).
  bool measure_latency = true;
  int threads = 1;  // OpenMP threads of the timed runs: batch-1 latency, no oversubscription
  std::optional<double> latency_ms_dense, latency_ms_compressed;
  std::optional<double> watts;
  std::optional<double> pue;
  std::optional<double> carbon;
  std::string region;
  std::optional<double> inferences, downloads, kwh_per_gb;
  // `energy --input NAME=FILE.npy`: the arrays one inference runs on (others are generated:
  // sample_inputs in toolkit/energy_inputs.h).
  std::vector<InputSpec> inputs;
};

// Adds the flags above to `cmd` (in an option group "Energy model").
void add_energy_options(CLI::App* cmd, EnergySettings* settings);

// Checks flag values (ranges, known --region, not both --region and --carbon).
Status validate_energy_settings(const EnergySettings& settings);

// Per-inference model, latency measurement (unless both latencies are given), deployment and
// download footprints, and every assumption, as the JSON documented in docs/ENERGY.md.
// `dense` is the original model; `container` its compressed form (run on the runtime's sparse
// kernels for the compressed latency); `compressed` the per-layer compressed stats.
Result<nlohmann::json> energy_report(const Model& dense, const compress::Container& container,
                                     const CompressedStats& compressed, double dense_file_bytes,
                                     double compressed_file_bytes, const EnergySettings& settings);

// The human-readable form of energy_report()'s JSON.
std::string format_energy_text(const nlohmann::json& report);

}  // namespace deepcomp::cli
