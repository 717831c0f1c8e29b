// `deepcomp compress IN.onnx -o OUT.dcz` without the command line, for the library (api/): load
// (streaming external data tensor by tensor when nothing needs every weight at once), compress,
// write the .dcz, and the report with its energy section. `deepcomp compress` runs this too:
// its accuracy budget and retraining replace the compress step (CompressFileSettings::compress)
// and its compact ONNX export runs after the write (after_write).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "compress/container.h"
#include "compress/pipeline.h"
#include "compress/report.h"
#include "core/status.h"

namespace deepcomp::cli {

struct CompressFileSettings {
  bool force = false;      // replace an existing output
  bool in_memory = false;  // never the streaming path
  bool energy = true;      // the report's energy section
  bool energy_latency = false;
  // Replaces compress::compress_model(model, options) on the in-memory path (retraining, the
  // accuracy budget search); its errors get the input's name in front. Set in_memory with it.
  std::function<Result<compress::CompressOutput>(const Model&, const compress::CompressOptions&)>
      compress;
  // Runs after the .dcz is written (in-memory path), before the timing stops and the energy
  // section: the compact ONNX export. Its errors are returned as they are.
  std::function<Status(const compress::Container&)> after_write;
};

struct CompressFileResult {
  compress::CompressReport report;       // with model_bytes, file_bytes and seconds set
  std::optional<nlohmann::json> energy;  // the energy section (or {"error": why}) when asked for
  compress::Container container;         // what was written (empty on the streaming path)
};

// Validates `options`, checks the output path, compresses `input` into `output`. Errors name the
// input (or the output when it cannot be written).
Result<CompressFileResult> compress_to_file(const std::string& input, const std::string& output,
                                            const compress::CompressOptions& options,
                                            const CompressFileSettings& settings);

// The --report-json document: report_json(report) plus "energy" when present.
nlohmann::json compress_report_document(const CompressFileResult& result);

}  // namespace deepcomp::cli
