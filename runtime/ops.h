// Internal to runtime/: the operator table. Each supported ONNX op has a builder that validates
// the node's attributes once, when the Session is created, and returns a compiled closure run on
// every inference. Builders return plain messages; the Session prefixes "node 'NAME' (OP): ".
// Depends on core/, kernels/ and runtime/value.h; never on onnx_io or protobuf.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "kernels/sparse_matrix.h"
#include "runtime/kernel_choice.h"
#include "runtime/value.h"

namespace deepcomp::runtime {

struct SessionOptions;
struct ConvFusion;  // runtime/fuse_conv.h

namespace ops {

// A weight the Session decided to run sparse (from SessionOptions), in the layout documented in
// session.h: rows = output features / output channels.
struct SparseWeight {
  std::shared_ptr<const kernels::CsrMatrix> csr;
  std::shared_ptr<const kernels::CodebookCsrMatrix> codebook;
  bool present() const { return csr || codebook; }
};

class Subgraph;

struct BuildContext {
  const Node* node = nullptr;
  int64_t opset = 0;  // version of the default ONNX domain
  const Model* model = nullptr;
  // Input k's value when it is a constant known at create time (initializer or folded Constant),
  // else nullptr (also for omitted inputs).
  std::function<const Value*(size_t)> constant;
  // The sparse form to use for the initializer named `name`, if any (empty when none).
  std::function<SparseWeight(const std::string& name)> sparse_weight;
  // Whether every conv/fc weight should be turned sparse (SessionOptions::sparse_from_dense).
  bool sparse_from_dense = false;
  // Whether the 8-bit weight `name` of an integer operator should run sparse
  // (SessionOptions::int_sparse_weights); unset means no.
  std::function<bool(const std::string& name)> int_sparse;
  KernelChoice kernel = KernelChoice::kSparse;  // SessionOptions::kernel
  double dense_above_density = kDefaultDenseAboveDensity;
  double conv_dense_above_density = kDefaultConvDenseAboveDensity;  // for Conv weights
  // A Conv node that has the chain after it fused in (runtime/fuse_conv.h), else nullptr.
  const ConvFusion* conv_fusion = nullptr;
  // Compiles a graph attribute of the node (names of enclosing graphs resolve as outer values).
  std::function<Result<std::shared_ptr<const Subgraph>>(const Graph& graph)> subgraph;

