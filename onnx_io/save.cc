// Saving: skeleton + tensors -> ModelProto bytes, each tensor back in its original dtype, location
// and storage field; large models (or on request) with their tensors in one external data file
// written beside the model, so that no protobuf message over 2 GB is ever built in memory.
#include <onnx/checker.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <unordered_map>

#include "core/file_io.h"
#include "onnx_io/internal.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::onnx_io {
namespace fs = std::filesystem;
using internal::TensorSite;

namespace {

constexpr uint64_t kProtoLimit = INT_MAX;  // protobuf refuses messages of 2 GB and more
constexpr uint64_t kExternalAlign = 4096;  // external tensors start on page boundaries (mmap-able)

// Upper bound of a tensor's serialized size inline (varint fields can take 10 bytes a value).
uint64_t inline_size_bound(const Tensor& t) {
  const uint64_t n = static_cast<uint64_t>(std::max<int64_t>(t.numel(), 0));
  if (t.dtype == DType::kString) return t.raw.size() + 16;
  if (t.location.raw_data || t.dtype == DType::kFloat32 || t.dtype == DType::kFloat64 ||
      t.dtype == DType::kComplex64 || t.dtype == DType::kComplex128)
    return t.byte_size() + 16;
  return n * 10 + 16;
}

uint64_t model_size_bound(const Model& m) {
  uint64_t total = m.skeleton.size();
  for (const Tensor& t : m.tensors) total += inline_size_bound(t) + t.name.size() + 16;
  return total;
}

// Streams external tensors into the .data file, each at a 4096-aligned offset.
struct ExternalWriter {
  AtomicFile file;
  std::string location;  // as written in the model: the data file's name, beside the model
  int64_t min_bytes = 0;
  uint64_t offset = 0;
  bool used = false;

  bool wants(const Tensor& t, const TensorSite& site) const {
    if (!site.proto || t.dtype == DType::kString) return false;
    return static_cast<int64_t>(t.byte_size()) >= min_bytes || !t.location.external_file.empty();
  }

  Status write(const Tensor& t, onnx::TensorProto* p) {
    // float32's working copy is its little-endian bytes: written without a second copy.
    std::string copy;
    std::string_view bytes;
    if (t.dtype == DType::kFloat32 && t.values.size() == static_cast<size_t>(t.numel())) {
      bytes = std::string_view(reinterpret_cast<const char*>(t.values.data()), t.byte_size());
    } else {
      copy = internal::element_bytes(t);
      bytes = copy;
    }
    if (bytes.size() != t.byte_size())
      return Status::Error("tensor '" + t.name + "': data does not match shape " +
                           internal::shape_text(t.shape));
    const uint64_t pad = (kExternalAlign - offset % kExternalAlign) % kExternalAlign;
    if (pad) DEEPCOMP_RETURN_IF_ERROR(file.write(std::string(pad, '\0')));
    offset += pad;
    DEEPCOMP_RETURN_IF_ERROR(file.write(bytes));
    auto add = [p](const std::string& k, const std::string& v) {
      auto* e = p->add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", location);
    add("offset", std::to_string(offset));
    add("length", std::to_string(bytes.size()));
    p->set_data_location(onnx::TensorProto::EXTERNAL);
    offset += bytes.size();
    used = true;
    return Status::Ok();
  }
};

// Parses the skeleton and puts every tensor back; `ext` null keeps all data inline.
Status rebuild(const Model& model, onnx::ModelProto* proto, ExternalWriter* ext) {
  if (!internal::parse_model_proto(model.skeleton, proto) || !proto->has_graph())
    return Status::Error("model skeleton is not a valid ONNX model");
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    if (!index.emplace(model.tensors[i].name, i).second)
      return Status::Error("duplicate tensor name '" + model.tensors[i].name + "'");
  }
  std::vector<bool> used(model.tensors.size(), false);
  DEEPCOMP_RETURN_IF_ERROR(internal::visit_tensor_sites(proto, [&](TensorSite& site) -> Status {
    auto it = index.find(site.name);
    if (it == index.end()) return Status::Error("tensor '" + site.name + "' is missing");
    if (used[it->second]) return Status::Error("duplicate tensor name '" + site.name + "'");
    used[it->second] = true;
    const Tensor& t = model.tensors[it->second];
    if (!site.proto) return internal::fill_constant_attribute(t, site.attr);
    if (ext && ext->wants(t, site)) return ext->write(t, site.proto);
    return internal::fill_tensor_proto(t, site.proto);
  }));
  for (size_t i = 0; i < used.size(); ++i) {
    if (!used[i])
      return Status::Error("tensor '" + model.tensors[i].name + "' does not appear in the model");
  }
  return Status::Ok();
}

Result<std::string> serialize_proto(const onnx::ModelProto& proto) {
  if (proto.ByteSizeLong() >= kProtoLimit)
    return Status::Error("the model exceeds protobuf's 2 GB limit; save it with external data");
  std::string out;
  if (!proto.SerializeToString(&out)) return Status::Error("protobuf serialization failed");
  return out;
}

}  // namespace

