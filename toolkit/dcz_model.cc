#include "toolkit/dcz_model.h"

#include <fstream>
#include <memory>
#include <new>
#include <unordered_map>

#include "core/dtype.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::cli {
namespace {

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

std::string numel_text(const compress::EncodedTensor& e) {
  uint64_t n = 1;
  for (int64_t d : e.shape) n *= static_cast<uint64_t>(d);
  return std::to_string(n) + " elements";
}

}  // namespace

compress::ReadLimits dcz_read_limits() {
  // The skeleton's declarations, parsed once on the first tensor (the skeleton precedes them).
  auto declared = std::make_shared<std::unordered_map<std::string, onnx_io::DeclaredTensor>>();
  auto parsed = std::make_shared<bool>(false);
  compress::ReadLimits limits;
  limits.check_header = [declared, parsed](const std::string& skeleton,
                                           const compress::EncodedTensor& e) -> Status {
    if (!*parsed) {
      DEEPCOMP_ASSIGN_OR_RETURN(*declared, onnx_io::declared_tensors(skeleton, "skeleton"));
      *parsed = true;
    }
    auto it = declared->find(e.name);
    if (it == declared->end()) return Status::Error("does not appear in the model's graph");
    const onnx_io::DeclaredTensor& d = it->second;
    if (d.has_shape && (d.dtype != static_cast<int32_t>(e.dtype) || d.dims != e.shape))
      return Status::Error("is " + dtype_name(e.dtype) + " " + dims_text(e.shape) +
                           " but the model declares " + dtype_name(static_cast<DType>(d.dtype)) +
                           " " + dims_text(d.dims));
    return Status::Ok();
  };
  return limits;
}

Result<compress::Container> read_dcz(const std::string& path) {
  return compress::read_container(path, dcz_read_limits());
}

Result<compress::Container> parse_dcz(std::string_view bytes, const std::string& path) {
  return compress::parse_container(bytes, path, dcz_read_limits());
}

Result<Tensor> decode_dense(const compress::EncodedTensor& encoded, const std::string& path) {
  try {
    auto t = compress::decode_tensor(encoded);
    if (!t.ok()) return t.status().WithContext(path);
    return t;
  } catch (const std::bad_alloc&) {
    return Status::Error(path + ": tensor '" + encoded.name + "': out of memory decoding " +
                         numel_text(encoded));
  }
}

Result<compress::SparseTensor> decode_sparse(const compress::EncodedTensor& encoded,
                                             const std::string& path) {
  try {
    auto s = compress::decode_sparse(encoded);
    if (!s.ok()) return s.status().WithContext(path);
    return s;
  } catch (const std::bad_alloc&) {
    return Status::Error(path + ": tensor '" + encoded.name + "': out of memory decoding " +
                         numel_text(encoded));
  }
}

Result<Model> container_to_model(const compress::Container& container, const std::string& path) {
  std::vector<Tensor> tensors;
  tensors.reserve(container.tensors.size());
  for (const compress::EncodedTensor& encoded : container.tensors) {
    DEEPCOMP_ASSIGN_OR_RETURN(Tensor tensor, decode_dense(encoded, path));
    tensors.push_back(std::move(tensor));
  }
  return onnx_io::model_from_skeleton(container.skeleton, std::move(tensors), path);
}

Result<Model> load_dcz_dense(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(compress::Container container, read_dcz(path));
  return container_to_model(container, path);
}

bool is_dcz_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[16] = {};
  in.read(head, sizeof head);
  return compress::looks_like_container(std::string_view(head, static_cast<size_t>(in.gcount())));
}

}  // namespace deepcomp::cli
