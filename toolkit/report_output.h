// Printing a compression report: the human table for stdout and the JSON of --report-json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "compress/report.h"

namespace deepcomp::cli {

std::string format_report_table(const compress::CompressReport& report);
nlohmann::json report_json(const compress::CompressReport& report);

// "1.23 MB", "27.1 KB", "512 B"
std::string human_bytes(double bytes);

}  // namespace deepcomp::cli
