// `deepcomp inspect FILE.dcz`: what a container holds, per tensor, with its encoding and sizes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace deepcomp::cli {

// The container's header, settings, sections and per-tensor encodings as JSON.
Result<nlohmann::ordered_json> dcz_summary_json(const std::string& path);

// The same as a human-readable report.
std::string dcz_summary_text(const nlohmann::ordered_json& summary);

}  // namespace deepcomp::cli
