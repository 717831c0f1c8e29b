#include "toolkit/energy_report.h"

#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "toolkit/dcz_model.h"
#include "runtime/session.h"

namespace deepcomp::cli {
namespace {

constexpr const char* kHorowitz = "Horowitz, Computing's energy problem, ISSCC 2014 (45 nm, 0.9 V)";

struct Region {
  const char* name;
  double kg_per_kwh;
  const char* source;
};
// Grid carbon intensities, kg CO2e per kWh (docs/ENERGY.md).
constexpr Region kRegions[] = {
    {"us", 0.4327, "U.S. average 0.954 lb CO2e/kWh (EPA), as used by Strubell et al., ACL 2019"},
    {"world", 0.481, "world average 2023, Ember (via Our World in Data)"},
    {"eu", 0.252, "EU-27 2020, SDES Key figures on climate 2022 (IEA data)"},
    {"fr", 0.056, "France 2023, Ember (via Our World in Data)"},
    {"de", 0.381, "Germany 2023, Ember (via Our World in Data)"},
    {"cn", 0.582, "China 2023, Ember (via Our World in Data)"},
    {"in", 0.713, "India 2023, Ember (via Our World in Data)"},
};

const Region* find_region(const std::string& name) {
  for (const Region& r : kRegions)
    if (name == r.name) return &r;
  return nullptr;
}

// One assumption: its value, unit and where it comes from (the flag when overridden).
nlohmann::json assumption(const std::optional<double>& flag, double fallback, const char* unit,
                          const std::string& source, const char* flag_name) {
  if (flag)
    return {{"value", *flag}, {"unit", unit}, {"source", fmt::format("{} flag", flag_name)}};
  return {{"value", fallback}, {"unit", unit}, {"source", source}};
}

nlohmann::json footprint_json(const compress::Footprint& f) {
  return {{"dense_kwh", f.dense_kwh},         {"compressed_kwh", f.compressed_kwh},
          {"dense_kg_co2e", f.dense_kg_co2e}, {"compressed_kg_co2e", f.compressed_kg_co2e},
          {"saving_kwh", f.saving_kwh()},     {"saving_kg_co2e", f.saving_kg_co2e()}};
}

}  // namespace

void add_energy_options(CLI::App* cmd, EnergySettings* s) {
  auto* g =
      cmd->add_option_group("Energy model", "Assumptions of docs/ENERGY.md (defaults cited there)");
  g->add_option("--dram-pj", s->dram_pj, "pJ per 32-bit DRAM access (default 640, Horowitz 2014)");
  g->add_option("--sram-pj", s->sram_pj, "pJ per 32-bit SRAM access (default 5)");
  g->add_option("--fmul-pj", s->fmul_pj, "pJ per fp32 multiply (default 3.7)");
  g->add_option("--fadd-pj", s->fadd_pj, "pJ per fp32 add (default 0.9)");
  g->add_option("--int-add-pj", s->int_add_pj, "pJ per 32-bit integer add (default 0.1)");
  g->add_option("--int8-add-pj", s->int8_add_pj, "pJ per 8-bit integer add (default 0.03)");
  g->add_option("--int8-mul-pj", s->int8_mul_pj,
                "pJ per 8-bit integer multiply, quantized layers (default 0.2)");
  g->add_option("--codebook-pj", s->codebook_pj,
                "pJ per codebook lookup (default 5: one SRAM read; 0 for a register file)");
  g->add_option("--on-chip-mb", s->on_chip_mb,
                fmt::format("On-chip memory in MiB; weights larger than this stream from DRAM "
                            "(default {})",
                            kDefaultOnChipMb));
  g->add_option("--batch", s->batch, "Samples sharing one weight fetch (default 1)");
  g->add_option("--runs", s->runs, "Timed runs per model for the median latency (default 10)");
  g->add_option("--max-seconds", s->max_seconds,
                "Stop timing a model after this many seconds of timed runs, once one run is done "
                "(default 10; the runs made are reported)");
  g->add_option("--threads", s->threads,
                "OpenMP threads of the timed runs (default 1; 0 = OpenMP's default)");
  g->add_option("--latency-ms-dense", s->latency_ms_dense,
                "Dense latency per inference (skips timing)");
  g->add_option("--latency-ms-compressed", s->latency_ms_compressed,
                "Compressed latency per inference (skips timing)");
  g->add_option("--watts", s->watts,
                fmt::format("Power while inferring, W (default: RAPL when readable, else {})",
                            kDefaultWatts));
  g->add_option("--pue", s->pue, fmt::format("Data-centre PUE (default {})", kDefaultPue));
  g->add_option("--carbon", s->carbon,
                fmt::format("Grid intensity, kg CO2e/kWh (default {}, U.S.)", kDefaultCarbon));
  std::string names;
  for (const Region& r : kRegions) names += (names.empty() ? "" : ", ") + std::string(r.name);
  g->add_option("--region", s->region, "Grid intensity preset: " + names);
  g->add_option("--inferences", s->inferences, "Inferences served (default 1e6)");
  g->add_option("--downloads", s->downloads, "Devices the model file is shipped to (default 1e6)");
  g->add_option(
      "--kwh-per-gb", s->kwh_per_gb,
      fmt::format("Network energy, kWh per GB (default {}, Aslan et al. 2018)", kDefaultKwhPerGb));
}

Status validate_energy_settings(const EnergySettings& s) {
  if (!s.region.empty() && !find_region(s.region)) {
    std::string names;
    for (const Region& r : kRegions) names += (names.empty() ? "" : ", ") + std::string(r.name);
    return Status::Error("--region: unknown region '" + s.region + "' (known: " + names + ")");
  }
  if (!s.region.empty() && s.carbon) return Status::Error("--region and --carbon both given");
  if (s.batch < 1) return Status::Error("--batch must be >= 1");
  if (s.runs < 1) return Status::Error("--runs must be >= 1");
  if (!(s.max_seconds > 0)) return Status::Error("--max-seconds must be > 0");
  if (s.threads < 0) return Status::Error("--threads must be >= 0");
  const std::pair<const char*, std::optional<double>> positive[] = {
      {"--latency-ms-dense", s.latency_ms_dense},
      {"--latency-ms-compressed", s.latency_ms_compressed},
      {"--watts", s.watts},
      {"--pue", s.pue},
      {"--carbon", s.carbon},
      {"--inferences", s.inferences},
      {"--downloads", s.downloads},
      {"--kwh-per-gb", s.kwh_per_gb}};
  for (const auto& [name, v] : positive)
    if (v && (!std::isfinite(*v) || *v < 0))
      return Status::Error(std::string(name) + " must be a finite number >= 0");
  return Status::Ok();
}

Result<nlohmann::json> energy_report(const Model& dense, const compress::Container& container,
                                     const CompressedStats& compressed, double dense_file_bytes,
                                     double compressed_file_bytes, const EnergySettings& s) {
  DEEPCOMP_RETURN_IF_ERROR(validate_energy_settings(s));
  compress::EnergyPrices prices;
  prices.dram_pj = s.dram_pj.value_or(prices.dram_pj);
  prices.sram_pj = s.sram_pj.value_or(prices.sram_pj);
  prices.fmul_pj = s.fmul_pj.value_or(prices.fmul_pj);
  prices.fadd_pj = s.fadd_pj.value_or(prices.fadd_pj);
  prices.int_add_pj = s.int_add_pj.value_or(prices.int_add_pj);
  prices.int8_add_pj = s.int8_add_pj.value_or(prices.int8_add_pj);
  prices.int8_mul_pj = s.int8_mul_pj.value_or(prices.int8_mul_pj);
  prices.codebook_pj = s.codebook_pj.value_or(prices.codebook_pj);
  prices.on_chip_bytes = s.on_chip_mb.value_or(kDefaultOnChipMb) * 1024 * 1024;

  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<compress::LayerWork> work,
                            gather_layer_work(dense, compressed, s.inputs));
  DEEPCOMP_ASSIGN_OR_RETURN(compress::InferenceEnergy inference,
                            compress::inference_energy(work, prices, s.batch));

