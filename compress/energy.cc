#include "compress/energy.h"

#include <cmath>
#include <initializer_list>
#include <utility>

namespace deepcomp::compress {
namespace {

Status check_amount(const char* what, double value) {
  if (!std::isfinite(value) || value < 0)
    return Status::Error(std::string(what) + " must be a finite number >= 0, got " +
                         std::to_string(value));
  return Status::Ok();
}

// The first of `fields` (option or quantity name, value) that is not a finite number >= 0.
Status check_amounts(std::initializer_list<std::pair<const char*, double>> fields) {
  for (const auto& [name, value] : fields) DEEPCOMP_RETURN_IF_ERROR(check_amount(name, value));
  return Status::Ok();
}

Status check_layer(const LayerWork& l) {
  const std::string where = "energy: layer '" + l.name + "': ";
  if (l.weights < 0 || l.bias < 0 || l.positions < 0 || l.in_elements < 0 || l.out_elements < 0 ||
      l.nonzero < 0 || l.index_entries < 0 || l.index_bits < 0)
    return Status::Error(where + "negative count");
  if (l.nonzero > l.weights)
    return Status::Error(where + std::to_string(l.nonzero) + " nonzero weights of " +
                         std::to_string(l.weights));
  if (!std::isfinite(l.dense_bits) || l.dense_bits < 0 || !std::isfinite(l.compressed_bits) ||
      l.compressed_bits < 0)
    return Status::Error(where + "storage bits must be finite and >= 0");
  return Status::Ok();
}

struct WeightAndArith {
  double weight_pj = 0;
  double arith_pj = 0;
};

// One model's copy of a layer (dense or compressed: only the counts differ): `bits` of weights
// fetched at `fetch_pj` per 32-bit access once per batch of `batch` samples, and `macs`
// multiply-accumulates plus the bias adds per sample.
WeightAndArith price_layer(double bits, double fetch_pj, double macs, double mac_pj, double bias_pj,
                           double batch) {
  return {bits / 32 * fetch_pj / batch, macs * mac_pj + bias_pj};
}

}  // namespace

Status validate_prices(const EnergyPrices& p) {
  return check_amounts({{"--dram-pj", p.dram_pj},
                        {"--sram-pj", p.sram_pj},
                        {"--fmul-pj", p.fmul_pj},
                        {"--fadd-pj", p.fadd_pj},
                        {"--int-add-pj", p.int_add_pj},
                        {"--int8-add-pj", p.int8_add_pj},
                        {"--int8-mul-pj", p.int8_mul_pj},
                        {"--codebook-pj", p.codebook_pj},
                        {"--on-chip-mb", p.on_chip_bytes}});
}

Result<InferenceEnergy> inference_energy(const std::vector<LayerWork>& layers,
                                         const EnergyPrices& prices, int64_t batch) {
  DEEPCOMP_RETURN_IF_ERROR(validate_prices(prices));
  if (batch < 1) return Status::Error("energy: batch must be >= 1, got " + std::to_string(batch));
  InferenceEnergy out;
  out.batch = batch;
  for (const LayerWork& l : layers) {
    DEEPCOMP_RETURN_IF_ERROR(check_layer(l));
    out.dense_weight_bytes += l.dense_bits / 8;
    out.compressed_weight_bytes += l.compressed_bits / 8;
  }
  // Where each model's weights live is decided for the whole model: a model that fits on chip is
  // loaded once and then read from SRAM; one that does not is streamed from DRAM every batch.
  out.dense_on_chip = out.dense_weight_bytes <= prices.on_chip_bytes;
  out.compressed_on_chip = out.compressed_weight_bytes <= prices.on_chip_bytes;
  const double dense_fetch = out.dense_on_chip ? prices.sram_pj : prices.dram_pj;
  const double compressed_fetch = out.compressed_on_chip ? prices.sram_pj : prices.dram_pj;
  const double mac_pj = prices.fmul_pj + prices.fadd_pj;
  const double b = static_cast<double>(batch);

  for (const LayerWork& l : layers) {
    LayerEnergy e;
    e.name = l.name;
    e.kind = l.kind;
    const double positions = static_cast<double>(l.positions);
    e.macs = static_cast<double>(l.weights) * positions;
    e.compressed_macs = static_cast<double>(l.nonzero) * positions;
    // The bias add is one fp32 add per output element, in both models.
    const double bias_pj = l.bias > 0 ? static_cast<double>(l.out_elements) * prices.fadd_pj : 0;
    e.activation_pj = static_cast<double>(l.in_elements + l.out_elements) * prices.sram_pj;
    const double layer_mac_pj = l.integer ? prices.int8_mul_pj + prices.int_add_pj : mac_pj;
    const WeightAndArith dense =
        price_layer(l.dense_bits, dense_fetch, e.macs, layer_mac_pj, bias_pj, b);
    e.dense_weight_pj = dense.weight_pj;
    e.dense_arith_pj = dense.arith_pj;
    const WeightAndArith compressed = price_layer(l.compressed_bits, compressed_fetch,
                                                  e.compressed_macs, layer_mac_pj, bias_pj, b);
    e.compressed_weight_pj = compressed.weight_pj;
    e.compressed_arith_pj = compressed.arith_pj;
    // Each stored weight is decoded once per batch (codebook lookup, running sum of relative
    // indices) and then applied at all its positions for every sample of the batch.
    if (l.shared) e.codebook_pj = static_cast<double>(l.nonzero) * prices.codebook_pj / b;
    const double index_add = l.index_bits <= 8 ? prices.int8_add_pj : prices.int_add_pj;
    e.index_pj = static_cast<double>(l.index_entries) * index_add / b;
    out.dense_pj += e.dense_pj();
    out.compressed_pj += e.compressed_pj();
    out.layers.push_back(std::move(e));
  }
  return out;
}

namespace {

// Both footprints price a dense and a compressed amount (joules per inference, or file bytes) the
// same way: kWh from the amount, then CO2e from the kWh. `kwh_of` keeps each caller's own order
// of operations, so the results are bit-identical to pricing each side by hand.
template <typename KwhOf>
Footprint price_footprint(double dense_amount, double compressed_amount, double kg_co2e_per_kwh,
                          KwhOf kwh_of) {
  Footprint f;
  f.dense_kwh = kwh_of(dense_amount);
  f.compressed_kwh = kwh_of(compressed_amount);
  f.dense_kg_co2e = f.dense_kwh * kg_co2e_per_kwh;
  f.compressed_kg_co2e = f.compressed_kwh * kg_co2e_per_kwh;
  return f;
}

}  // namespace

Result<Footprint> deployment_footprint(double dense_joules, double compressed_joules, double pue,
                                       double kg_co2e_per_kwh, double inferences) {
  DEEPCOMP_RETURN_IF_ERROR(check_amounts({{"dense joules per inference", dense_joules},
                                          {"compressed joules per inference", compressed_joules},
                                          {"--pue", pue},
                                          {"--carbon", kg_co2e_per_kwh},
                                          {"--inferences", inferences}}));
  return price_footprint(dense_joules, compressed_joules, kg_co2e_per_kwh,
                         [&](double joules) { return joules * inferences * pue / kJoulesPerKwh; });
}

Result<Footprint> download_footprint(double dense_bytes, double compressed_bytes, double downloads,
                                     double kwh_per_gb, double kg_co2e_per_kwh) {
  DEEPCOMP_RETURN_IF_ERROR(check_amounts({{"dense file bytes", dense_bytes},
                                          {"compressed file bytes", compressed_bytes},
                                          {"--downloads", downloads},
                                          {"--kwh-per-gb", kwh_per_gb},
                                          {"--carbon", kg_co2e_per_kwh}}));
  return price_footprint(dense_bytes, compressed_bytes, kg_co2e_per_kwh,
                         [&](double bytes) { return bytes / 1e9 * kwh_per_gb * downloads; });
}

}  // namespace deepcomp::compress
