// onnx_io's private plumbing, shared by load.cc, save.cc, tensor_codec.cc, walk.cc and roles.cc:
// the walk that finds every extractable tensor in a ModelProto (the same walk for loading and
// saving, so the two always agree on which protobuf field each Tensor came from), the TensorProto
// <-> Tensor codec, and the protobuf -> Graph conversion. Not part of the public API; nothing
// outside onnx_io may include it (it pulls in protobuf/ONNX headers).
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace deepcomp::onnx_io::internal {

// One place in a ModelProto that holds a tensor deepcomp extracts.
struct TensorSite {
  std::string name;  // the tensor's name in Model::tensors
  LocationKind kind = LocationKind::kInitializer;
  std::string graph_path;  // "" or "NODE/ATTR/NODE/ATTR..."
  std::string node;        // kConstantNode: the Constant node's name
  std::string attribute;   // kConstantNode: value, value_float, value_floats, value_int(s)
  onnx::TensorProto* proto = nullptr;    // initializer or Constant `value`
  onnx::AttributeProto* attr = nullptr;  // Constant value_float(s) / value_int(s) (proto null)
};

// Calls `fn` for every initializer and every tensor-holding attribute of a Constant node, in the
// main graph and recursively in every graph-valued attribute (g and graphs) of any node, in file
// order. Stops at the first error.
Status visit_tensor_sites(onnx::ModelProto* model, const std::function<Status(TensorSite&)>& fn);

// Reads a TensorProto's data (raw_data, typed fields or external data under `base_dir`) into a
// Tensor named `name`, checking dtype, dims and data length before allocating anything.
// `defer_external`: external data is checked (path, file length) but not read; the Tensor comes
// back without data (is_deferred; read_external_data reads it).
Result<Tensor> decode_tensor_proto(const onnx::TensorProto& proto, const std::string& name,
                                   const std::string& base_dir, bool defer_external = false);
// Reads a Constant node's value_float / value_floats / value_int / value_ints attribute.
Result<Tensor> decode_constant_attribute(const onnx::AttributeProto& attr, const std::string& name);

// Removes the data from a TensorProto / Constant attribute, keeping name, dims and data_type.
void strip_tensor_proto(onnx::TensorProto* proto);
void strip_constant_attribute(onnx::AttributeProto* attr);

// Writes a tensor's data back into its original storage field (raw_data or the typed field).
Status fill_tensor_proto(const Tensor& tensor, onnx::TensorProto* proto);
Status fill_constant_attribute(const Tensor& tensor, onnx::AttributeProto* attr);
// The element bytes of a tensor in its file dtype (string tensors: deepcomp's string encoding).
std::string element_bytes(const Tensor& tensor);

// Shape text for messages: "[300,784]".
std::string shape_text(const std::vector<int64_t>& shape);

// Builds the protobuf-free Graph of `graph` (already stripped). Tensor attributes of non-Constant
// nodes (e.g. ConstantOfShape's value) are not extracted; their values go to Attribute::floats.
Graph build_graph(const onnx::GraphProto& graph);

// Fills ir_version, producer, opsets, graph and skeleton from a stripped ModelProto, stores the
// tensors and computes their roles.
Result<Model> assemble_model(const onnx::ModelProto& stripped, std::vector<Tensor> tensors,
                             const std::string& display_name);

// Sets Tensor::role for every tensor from how the graph uses it (roles.cc).
void assign_roles(Model* model);

// Whether a Conv / ConvTranspose weight [M, C, k...] is a fixed Fourier basis: one kernel slice
// (of prod(k) taps) is a non-negative window w (the k = 0 row), and every nonzero slice is
// w[n] * (a cos(2 pi f n / N) + b sin(2 pi f n / N)) for an integer f, within 1e-4 of the largest
// magnitude, with at least two distinct f > 0. N is the slice length, or the next power of two
// (fourier_basis.cc).
bool is_fourier_basis(const Tensor& t);
// The same for two weights of one shape taken together: the real (cosine) and imaginary (sine)
// halves of one bank stored as two Conv weights, as torchlibrosa-style STFT front ends do.
bool is_fourier_basis_pair(const Tensor& a, const Tensor& b);

// Parses serialized ModelProto bytes of any size protobuf accepts (raising the 64 MB default).
bool parse_model_proto(std::string_view bytes, onnx::ModelProto* model);

}  // namespace deepcomp::onnx_io::internal
