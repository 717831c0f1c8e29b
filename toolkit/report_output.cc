#include "toolkit/report_output.h"

#include <fmt/format.h>

namespace deepcomp::cli {

std::string human_bytes(double bytes) {
  if (bytes >= 1e9) return fmt::format("{:.2f} GB", bytes / 1e9);
  if (bytes >= 1e6) return fmt::format("{:.2f} MB", bytes / 1e6);
  if (bytes >= 1e3) return fmt::format("{:.1f} KB", bytes / 1e3);
  return fmt::format("{:.0f} B", bytes);
}

namespace {

std::string shape_x_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return s.empty() ? "scalar" : s;
}

double ratio(double a, double b) { return b > 0 ? a / b : 0; }

nlohmann::json bytes_json(const compress::StageBytes& b) {
  return {{"original", b.original},
          {"pruned", b.pruned},
          {"quantized", b.quantized},
          {"huffman", b.huffman}};
}

}  // namespace

std::string format_report_table(const compress::CompressReport& r) {
  std::string out = fmt::format(
      "{:<28} {:<5} {:>12} {:>9} {:>7} {:>4} {:>4} {:>10} {:>10} {:>10} {:>7}\n", "tensor", "kind",
      "shape", "params", "density", "bits", "idx", "pruned", "quantized", "huffman", "ratio");
  int64_t hidden = 0;
  compress::StageBytes hidden_bytes;
  for (const auto& l : r.layers) {
    if (!l.compressed) {
      ++hidden;
      hidden_bytes.original += l.bytes.original;
      continue;
    }
    std::string name = l.name.size() > 28 ? "..." + l.name.substr(l.name.size() - 25) : l.name;
    out += fmt::format(
        "{:<28} {:<5} {:>12} {:>9} {:>6.1f}% {:>4} {:>4} {:>10} {:>10} {:>10} {:>6.1f}x\n", name,
        l.kind, shape_x_text(l.shape), l.params,
        100.0 * ratio(static_cast<double>(l.nonzero), static_cast<double>(l.params)),
        l.bits ? std::to_string(l.bits) : "-", l.index_bits ? std::to_string(l.index_bits) : "-",
        human_bytes(l.bytes.pruned), human_bytes(l.bytes.quantized), human_bytes(l.bytes.huffman),
        ratio(l.bytes.original, l.bytes.huffman));
  }
  if (hidden > 0)
    out += fmt::format("{:<28} {:<5} {:>12} {:>9} {:>7} {:>4} {:>4} {:>10} {:>10} {:>10} {:>7}\n",
                       fmt::format("({} other tensors)", hidden), "-", "-", "-", "-", "-", "-",
                       human_bytes(hidden_bytes.original), human_bytes(hidden_bytes.original),
                       human_bytes(hidden_bytes.original), "1.0x");
  out += fmt::format(
      "\nparams {}  nonzero {} ({:.1f}%)\n"
      "size (paper accounting: weights + index + codebook):\n"
      "  original  {:>10}\n  pruned    {:>10}  {:>6.1f}x\n  quantized {:>10}  {:>6.1f}x\n"
      "  huffman   {:>10}  {:>6.1f}x\n",
      r.params, r.nonzero,
      100.0 * ratio(static_cast<double>(r.nonzero), static_cast<double>(r.params)),
      human_bytes(r.bytes.original), human_bytes(r.bytes.pruned),
      ratio(r.bytes.original, r.bytes.pruned), human_bytes(r.bytes.quantized),
      ratio(r.bytes.original, r.bytes.quantized), human_bytes(r.bytes.huffman), r.ratio());
  if (r.file_bytes > 0)
    out += fmt::format("files: .onnx {} -> .dcz {}  ({:.1f}x)\n", human_bytes(r.model_bytes),
                       human_bytes(r.file_bytes), ratio(r.model_bytes, r.file_bytes));
  // Weights kept lossless for a reason worth knowing (an unusable scale or zero point, ...).
  for (const auto& l : r.layers)
    if (!l.note.empty()) out += "note: stored losslessly: " + l.note + "\n";
  return out;
}

nlohmann::json report_json(const compress::CompressReport& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers) {
    layers.push_back({{"name", l.name},
                      {"kind", l.kind},
                      {"shape", l.shape},
                      {"compressed", l.compressed},
                      {"params", l.params},
                      {"nonzero", l.nonzero},
                      {"fillers", l.fillers},
                      {"sparsity", l.sparsity},
                      {"threshold", l.threshold},
                      {"bits", l.bits},
                      {"clusters", l.clusters},
                      {"index_bits", l.index_bits},
                      {"sse", l.sse},
                      {"entropy_bits", l.entropy_bits},
                      {"index_entropy_bits", l.index_entropy_bits},
                      {"cluster_entropy_bits", l.cluster_entropy_bits},
                      {"huffman_bits", l.huffman_bits},
                      {"index_huffman_bits", l.index_huffman_bits},
                      {"cluster_huffman_bits", l.cluster_huffman_bits},
                      {"kmeans_iterations", l.kmeans_iterations},
                      {"seconds", l.seconds},
                      {"bytes", bytes_json(l.bytes)}});
    if (!l.note.empty()) layers.back()["note"] = l.note;
  }
  return {{"total",
           {{"params", r.params},
            {"nonzero", r.nonzero},
            {"original_bytes", r.bytes.original},
            {"pruned_bytes", r.bytes.pruned},
            {"quantized_bytes", r.bytes.quantized},
            {"huffman_bytes", r.bytes.huffman},
            {"model_bytes", r.model_bytes},
            {"file_bytes", r.file_bytes},
            {"ratio", r.ratio()},
            {"file_ratio", ratio(r.model_bytes, r.file_bytes)},
            {"seconds", r.seconds}}},
          {"layers", layers}};
}

}  // namespace deepcomp::cli
