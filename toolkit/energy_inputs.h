// What the energy model (compress/energy.h) needs from a real model and machine: per-layer work
// counts from one profiled run of the runtime, the compressed side of each layer (from a compress
// report or a .dcz container), latencies measured by running the runtime, RAPL energy counters and
// the last-level cache size from sysfs. The arithmetic lives in compress/energy.*, the printing
// in toolkit/energy_report.*.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "toolkit/model_inputs.h"
#include "compress/container.h"
#include "compress/energy.h"
#include "compress/report.h"
#include "core/model.h"
#include "core/status.h"
#include "runtime/session.h"
#include "runtime/value.h"

namespace deepcomp::cli {

// The compressed form of one weight tensor, as the energy model prices it.
struct CompressedLayerStats {
  double bits = 0;  // weights + index + codebook (Huffman stage)
  int64_t nonzero = 0;
  int64_t index_entries = 0;
  int index_bits = 0;
  bool shared = false;
};
using CompressedStats = std::map<std::string, CompressedLayerStats>;

// From the pipeline's report (tensors stored losslessly keep every weight).
CompressedStats compressed_stats_from_report(const compress::CompressReport& report);
// From a container's encoded tensors (stream and codebook sizes).
CompressedStats compressed_stats_from_container(const compress::Container& container);

// One sample for every graph input of `session`: the arrays `given` names (`energy --input
// NAME=FILE.npy`, checked as `run` checks them: toolkit/model_inputs.h); for the others their declared
// dims (unknown ones set to 1, batch 1), float inputs of any float dtype filled with a fixed
// pseudo-random pattern in [0, 1), integer and bool inputs with zeros.
Result<std::vector<runtime::Value>> sample_inputs(const runtime::Session& session,
                                                  const std::vector<InputSpec>& given);

// A Gemm/MatMul/Conv node with a weight tensor, and the shapes of its first input and output at
// batch 1.
struct WeightNode {
  std::string node, op_type, weight;
  std::vector<int64_t> input_shape, output_shape;
  bool operator==(const WeightNode&) const = default;
};
// From ONNX shape inference (no weights copied, nothing run); nullopt when a needed shape is
// unknown statically.
std::optional<std::vector<WeightNode>> static_weight_nodes(const Model& dense);
// From one profiled run of the runtime on sample_inputs(given).
Result<std::vector<WeightNode>> profiled_weight_nodes(const Model& dense,
                                                      const std::vector<InputSpec>& given);

// Turns every weight node into a LayerWork (shapes from static_weight_nodes, or, when that fails
// or inputs are `given` (their shapes decide), from profiled_weight_nodes; dense storage from the
// model, compressed side from `compressed`; a weight missing there is priced as stored dense).
Result<std::vector<compress::LayerWork>> gather_layer_work(const Model& dense,
                                                           const CompressedStats& compressed,
                                                           const std::vector<InputSpec>& given);

// Package energy counters of /sys/class/powercap/intel-rapl:N (top-level domains only: their
// subdomains are parts of the same package and would be counted twice).
struct RaplReading {
  std::vector<uint64_t> energy_uj;
  std::vector<uint64_t> max_range_uj;
};
// nullopt when no domain exists or one is unreadable (recent kernels make energy_uj root-only).
std::optional<RaplReading> read_rapl();
// Joules between two readings of the same domains, allowing each counter one wrap-around.
double rapl_joules(const RaplReading& before, const RaplReading& after);

struct LatencyResult {
  double median_ms = 0;
  int runs = 0;
  std::optional<double> rapl_joules_per_run;  // when RAPL was readable before and after
  double seconds = 0;                         // wall time of the timed runs
};
// One warm-up run, then up to `runs` timed runs of `inputs`, stopping early (after at least one)
// once they have taken `max_seconds`, so that a model taking a minute per run is timed in two
// runs, not eleven; the median per-run time. `label` names the model in the progress line shown
// on stderr when it is a terminal (empty: no progress).
Result<LatencyResult> measure_latency(runtime::Session& session,
                                      const std::vector<runtime::Value>& inputs, int runs,
                                      double max_seconds = 1e300, const std::string& label = "");

struct CacheInfo {
  int level = 0;
  double bytes = 0;
};
// The largest data/unified cache of cpu0, from /sys/devices/system/cpu/cpu0/cache.
std::optional<CacheInfo> last_level_cache();

}  // namespace deepcomp::cli
