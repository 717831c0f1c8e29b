// deepcomp::inspect and deepcomp::energy (include/deepcomp/reports.h): the JSON of
// `deepcomp inspect --json` and `deepcomp energy --json`, from the same toolkit functions.
#include "deepcomp/reports.h"
#include "toolkit/energy_file.h"
#include "toolkit/inspect_file.h"

namespace deepcomp {

Result<std::string> inspect(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(nlohmann::ordered_json summary, cli::inspect_summary(path));
  return summary.dump(2);
}

Result<std::string> energy(const std::string& model, const EnergyOptions& options) {
  cli::EnergySettings settings;
  for (const auto& [name, path] : options.inputs) {
    if (name.empty()) return Status::Error("energy: an input with an empty name");
    settings.inputs.push_back({name, path});
  }
  settings.measure_latency = options.measure_latency;
  settings.runs = options.runs;
  settings.max_seconds = options.max_seconds;
  settings.threads = options.threads;
  settings.watts = options.watts;
  settings.pue = options.pue;
  settings.carbon = options.carbon;
  settings.inferences = options.inferences;
  settings.downloads = options.downloads;
  settings.region = options.region;
  DEEPCOMP_ASSIGN_OR_RETURN(nlohmann::json report,
                            cli::energy_for_files(model, options.compressed, settings));
  return report.dump(2);
}

}  // namespace deepcomp