Result<std::string> serialize_model(const Model& model) {
  if (model_size_bound(model) >= kProtoLimit) {
    // The bound is loose for varint fields; only refuse when the exact size is over the limit,
    // which we learn without building the message when every field is fixed-size.
    uint64_t exact = model.skeleton.size();
    for (const Tensor& t : model.tensors) exact += t.byte_size();
    if (exact >= kProtoLimit)
      return Status::Error("the model exceeds protobuf's 2 GB limit; save it with external data");
  }
  onnx::ModelProto proto;
  DEEPCOMP_RETURN_IF_ERROR(rebuild(model, &proto, nullptr));
  return serialize_proto(proto);
}

Status save_model(const Model& model, const std::string& path, const SaveOptions& options) {
  WriteOptions write = options.write;
  bool had_external = false;
  for (const Tensor& t : model.tensors) {
    if (t.location.external_file.empty()) continue;
    had_external = true;
    // The data being read must never be the data being replaced.
    write.inputs.push_back((fs::path(model.base_dir) / t.location.external_file).string());
  }
  DEEPCOMP_RETURN_IF_ERROR(check_output_path(path, write));
  const bool external =
      options.external_data || had_external || model_size_bound(model) >= kProtoLimit;

  onnx::ModelProto proto;
  ExternalWriter ext;
  if (external) {
    const std::string data_path = path + ".data";
    ext.location = fs::path(data_path).filename().string();
    ext.min_bytes = options.external_min_bytes;
    DEEPCOMP_RETURN_IF_ERROR(ext.file.open(data_path, write));
  }
  Status st = rebuild(model, &proto, external ? &ext : nullptr);
  if (!st.ok()) return st.WithContext(path);
  auto bytes = serialize_proto(proto);
  if (!bytes.ok()) return bytes.status().WithContext(path);
  if (ext.used) DEEPCOMP_RETURN_IF_ERROR(ext.file.commit());
  Status written = write_file_atomic(path, *bytes, write);
  // Without --force the .data file just published is new and ours: nothing partial is left.
  if (!written.ok() && ext.used && !write.force) ::unlink((path + ".data").c_str());
  return written;
}

struct StreamingModelWriter::Impl {
  std::string path;
  WriteOptions write;
  onnx::ModelProto proto;
  std::unordered_map<std::string, TensorSite> sites;  // pointers into `proto`, stable
  std::unordered_map<std::string, bool> used;
  ExternalWriter ext;
};

StreamingModelWriter::StreamingModelWriter() = default;
StreamingModelWriter::~StreamingModelWriter() = default;