  // Latency and power: flags win; else time the runtime (dense kernels for the original model,
  // sparse kernels over the decoded pruned weights for the compressed one).
  std::optional<LatencyResult> dense_run, compressed_run;
  const bool deploy_known = s.measure_latency || (s.latency_ms_dense && s.latency_ms_compressed);
  if (!s.latency_ms_dense && deploy_known) {
    runtime::SessionOptions options;
    options.threads = s.threads;
    DEEPCOMP_ASSIGN_OR_RETURN(runtime::Session session, runtime::Session::create(dense, options));
    DEEPCOMP_ASSIGN_OR_RETURN(std::vector<runtime::Value> inputs, sample_inputs(session, s.inputs));
    DEEPCOMP_ASSIGN_OR_RETURN(dense_run,
                              measure_latency(session, inputs, s.runs, s.max_seconds, "dense"));
  }
  if (!s.latency_ms_compressed && deploy_known) {
    DEEPCOMP_ASSIGN_OR_RETURN(Model decoded, container_to_model(container, "compressed model"));
    runtime::SessionOptions options;
    options.sparse_from_dense = true;
    options.threads = s.threads;
    DEEPCOMP_ASSIGN_OR_RETURN(runtime::Session session, runtime::Session::create(decoded, options));
    DEEPCOMP_ASSIGN_OR_RETURN(std::vector<runtime::Value> inputs, sample_inputs(session, s.inputs));
    DEEPCOMP_ASSIGN_OR_RETURN(
        compressed_run, measure_latency(session, inputs, s.runs, s.max_seconds, "compressed"));
  }
  const double dense_ms = s.latency_ms_dense ? *s.latency_ms_dense
                          : dense_run        ? dense_run->median_ms
                                             : 0;
  const double compressed_ms = s.latency_ms_compressed ? *s.latency_ms_compressed
                               : compressed_run        ? compressed_run->median_ms
                                                       : 0;
  // RAPL counts the whole package (other processes included) and only applies to timed runs.
  const bool rapl = !s.watts && dense_run && compressed_run && dense_run->rapl_joules_per_run &&
                    compressed_run->rapl_joules_per_run;
  std::string power_source = s.watts ? "flag" : rapl ? "rapl" : "default";
  double watts = s.watts.value_or(kDefaultWatts);
  double dense_j = compress::joules_from_latency(dense_ms, watts);
  double compressed_j = compress::joules_from_latency(compressed_ms, watts);
  if (rapl) {
    dense_j = *dense_run->rapl_joules_per_run;
    compressed_j = *compressed_run->rapl_joules_per_run;
    const double seconds = dense_run->seconds + compressed_run->seconds;
    watts = seconds > 0
                ? (dense_j * dense_run->runs + compressed_j * compressed_run->runs) / seconds
                : 0;
  }
  const Region* region = s.region.empty() ? nullptr : find_region(s.region);
  const double carbon = s.carbon ? *s.carbon : region ? region->kg_per_kwh : kDefaultCarbon;
  const double pue = s.pue.value_or(kDefaultPue);
  const double inferences = s.inferences.value_or(kDefaultInferences);
  const double downloads = s.downloads.value_or(kDefaultDownloads);
  const double kwh_per_gb = s.kwh_per_gb.value_or(kDefaultKwhPerGb);
  DEEPCOMP_ASSIGN_OR_RETURN(
      compress::Footprint deploy,
      compress::deployment_footprint(dense_j, compressed_j, pue, carbon, inferences));
  DEEPCOMP_ASSIGN_OR_RETURN(compress::Footprint download,
                            compress::download_footprint(dense_file_bytes, compressed_file_bytes,
                                                         downloads, kwh_per_gb, carbon));

