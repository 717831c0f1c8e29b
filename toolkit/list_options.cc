#include "toolkit/list_options.h"

#include <cstdlib>

namespace deepcomp::cli {

Result<std::vector<std::string>> split_list(const std::string& text, const std::string& option) {
  std::vector<std::string> items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty())
      return Status::Error(option + ": empty item in '" + text +
                           "' (expected a comma-separated list)");
    items.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

Result<std::vector<double>> parse_rate_list(const std::string& text, const std::string& option,
                                            bool allow_zero) {
  DEEPCOMP_ASSIGN_OR_RETURN(auto items, split_list(text, option));
  std::vector<double> out;
  for (const std::string& item : items) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (end != item.c_str() + item.size() || !((allow_zero ? v >= 0 : v > 0) && v < 1))
      return Status::Error(option + ": '" + item + "' is not a sparsity in " +
                           (allow_zero ? "[0,1)" : "(0,1)"));
    out.push_back(v);
  }
  return out;
}

Result<std::vector<int>> parse_bits_list(const std::string& text, const std::string& option) {
  DEEPCOMP_ASSIGN_OR_RETURN(auto items, split_list(text, option));
  std::vector<int> out;
  for (const std::string& item : items) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (end != item.c_str() + item.size() || v < 1 || v > 16)
      return Status::Error(option + ": '" + item + "' is not a bit width in 1..16");
    out.push_back(static_cast<int>(v));
  }
  return out;
}

}  // namespace deepcomp::cli
