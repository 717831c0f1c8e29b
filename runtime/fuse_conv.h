// Internal to runtime/: fusing what follows a Conv into the convolution's epilogue
// (kernels/conv_epilogue.h) when the Session compiles a graph. A chain
//   Conv -> [Mul by a constant] -> [Add a constant]      (or -> [BatchNormalization, constant])
//        -> [Add a computed tensor (residual)]
//        -> [Relu | LeakyRelu | Clip | HardSigmoid | HardSwish | Sigmoid
//            | Add c, Clip, Mul by the input, Div by d (HardSwish as exporters spell it)
//            | Sigmoid and Mul by the input (SiLU)]
//        -> [Mul by a constant] -> [Add a constant]      (after an activation only)
// (each part optional, at least one present) becomes one node, when every intermediate value
// has no other reader (in this graph or a subgraph) and is not a graph output, and every
// constant is an initializer or a Constant node (scale / shift constants: one value, or one per
// output channel). The fused node is the Conv with the chain's last output, the residual as
// input 3, placed where the chain's last node was (the residual may be computed after the Conv).
// It runs the chain's arithmetic step for step (the bits of the unfused graph); inputs the fast
// path does not take (not float32, a residual that broadcasts) run the chain's own operators
// after the convolution instead. Depends on core/ and runtime/ops.h.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model.h"
#include "kernels/conv_epilogue.h"
#include "runtime/value.h"

namespace deepcomp::runtime {

struct ConvFusion {
  // The affine step, 1 entry (a scalar) or one per output channel; empty when absent.
  std::vector<float> scale, shift;
  bool residual = false;         // the fused node's input 3
  // The affine step after the activation, as scale / shift (empty when absent).
  std::vector<float> post_scale, post_shift;
  kernels::Epilogue activation;  // act, alpha..delta only
  // The chain's nodes in order, and the constants they read (for the general path), by name.
  std::vector<Node> chain;
  std::map<std::string, std::shared_ptr<const Value>> constants;
  std::string conv_output;    // the Conv's own output name (input of chain[0])
  std::string residual_name;  // the fused node's input 3 (the residual), when `residual`
};

// The nodes of `g` with the fusible chains fused; (*fusions)[i] describes the fused node at
// index i of the result, (*original_index)[i] is the index in g.nodes of node i (for a fused
// node, its Conv's), so unnamed nodes keep their "#index" names.
// Whether Session::create fuses (default on). A process-wide switch, for the tests and benchmarks
// that compare a graph fused and unfused; results do not depend on it.
void set_conv_fusion(bool on);
bool conv_fusion();

std::vector<Node> fuse_conv_chains(const Graph& g, const Model& model,
                                   std::map<size_t, ConvFusion>* fusions,
                                   std::vector<size_t>* original_index);

}  // namespace deepcomp::runtime
