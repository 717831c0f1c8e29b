// Loading: .onnx bytes -> Model (every tensor extracted and decoded, the rest kept as the
// skeleton), a skeleton plus tensors -> Model (for .dcz), and single TensorProto files. Not
// extracted, kept verbatim in the skeleton: sparse_initializer entries, tensor attributes of nodes
// other than Constant (e.g. ConstantOfShape's value), Constant sparse_value/value_string(s), and
// tensors inside model-local functions.
#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "core/file_io.h"
#include "onnx_io/internal.h"
#include "onnx_io/onnx_io.h"
#include "onnx_io/shape_only_model.h"

namespace deepcomp::onnx_io {
namespace fs = std::filesystem;
using internal::TensorSite;

namespace {

Status parse_proto(std::string_view bytes, const std::string& display_name,
                   onnx::ModelProto* proto) {
  if (bytes.empty()) return Status::Error(display_name + ": not a valid ONNX model (empty file)");
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    return Status::Error(display_name +
                         ": not a valid ONNX model (over 2 GB, protobuf's limit for one message)");
  if (!internal::parse_model_proto(bytes, proto))
    return Status::Error(display_name + ": not a valid ONNX model (protobuf parse failed)");
  if (!proto->has_graph())
    return Status::Error(display_name + ": not a valid ONNX model (no graph)");
  return Status::Ok();
}

}  // namespace

namespace {

// Extracts every tensor of a parsed proto (stripping each as it goes) and builds the Model.
Result<Model> model_from_proto(onnx::ModelProto& proto, const std::string& display_name,
                               const std::string& base_dir, bool defer_external = false) {
  std::vector<Tensor> tensors;
  std::unordered_set<std::string> seen;
  Status st = internal::visit_tensor_sites(&proto, [&](TensorSite& site) -> Status {
    if (!seen.insert(site.name).second)
      return Status::Error("duplicate tensor name '" + site.name + "'");
    Result<Tensor> t =
        site.proto ? internal::decode_tensor_proto(*site.proto, site.name, base_dir, defer_external)
                   : internal::decode_constant_attribute(*site.attr, site.name);
    if (!t.ok()) return t.status();
    Tensor tensor = std::move(t).value();
    tensor.location.kind = site.kind;
    tensor.location.graph_path = site.graph_path;
    tensor.location.node = site.node;
    tensor.location.attribute = site.attribute;
    if (site.proto)
      internal::strip_tensor_proto(site.proto);
    else
      internal::strip_constant_attribute(site.attr);
    tensors.push_back(std::move(tensor));
    return Status::Ok();
  });
  if (!st.ok()) return st.WithContext(display_name);
  DEEPCOMP_ASSIGN_OR_RETURN(Model model,
                            internal::assemble_model(proto, std::move(tensors), display_name));
  model.base_dir = base_dir;
  return model;
}

}  // namespace

Result<Model> parse_model(std::string_view bytes, const std::string& display_name,
                          const std::string& base_dir) {
  onnx::ModelProto proto;
  DEEPCOMP_RETURN_IF_ERROR(parse_proto(bytes, display_name, &proto));
  return model_from_proto(proto, display_name, base_dir);
}

Result<Model> load_model(const std::string& path, const LoadOptions& options) {
  // Parsed straight from the file, without a copy of its bytes in memory: with the stripping of
  // each tensor as it is decoded, peak memory stays near one copy of the weights plus the proto.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode) || st.st_size == 0 ||
      st.st_size > static_cast<off_t>(INT_MAX)) {
    DEEPCOMP_ASSIGN_OR_RETURN(std::string bytes, read_file(path));  // the precise error
    onnx::ModelProto unused;
    DEEPCOMP_RETURN_IF_ERROR(parse_proto(bytes, path, &unused));
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(path + ": cannot open: " + std::strerror(errno));
  onnx::ModelProto proto;
  bool parsed = false;
  {
    google::protobuf::io::FileInputStream file(fd);
    google::protobuf::io::CodedInputStream in(&file);
    in.SetTotalBytesLimit(INT_MAX);
    parsed = proto.ParseFromCodedStream(&in) && in.ConsumedEntireMessage();
  }
  ::close(fd);
  if (!parsed) return Status::Error(path + ": not a valid ONNX model (protobuf parse failed)");
  if (!proto.has_graph()) return Status::Error(path + ": not a valid ONNX model (no graph)");
  const fs::path dir = fs::path(path).parent_path();
  return model_from_proto(proto, path, dir.empty() ? fs::path(".").string() : dir.string(),
                          options.defer_external_data);
}

Result<Model> model_from_skeleton(const std::string& skeleton, std::vector<Tensor> tensors,
                                  const std::string& display_name) {
  return model_from_skeleton_shape_only(skeleton, std::move(tensors), display_name, {});
}

Result<Model> model_from_skeleton_shape_only(const std::string& skeleton,
                                             std::vector<Tensor> tensors,
                                             const std::string& display_name,
                                             const std::unordered_set<std::string>& shape_only) {
  onnx::ModelProto proto;
  if (!internal::parse_model_proto(skeleton, &proto) || !proto.has_graph())
    return Status::Error(display_name + ": model skeleton is not a valid ONNX model");
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!index.emplace(tensors[i].name, i).second)
      return Status::Error(display_name + ": duplicate tensor name '" + tensors[i].name + "'");
  }
  // Tensors in the skeleton's order, each checked against what the skeleton says about it.
  std::vector<Tensor> ordered;
  ordered.reserve(tensors.size());
  std::vector<bool> used(tensors.size(), false);
  Status st = internal::visit_tensor_sites(&proto, [&](TensorSite& site) -> Status {
    auto it = index.find(site.name);
    if (it == index.end()) return Status::Error("tensor '" + site.name + "' is missing");
    if (used[it->second]) return Status::Error("duplicate tensor name '" + site.name + "'");
    used[it->second] = true;
    Tensor& t = tensors[it->second];
    if (site.proto) {
      const std::vector<int64_t> dims(site.proto->dims().begin(), site.proto->dims().end());
      if (static_cast<int32_t>(t.dtype) != site.proto->data_type() || dims != t.shape)
        return Status::Error("tensor '" + site.name + "' is " + dtype_name(t.dtype) + " " +
                             internal::shape_text(t.shape) + " but the model declares " +
                             dtype_name(static_cast<DType>(site.proto->data_type())) + " " +
                             internal::shape_text(dims));
    }
    const int64_t n = t.numel();
    const bool no_data = t.values.empty() && t.raw.empty() && is_float_dtype(t.dtype) &&
                         shape_only.count(site.name) > 0;
    const bool sized = t.dtype == DType::kString || no_data ||
                       (is_float_dtype(t.dtype) ? t.values.size() == static_cast<size_t>(n)
                                                : t.raw.size() == t.byte_size());
    if (n < 0 || !sized)
      return Status::Error("tensor '" + site.name + "': data does not match shape " +
                           internal::shape_text(t.shape));
    t.location.kind = site.kind;
    t.location.graph_path = site.graph_path;
    t.location.node = site.node;
    t.location.attribute = site.attribute;
    ordered.push_back(std::move(t));
    return Status::Ok();
  });
  if (!st.ok()) return st.WithContext(display_name);
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!used[i])
      return Status::Error(display_name + ": tensor '" + tensors[i].name +
                           "' does not appear in the model");
  }
  return internal::assemble_model(proto, std::move(ordered), display_name);
}

