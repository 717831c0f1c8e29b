#include "toolkit/inspect_dcz.h"

#include <fmt/format.h>

#include <map>

#include "toolkit/dcz_model.h"
#include "toolkit/inspect_onnx.h"
#include "toolkit/report_output.h"
#include "compress/container.h"
#include "compress/pipeline.h"
#include "core/file_io.h"

namespace deepcomp::cli {
namespace {

const char* encoding_name(compress::Encoding e) {
  switch (e) {
    case compress::Encoding::kLossless: return "lossless";
    case compress::Encoding::kSharedDense: return "shared";
    case compress::Encoding::kSparseShared: return "sparse+shared";
    case compress::Encoding::kSparseFloat: return "sparse+float";
  }
  return "unknown";
}

nlohmann::ordered_json stream_json(const compress::SymbolStream& s) {
  nlohmann::ordered_json j;
  j["coding"] = s.code_lengths.empty() ? "fixed" : "huffman";
  j["symbols"] = s.count;
  j["alphabet"] = s.alphabet_size;
  j["bytes"] = s.bits.size();
  if (s.code_lengths.empty()) j["fixed_bits"] = s.fixed_bits;
  return j;
}

std::string shape_text(const nlohmann::ordered_json& shape) {
  std::string s;
  for (const auto& d : shape) s += (s.empty() ? "" : "x") + std::to_string(d.get<int64_t>());
  return s.empty() ? "scalar" : s;
}

}  // namespace

Result<nlohmann::ordered_json> dcz_summary_json(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  DEEPCOMP_ASSIGN_OR_RETURN(compress::Container container, parse_dcz(bytes, path));
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<compress::SectionInfo> sections,
                            compress::list_sections(bytes, path));
  std::map<std::string, uint64_t> section_bytes;
  uint64_t skeleton_bytes = 0;
  for (const auto& s : sections) {
    if (s.kind == "tensor") section_bytes[s.tensor] = s.length;
    if (s.kind == "skeleton") skeleton_bytes = s.length;
  }

  nlohmann::ordered_json j;
  j["file"] = path;
  j["format_version"] = fmt::format("{}.{}", container.header.version >> 8, container.header.version & 0xFF);
  j["producer"] = container.header.producer;
  nlohmann::ordered_json settings = nlohmann::ordered_json::array();
  for (const auto& [k, v] : container.header.metadata) settings.push_back({{"key", k}, {"value", v}});
  j["settings"] = settings;
  j["file_bytes"] = bytes.size();
  j["skeleton_bytes"] = skeleton_bytes;

  nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
  int64_t total_params = 0, total_nonzero = 0;
  uint64_t compressed_bytes = 0, lossless_bytes = 0;
  for (const compress::EncodedTensor& e : container.tensors) {
    nlohmann::ordered_json t;
    int64_t params = 1;
    for (int64_t d : e.shape) params *= d;
    t["name"] = e.name;
    t["role"] = role_name(e.role);
    t["shape"] = e.shape;
    t["dtype"] = dtype_name(e.dtype);
    t["location"] = location_text(e.location);
    t["encoding"] = encoding_name(e.encoding);
    t["params"] = params;
    int64_t nonzero = params;
    if (e.encoding != compress::Encoding::kLossless) {
      DEEPCOMP_ASSIGN_OR_RETURN(compress::SparseTensor s, decode_sparse(e, path));
      nonzero = 0;
      for (float v : s.values) nonzero += v != 0.0f;
      if (!e.codebook.empty()) t["clusters"] = e.codebook.size();
      if (e.encoding == compress::Encoding::kSparseShared || e.encoding == compress::Encoding::kSparseFloat) {
        t["index_bits"] = e.index_bits;
        t["index"] = stream_json(e.index);
      }
      if (!e.codebook.empty()) t["cluster_indices"] = stream_json(e.clusters);
    }
    t["nonzero"] = nonzero;
    t["section_bytes"] = section_bytes[e.name];
    t["bits_per_param"] = params > 0 ? 8.0 * static_cast<double>(section_bytes[e.name]) / params : 0.0;
    total_params += params;
    total_nonzero += nonzero;
    (e.encoding == compress::Encoding::kLossless ? lossless_bytes : compressed_bytes) += section_bytes[e.name];
    tensors.push_back(t);
  }
  j["tensors"] = tensors;
  j["total"] = {{"tensors", container.tensors.size()},
                {"params", total_params},
                {"nonzero", total_nonzero},
                {"compressed_section_bytes", compressed_bytes},
                {"lossless_section_bytes", lossless_bytes},
                {"file_bytes", bytes.size()}};
  // The graph the container restores to: inputs, outputs, opsets.
  DEEPCOMP_ASSIGN_OR_RETURN(Model model, container_to_model(container, path));
  const nlohmann::ordered_json graph = model_summary_json(model);
  j["model"] = {{"producer", graph["producer"]}, {"opsets", graph["opsets"]},
                {"inputs", graph["inputs"]}, {"outputs", graph["outputs"]}};
  return j;
}

