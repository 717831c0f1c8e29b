#include "toolkit/weight_histograms.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "toolkit/dcz_model.h"
#include "toolkit/svg_plot.h"
#include "compress/container.h"
#include "compress/pipeline.h"
#include "core/file_io.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::cli {
namespace {

constexpr int kBins = 120;

std::string shape_list_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string encoding_text(compress::Encoding e) {
  switch (e) {
    case compress::Encoding::kSharedDense:
      return "shared, not pruned";
    case compress::Encoding::kSparseShared:
      return "pruned and shared";
    case compress::Encoding::kSparseFloat:
      return "pruned, float values";
    case compress::Encoding::kLossless:
      return "lossless";
  }
  return "?";
}

// The figure for one tensor; `original` is null when no original model was given.
std::string layer_figure(const compress::EncodedTensor& e, const compress::SparseTensor& sparse,
                         const Tensor* original) {
  // Shared values and how many stored weights use each (the stored zeros of a shared-dense
  // tensor count too: they are weights the layer keeps).
  std::vector<double> shared_values, shared_counts;
  if (!sparse.codebook.empty()) {
    std::vector<double> counts(sparse.codebook.size(), 0.0);
    for (uint32_t c : sparse.clusters)
      if (c < counts.size()) counts[c] += 1;
    for (size_t i = 0; i < sparse.codebook.size(); ++i) {
      if (counts[i] == 0) continue;  // only the values some weight actually uses
      shared_values.push_back(sparse.codebook[i]);
      shared_counts.push_back(counts[i]);
    }
  }
  std::vector<double> stored(sparse.values.begin(), sparse.values.end());
  // One x range for both panels, so the shapes line up.
  double lo = 0, hi = 0;
  auto widen = [&](double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  };
  if (original)
    for (float v : original->values) widen(v);
  for (double v : stored) widen(v);
  for (double v : shared_values) widen(v);
  if (hi <= lo) hi = lo + 1;
  const double margin = (hi - lo) * 0.02;
  lo -= margin;
  hi += margin;

  const int64_t params = std::max<int64_t>(1, [&] {
    int64_t n = 1;
    for (int64_t d : e.shape) n *= d;
    return n;
  }());
  std::vector<svg::RefLine> centroid_lines;
  for (double v : shared_values) {
    svg::RefLine line;
    line.at = v;
    line.color = "#d62728";
    line.dashed = false;
    line.line_width = 1.0;
    line.opacity = shared_values.size() > 32 ? 0.3 : 0.55;  // 8-bit codebooks are dense
    centroid_lines.push_back(line);
  }
  if (!centroid_lines.empty())
    centroid_lines.front().label = fmt::format("shared values ({})", shared_values.size());

  svg::Figure figure;
  figure.title = fmt::format("{} {}: weight distribution", e.name, shape_list_text(e.shape));
  figure.panel_height = 380;
  if (original) {
    svg::Panel before;
    before.title = fmt::format("before: {} original weights", original->values.size());
    before.x.label = "weight value";
    before.y.label = "count";
    std::vector<double> values(original->values.begin(), original->values.end());
    svg::Bars bars = svg::histogram(values, {}, lo, hi, kBins);
    bars.label = "original weights";
    bars.color = "#1f77b4";
    before.bars.push_back(std::move(bars));
    before.vlines = centroid_lines;
    figure.panels.push_back(std::move(before));
  }
  svg::Panel after;
  const double kept =
      100.0 * static_cast<double>(sparse.positions.size()) / static_cast<double>(params);
  after.title = fmt::format(
      "after ({}): {} of {} weights kept ({:.1f}%){}", encoding_text(e.encoding),
      sparse.positions.size(), params, kept,
      shared_values.empty() ? "" : fmt::format(", {} shared values", shared_values.size()));
  after.x.label = "weight value";
  after.y.label = "count";
  if (original && original->values.size() == static_cast<size_t>(params) &&
      !shared_values.empty()) {
    // The surviving weights before sharing: the spread each centroid stands for.
    std::vector<double> survivors;
    survivors.reserve(sparse.positions.size());
    for (int64_t p : sparse.positions)
      survivors.push_back(original->values[static_cast<size_t>(p)]);
    svg::Bars bars = svg::histogram(survivors, {}, lo, hi, kBins);
    bars.label = "surviving weights, before sharing";
    bars.color = "#9aa7b4";
    bars.opacity = 0.7;
    after.bars.push_back(std::move(bars));
  }
  svg::Bars bars = shared_values.empty()
                       ? svg::histogram(stored, {}, lo, hi, kBins)
                       : svg::histogram(shared_values, shared_counts, lo, hi, kBins);
  bars.label = shared_values.empty() ? "surviving weights" : "shared weights (count per value)";
  bars.color = "#2ca02c";
  bars.opacity = 0.85;
  after.bars.push_back(std::move(bars));
  after.vlines = centroid_lines;
  figure.panels.push_back(std::move(after));
  return svg::render(figure);
}

}  // namespace

