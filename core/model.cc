#include "core/model.h"

namespace deepcomp {

const char* role_name(TensorRole role) {
  switch (role) {
    case TensorRole::kConvWeight: return "conv";
    case TensorRole::kFcWeight: return "fc";
    case TensorRole::kEmbedding: return "embedding";
    case TensorRole::kBias: return "bias";
    case TensorRole::kOther: return "other";
    case TensorRole::kFixedBasis: return "basis";
  }
  return "other";
}

bool is_weight_role(TensorRole role) {
  return role == TensorRole::kConvWeight || role == TensorRole::kFcWeight ||
         role == TensorRole::kEmbedding;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const Attribute* Node::attr(const std::string& attr_name) const {
  for (const Attribute& a : attributes)
    if (a.name == attr_name) return &a;
  return nullptr;
}

Tensor* Model::find_tensor(const std::string& name) {
  for (Tensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const Tensor* Model::find_tensor(const std::string& name) const {
  for (const Tensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace deepcomp
