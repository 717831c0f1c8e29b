// `deepcomp energy` without the command line: the energy report of a model file and its .dcz (or
// of the default pipeline's output, compressed in memory), as the JSON of docs/ENERGY.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "toolkit/energy_report.h"

namespace deepcomp::cli {

// Validates `settings`, loads `input` (and `compressed` when not ""), and returns energy_report()
// with the "model" and "compressed" keys the command prints.
Result<nlohmann::json> energy_for_files(const std::string& input, const std::string& compressed,
                                        const EnergySettings& settings);

}  // namespace deepcomp::cli
