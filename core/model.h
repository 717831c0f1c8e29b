// deepcomp's in-memory model: a protobuf-free view of an ONNX graph plus every weight tensor found
// in it (initializers and Constant nodes, in the main graph and all subgraphs), each with a float32
// working copy and enough about its origin (dtype, location, storage field) to be written back
// exactly. onnx_io builds and saves it; compress, runtime and cli only ever see this.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"

namespace deepcomp {

// What a tensor is used for, decided from the graph (onnx_io/roles.cc).
// docs/ROLES.md lists which operator inputs get which role.
enum class TensorRole {
  kConvWeight,  // input 1 of Conv / ConvTranspose
  kFcWeight,    // input 1 of Gemm, the constant operand of MatMul (also through Transpose or
                // Reshape), W and R of LSTM / GRU / RNN
  kEmbedding,   // data input of Gather with float data
  kBias,        // input 2 of Conv / ConvTranspose / Gemm, B of LSTM / GRU / RNN, or a 1-D float
                // added to a layer output
  kOther,       // everything else (shapes, normalization constants, ...)
  kFixedBasis,  // a Conv / ConvTranspose weight that is a fixed Fourier (STFT / DFT) basis
};
// "conv", "fc", "embedding", "bias", "other", "basis"
const char* role_name(TensorRole role);
// Compressible by default: conv, fc and embedding tensors (a basis only when asked for).
bool is_weight_role(TensorRole role);

enum class LocationKind {
  kInitializer,   // graph.initializer
  kConstantNode,  // a Constant node's attribute (value, value_float(s), value_int(s))
};

struct TensorLocation {
  LocationKind kind = LocationKind::kInitializer;
  // Path of the graph holding it: "" for the main graph, else "NODE/ATTR" segments joined by '/',
  // e.g. "if_node/then_branch" or "loop/body/inner_if/else_branch".
  std::string graph_path;
  std::string node;           // kConstantNode: the Constant node's name (may be empty in the file)
  std::string attribute;      // kConstantNode: "value", "value_float", "value_floats", ...
  std::string external_file;  // non-empty when the data lives in an external file (as written)
  int64_t external_offset = 0;
  int64_t external_length = -1;  // -1: to the end of the file
  bool raw_data = true;          // data was in raw_data (else in the typed field: float_data, ...)
};

// How an 8-bit integer weight is dequantized (onnx_io/roles.cc): w = (q - zero_point) * scale,
// per tensor (axis -1) or per index of `axis`. Set for int8/uint8 constants read as the weight of
// ConvInteger / MatMulInteger (scale from the Mul after their Cast, when there is one), QLinearConv
// / QLinearMatMul, or a DequantizeLinear feeding a layer. `note` says why such a weight cannot be
// compressed (blocked scales, readers that disagree, ...); empty when it can.
struct QuantParams {
  bool present = false;
  std::string scale;       // float tensor name; "" when unknown (then every scale counts as 1)
  std::string zero_point;  // tensor name; "" when omitted (zero)
  int64_t axis = -1;
  std::string note;
};

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::kFloat32;  // dtype in the file
  TensorRole role = TensorRole::kOther;
  TensorLocation location;
  // Float working copy, one value per element, for float dtypes (float32/16, bfloat16, float64).
  std::vector<float> values;
  // The exact little-endian element bytes for non-float dtypes, and for float64 (whose float32
  // copy is lossy: on save an element whose working copy still equals float(original) keeps its
  // original double). Empty for float32/16 and bfloat16, which float32 holds exactly.
  std::string raw;
  QuantParams quant;  // int8/uint8 weights of quantized layers only

  int64_t numel() const;
  size_t byte_size() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
};

struct Graph;

struct Attribute {
  enum class Type { kFloat, kInt, kString, kTensor, kGraph, kFloats, kInts, kStrings, kOther };
  std::string name;
  Type type = Type::kOther;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::string tensor;  // kTensor of a Constant node: name of the tensor in Model::tensors
  // kTensor of any other node (ConstantOfShape's value, ...): the decoded tensor with its dtype,
  // kept out of Model::tensors because compression never rewrites it; null if undecodable.
  std::shared_ptr<const Tensor> value;
  std::shared_ptr<Graph> graph;  // kGraph
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;
  std::vector<std::string> inputs;  // "" for an omitted optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;

  const Attribute* attr(const std::string& attr_name) const;
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  // -1 for a symbolic or unknown dimension (its name, if any, is in dim_params).
  std::vector<int64_t> dims;
  std::vector<std::string> dim_params;
  bool has_shape = false;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<ValueInfo> inputs;  // graph inputs that are not initializers
  std::vector<ValueInfo> outputs;
  std::vector<std::string> initializers;  // names of this graph's initializers
};

struct OpsetImport {
  std::string domain;  // "" is the default ONNX domain
  int64_t version = 0;
};

// Model::find_tensor's name -> index map, built on first use and rebuilt when `tensors` was
// resized or reallocated (a hit is also checked against the tensor's name), so that lookups per
// node are O(1) instead of a scan: a model of 100,000 initializers compiled in seconds, not
// minutes. A copy starts empty (it indexes another vector). Thread-safe. A tensor renamed in
// place, with the vector's size unchanged, needs Model::reindex_tensors().
class TensorNameIndex {
 public:
  TensorNameIndex() = default;
  TensorNameIndex(const TensorNameIndex&) {}
  TensorNameIndex& operator=(const TensorNameIndex&);
  // Position of `name` in `tensors` (the first, if repeated), or -1.
  int64_t find(const std::vector<Tensor>& tensors, const std::string& name) const;
  void clear();

 private:
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, size_t> map_;
  mutable const Tensor* data_ = nullptr;
  mutable size_t size_ = 0;
};

struct Model {
  int64_t ir_version = 0;
  std::string producer_name;
  std::string producer_version;
  std::vector<OpsetImport> opsets;
  Graph graph;
  std::vector<Tensor> tensors;  // every tensor, all graphs, names unique
  // The serialized ModelProto with every tensor's data removed: the graph, metadata and everything
  // deepcomp does not model, kept opaque so that saving changes nothing else. onnx_io owns its
  // meaning; the .dcz container stores it as bytes.
  std::string skeleton;
  // Folder of the model file, for resolving external data.
  std::string base_dir;

  // By name, O(1) (TensorNameIndex); null when absent.
  Tensor* find_tensor(const std::string& name);
  const Tensor* find_tensor(const std::string& name) const;
  // Drops the name index (only needed after renaming a tensor in place).
  void reindex_tensors() { tensor_index.clear(); }

  TensorNameIndex tensor_index;  // find_tensor's cache; not part of the model's content
};

}  // namespace deepcomp
