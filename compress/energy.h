// The energy model of docs/ENERGY.md as plain arithmetic: per-inference energy of a dense and a
// compressed model from per-layer work counts and per-operation prices (Horowitz, ISSCC 2014), and
// the deployment footprint (inference electricity x PUE x grid carbon intensity, plus shipping the
// model file to devices). No I/O and no dependency on the runtime, onnx_io or the CLI: the callers
// measure shapes, latencies and power and pass the numbers in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace deepcomp::compress {

// Energy of one operation, picojoules (Horowitz, "Computing's energy problem (and what we can do
// about it)", ISSCC 2014, 45 nm at 0.9 V), and the on-chip memory size deciding where weights
// live. Every field is overridable from the command line.
struct EnergyPrices {
  double dram_pj = 640;       // one 32-bit DRAM access
  double sram_pj = 5;         // one 32-bit access to an 8 KB SRAM
  double fmul_pj = 3.7;       // one fp32 multiply
  double fadd_pj = 0.9;       // one fp32 add
  double int_add_pj = 0.1;    // one 32-bit integer add
  double int8_add_pj = 0.03;  // one 8-bit integer add (relative indices of at most 8 bits)
  double int8_mul_pj = 0.2;   // one 8-bit integer multiply (quantized layers: int8 x int8 MACs
                              // accumulate in 32 bits, so a MAC is int8 mul + int add)
  // One codebook lookup per decoded nonzero weight: priced as an SRAM read (the codebook is at
  // most 2^16 x 4 bytes and is read like any small on-chip table), not as a free register read.
  double codebook_pj = 5;
  double on_chip_bytes = 8.0 * 1024 * 1024;  // a typical desktop/server last-level cache
};

// The work of one weight layer (Gemm, MatMul or Conv) for ONE sample, and its storage.
struct LayerWork {
  std::string name;     // the weight tensor
  std::string kind;     // "fc" or "conv"
  int64_t weights = 0;  // dense weight count
  int64_t bias = 0;     // bias elements (stored losslessly in both models)
  // Output positions each weight is applied at per sample: 1 for an fc layer, the output's spatial
  // size for a conv layer (MACs = weights x positions).
  int64_t positions = 1;
  int64_t in_elements = 0;   // activation elements read per sample
  int64_t out_elements = 0;  // activation elements written per sample
  double dense_bits = 0;     // weight + bias storage of the dense model (32 per fp32 element)
  // Compressed model.
  double compressed_bits = 0;  // Huffman-stage bits: weights + index + codebook, plus the bias
  int64_t nonzero = 0;         // stored (nonzero) weights
  int64_t index_entries = 0;   // relative-index entries (nonzero + fillers); 0 when not pruned
  int index_bits = 0;          // width of a relative index
  bool shared = false;         // weights are codebook indices (one lookup per decoded weight)
  bool integer = false;        // an 8-bit integer layer (ConvInteger, MatMulInteger, QLinear*)
};

// Per-inference energy of one layer, picojoules, split by where it goes.
struct LayerEnergy {
  std::string name, kind;
  double macs = 0;             // dense multiply-accumulates per sample
  double compressed_macs = 0;  // nonzero x positions
  double activation_pj = 0;    // same in both models
  double dense_weight_pj = 0;  // weight fetch, amortized over the batch
  double dense_arith_pj = 0;
  double compressed_weight_pj = 0;
  double compressed_arith_pj = 0;
  double codebook_pj = 0;  // amortized over the batch
  double index_pj = 0;     // amortized over the batch
  double dense_pj() const { return dense_weight_pj + dense_arith_pj + activation_pj; }
  double compressed_pj() const {
    return compressed_weight_pj + compressed_arith_pj + codebook_pj + index_pj + activation_pj;
  }
};

struct InferenceEnergy {
  std::vector<LayerEnergy> layers;
  int64_t batch = 1;
  double dense_weight_bytes = 0;
  double compressed_weight_bytes = 0;
  bool dense_on_chip = false;  // all dense weights fit the on-chip memory (priced as SRAM)
  bool compressed_on_chip = false;
  double dense_pj = 0;  // per inference (one sample)
  double compressed_pj = 0;
  double ratio() const { return compressed_pj > 0 ? dense_pj / compressed_pj : 0; }
};

// Rejects negative or non-finite prices and sizes, naming the field.
Status validate_prices(const EnergyPrices& prices);

// Energy per inference of the dense and compressed models at batch `batch` (>= 1): weight fetch,
// codebook lookups and index arithmetic happen once per batch and are divided among its samples;
// arithmetic and activations are per sample. Errors name the layer with inconsistent counts.
Result<InferenceEnergy> inference_energy(const std::vector<LayerWork>& layers,
                                         const EnergyPrices& prices, int64_t batch);

// Joules of one inference from a latency and a power draw.
inline double joules_from_latency(double latency_ms, double watts) {
  return latency_ms / 1000.0 * watts;
}

inline constexpr double kJoulesPerKwh = 3.6e6;

struct Footprint {
  double dense_kwh = 0, compressed_kwh = 0;
  double dense_kg_co2e = 0, compressed_kg_co2e = 0;
  double saving_kwh() const { return dense_kwh - compressed_kwh; }
  double saving_kg_co2e() const { return dense_kg_co2e - compressed_kg_co2e; }
};

// `inferences` inferences at the given joules each, times the data centre's PUE, at
// `kg_co2e_per_kwh`.
Result<Footprint> deployment_footprint(double dense_joules, double compressed_joules, double pue,
                                       double kg_co2e_per_kwh, double inferences);

// Shipping the model file to `downloads` devices at `kwh_per_gb` (GB = 1e9 bytes).
Result<Footprint> download_footprint(double dense_bytes, double compressed_bytes, double downloads,
                                     double kwh_per_gb, double kg_co2e_per_kwh);

}  // namespace deepcomp::compress
