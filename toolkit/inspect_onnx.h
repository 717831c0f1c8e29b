// `deepcomp inspect` for a loaded Model: the summary as a JSON document (the --json output, and
// the single source the text table is rendered from, so the two never disagree). Works on any
// Model, whether it came from an .onnx file (onnx_io) or, later, from a .dcz. No protobuf here.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/model.h"

namespace deepcomp::cli {

// {"producer","producer_version","ir_version","opsets":[{"domain","version"}],
//  "inputs":[{"name","dtype","shape"}],"outputs":[...],
//  "tensors":[{"name","role","shape","dtype","location","params","bytes",
//              "min","max","mean","std","zeros"}],
//  "by_role":{"conv":{"tensors","params","bytes"},...},
//  "total":{"params","bytes","initializer_params","constant_node_params"}}
// Statistics are null for empty tensors and for dtypes without numbers (string, complex).
// Symbolic dimensions are strings, unknown ones null.
nlohmann::ordered_json model_summary_json(const Model& model);

// The human-readable report of a summary made by model_summary_json.
std::string model_summary_text(const nlohmann::ordered_json& summary);

// Where a tensor lives, for people: "initializer", "Constant node NAME", "subgraph PATH ...",
// "external FILE@OFFSET".
std::string location_text(const TensorLocation& location);

}  // namespace deepcomp::cli
