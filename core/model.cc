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

TensorNameIndex& TensorNameIndex::operator=(const TensorNameIndex&) {
  clear();
  return *this;
}

void TensorNameIndex::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  map_.clear();
  data_ = nullptr;
  size_ = 0;
}

int64_t TensorNameIndex::find(const std::vector<Tensor>& tensors, const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt == 1 || data_ != tensors.data() || size_ != tensors.size() ||
        (map_.empty() && !tensors.empty())) {
      map_.clear();
      map_.reserve(tensors.size());
      for (size_t i = 0; i < tensors.size(); ++i) map_.emplace(tensors[i].name, i);
      data_ = tensors.data();
      size_ = tensors.size();
    }
    auto it = map_.find(name);
    if (it == map_.end()) return -1;
    if (it->second < tensors.size() && tensors[it->second].name == name)
      return static_cast<int64_t>(it->second);
    // A stale hit (a tensor renamed or the vector reordered in place): rebuild once.
  }
  return -1;
}

Tensor* Model::find_tensor(const std::string& name) {
  const int64_t i = tensor_index.find(tensors, name);
  return i < 0 ? nullptr : &tensors[static_cast<size_t>(i)];
}

const Tensor* Model::find_tensor(const std::string& name) const {
  const int64_t i = tensor_index.find(tensors, name);
  return i < 0 ? nullptr : &tensors[static_cast<size_t>(i)];
}

}  // namespace deepcomp
