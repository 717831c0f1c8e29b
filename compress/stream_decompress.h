// Decompressing a .dcz larger than memory: sections are read one at a time
// (ContainerFileReader), each tensor decoded to its dense form and handed to the caller, who
// writes it out (the CLI: onnx_io::StreamingModelWriter, into the external data file) before
// the next is decoded. Peak memory: the skeleton, one section and one dense tensor.
#pragma once

#include <functional>
#include <string>

#include "compress/container.h"
#include "core/model.h"
#include "core/status.h"

namespace deepcomp::compress {

// Calls `begin` with the header and skeleton, then `each` with every tensor in file order
// (values/raw as decode_tensor gives them), then checks the end marker. Stops at the first error;
// errors of the file start with `path`.
Status decode_container_streaming(
    const std::string& path, const ReadLimits& limits,
    const std::function<Status(const ContainerHeader&, const std::string& skeleton)>& begin,
    const std::function<Status(Tensor&&)>& each);

}  // namespace deepcomp::compress
