// Internal to runtime/: what Conv (ops_conv.cc) and ConvTranspose (ops_conv_transpose.cc) share.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/ops.h"

namespace deepcomp::runtime::ops {

// A conv layer's constant weight (input 1) as it will run: sparse, expanded from a sparse form,
// or (both empty) the W input itself. `name` is empty when W is not a constant.
struct ConvLayerWeight {
  std::string name;
  SparseWeight sparse;
  std::shared_ptr<const std::vector<float>> expanded;
  double density = 1;
};

// Reads W = input 1 when it is a constant float tensor, as the matrix whose rows are W's first
// dimension (Conv: output channels; ConvTranspose: input channels) and whose columns are the
// dimensions after it (session.h's layout), checking a given sparse form's shape.
Result<ConvLayerWeight> conv_layer_weight(const BuildContext& ctx);

// Reads a per-spatial-dimension attribute (all positive), defaulting to `fill` for every
// dimension.
Status spatial_attr(const Node& node, const char* name, size_t rank, int64_t fill,
                    std::vector<int64_t>* out);

// The window of a Conv or ConvTranspose run: X and W float tensors of equal rank with 1 to 3
// spatial dimensions, strides and dilations from the node (default 1), and the kernel from W's
// spatial dimensions (checked against a kernel_shape attribute). `what` names the operation in
// the spatial-rank error ("convolution", "ConvTranspose"). `weight_held`: the layer runs its own
// copy of W (sparse form or expanded), so only W's shape is read (W may then be a shape without
// values: runtime/session.cc).
struct ConvWindow {
  int64_t spatial_rank = 0;
  std::vector<int64_t> strides, dilations, kernel;
};
Result<ConvWindow> conv_window(const Node& node, const Inputs& in, const char* what,
                               bool weight_held = false);

}  // namespace deepcomp::runtime::ops
