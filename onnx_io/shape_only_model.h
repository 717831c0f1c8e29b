// Rebuilding a Model from a skeleton when some of its float weights are held elsewhere: `run` on
// a .dcz opened sparse gives the runtime those weights in sparse form only (runtime/session.h),
// so their initializers are a shape without values and no dense buffer is ever made for them.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace deepcomp::onnx_io {

// model_from_skeleton (onnx_io.h), except that the float tensors named in `shape_only` may come
// with no values at all (Tensor::values and raw empty); every other check is the same.
Result<Model> model_from_skeleton_shape_only(const std::string& skeleton,
                                             std::vector<Tensor> tensors,
                                             const std::string& display_name,
                                             const std::unordered_set<std::string>& shape_only);

}  // namespace deepcomp::onnx_io
