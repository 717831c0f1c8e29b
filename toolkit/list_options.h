// Comma-separated option values shared by sweep, sensitivity and compress's budget search:
// "0.5, 0.9" -> items split at commas and trimmed, then checked as sparsities or bit widths.
// Errors are one line naming the option.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace deepcomp::cli {

// An empty item ("0.5,,0.9", "") is an error.
Result<std::vector<std::string>> split_list(const std::string& text, const std::string& option);
// Sparsities in (0,1), or [0,1) with `allow_zero`.
Result<std::vector<double>> parse_rate_list(const std::string& text, const std::string& option,
                                            bool allow_zero = false);
// Bit widths in 1..16.
Result<std::vector<int>> parse_bits_list(const std::string& text, const std::string& option);

}  // namespace deepcomp::cli