  nlohmann::json layers = nlohmann::json::array();
  for (const compress::LayerEnergy& l : inference.layers) {
    layers.push_back({{"name", l.name},
                      {"kind", l.kind},
                      {"macs", l.macs},
                      {"compressed_macs", l.compressed_macs},
                      {"dense_pj", l.dense_pj()},
                      {"compressed_pj", l.compressed_pj()},
                      {"activation_pj", l.activation_pj},
                      {"dense_weight_pj", l.dense_weight_pj},
                      {"dense_arith_pj", l.dense_arith_pj},
                      {"compressed_weight_pj", l.compressed_weight_pj},
                      {"compressed_arith_pj", l.compressed_arith_pj},
                      {"codebook_pj", l.codebook_pj},
                      {"index_pj", l.index_pj}});
  }
  nlohmann::json j;
  j["per_inference"] = {{"dense_pj", inference.dense_pj},
                        {"compressed_pj", inference.compressed_pj},
                        {"dense_uj", inference.dense_pj / 1e6},
                        {"compressed_uj", inference.compressed_pj / 1e6},
                        {"ratio", inference.ratio()},
                        {"batch", inference.batch},
                        {"dense_weight_bytes", inference.dense_weight_bytes},
                        {"compressed_weight_bytes", inference.compressed_weight_bytes},
                        {"dense_on_chip", inference.dense_on_chip},
                        {"compressed_on_chip", inference.compressed_on_chip},
                        {"layers", layers}};
  nlohmann::json d = footprint_json(deploy);
  d["latency_ms_dense"] = dense_ms;
  d["latency_ms_compressed"] = compressed_ms;
  d["latency_source"] = s.latency_ms_dense && s.latency_ms_compressed   ? "flag"
                        : s.latency_ms_dense || s.latency_ms_compressed ? "flag+measured"
                                                                        : "measured";
  d["latency_runs"] = s.runs;  // at most; the runs made are in the assumptions' sources
  d["latency_threads"] = s.threads;
  d["power_source"] = power_source;
  d["watts"] = watts;
  d["dense_joules_per_inference"] = dense_j;
  d["compressed_joules_per_inference"] = compressed_j;
  d["inferences"] = inferences;
  d["pue"] = pue;
  d["kg_co2e_per_kwh"] = carbon;
  if (!deploy_known)
    d = {{"skipped", "latency not measured (run `deepcomp energy` for the deployment footprint)"}};
  j["deployment"] = d;
  nlohmann::json dl = footprint_json(download);
  dl["dense_file_bytes"] = dense_file_bytes;
  dl["compressed_file_bytes"] = compressed_file_bytes;
  dl["downloads"] = downloads;
  dl["kwh_per_gb"] = kwh_per_gb;
  j["download"] = dl;

