// Compressing a model larger than memory: tensors whose data is not loaded yet (external data)
// are read one at a time through a caller-given loader, compressed, their
// .dcz section written at once (ContainerWriter), and their data freed before the next ones. Peak
// memory is the model's skeleton plus, per thread, one tensor's data and working set, whatever
// the model's total size. The file equals what compress_model + serialize_container write for the
// same model and settings, byte for byte. compress/ knows nothing of ONNX: the loader does the
// reading (the CLI passes onnx_io::read_external_data / release_tensor_data).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "compress/pipeline.h"
#include "compress/report.h"
#include "core/file_io.h"
#include "core/model.h"
#include "core/status.h"

namespace deepcomp::compress {

// Called for every tensor: load fills its data when it is not loaded yet (else does nothing);
// release frees what load can read back (else does nothing).
struct TensorLoader {
  std::function<Status(Tensor*)> load;
  std::function<void(Tensor*)> release;
};

// Why compress_model_streaming cannot honour these options ("" when it can): retraining needs
// every weight at once. (--prune-global's threshold takes two or three extra reads of the
// layers, one at a time.)
std::string streaming_unsupported_reason(const CompressOptions& options);

// Compresses `model` to `path` (atomically: temporary file, renamed at the end; removed on any
// error, a full disk included). `extra_metadata` is appended to the header's settings (the CLI's
// "source"). At most `threads` tensors (default: OpenMP's thread count) are loaded at once, each
// compressed by one thread, and only while their float32 sizes add up to at most the largest
// tensor's (or 256 MiB): peak memory is about one largest tensor's working set. A tensor loaded
// alone is split across OpenMP's threads instead (compress/parallel_blocks.h). Returns the
// report (file_bytes set to the size written).
Result<CompressReport> compress_model_streaming(
    Model& model, const CompressOptions& options, const TensorLoader& loader,
    const std::vector<std::pair<std::string, std::string>>& extra_metadata, const std::string& path,
    const WriteOptions& write, int threads = 0);

}  // namespace deepcomp::compress
