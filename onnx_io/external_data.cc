// Reading one deferred tensor's external data at a time (load_model with defer_external_data), for
// streaming passes over models larger than memory. load_model already checked the path (inside the
// model's folder) and the file's length; the file is read again here, so it is checked again.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor_bytes.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::onnx_io {
namespace fs = std::filesystem;

namespace {

// Reads exactly `size` bytes at `offset` into `out`, retrying short reads.
Status pread_all(int fd, char* out, uint64_t size, uint64_t offset, const std::string& what) {
  uint64_t done = 0;
  while (done < size) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(size - done, uint64_t{1} << 30));
    const ssize_t n = ::pread(fd, out + done, chunk, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Error(what + ": read failed: " + std::strerror(errno));
    }
    if (n == 0)
      return Status::Error(what + ": the file ends " + std::to_string(size - done) +
                           " byte(s) before the tensor's data does (shorter than its tensors)");
    done += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

}  // namespace

bool is_deferred(const Tensor& t) {
  return !t.location.external_file.empty() && t.numel() > 0 && t.values.empty() && t.raw.empty();
}

Status read_external_data(const Model& model, Tensor* t) {
  if (!is_deferred(*t)) return Status::Ok();
  const std::string path =
      (fs::path(model.base_dir) / fs::path(t->location.external_file).lexically_normal()).string();
  const std::string what = "tensor '" + t->name + "': external data file '" + path + "'";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(what + ": cannot open: " + std::strerror(errno));
  const uint64_t offset = static_cast<uint64_t>(t->location.external_offset);
  const uint64_t size = t->byte_size();
  Status st;
  if (t->dtype == DType::kFloat32) {
    // Little-endian float32 bytes are the working copy itself: no second buffer.
    t->values.resize(static_cast<size_t>(t->numel()));
    st = pread_all(fd, reinterpret_cast<char*>(t->values.data()), size, offset, what);
  } else {
    std::string bytes(size, '\0');
    st = pread_all(fd, bytes.data(), size, offset, what);
    if (st.ok()) st = set_tensor_from_bytes(t, bytes);
  }
  ::close(fd);
  if (!st.ok()) release_tensor_data(t);
  return st;
}

void release_tensor_data(Tensor* t) {
  if (t->location.external_file.empty() || t->numel() <= 0) return;  // nothing to read it back from
  std::vector<float>().swap(t->values);
  std::string().swap(t->raw);
}

}  // namespace deepcomp::onnx_io