  nlohmann::json a;
  const std::string h = kHorowitz;
  a["dram_pj"] = assumption(s.dram_pj, 640, "pJ", h + ": 32-bit DRAM access", "--dram-pj");
  a["sram_pj"] = assumption(s.sram_pj, 5, "pJ", h + ": 32-bit access, 8 KB SRAM", "--sram-pj");
  a["fmul_pj"] = assumption(s.fmul_pj, 3.7, "pJ", h + ": fp32 multiply", "--fmul-pj");
  a["fadd_pj"] = assumption(s.fadd_pj, 0.9, "pJ", h + ": fp32 add", "--fadd-pj");
  a["int_add_pj"] = assumption(s.int_add_pj, 0.1, "pJ", h + ": 32-bit int add", "--int-add-pj");
  a["int8_add_pj"] = assumption(s.int8_add_pj, 0.03, "pJ", h + ": 8-bit int add", "--int8-add-pj");
  a["int8_mul_pj"] =
      assumption(s.int8_mul_pj, 0.2, "pJ", h + ": 8-bit int multiply", "--int8-mul-pj");
  a["codebook_pj"] = assumption(s.codebook_pj, 5, "pJ",
                                "one SRAM read per decoded nonzero (codebook in a small SRAM, "
                                "not a register file)",
                                "--codebook-pj");
  const std::optional<CacheInfo> llc = last_level_cache();
  a["on_chip_mb"] = assumption(
      s.on_chip_mb, kDefaultOnChipMb, "MiB",
      "a typical desktop last-level cache (8 MB L3 of 4-core desktop CPUs)", "--on-chip-mb");
  if (llc) a["on_chip_mb"]["this_machine_llc_mb"] = llc->bytes / (1024 * 1024);
  a["batch"] = {
      {"value", s.batch},
      {"unit", "samples"},
      {"source", s.batch == 1 ? "default: batch 1 (latency-bound serving)" : "--batch flag"}};
  a["watts"] = assumption(s.watts, watts, "W",
                          rapl ? "RAPL package energy over the timed runs"
                               : "default: 65 W, a common desktop CPU TDP (RAPL not readable)",
                          "--watts");
  a["pue"] =
      assumption(s.pue, kDefaultPue, "",
                 "Uptime Institute 2018 average, as used by Strubell et al., ACL 2019", "--pue");
  a["carbon"] = {{"value", carbon},
                 {"unit", "kg CO2e/kWh"},
                 {"source", s.carbon ? "--carbon flag"
                            : region ? fmt::format("--region {}: {}", region->name, region->source)
                                     : std::string(kRegions[0].source)}};
  a["inferences"] = assumption(s.inferences, kDefaultInferences, "", "default", "--inferences");
  a["downloads"] = assumption(s.downloads, kDefaultDownloads, "", "default", "--downloads");
  a["kwh_per_gb"] =
      assumption(s.kwh_per_gb, kDefaultKwhPerGb, "kWh/GB",
                 "Aslan et al., J. Industrial Ecology 2018: 0.06 kWh/GB for 2015", "--kwh-per-gb");
  a["latency_ms_dense"] = {
      {"value", dense_ms},
      {"unit", "ms"},
      {"source", s.latency_ms_dense
                     ? "--latency-ms-dense flag"
                     : fmt::format("median of {} runs, batch 1, {} thread(s), dense kernels",
                                   dense_run ? dense_run->runs : 0, s.threads)}};
  a["latency_ms_compressed"] = {
      {"value", compressed_ms},
      {"unit", "ms"},
      {"source",
       s.latency_ms_compressed
           ? "--latency-ms-compressed flag"
           : fmt::format(
                 "median of {} runs, batch 1, {} thread(s), CSR kernels over the decoded weights",
                 compressed_run ? compressed_run->runs : 0, s.threads)}};
  if (!deploy_known)
    for (const char* unused :
         {"latency_ms_dense", "latency_ms_compressed", "watts", "pue", "inferences"})
      a.erase(unused);
  j["assumptions"] = a;
  return j;
}

