// `deepcomp decompress` without the command line: the dense ONNX model of a .dcz, written in memory
// or, with external data, one tensor at a time (docs/CLI.md "Models larger than memory").
#pragma once

#include <string>

#include "core/status.h"

namespace deepcomp::cli {

struct DecompressSettings {
  bool force = false;          // replace an existing output
  bool external_data = false;  // weights in OUTPUT.data beside the model
  bool in_memory = false;      // with external_data: decode every tensor before writing
};

// Checks the output path, then decodes `input` into `output`. Errors name the file at fault.
Status decompress_to_file(const std::string& input, const std::string& output,
                          const DecompressSettings& settings);

}  // namespace deepcomp::cli
