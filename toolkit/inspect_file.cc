#include "toolkit/inspect_file.h"

#include <fstream>

#include "onnx_io/onnx_io.h"
#include "toolkit/inspect_dcz.h"
#include "toolkit/inspect_onnx.h"

namespace deepcomp::cli {

std::string file_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char buf[3] = {};
  if (!in.read(buf, sizeof buf)) return "";
  return std::string(buf, sizeof buf);
}

Result<nlohmann::ordered_json> inspect_summary(const std::string& path) {
  if (file_magic(path) == "DCZ") return dcz_summary_json(path);
  DEEPCOMP_ASSIGN_OR_RETURN(Model model, onnx_io::load_model(path));
  return model_summary_json(model);
}

}  // namespace deepcomp::cli
