#include "toolkit/compress_file.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "compress/container.h"
#include "compress/stream_compress.h"
#include "core/file_io.h"
#include "onnx_io/onnx_io.h"
#include "toolkit/energy_inputs.h"
#include "toolkit/energy_report.h"
#include "toolkit/report_output.h"

namespace deepcomp::cli {

Result<CompressFileResult> compress_to_file(const std::string& input, const std::string& output,
                                            const compress::CompressOptions& options,
                                            const CompressFileSettings& settings) {
  DEEPCOMP_RETURN_IF_ERROR(compress::validate_options(options));
  WriteOptions write;
  write.force = settings.force;
  write.inputs = {input};
  DEEPCOMP_RETURN_IF_ERROR(check_output_path(output, write));

  const auto start = std::chrono::steady_clock::now();
  // As `deepcomp compress`: external data is read one tensor at a time unless something needs
  // every weight at once; 8-bit layers read their scales from other tensors (in memory).
  onnx_io::LoadOptions load;
  load.defer_external_data = !settings.in_memory && !settings.energy_latency &&
                             compress::streaming_unsupported_reason(options).empty();
  DEEPCOMP_ASSIGN_OR_RETURN(Model model, onnx_io::load_model(input, load));
  if (load.defer_external_data && std::any_of(model.tensors.begin(), model.tensors.end(),
                                              [](const Tensor& t) { return t.quant.present; })) {
    load.defer_external_data = false;
    DEEPCOMP_ASSIGN_OR_RETURN(model, onnx_io::load_model(input, load));
  }
  const bool streaming = std::any_of(model.tensors.begin(), model.tensors.end(),
                                     [](const Tensor& t) { return onnx_io::is_deferred(t); });
  for (const Tensor& t : model.tensors) {
    if (Status s = compress::check_storable(t); !s.ok())
      return s.WithContext("tensor '" + t.name + "'").WithContext(input);
  }
  const std::pair<std::string, std::string> source{
      "source", std::filesystem::path(input).filename().string()};
  CompressFileResult result;
  compress::CompressOutput out;
  if (streaming) {
    compress::TensorLoader loader;
    const Model& m = model;
    loader.load = [&m](Tensor* t) { return onnx_io::read_external_data(m, t); };
    loader.release = [](Tensor* t) { onnx_io::release_tensor_data(t); };
    auto report =
        compress::compress_model_streaming(model, options, loader, {source}, output, write);
    if (!report.ok()) return report.status().WithContext(input);
    out.report = std::move(*report);
  } else {
    auto compressed = settings.compress ? settings.compress(model, options)
                                        : compress::compress_model(model, options);
    if (!compressed.ok()) return compressed.status().WithContext(input);
    out = std::move(*compressed);
    out.container.header.metadata.push_back(source);
    auto bytes = compress::serialize_container(out.container);
    if (!bytes.ok()) return bytes.status().WithContext(input);
    DEEPCOMP_RETURN_IF_ERROR(write_file_atomic(output, *bytes, write));
    out.report.file_bytes = static_cast<double>(bytes->size());
    if (settings.after_write) DEEPCOMP_RETURN_IF_ERROR(settings.after_write(out.container));
  }
  std::error_code ec;
  out.report.model_bytes = static_cast<double>(std::filesystem::file_size(input, ec));
  out.report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (settings.energy && streaming && !static_weight_nodes(model)) {
    result.energy = nlohmann::json{{"error",
                                    "streaming compress: layer shapes not inferable without "
                                    "running the model (use --in-memory)"}};
  } else if (settings.energy) {
    EnergySettings energy_settings;
    energy_settings.measure_latency = settings.energy_latency;
    auto e = energy_report(model, out.container, compressed_stats_from_report(out.report),
                           out.report.model_bytes, out.report.file_bytes, energy_settings);
    result.energy = e.ok() ? *e : nlohmann::json{{"error", e.status().message()}};
  }
  result.report = std::move(out.report);
  result.container = std::move(out.container);
  return result;
}

nlohmann::json compress_report_document(const CompressFileResult& result) {
  nlohmann::json json = report_json(result.report);
  if (result.energy) json["energy"] = *result.energy;
  return json;
}

}  // namespace deepcomp::cli
