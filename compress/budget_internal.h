// Helpers shared by the budget search's files (compress/budget_search.cc, budget_refine.cc); not
// part of the public API.
#pragma once

#include <string>
#include <vector>

#include "compress/pipeline.h"

namespace deepcomp::compress::budget_internal {

// `name` with fnmatch's glob characters escaped, so a pattern matches only that tensor.
std::string escape_glob(const std::string& name);

// An override that sets `tensor` to (prune, bits); bits 0 leaves the width to `base`.
LayerOverride setting_override(const std::string& tensor, double prune, int bits);

// Options that compress `tensor` alone with the given settings (bits 0: not shared); every
// other layer of `layers` is skipped.
CompressOptions alone(const CompressOptions& base, const std::vector<std::string>& layers,
                      const std::string& tensor, double prune, int bits);

}  // namespace deepcomp::compress::budget_internal
