#include "toolkit/energy_file.h"

#include <filesystem>

#include "compress/container.h"
#include "compress/pipeline.h"
#include "onnx_io/onnx_io.h"
#include "toolkit/dcz_model.h"

namespace deepcomp::cli {

Result<nlohmann::json> energy_for_files(const std::string& input, const std::string& compressed,
                                        const EnergySettings& settings) {
  DEEPCOMP_RETURN_IF_ERROR(validate_energy_settings(settings));
  DEEPCOMP_ASSIGN_OR_RETURN(Model model, onnx_io::load_model(input));
  std::error_code ec;
  const double dense_bytes = static_cast<double>(std::filesystem::file_size(input, ec));

  compress::Container container;
  CompressedStats stats;
  double compressed_bytes = 0;
  if (!compressed.empty()) {
    DEEPCOMP_ASSIGN_OR_RETURN(container, read_dcz(compressed));
    stats = compressed_stats_from_container(container);
    compressed_bytes = static_cast<double>(std::filesystem::file_size(compressed, ec));
  } else {
    auto out = compress::compress_model(model, compress::CompressOptions{});
    if (!out.ok()) return out.status().WithContext(input);
    auto bytes = compress::serialize_container(out->container);
    if (!bytes.ok()) return bytes.status().WithContext(input);
    compressed_bytes = static_cast<double>(bytes->size());
    stats = compressed_stats_from_report(out->report);
    container = std::move(out->container);
  }
  auto report = energy_report(model, container, stats, dense_bytes, compressed_bytes, settings);
  if (!report.ok()) return report.status().WithContext(input);
  (*report)["model"] = input;
  (*report)["compressed"] = compressed.empty() ? "(default pipeline, in memory)" : compressed;
  return std::move(*report);
}

}  // namespace deepcomp::cli
