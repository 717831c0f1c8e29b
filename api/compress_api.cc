// deepcomp::compress_file, compress_file_json and decompress_file (include/deepcomp/compress.h):
// the public settings turned into the pipeline's, then toolkit/compress_file.h and
// toolkit/decompress_file.h, which `deepcomp compress` and `decompress` run too.
#include "compress/pipeline.h"
#include "core/file_io.h"
#include "deepcomp/compress.h"
#include "toolkit/compact_export.h"
#include "toolkit/compress_file.h"
#include "toolkit/decompress_file.h"

namespace deepcomp {
namespace {

// The flags' parsing, as cmd_compress.cc does it, with the same messages.
Result<compress::CompressOptions> pipeline_options(const CompressOptions& in) {
  compress::CompressOptions o;
  o.prune = in.prune;
  o.prune_std = in.prune_std;
  o.prune_global = in.prune_global;
  o.prune_conv = in.prune_conv;
  o.prune_fc = in.prune_fc;
  o.no_prune = in.no_prune;
  o.share = in.share;
  o.bits_conv = in.bits_conv;
  o.bits_fc = in.bits_fc;
  o.quant_bits_conv = in.quant_bits_conv;
  o.quant_bits_fc = in.quant_bits_fc;
  o.quant_size_bits = !in.quant_flat_bits;
  DEEPCOMP_ASSIGN_OR_RETURN(o.init, compress::parse_kmeans_init(in.init));
  auto empty = compress::parse_empty_clusters(in.empty_clusters);
  if (!empty.ok()) return empty.status().WithContext("--empty-clusters");
  o.empty_clusters = *empty;
  o.iters = in.iters;
  o.seed = in.seed;
  o.index_bits_conv = in.index_bits_conv;
  o.index_bits_fc = in.index_bits_fc;
  o.huffman = in.huffman;
  o.include_biases = in.include_biases;
  for (const std::string& spec : in.layers) {
    DEEPCOMP_ASSIGN_OR_RETURN(compress::LayerOverride layer, compress::parse_layer_override(spec));
    o.layers.push_back(std::move(layer));
  }
  DEEPCOMP_RETURN_IF_ERROR(compress::validate_options(o));
  return o;
}

Result<cli::CompressFileResult> run(const std::string& in, const std::string& out,
                                    const CompressOptions& options, bool energy) {
  DEEPCOMP_ASSIGN_OR_RETURN(compress::CompressOptions pipeline, pipeline_options(options));
  cli::CompressFileSettings settings;
  settings.force = options.overwrite;
  settings.in_memory = options.in_memory || !options.onnx_compact.empty();
  settings.energy = energy && options.energy;
  settings.energy_latency = options.energy_latency;
  WriteOptions compact_write;
  if (!options.onnx_compact.empty()) {
    // Checked before any work, as the command checks it: not the input, not the .dcz.
    compact_write.force = options.overwrite;
    compact_write.inputs = {in, out};
    DEEPCOMP_RETURN_IF_ERROR(check_output_path(options.onnx_compact, compact_write));
    settings.after_write = [&](const compress::Container& container) -> Status {
      auto c = cli::compact_onnx_from_container(container, out);
      if (!c.ok()) return c.status().WithContext(options.onnx_compact);
      return write_file_atomic(options.onnx_compact, c->bytes, compact_write);
    };
  }
  return cli::compress_to_file(in, out, pipeline, settings);
}

}  // namespace

Status validate_compress_options(const CompressOptions& options) {
  return pipeline_options(options).status();
}

Result<compress::CompressReport> compress_file(const std::string& in, const std::string& out,
                                               const CompressOptions& options) {
  // The report alone: the energy section (which profiles the model) is not computed.
  DEEPCOMP_ASSIGN_OR_RETURN(cli::CompressFileResult result, run(in, out, options, false));
  return std::move(result.report);
}

Result<std::string> compress_file_json(const std::string& in, const std::string& out,
                                       const CompressOptions& options) {
  DEEPCOMP_ASSIGN_OR_RETURN(cli::CompressFileResult result, run(in, out, options, true));
  return cli::compress_report_document(result).dump(2);
}

Status decompress_file(const std::string& in, const std::string& out,
                       const DecompressOptions& options) {
  cli::DecompressSettings settings;
  settings.force = options.overwrite;
  settings.external_data = options.external_data;
  return cli::decompress_to_file(in, out, settings);
}

}  // namespace deepcomp
