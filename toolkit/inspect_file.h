// The summary `deepcomp inspect` shows, for any model file: the kind is decided by the first
// bytes (.dcz magic, else ONNX, whose protobuf has no magic). The JSON is the --json output and
// the source of the text table.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace deepcomp::cli {

// The first three bytes of the file ("" when it cannot be read; the loader then reports why).
std::string file_magic(const std::string& path);

// model_summary_json of an .onnx, dcz_summary_json of a .dcz.
Result<nlohmann::ordered_json> inspect_summary(const std::string& path);

}  // namespace deepcomp::cli
