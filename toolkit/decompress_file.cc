#include "toolkit/decompress_file.h"

#include "compress/stream_decompress.h"
#include "onnx_io/onnx_io.h"
#include "toolkit/dcz_model.h"

namespace deepcomp::cli {
namespace {

// One section read, decoded and written to OUTPUT.data at a time (bounded memory); the same
// files as the in-memory path.
Status decompress_streaming(const std::string& input, const std::string& output,
                            const onnx_io::SaveOptions& save) {
  onnx_io::StreamingModelWriter writer;
  Status s = compress::decode_container_streaming(
      input, dcz_read_limits(),
      [&](const compress::ContainerHeader&, const std::string& skeleton) {
        return writer.open(skeleton, output, save);
      },
      [&](Tensor&& t) { return writer.add(t); });
  if (s.ok()) s = writer.finish();
  return s;
}

}  // namespace

Status decompress_to_file(const std::string& input, const std::string& output,
                          const DecompressSettings& settings) {
  onnx_io::SaveOptions save;
  save.write.force = settings.force;
  save.write.inputs = {input};
  save.external_data = settings.external_data;
  DEEPCOMP_RETURN_IF_ERROR(check_output_path(output, save.write));
  if (settings.external_data && !settings.in_memory)
    return decompress_streaming(input, output, save);
  DEEPCOMP_ASSIGN_OR_RETURN(Model model, load_dcz_dense(input));
  return onnx_io::save_model(model, output, save);
}

}  // namespace deepcomp::cli
