// The streaming decompress loop (stream_decompress.h).
#include "compress/stream_decompress.h"

#include <cstring>
#include <vector>

#include "compress/container_file_reader.h"
#include "compress/huffman.h"
#include "compress/pipeline.h"

namespace deepcomp::compress {
namespace {

// decode_tensor without the sparse form's per-weight position list (8 bytes per stored weight):
// the relative index is walked while the dense values are filled. Same values, same checks.
Result<Tensor> decode_dense(const EncodedTensor& e) {
  const bool shared = e.encoding == Encoding::kSharedDense || e.encoding == Encoding::kSparseShared;
  const bool sparse = e.encoding == Encoding::kSparseShared || e.encoding == Encoding::kSparseFloat;
  if ((!shared && !sparse) || !is_float_dtype(e.dtype)) return decode_tensor(e);
  const std::string where = "tensor '" + e.name + "'";
  Tensor t = tensor_header(e);
  const int64_t numel = t.numel();
  std::vector<uint32_t> clusters;
  int64_t stored = 0;
  if (shared) {
    DEEPCOMP_RETURN_IF_ERROR(decode_stream(e.clusters, &clusters).WithContext(where + " clusters"));
    for (uint32_t c : clusters)
      if (c >= e.codebook.size())
        return Status::Error(where + ": cluster index " + std::to_string(c) +
                             " outside the codebook of " + std::to_string(e.codebook.size()));
    stored = static_cast<int64_t>(clusters.size());
  } else {
    if (e.raw.size() % 4 != 0) return Status::Error(where + ": value bytes not a multiple of 4");
    stored = static_cast<int64_t>(e.raw.size() / 4);
  }
  const auto value = [&](int64_t k) {
    if (shared) return e.codebook[clusters[static_cast<size_t>(k)]];
    float v;
    std::memcpy(&v, e.raw.data() + 4 * k, 4);
    return v;
  };
  if (!sparse) {
    if (stored != numel)
      return Status::Error(where + ": " + std::to_string(stored) + " cluster indices for " +
                           std::to_string(numel) + " elements");
    t.values.resize(static_cast<size_t>(numel));
    for (int64_t i = 0; i < numel; ++i) t.values[static_cast<size_t>(i)] = value(i);
    return t;
  }
  std::vector<uint32_t> codes;
  DEEPCOMP_RETURN_IF_ERROR(decode_stream(e.index, &codes).WithContext(where + " index"));
  const std::string index_where = where + " index: ";
  const int bits = static_cast<int>(e.index_bits);
  if (bits < 1 || bits > 16)
    return Status::Error(index_where + "relative index width " + std::to_string(bits) +
                         " not in 1..16");
  if (numel < 0 || stored > numel)
    return Status::Error(index_where + "relative index: " + std::to_string(stored) +
                         " nonzeros declared for " + std::to_string(numel) + " elements");
  const int64_t max_gap = (int64_t{1} << bits) - 1;
  t.values.assign(static_cast<size_t>(numel), 0.0f);
  int64_t cursor = -1, k = 0;
  for (size_t i = 0; i < codes.size(); ++i) {
    const uint32_t c = codes[i];
    if (c > static_cast<uint32_t>(max_gap))
      return Status::Error(index_where + "relative index code " + std::to_string(c) + " at entry " +
                           std::to_string(i) + " does not fit " + std::to_string(bits) + " bits");
    if (c == 0) {
      cursor += max_gap;
      if (cursor + 1 >= numel)
        return Status::Error(index_where + "relative index filler at entry " + std::to_string(i) +
                             " runs past the end of the tensor (" + std::to_string(numel) +
                             " elements)");
      if (i + 1 == codes.size())
        return Status::Error(index_where + "relative index ends with a filler");
      continue;
    }
    cursor += c;
    if (cursor >= numel)
      return Status::Error(index_where + "relative index entry " + std::to_string(i) +
                           " points at element " + std::to_string(cursor) + " of a tensor with " +
                           std::to_string(numel) + " elements");
    if (k == stored)
      return Status::Error(index_where + "relative index holds more than the declared " +
                           std::to_string(stored) + " nonzeros");
    t.values[static_cast<size_t>(cursor)] = value(k++);
  }
  if (k != stored)
    return Status::Error(index_where + "relative index holds " + std::to_string(k) +
                         " nonzeros, declared " + std::to_string(stored));
  return t;
}

}  // namespace

Status decode_container_streaming(
    const std::string& path, const ReadLimits& limits,
    const std::function<Status(const ContainerHeader&, const std::string& skeleton)>& begin,
    const std::function<Status(Tensor&&)>& each) {
  ContainerFileReader reader;
  DEEPCOMP_RETURN_IF_ERROR(reader.open(path, limits));
  DEEPCOMP_RETURN_IF_ERROR(begin(reader.header(), reader.skeleton()));
  for (;;) {
    EncodedTensor encoded;
    bool done = false;
    DEEPCOMP_RETURN_IF_ERROR(reader.next(&encoded, &done));
    if (done) return Status::Ok();
    auto tensor = decode_dense(encoded);
    if (!tensor.ok()) return tensor.status().WithContext(path);
    encoded = EncodedTensor();  // the compressed form is freed before the dense one is written
    DEEPCOMP_RETURN_IF_ERROR(each(std::move(*tensor)));
  }
}

}  // namespace deepcomp::compress
