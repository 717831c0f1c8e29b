#include "compress/energy.h"

#include <cmath>
#include <utility>

namespace deepcomp::compress {
namespace {

Status check_amount(const char* what, double value) {
  if (!std::isfinite(value) || value < 0)
    return Status::Error(std::string(what) + " must be a finite number >= 0, got " +
                         std::to_string(value));
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

}  // namespace

Status validate_prices(const EnergyPrices& p) {
  const std::pair<const char*, double> fields[] = {
      {"--dram-pj", p.dram_pj},         {"--sram-pj", p.sram_pj},
      {"--fmul-pj", p.fmul_pj},         {"--fadd-pj", p.fadd_pj},
      {"--int-add-pj", p.int_add_pj},   {"--int8-add-pj", p.int8_add_pj},
      {"--codebook-pj", p.codebook_pj}, {"--on-chip-mb", p.on_chip_bytes}};
  for (const auto& [name, value] : fields) DEEPCOMP_RETURN_IF_ERROR(check_amount(name, value));
  return Status::Ok();
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
    // Memory is priced per 32-bit access; a batch reads the weights once.
    e.dense_weight_pj = l.dense_bits / 32 * dense_fetch / b;
    e.dense_arith_pj = e.macs * mac_pj + bias_pj;
    e.compressed_weight_pj = l.compressed_bits / 32 * compressed_fetch / b;
    e.compressed_arith_pj = e.compressed_macs * mac_pj + bias_pj;
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

Result<Footprint> deployment_footprint(double dense_joules, double compressed_joules, double pue,
                                       double kg_co2e_per_kwh, double inferences) {
  DEEPCOMP_RETURN_IF_ERROR(check_amount("dense joules per inference", dense_joules));
  DEEPCOMP_RETURN_IF_ERROR(check_amount("compressed joules per inference", compressed_joules));
  DEEPCOMP_RETURN_IF_ERROR(check_amount("--pue", pue));
  DEEPCOMP_RETURN_IF_ERROR(check_amount("--carbon", kg_co2e_per_kwh));
  DEEPCOMP_RETURN_IF_ERROR(check_amount("--inferences", inferences));
  Footprint f;
  f.dense_kwh = dense_joules * inferences * pue / kJoulesPerKwh;
  f.compressed_kwh = compressed_joules * inferences * pue / kJoulesPerKwh;
  f.dense_kg_co2e = f.dense_kwh * kg_co2e_per_kwh;
  f.compressed_kg_co2e = f.compressed_kwh * kg_co2e_per_kwh;
  return f;
}

Result<Footprint> download_footprint(double dense_bytes, double compressed_bytes, double downloads,
                                     double kwh_per_gb, double kg_co2e_per_kwh) {
  DEEPCOMP_RETURN_IF_ERROR(check_amount("dense file bytes", dense_bytes));
  DEEPCOMP_RETURN_IF_ERROR(check_amount("compressed file bytes", compressed_bytes));
  DEEPCOMP_RETURN_IF_ERROR(check_amount("--downloads", downloads));
  DEEPCOMP_RETURN_IF_ERROR(check_amount("--kwh-per-gb", kwh_per_gb));
  DEEPCOMP_RETURN_IF_ERROR(check_amount("--carbon", kg_co2e_per_kwh));
  Footprint f;
  f.dense_kwh = dense_bytes / 1e9 * kwh_per_gb * downloads;
  f.compressed_kwh = compressed_bytes / 1e9 * kwh_per_gb * downloads;
  f.dense_kg_co2e = f.dense_kwh * kg_co2e_per_kwh;
  f.compressed_kg_co2e = f.compressed_kwh * kg_co2e_per_kwh;
  return f;
}

}  // namespace deepcomp::compress