Result<std::unordered_map<std::string, DeclaredTensor>> declared_tensors(
    const std::string& skeleton, const std::string& display_name) {
  onnx::ModelProto proto;
  if (!internal::parse_model_proto(skeleton, &proto) || !proto.has_graph())
    return Status::Error(display_name + ": model skeleton is not a valid ONNX model");
  std::unordered_map<std::string, DeclaredTensor> declared;
  Status st = internal::visit_tensor_sites(&proto, [&](TensorSite& site) -> Status {
    DeclaredTensor d;
    if (site.proto) {
      d.has_shape = true;
      d.dtype = site.proto->data_type();
      d.dims.assign(site.proto->dims().begin(), site.proto->dims().end());
    }
    declared.emplace(site.name, std::move(d));
    return Status::Ok();
  });
  if (!st.ok()) return st.WithContext(display_name);
  return declared;
}

Result<Tensor> read_tensor_file(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    return Status::Error(path + ": not a valid TensorProto (over 2 GB)");
  onnx::TensorProto proto;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(INT_MAX);
  if (!proto.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    return Status::Error(path + ": not a valid TensorProto (protobuf parse failed)");
  std::string dir = fs::path(path).parent_path().string();
  auto t = internal::decode_tensor_proto(proto, proto.name(), dir.empty() ? "." : dir);
  if (!t.ok()) return t.status().WithContext(path);
  return t;
}

}  // namespace deepcomp::onnx_io
