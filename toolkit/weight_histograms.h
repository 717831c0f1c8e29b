// `deepcomp inspect FILE.dcz --plot DIR`: per compressed layer, an SVG in the manner of the Deep
// Compression paper's weight-distribution figures: the original weights' histogram (when the
// original .onnx is given), the surviving weights after pruning and weight sharing (each shared
// value weighted by how many weights use it), and the shared values (centroids) as vertical lines.
// Depends on compress/ (container, decoding), onnx_io (the original) and toolkit/svg_plot.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace deepcomp::cli {

// A tensor name made safe as a file name: [A-Za-z0-9._-] kept, anything else '_', never "" or
// starting with '.'.
std::string sanitize_file_name(const std::string& name);

// Writes DIR/<sanitized tensor name>.svg for every tensor the container stores compressed
// (pruned and/or shared); DIR is created if missing and files in it are replaced. `onnx_or_empty`
// is the original model: its tensors must match the container's by name and shape. On success,
// `written` (if given) receives the paths written, in container order.
Status write_weight_histograms(const std::string& dcz_path, const std::string& onnx_or_empty,
                               const std::string& dir, std::vector<std::string>* written = nullptr);

}  // namespace deepcomp::cli
