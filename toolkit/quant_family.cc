#include "toolkit/quant_family.h"

#include <fmt/format.h>

#include <filesystem>

#include "compress/container.h"
#include "onnx_io/onnx_io.h"
#include "toolkit/dcz_model.h"

namespace deepcomp::cli {
namespace {

std::string file_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// The model as given and its Deep Compression at `options`, both scored.
Status add_pair(const std::string& path, const Model& model, const std::string& form,
                const compress::CompressOptions& options, const QuantFamilyScorer& score,
                std::vector<QuantFamilyRow>* rows) {
  DEEPCOMP_ASSIGN_OR_RETURN(compress::CompressOutput out, compress::compress_model(model, options));
  QuantFamilyRow plain;
  plain.form = form;
  plain.model = file_name(path);
  plain.weight_bytes = out.report.bytes.original;
  std::error_code ec;
  plain.file_bytes = static_cast<double>(std::filesystem::file_size(path, ec));
  DEEPCOMP_RETURN_IF_ERROR(score(model, &plain.scored).WithContext(path));

  QuantFamilyRow dc;
  dc.form = "deep compression of " + form;
  dc.model = plain.model;
  dc.weight_bytes = out.report.bytes.huffman;
  // The same header `deepcomp compress` writes, so file_bytes is that command's file size.
  out.container.header.metadata.emplace_back("source", plain.model);
  DEEPCOMP_ASSIGN_OR_RETURN(std::string bytes, compress::serialize_container(out.container));
  dc.file_bytes = static_cast<double>(bytes.size());
  DEEPCOMP_ASSIGN_OR_RETURN(Model rebuilt, container_to_model(out.container, path));
  DEEPCOMP_RETURN_IF_ERROR(score(rebuilt, &dc.scored).WithContext(path + " (compressed)"));
  rows->push_back(std::move(plain));
  rows->push_back(std::move(dc));
  return Status::Ok();
}

}  // namespace

Result<std::vector<QuantFamilyRow>> quant_family_rows(const std::string& float_path,
                                                      const Model& float_model,
                                                      const std::string& quantized_path,
                                                      const compress::CompressOptions& options,
                                                      const QuantFamilyScorer& score) {
  DEEPCOMP_ASSIGN_OR_RETURN(Model quantized, onnx_io::load_model(quantized_path));
  // The same data must fit both: one image input each, of the same name and shape.
  if (quantized.graph.inputs.size() != float_model.graph.inputs.size())
    return Status::Error(quantized_path + ": " + std::to_string(quantized.graph.inputs.size()) +
                         " graph inputs, the float model has " +
                         std::to_string(float_model.graph.inputs.size()));
  std::vector<QuantFamilyRow> rows;
  DEEPCOMP_RETURN_IF_ERROR(add_pair(float_path, float_model, "float", options, score, &rows));
  DEEPCOMP_RETURN_IF_ERROR(add_pair(quantized_path, quantized, "8-bit", options, score, &rows));
  // Order: float, 8-bit, deep compression of float, deep compression of 8-bit.
  std::swap(rows[1], rows[2]);
  return rows;
}

std::string quant_family_csv(const std::vector<QuantFamilyRow>& rows) {
  std::string csv = "form,model,weight_bytes,vs_float,file_bytes,score\n";
  const double float_bytes = rows.empty() ? 0 : rows.front().weight_bytes;
  for (const QuantFamilyRow& r : rows) {
    csv += fmt::format("{},{},{:.0f},{:.4f},{:.0f},{:.6f}\n", r.form, r.model, r.weight_bytes,
                       r.weight_bytes > 0 ? float_bytes / r.weight_bytes : 0.0, r.file_bytes,
                       r.scored.score());
  }
  return csv;
}

}  // namespace deepcomp::cli
