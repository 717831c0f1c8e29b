// Runs an ONNX graph (deepcomp's protobuf-free Model) on float32/int64 tensors, NCHW, with the
// layer kernels of kernels/: dense Eigen products, or CSR / codebook-CSR weights for Gemm, MatMul,
// Conv, ConvTranspose, LSTM, GRU and RNN. Every node is validated when the Session is created, so
// an unsupported operator or attribute is reported up front, naming the node and the op. Depends
// on core/ and kernels/; never on onnx_io, compress or protobuf. If, Loop and Scan run their
// subgraphs (compiled here too); a subgraph may read any value of its enclosing graphs.
//
// Sparse weight layout (SessionOptions::csr_weights / codebook_weights, by initializer name):
//   Gemm transB=1 (B is out x in):         the matrix of B itself, rows = output features.
//   Gemm transB=0 and MatMul with a constant right operand W (in x out): the matrix of W^T,
//                                          rows = output features.
//   Conv (W is M x C/group x k...):         W reshaped to [M, C/group * prod(k)] (1-D to 3-D).
//   ConvTranspose (W is C_in x M/group x k...): W reshaped to [C_in, M/group * prod(k)],
//                                          rows = input channels (the col2im product of
//                                          kernels/conv_transpose.h).
//   LSTM / GRU / RNN W ([D, G*H, I]):      the tensor's own row-major order as [D*G*H, I]
//                                          (rows = directions x gates x hidden, no transpose).
//   LSTM / GRU / RNN R ([D, G*H, H]):      likewise [D*G*H, H].
//                                          (G = 4 gates i,o,f,c for LSTM, 3 z,r,h for GRU, 1 RNN.)
//   Gather (axis 0, data V x D float):    the table itself, rows = V (one embedding per row).
// A constant folded from an initializer through Identity, Transpose or Reshape (e.g. MatMul(x,
// Transpose(W)), PyTorch's Linear) takes the initializer's sparse form, in the layout of the layer
// reading it (there W itself, out x in). sparse_from_dense builds CSR from the dense tensors;
// `kernel` decides per layer if it runs sparse or dense (kernel_choice.h). A weight given sparse
// may come with no values (shape only): it is then never held dense (rules: session.cc).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "kernels/sparse_matrix.h"
#include "runtime/kernel_choice.h"
#include "runtime/value.h"

namespace deepcomp::runtime {

struct SessionOptions {
  // OpenMP threads for run() (0 = OpenMP's default). Set process-wide via omp_set_num_threads
  // at the start of each run. Results do not depend on it.
  int threads = 0;
  bool profile = false;  // record per-node times of each run (see Session::profile())
  // Keep the float storage of released values and hand it to later outputs, this run and the
  // next (runtime/buffer_pool.h): no output allocation in the steady state. The pool holds
  // about the run's peak of intermediate values between runs. Results do not depend on it.
  bool recycle_buffers = true;
  // Weights to use in sparse form instead of dense, by initializer name (layout above).
  std::map<std::string, std::shared_ptr<const kernels::CodebookCsrMatrix>> codebook_weights;
  std::map<std::string, std::shared_ptr<const kernels::CsrMatrix>> csr_weights;
  // Build CSR for every constant Gemm/MatMul/Conv weight and LSTM/GRU/RNN W and R of the Model
  // (benchmarking an .onnx sparse). Explicit entries above take precedence.
  bool sparse_from_dense = false;
  // 8-bit weights (by initializer name) of ConvInteger, MatMulInteger, QLinearConv and
  // QLinearMatMul to run on the sparse integer kernel (kernels/int_products.h), built from the
  // dense codes and the node's constant zero point (entries equal to it are skipped): the pruned
  // quantized layers of a .dcz. sparse_from_dense does the same for every such weight.
  std::set<std::string> int_sparse_weights;
  // What a layer with a sparse form (given above, or built by sparse_from_dense) runs on. The
  // default keeps every sparse form sparse; kAuto expands the layers whose density is above
  // dense_above_density (in [0, 1]; conv_dense_above_density for Conv weights), kDense all of
  // them.
  KernelChoice kernel = KernelChoice::kSparse;
  double dense_above_density = kDefaultDenseAboveDensity;
  double conv_dense_above_density = kDefaultConvDenseAboveDensity;
};

// A Gemm, MatMul, Conv or ConvTranspose node with a constant weight, and the kernel it was
// compiled to. A recurrent node (LSTM, GRU, RNN) gives one entry per constant weight: W, then R.
// Layers inside If / Loop / Scan subgraphs are listed too.
struct LayerKernel {
  std::string node;
  std::string op_type;
  std::string weight;
  double density = 1;   // nonzero entries / elements of the weight
  bool sparse = false;  // runs on a sparse kernel
  // Gemm/MatMul: the sparse layout it runs ("cluster-blocks", "compact-codebook-csr",
  // "codebook-csr", "csr"); "" for dense and for other ops.
  std::string layout;
};

struct NodeTiming {
  // Node name (or "#index" when the file left it empty); a node of a subgraph run by node N's
  // attribute A is "N/A/name" (its steps are listed before N's own entry, once per run of the
  // subgraph: a Loop body's once per iteration).
  std::string node;
  std::string op_type;
  std::string weight;  // the Gemm/MatMul/Conv weight (LSTM/GRU/RNN: W, else R), else ""
  double ms = 0;
  bool sparse = false;  // ran on a sparse weight
  // Shapes seen in this run, in node input/output order ({} for an omitted optional one); the
  // energy report derives MACs and activation sizes from them.
  std::vector<std::vector<int64_t>> input_shapes;
  std::vector<std::vector<int64_t>> output_shapes;
};

class Session {
 public:
  // Validates and compiles every node; constant subgraphs (Constant nodes and nodes whose inputs
  // are all initializers) are evaluated once here.
  static Result<Session> create(const Model& model, SessionOptions options = {});

  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  // Graph inputs without initializers, and graph outputs, in graph order.
  const std::vector<ValueInfo>& inputs() const;
  const std::vector<ValueInfo>& outputs() const;

  // Inputs in graph input order; returns the graph outputs in order. Shapes are not pinned to
  // the declared ones: any batch the operators accept runs.
  Result<std::vector<Value>> run(const std::vector<Value>& inputs);

  // Per-node timings of the last run (empty unless options.profile).
  const std::vector<NodeTiming>& profile() const;
  // Turns options.profile on or off for the runs that follow (a profiled run records a
  // NodeTiming per node: about 1% of YOLOX's time, so whole-model timings run without it).
  void set_profile(bool on);

  // Every layer with a constant weight, in graph order (folded constant nodes included).
  const std::vector<LayerKernel>& layer_kernels() const;

  // Names of every operator (default ONNX domain) the runtime implements.
  static std::vector<std::string> supported_ops();
  static bool supports_op(const std::string& op_type);

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deepcomp::runtime
