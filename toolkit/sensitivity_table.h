// Renderings of a sensitivity analysis (compress/budget_search.h): CSV (one row per point), JSON,
// and the paper's figure as SVG: score against prune rate (top panel) and against bits per shared
// weight (bottom panel), one curve per layer, the uncompressed score as a reference line.
// Plain text; the command (cli/cmd_sensitivity.cc) computes the analysis.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "compress/budget_search.h"

namespace deepcomp::cli {

// `metric`: "top1" (accuracy) or "agreement" (with the original model).
std::string sensitivity_csv(const compress::Sensitivity& s, const std::string& metric);
nlohmann::ordered_json sensitivity_json(const compress::Sensitivity& s, const std::string& metric);
std::string sensitivity_svg(const compress::Sensitivity& s, const std::string& metric,
                            const std::string& model_name);

}  // namespace deepcomp::cli
