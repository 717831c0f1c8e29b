// Opening a .dcz as a model: dense (every weight expanded, for decompress and dense runs) or
// sparse (the runtime's codebook-CSR weights straight from the compressed streams, never dense).
#pragma once

#include <string>

#include "compress/container.h"
#include "core/model.h"
#include "core/status.h"

namespace deepcomp::cli {

// Reads a .dcz and rebuilds the dense Model.
Result<Model> load_dcz_dense(const std::string& path);

// Rebuilds the dense Model from an already parsed container.
Result<Model> container_to_model(const compress::Container& container, const std::string& path);

// True when the file starts with the .dcz magic.
bool is_dcz_file(const std::string& path);

}  // namespace deepcomp::cli
