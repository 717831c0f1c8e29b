// ONNX <-> deepcomp's in-memory Model. The only folder that includes protobuf or ONNX headers.
// Loading finds every tensor (initializers and Constant nodes, in the main graph and in every
// subgraph; raw_data or typed fields; external data; float32/16, bfloat16, float64 and non-float
// dtypes), classifies each tensor's role from the graph, and keeps the rest of the file as an
// opaque skeleton so that saving an unmodified model reproduces it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/file_io.h"
#include "core/model.h"
#include "core/status.h"

namespace deepcomp::onnx_io {

struct LoadOptions {
  // Check external data (path inside the model's folder, file long enough) but do not read it:
  // those tensors come back without data (is_deferred), for streaming one tensor at a time
  // (read_external_data, release_tensor_data). Inline tensors are decoded as usual.
  bool defer_external_data = false;
};

// Loads an .onnx file; external data files are resolved relative to its folder and may not
// escape it. Every error names the file and, where it applies, the tensor or node.
Result<Model> load_model(const std::string& path, const LoadOptions& options = {});

// Whether a tensor's external data has not been read (or was released): it has an external
// location, elements, and neither values nor raw bytes.
bool is_deferred(const Tensor& tensor);

// Reads a deferred tensor's external data (positioned reads of its byte range, float32 straight
// into the working copy). Errors name the file and tensor, e.g. when the file has shrunk since
// loading. A tensor that is not deferred is left as it is.
Status read_external_data(const Model& model, Tensor* tensor);

// Frees a tensor's data (it is deferred again), so that a streaming pass holds one tensor's data
// at a time. Tensors without external data (nothing to read them back from) are kept.
void release_tensor_data(Tensor* tensor);

// Parses serialized ModelProto bytes. `display_name` is used in error messages; `base_dir` is the
// folder external data is resolved against ("" refuses external data).
Result<Model> parse_model(std::string_view bytes, const std::string& display_name,
                          const std::string& base_dir);

// Rebuilds a Model from a skeleton (Model::skeleton) and its tensors, e.g. read back from a .dcz.
// Tensors must carry name, shape, dtype, location and values/raw as load_model gave them.
Result<Model> model_from_skeleton(const std::string& skeleton, std::vector<Tensor> tensors,
                                  const std::string& display_name);

// What a skeleton declares about one tensor site, without any data: the dtype and dims of an
// initializer or Constant `value` (has_shape); a Constant value_float(s)/value_int(s) declares
// neither once stripped (has_shape false).
struct DeclaredTensor {
  bool has_shape = false;
  int32_t dtype = 0;  // ONNX TensorProto data_type
  std::vector<int64_t> dims;
};

// Every tensor site of a skeleton by name (the first site of a name; model_from_skeleton refuses
// duplicates). Used to check a .dcz tensor's header against the model before decoding its data.
Result<std::unordered_map<std::string, DeclaredTensor>> declared_tensors(
    const std::string& skeleton, const std::string& display_name);

struct SaveOptions {
  WriteOptions write;
  // Write tensors to an external data file beside the model (name: OUTPUT.data). Done
  // automatically when the model would exceed protobuf's 2 GB limit.
  bool external_data = false;
  // Tensors smaller than this stay inside the .onnx when writing external data.
  int64_t external_min_bytes = 1024;
};

// Writes `model` as an .onnx file (atomically). Tensors go back in their original dtype, location
// and storage field.
Status save_model(const Model& model, const std::string& path, const SaveOptions& options = {});

// save_model with external data, one tensor at a time, for models larger than memory: open()
// parses the skeleton and creates OUTPUT.data's temporary file; add() writes a tensor's data
// there at once (or inline in the model when smaller than external_min_bytes, as save_model
// does), so the caller can free it; finish() checks that every tensor of the skeleton came,
// renames OUTPUT.data into place and writes the .onnx. Same bytes as save_model with
// external_data for the same tensors in the skeleton's order. Destroyed unfinished (an error),
// it leaves nothing behind.
class StreamingModelWriter {
 public:
  StreamingModelWriter();
  ~StreamingModelWriter();
  StreamingModelWriter(const StreamingModelWriter&) = delete;
  StreamingModelWriter& operator=(const StreamingModelWriter&) = delete;

  Status open(const std::string& skeleton, const std::string& path, const SaveOptions& options);
  Status add(const Tensor& tensor);
  Status finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The full serialized ModelProto (tensors inline); fails past 2 GB.
Result<std::string> serialize_model(const Model& model);

// Runs the ONNX checker (onnx::checker::check_model) on serialized model bytes.
Status check_model_bytes(std::string_view bytes, const std::string& display_name);

// Runs the ONNX checker on a model file through its path, so that external data files beside it
// are checked too.
Status check_model_file(const std::string& path);

// Reads a serialized TensorProto file (the input_N.pb / output_N.pb of ONNX's backend tests).
Result<Tensor> read_tensor_file(const std::string& path);

// Shapes of the main graph's values (inputs, intermediates, outputs, initializers) that ONNX shape
// inference (with data propagation) determines fully, by name, with every unknown graph-input dim
// set to 1. Works from the skeleton: no weight data is copied. Values whose shape depends on data
// the inference cannot see are absent.
Result<std::map<std::string, std::vector<int64_t>>> infer_static_shapes(const Model& model);

}  // namespace deepcomp::onnx_io
