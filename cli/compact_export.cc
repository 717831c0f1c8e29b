#include "cli/compact_export.h"

#include <fmt/format.h>

#include <map>

#include "cli/dcz_model.h"
#include "cli/report_output.h"
#include "compress/pipeline.h"

namespace deepcomp::cli {

Result<std::vector<onnx_io::CompactWeight>> compact_weights_from_container(
    const compress::Container& container) {
  std::vector<onnx_io::CompactWeight> weights;
  for (const compress::EncodedTensor& e : container.tensors) {
    const bool shared = e.encoding == compress::Encoding::kSharedDense ||
                        e.encoding == compress::Encoding::kSparseShared;
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