std::string dcz_summary_text(const nlohmann::ordered_json& j) {
  std::string out = fmt::format("{}: .dcz version {}, written by {}\n", j["file"].get<std::string>(),
                                j["format_version"].get<std::string>(), j["producer"].get<std::string>());
  std::string settings;
  for (const auto& s : j["settings"])
    settings += fmt::format(" {}={}", s["key"].get<std::string>(), s["value"].get<std::string>());
  out += "settings:" + settings + "\n";
  for (const char* side : {"inputs", "outputs"}) {
    for (const auto& v : j["model"][side]) {
      std::string dims;
      for (const auto& d : v["shape"]) dims += (dims.empty() ? "" : "x") + (d.is_string() ? d.get<std::string>() : std::to_string(d.get<int64_t>()));
      out += fmt::format("{} {} [{}]\n", std::string(side) == "inputs" ? "input " : "output", v["name"].get<std::string>(), dims);
    }
  }
  out += fmt::format("\n{:<28} {:<9} {:>12} {:<13} {:>9} {:>8} {:>4} {:>4} {:>15} {:>10} {:>6}\n", "tensor", "role", "shape",
                     "encoding", "params", "density", "k", "idx", "coding (idx/k)", "bytes", "bits/w");
  for (const auto& t : j["tensors"]) {
    std::string name = t["name"].get<std::string>();
    if (name.size() > 28) name = "..." + name.substr(name.size() - 25);
    const double params = t["params"].get<double>();
    auto coding = [&](const char* key) -> std::string {
      return t.contains(key) ? std::string(t[key]["coding"].get<std::string>()) : "-";
    };
    out += fmt::format("{:<28} {:<9} {:>12} {:<13} {:>9} {:>7.1f}% {:>4} {:>4} {:>15} {:>10} {:>6.2f}\n", name,
                       t["role"].get<std::string>(), shape_text(t["shape"]), t["encoding"].get<std::string>(),
                       t["params"].get<int64_t>(), params > 0 ? 100.0 * t["nonzero"].get<double>() / params : 0.0,
                       t.contains("clusters") ? std::to_string(t["clusters"].get<int>()) : "-",
                       t.contains("index_bits") ? std::to_string(t["index_bits"].get<int>()) : "-",
                       coding("index") + "/" + coding("cluster_indices"),
                       human_bytes(t["section_bytes"].get<double>()), t["bits_per_param"].get<double>());
  }
  const auto& total = j["total"];
  out += fmt::format("\n{} tensors, {} params, {} nonzero; file {} (graph {}, compressed tensors {}, lossless tensors {})\n",
                     total["tensors"].get<int64_t>(), total["params"].get<int64_t>(), total["nonzero"].get<int64_t>(),
                     human_bytes(j["file_bytes"].get<double>()), human_bytes(j["skeleton_bytes"].get<double>()),
                     human_bytes(total["compressed_section_bytes"].get<double>()),
                     human_bytes(total["lossless_section_bytes"].get<double>()));
  return out;
}

}  // namespace deepcomp::cli