  size_t num_inputs() const { return node->inputs.size(); }
  bool has_input(size_t k) const { return k < node->inputs.size() && !node->inputs[k].empty(); }
};

// Inputs in node order; nullptr for an omitted optional input.
using Inputs = std::vector<const Value*>;
using RunFn = std::function<Status(const Inputs& in, std::vector<Value>* out)>;

// A further constant weight of a node (beyond CompiledOp::weight), e.g. the R of LSTM/GRU/RNN.
struct OpWeight {
  std::string name;
  bool sparse = false;  // runs on a sparse form
  double density = 1;   // nonzero / elements
};

struct CompiledOp {
  RunFn run;
  std::string weight;   // name of the layer's weight initializer (Gemm/MatMul/Conv), for profiles
  bool sparse = false;  // runs on a sparse weight
  double density = 1;   // of the constant weight (nonzero / elements), when `weight` is set
  std::string layout;   // the sparse layout a Gemm/MatMul runs (ops_nn.cc), else ""
  // Other constant weights of the node (LSTM/GRU/RNN: R after W), each reported as its own
  // Session::layer_kernels() entry.
  std::vector<OpWeight> more_weights;
};

// An op that needs nothing beyond its run function.
inline CompiledOp simple_op(RunFn fn) {
  CompiledOp op;
  op.run = std::move(fn);
  return op;
}

// A subgraph (If branch, Loop / Scan body) compiled by the Session. The values of enclosing
// graphs it reads are passed to its node as implicit inputs after the node's own (so the node's
// RunFn sees them in `in` and the Session keeps them alive until the node has run).
class Subgraph {
 public:
  virtual ~Subgraph() = default;
  virtual size_t num_inputs() const = 0;  // the subgraph's own graph inputs
  virtual size_t num_outputs() const = 0;
  // Runs on `inputs` (num_inputs() values, none null); `node_in` is the Inputs of the node that
  // owns the subgraph, from which the outer values are read. Errors name the inner node.
  virtual Status run(const std::vector<const Value*>& inputs, const Inputs& node_in,
                     std::vector<Value>* outputs) const = 0;
};

using Builder = std::function<Result<CompiledOp>(const BuildContext&)>;

// A layer's constant weight as the layer will run it, in the sparse layout of session.h
// (rows x cols, rows = output features / channels), after SessionOptions::kernel:
//   `sparse` present: the sparse kernel (the given form, or CSR built from the initializer when
//                     sparse_from_dense);
//   else `expanded` non-empty: the dense kernel on the given sparse form expanded once, here (a
//                     compressed weight's initializer is only a zero placeholder);
//   else: the dense kernel on the initializer itself.
struct LayerWeight {
  SparseWeight sparse;
  std::vector<float> expanded;  // rows x cols, row-major
  double density = 1;           // nonzero entries / elements
};

// `given` is ctx.sparse_weight() for the weight, already checked to be rows x cols; `initializer`
// holds the dense values, laid out as the transpose of rows x cols when `transposed` (a
// [in, out] Gemm/MatMul weight). Under KernelChoice::kAuto the layer runs sparse at or below
// `dense_above_density` (ctx's, or its conv_dense_above_density for a Conv).
LayerWeight choose_layer_weight(const BuildContext& ctx, const SparseWeight& given,
                                const Value& initializer, int64_t rows, int64_t cols,
                                bool transposed, double dense_above_density);

// nullptr when the op is not supported.
const Builder* find_builder(const std::string& op_type);
std::vector<std::string> supported_op_types();

// Registration, one function per ops_*.cc file (explicit, so no static-initialization order or
// linker dead-stripping surprises with static libraries).
using Table = std::map<std::string, Builder>;
void register_elementwise_ops(Table* table);
void register_shape_ops(Table* table);
void register_slice_pad_ops(Table* table);  // called by register_shape_ops
void register_nn_ops(Table* table);
void register_pool_ops(Table* table);
void register_conv_transpose_ops(Table* table);
void register_resize_ops(Table* table);
void register_norm_ops(Table* table);
void register_space_ops(Table* table);
void register_detect_ops(Table* table);
void register_index_ops(Table* table);           // ops_index.cc
void register_gather_scatter_ops(Table* table);  // called by register_index_ops
void register_einsum_ops(Table* table);
void register_loss_ops(Table* table);
void register_signal_ops(Table* table);
void register_rnn_ops(Table* table);
void register_control_ops(Table* table);
void register_reduce_ops(Table* table);
void register_math_ops(Table* table);
void register_matrix_ops(Table* table);
void register_quant_ops(Table* table);  // ops_quant.cc, ops_quant_matmul.cc, ops_quant_conv.cc
void register_quant_lstm_ops(Table* table);  // ops_quant_lstm.cc: com.microsoft.DynamicQuantizeLSTM

// Reduces `x` over `axes` (every axis when empty) on any numeric dtype; the result keeps x's
// dtype. Shared by the Reduce* operators and GlobalAveragePool / GlobalMaxPool.
enum class ReduceKind { kMean, kSum, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };
Status reduce_axes(const Value& x, const std::vector<int64_t>& axes, bool keepdims, ReduceKind kind,
                   Value* y);

// Attribute helpers.
int64_t attr_int(const Node& node, const std::string& name, int64_t fallback);
float attr_float(const Node& node, const std::string& name, float fallback);
std::string attr_string(const Node& node, const std::string& name, const std::string& fallback);
std::vector<int64_t> attr_ints(const Node& node, const std::string& name,
                               std::vector<int64_t> fallback = {});
bool has_attr(const Node& node, const std::string& name);
// An error for the first attribute not in `known`.
Status check_attributes(const Node& node, std::initializer_list<const char*> known);
// Error unless the node has between min and max inputs and exactly `outputs_max` or fewer
// outputs (at least one).
Status check_arity(const Node& node, size_t min_in, size_t max_in, size_t max_out);

// A zero-filled value of `dtype` and `shape` (zeros_like_dtype).
Value zeros_of(DType dtype, std::vector<int64_t> shape);

// Numpy-style broadcast of two shapes; false when incompatible.
bool broadcast_shapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                      std::vector<int64_t>* out);
// Strides (in elements) of `shape` aligned to the rank of `out_shape`, 0 on broadcast dimensions.
std::vector<int64_t> broadcast_strides(const std::vector<int64_t>& shape,
                                       const std::vector<int64_t>& out_shape);
// Normalizes a possibly negative axis against `rank`; false when out of range.
bool normalize_axis(int64_t axis, int64_t rank, int64_t* out);
// Checks that a runtime input is present, of the expected kind and well-formed (as many stored
// elements as its shape holds).
Status require_present(const Value* v, const char* what);  // any dtype
Status require_float(const Value* v, const char* what);
Status require_int(const Value* v, const char* what);
// Reads an int64 list input (shape, axes, starts, pads, ...): int64, at most 1-D.
Status int_list(const Value* v, const char* what, std::vector<int64_t>* out);

}  // namespace ops
}  // namespace deepcomp::runtime

namespace deepcomp::runtime::ops {

// Resolves the begin/end pads of each spatial dimension from auto_pad (NOTSET, SAME_UPPER,
// SAME_LOWER, VALID) and the explicit `pads` (begin..., end...), for windows of effective size
// (k - 1) * dilation + 1. Errors name what is wrong.
Status resolve_pads(const std::string& auto_pad, const std::vector<int64_t>& in_dims,
                    const std::vector<int64_t>& kernel, const std::vector<int64_t>& strides,
                    const std::vector<int64_t>& dilations, const std::vector<int64_t>& pads,
                    std::vector<int64_t>* begin, std::vector<int64_t>* end);
Status check_auto_pad(const std::string& auto_pad);

}  // namespace deepcomp::runtime::ops