Status StreamingModelWriter::open(const std::string& skeleton, const std::string& path,
                                  const SaveOptions& options) {
  impl_ = std::make_unique<Impl>();
  Impl& m = *impl_;
  m.path = path;
  m.write = options.write;
  DEEPCOMP_RETURN_IF_ERROR(check_output_path(path, m.write));
  if (!internal::parse_model_proto(skeleton, &m.proto) || !m.proto.has_graph())
    return Status::Error(path + ": model skeleton is not a valid ONNX model");
  Status st = internal::visit_tensor_sites(&m.proto, [&](TensorSite& site) -> Status {
    if (!m.sites.emplace(site.name, site).second)
      return Status::Error("duplicate tensor name '" + site.name + "'");
    m.used.emplace(site.name, false);
    return Status::Ok();
  });
  if (!st.ok()) return st.WithContext(path);
  const std::string data_path = path + ".data";
  m.ext.location = fs::path(data_path).filename().string();
  m.ext.min_bytes = options.external_min_bytes;
  return m.ext.file.open(data_path, m.write);
}

Status StreamingModelWriter::add(const Tensor& t) {
  if (!impl_) return Status::Error("model writer is not open");
  Impl& m = *impl_;
  auto it = m.sites.find(t.name);
  if (it == m.sites.end())
    return Status::Error(m.path + ": tensor '" + t.name + "' does not appear in the model");
  bool& used = m.used[t.name];
  if (used) return Status::Error(m.path + ": duplicate tensor name '" + t.name + "'");
  TensorSite& site = it->second;
  // model_from_skeleton's checks: the tensor is what the skeleton declares, with all its data.
  if (site.proto) {
    const std::vector<int64_t> dims(site.proto->dims().begin(), site.proto->dims().end());
    if (static_cast<int32_t>(t.dtype) != site.proto->data_type() || dims != t.shape)
      return Status::Error(m.path + ": tensor '" + t.name + "' is " + dtype_name(t.dtype) + " " +
                           internal::shape_text(t.shape) + " but the model declares " +
                           dtype_name(static_cast<DType>(site.proto->data_type())) + " " +
                           internal::shape_text(dims));
  }
  const int64_t n = t.numel();
  const bool sized = t.dtype == DType::kString ||
                     (is_float_dtype(t.dtype) ? t.values.size() == static_cast<size_t>(n)
                                              : t.raw.size() == t.byte_size());
  if (n < 0 || !sized)
    return Status::Error(m.path + ": tensor '" + t.name + "': data does not match shape " +
                         internal::shape_text(t.shape));
  used = true;
  Status st = !site.proto            ? internal::fill_constant_attribute(t, site.attr)
              : m.ext.wants(t, site) ? m.ext.write(t, site.proto)
                                     : internal::fill_tensor_proto(t, site.proto);
  return st.WithContext(m.path);
}

Status StreamingModelWriter::finish() {
  if (!impl_) return Status::Error("model writer is not open");
  Impl& m = *impl_;
  DEEPCOMP_RETURN_IF_ERROR(internal::visit_tensor_sites(&m.proto, [&](TensorSite& site) -> Status {
    if (!m.used[site.name])
      return Status::Error(m.path + ": tensor '" + site.name + "' is missing");
    return Status::Ok();
  }));
  auto bytes = serialize_proto(m.proto);
  if (!bytes.ok()) return bytes.status().WithContext(m.path);
  if (m.ext.used) DEEPCOMP_RETURN_IF_ERROR(m.ext.file.commit());
  return write_file_atomic(m.path, *bytes, m.write);
}

Status check_model_bytes(std::string_view bytes, const std::string& display_name) {
  onnx::ModelProto proto;
  if (!internal::parse_model_proto(bytes, &proto))
    return Status::Error(display_name + ": not a valid ONNX model (protobuf parse failed)");
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    std::string what = e.what();
    return Status::Error(display_name + ": ONNX checker: " + what.substr(0, what.find('\n')));
  }
  return Status::Ok();
}

Status check_model_file(const std::string& path) {
  try {
    onnx::checker::check_model(path);
  } catch (const std::exception& e) {
    std::string what = e.what();
    return Status::Error(path + ": ONNX checker: " + what.substr(0, what.find('\n')));
  }
  return Status::Ok();
}

}  // namespace deepcomp::onnx_io
