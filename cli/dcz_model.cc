#include "cli/dcz_model.h"

#include <fstream>

#include "compress/pipeline.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::cli {

Result<Model> container_to_model(const compress::Container& container, const std::string& path) {
  std::vector<Tensor> tensors;
  tensors.reserve(container.tensors.size());
  for (const compress::EncodedTensor& encoded : container.tensors) {
    auto tensor = compress::decode_tensor(encoded);
    if (!tensor.ok()) return tensor.status().WithContext(path);
    tensors.push_back(std::move(*tensor));
  }
  return onnx_io::model_from_skeleton(container.skeleton, std::move(tensors), path);
}

Result<Model> load_dcz_dense(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(compress::Container container, compress::read_container(path));
  return container_to_model(container, path);
}

bool is_dcz_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[16] = {};
  in.read(head, sizeof head);
  return compress::looks_like_container(std::string_view(head, static_cast<size_t>(in.gcount())));
}

}  // namespace deepcomp::cli
