// Static value shapes by ONNX shape inference on the model skeleton (see onnx_io.h). Float weights
// keep their dims but no data, so a model of any size is inferred without its weights in memory;
// small integer tensors (Reshape targets, Gather indices...) get their data back so that data
// propagation can resolve shapes computed from them.
#include <onnx/shape_inference/implementation.h>

#include <exception>

#include "onnx_io/internal.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::onnx_io {
namespace {

constexpr int64_t kMaxFilledElements = 4096;  // integer tensors larger than this stay stripped

std::vector<int64_t> known_shape(const onnx::TypeProto& type, bool* known) {
  std::vector<int64_t> dims;
  *known = type.has_tensor_type() && type.tensor_type().has_shape();
  if (!*known) return dims;
  for (const auto& d : type.tensor_type().shape().dim()) {
    if (!d.has_dim_value() || d.dim_value() < 0) {
      *known = false;
      return {};
    }
    dims.push_back(d.dim_value());
  }
  return dims;
}

}  // namespace

Result<std::map<std::string, std::vector<int64_t>>> infer_static_shapes(const Model& model) {
  onnx::ModelProto proto;
  if (!internal::parse_model_proto(model.skeleton, &proto) || !proto.has_graph())
    return Status::Error("model skeleton is not a valid ONNX model");
  std::map<std::string, const Tensor*> by_name;
  for (const Tensor& t : model.tensors) by_name[t.name] = &t;
  Status filled = internal::visit_tensor_sites(&proto, [&](internal::TensorSite& site) -> Status {
    auto it = by_name.find(site.name);
    if (it == by_name.end() || is_float_dtype(it->second->dtype) ||
        it->second->dtype == DType::kString || it->second->numel() > kMaxFilledElements)
      return Status::Ok();
    return site.proto ? internal::fill_tensor_proto(*it->second, site.proto)
                      : internal::fill_constant_attribute(*it->second, site.attr);
  });
  DEEPCOMP_RETURN_IF_ERROR(filled);
  // Unknown input dims are 1, as in a batch-1 sample run.
  for (onnx::ValueInfoProto& input : *proto.mutable_graph()->mutable_input()) {
    if (!input.type().has_tensor_type() || !input.type().tensor_type().has_shape()) continue;
    for (auto& d : *input.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim()) {
      if (!d.has_dim_value() || d.dim_value() < 0) d.set_dim_value(1);
    }
  }
  try {
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(false, 0, true));
  } catch (const std::exception& e) {
    return Status::Error(std::string("ONNX shape inference failed: ") + e.what());
  }
  std::map<std::string, std::vector<int64_t>> shapes;
  const onnx::GraphProto& g = proto.graph();
  auto add = [&](const onnx::ValueInfoProto& v) {
    bool known = false;
    std::vector<int64_t> dims = known_shape(v.type(), &known);
    if (known) shapes[v.name()] = std::move(dims);
  };
  for (const auto& v : g.input()) add(v);
  for (const auto& v : g.value_info()) add(v);
  for (const auto& v : g.output()) add(v);
  for (const auto& t : g.initializer()) shapes[t.name()] = {t.dims().begin(), t.dims().end()};
  return shapes;
}

}  // namespace deepcomp::onnx_io