std::string sanitize_file_name(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    out += safe ? c : '_';
  }
  if (out.empty() || out.front() == '.') out.insert(out.begin(), '_');
  if (out.size() > 200) out.resize(200);
  return out;
}

Status write_weight_histograms(const std::string& dcz_path, const std::string& onnx_or_empty,
                               const std::string& dir, std::vector<std::string>* written) {
  DEEPCOMP_ASSIGN_OR_RETURN(compress::Container container, read_dcz(dcz_path));
  std::optional<Model> original;
  if (!onnx_or_empty.empty()) {
    DEEPCOMP_ASSIGN_OR_RETURN(Model model, onnx_io::load_model(onnx_or_empty));
    original = std::move(model);
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir))
    return Status::Error(dir + ": cannot create the plot folder" + (ec ? ": " + ec.message() : ""));

  // Decode and check everything first, so that a mismatch writes no file.
  struct Job {
    const compress::EncodedTensor* encoded = nullptr;
    compress::SparseTensor sparse;
    const Tensor* original = nullptr;
    std::string path;
  };
  std::vector<Job> jobs;
  std::set<std::string> used;
  for (const compress::EncodedTensor& e : container.tensors) {
    if (e.encoding == compress::Encoding::kLossless) continue;
    auto sparse = decode_sparse(e, dcz_path);
    if (!sparse.ok()) return sparse.status();
    Job job;
    job.encoded = &e;
    job.sparse = std::move(*sparse);
    if (original) {
      job.original = original->find_tensor(e.name);
      if (!job.original)
        return Status::Error(onnx_or_empty + ": no tensor '" + e.name + "' (is it the model " +
                             dcz_path + " was compressed from?)");
      if (job.original->shape != e.shape || job.original->values.empty())
        return Status::Error(onnx_or_empty + ": tensor '" + e.name + "' is " +
                             shape_list_text(job.original->shape) + " but " + shape_list_text(e.shape) +
                             " in " + dcz_path);
    }
    std::string stem = sanitize_file_name(e.name);
    for (int k = 2; used.count(stem); ++k)
      stem = sanitize_file_name(e.name) + "_" + std::to_string(k);
    used.insert(stem);
    job.path = (std::filesystem::path(dir) / (stem + ".svg")).string();
    jobs.push_back(std::move(job));
  }
  WriteOptions write;
  write.force = true;  // the plot folder is an output: its SVGs are replaced
  write.inputs = {dcz_path};
  if (!onnx_or_empty.empty()) write.inputs.push_back(onnx_or_empty);
  for (const Job& job : jobs) {
    DEEPCOMP_RETURN_IF_ERROR(
        write_file_atomic(job.path, layer_figure(*job.encoded, job.sparse, job.original), write));
    if (written) written->push_back(job.path);
  }
  return Status::Ok();
}

}  // namespace deepcomp::cli