std::string format_energy_text(const nlohmann::json& j) {
  const auto& p = j["per_inference"];
  std::string out = fmt::format("energy per inference (batch {}, Horowitz 45 nm prices):\n",
                                p["batch"].get<int64_t>());
  out +=
      fmt::format("  {:<28} {:>14} {:>14} {:>8}\n", "layer", "dense uJ", "compressed uJ", "ratio");
  for (const auto& l : p["layers"]) {
    std::string name = l["name"].get<std::string>();
    if (name.size() > 28) name = "..." + name.substr(name.size() - 25);
    const double dpj = l["dense_pj"].get<double>(), cpj = l["compressed_pj"].get<double>();
    out += fmt::format("  {:<28} {:>14.4f} {:>14.4f} {:>7.1f}x\n", name, dpj / 1e6, cpj / 1e6,
                       cpj > 0 ? dpj / cpj : 0);
  }
  out +=
      fmt::format("  {:<28} {:>14.4f} {:>14.4f} {:>7.1f}x\n", "total", p["dense_uj"].get<double>(),
                  p["compressed_uj"].get<double>(), p["ratio"].get<double>());
  out += fmt::format("  weights: dense {:.0f} B ({}), compressed {:.0f} B ({})\n",
                     p["dense_weight_bytes"].get<double>(),
                     p["dense_on_chip"].get<bool>() ? "on chip: SRAM" : "off chip: DRAM",
                     p["compressed_weight_bytes"].get<double>(),
                     p["compressed_on_chip"].get<bool>() ? "on chip: SRAM" : "off chip: DRAM");
  const auto& d = j["deployment"];
  auto lines = [&](const nlohmann::json& f) {
    out += fmt::format("  dense      {:>14.6g} kWh {:>14.6g} kg CO2e\n",
                       f["dense_kwh"].get<double>(), f["dense_kg_co2e"].get<double>());
    out += fmt::format("  compressed {:>14.6g} kWh {:>14.6g} kg CO2e\n",
                       f["compressed_kwh"].get<double>(), f["compressed_kg_co2e"].get<double>());
    out += fmt::format("  saving     {:>14.6g} kWh {:>14.6g} kg CO2e\n",
                       f["saving_kwh"].get<double>(), f["saving_kg_co2e"].get<double>());
  };
  if (d.contains("skipped")) {
    out += "deployment: " + d["skipped"].get<std::string>() + "\n";
  } else {
    out += fmt::format(
        "deployment ({:g} inferences, latency {:.4f} / {:.4f} ms [{}], {:.1f} W [{}], PUE {}, "
        "{} kg CO2e/kWh):\n",
        d["inferences"].get<double>(), d["latency_ms_dense"].get<double>(),
        d["latency_ms_compressed"].get<double>(), d["latency_source"].get<std::string>(),
        d["watts"].get<double>(), d["power_source"].get<std::string>(), d["pue"].get<double>(),
        d["kg_co2e_per_kwh"].get<double>());
    lines(d);
  }
  const auto& dl = j["download"];
  out += fmt::format("download ({:g} devices, {:.0f} B vs {:.0f} B, {} kWh/GB):\n",
                     dl["downloads"].get<double>(), dl["dense_file_bytes"].get<double>(),
                     dl["compressed_file_bytes"].get<double>(), dl["kwh_per_gb"].get<double>());
  lines(dl);
  out += "assumptions:\n";
  for (const auto& [name, a] : j["assumptions"].items()) {
    const nlohmann::json& v = a["value"];
    out += fmt::format("  {:<22} {:>12} {:<12} {}\n", name,
                       v.is_number() ? fmt::format("{:g}", v.get<double>()) : v.dump(),
                       a["unit"].get<std::string>(), a["source"].get<std::string>());
    if (a.contains("this_machine_llc_mb"))
      out += fmt::format("  {:<22} {:>12} {:<12} {}\n", "",
                         fmt::format("{:g}", a["this_machine_llc_mb"].get<double>()), "MiB",
                         "(information: this machine's last-level cache, from sysfs)");
  }
  return out;
}

}  // namespace deepcomp::cli
