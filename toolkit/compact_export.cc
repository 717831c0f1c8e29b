#include "toolkit/compact_export.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "toolkit/dcz_model.h"
#include "toolkit/report_output.h"
#include "compress/pipeline.h"

namespace deepcomp::cli {

namespace {

// An 8-bit quantized layer as a CompactWeight of integer codes: one codebook entry per (channel,
// level) plus the channel's zero point for pruned weights, so that Gather alone rebuilds the codes
// (with one zero point for the whole tensor, the entries are shared by every channel). nullopt
// when that codebook would exceed 65536 entries (the weight then stays a dense initializer).
Result<std::optional<onnx_io::CompactWeight>> quantized_weight(const compress::EncodedTensor& e) {
  DEEPCOMP_ASSIGN_OR_RETURN(compress::SparseTensor s, compress::decode_sparse(e));
  const size_t levels = s.codebook.size() + 1;  // + the zero point
  const int64_t rank = static_cast<int64_t>(e.shape.size());
  int64_t numel = 1, inner = 1;
  for (int64_t d : e.shape) numel *= d;
  std::vector<int32_t> zps = e.zero_points;
  bool uniform = std::all_of(zps.begin(), zps.end(), [&](int32_t z) { return z == zps[0]; });
  const int64_t channels = uniform ? 1 : static_cast<int64_t>(zps.size());
  if (!uniform)
    for (int64_t d = e.zero_point_axis + 1; d < rank; ++d) inner *= e.shape[d];
  if (numel <= 0 || levels * static_cast<size_t>(channels) > 65536)
    return std::optional<onnx_io::CompactWeight>();
  onnx_io::CompactWeight w;
  w.name = e.name;
  w.shape = e.shape;
  w.dtype = e.dtype;
  for (int64_t c = 0; c < channels; ++c) {
    for (float l : s.codebook) w.codebook.push_back(l + static_cast<float>(zps[c]));
    w.codebook.push_back(static_cast<float>(zps[c]));
  }
  auto channel = [&](int64_t k) { return uniform ? 0 : (k / inner) % channels; };
  w.clusters.resize(static_cast<size_t>(numel));
  for (int64_t k = 0; k < numel; ++k)
    w.clusters[k] = static_cast<uint32_t>(channel(k) * levels + levels - 1);  // zero point
  for (size_t i = 0; i < s.positions.size(); ++i) {
    const int64_t k = s.positions[i];
    w.clusters[k] = static_cast<uint32_t>(channel(k) * levels + s.clusters[i]);
  }
  return std::optional<onnx_io::CompactWeight>(std::move(w));
}

}  // namespace

Result<std::vector<onnx_io::CompactWeight>> compact_weights_from_container(
    const compress::Container& container) {
  std::vector<onnx_io::CompactWeight> weights;
  for (const compress::EncodedTensor& e : container.tensors) {
    const bool shared = e.encoding == compress::Encoding::kSharedDense ||
                        e.encoding == compress::Encoding::kSparseShared;
    if (compress::is_quantized_layer(e) && e.location.graph_path.empty()) {
      DEEPCOMP_ASSIGN_OR_RETURN(std::optional<onnx_io::CompactWeight> q, quantized_weight(e));
      if (q) weights.push_back(std::move(*q));
      continue;
    }
    if (!shared || e.dtype != DType::kFloat32 || !e.location.graph_path.empty()) continue;
    int64_t numel = 1;
    for (int64_t d : e.shape) numel *= d;
    if (numel <= 0) continue;
    DEEPCOMP_ASSIGN_OR_RETURN(compress::SparseTensor s, compress::decode_sparse(e));
    // A fully pruned tensor has nothing to index; it stays a dense (all-zero) initializer.
    if (s.positions.empty()) continue;
    onnx_io::CompactWeight w;
    w.name = e.name;
    w.shape = e.shape;
    w.codebook = std::move(s.codebook);
    w.clusters = std::move(s.clusters);
    // Shared-dense tensors list every position; the empty list says the same in less memory.
    if (e.encoding == compress::Encoding::kSparseShared) w.positions = std::move(s.positions);
    weights.push_back(std::move(w));
  }
  return weights;
}

Result<onnx_io::CompactResult> compact_onnx_from_container(const compress::Container& container,
                                                           const std::string& display_name,
                                                           const onnx_io::CompactOptions& options) {
  auto weights = compact_weights_from_container(container);
  if (!weights.ok()) return weights.status().WithContext(display_name);
  DEEPCOMP_ASSIGN_OR_RETURN(Model model, container_to_model(container, display_name));
  auto result = onnx_io::compact_model(model, *weights, options);
  if (!result.ok()) return result.status().WithContext(display_name);
  return result;
}

std::string compact_summary(const std::string& path, const onnx_io::CompactResult& result,
                            double dcz_bytes) {
  std::map<std::string, int> forms;
  for (const onnx_io::CompactLayer& layer : result.layers)
    ++forms[onnx_io::compact_form_name(layer.form)];
  std::string how;
  for (const auto& [form, count] : forms)
    how += fmt::format("{}{} {}", how.empty() ? "" : ", ", count, form);
  std::string opset = result.opset_after == result.opset_before
                          ? fmt::format("opset {}", result.opset_after)
                          : fmt::format("opset {} -> {}", result.opset_before, result.opset_after);
  return fmt::format(
      "wrote {} (compact ONNX, {} beside the .dcz's {}; {} weights rebuilt{}{}; {})\n", path,
      human_bytes(static_cast<double>(result.bytes.size())), human_bytes(dcz_bytes),
      result.layers.size(), how.empty() ? "" : ": ", how, opset);
}

}  // namespace deepcomp::cli
