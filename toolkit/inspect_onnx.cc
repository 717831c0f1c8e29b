// The inspect summary of a Model: per-tensor statistics, totals by role, and the text rendering.
#include "toolkit/inspect_onnx.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace deepcomp::cli {
namespace {

using json = nlohmann::ordered_json;

// One pass of min/max/mean/std/zero count over a tensor's numbers (the float working copy, or the
// integer elements of non-float dtypes). Returns false when the tensor has no numbers to show.
struct Stats {
  double min = 0, max = 0, mean = 0, std = 0, zeros = 0;
};

template <typename Get>
Stats compute_stats(size_t n, Get get) {
  Stats s;
  double sum = 0, sum_sq = 0;
  size_t zeros = 0;
  s.min = get(0);
  s.max = s.min;
  for (size_t i = 0; i < n; ++i) {
    const double v = get(i);
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
    sum += v;
    if (v == 0) ++zeros;
  }
  s.mean = sum / static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) {
    const double d = get(i) - s.mean;
    sum_sq += d * d;
  }
  s.std = std::sqrt(sum_sq / static_cast<double>(n));
  s.zeros = static_cast<double>(zeros) / static_cast<double>(n);
  return s;
}

template <typename T>
double load_as_double(const std::string& raw, size_t i) {
  T v;
  std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
  return static_cast<double>(v);
}

bool tensor_stats(const Tensor& t, Stats* out) {
  const int64_t numel = t.numel();
  if (numel <= 0) return false;
  const size_t n = static_cast<size_t>(numel);
  if (is_float_dtype(t.dtype)) {
    if (t.values.size() != n) return false;
    *out = compute_stats(n, [&](size_t i) { return static_cast<double>(t.values[i]); });
    return true;
  }
  if (t.raw.size() != n * dtype_size(t.dtype)) return false;
  double (*get)(const std::string&, size_t) = nullptr;
  switch (t.dtype) {
    case DType::kInt8:
      get = load_as_double<int8_t>;
      break;
    case DType::kUInt8:
    case DType::kBool:
      get = load_as_double<uint8_t>;
      break;
    case DType::kInt16:
      get = load_as_double<int16_t>;
      break;
    case DType::kUInt16:
      get = load_as_double<uint16_t>;
      break;
    case DType::kInt32:
      get = load_as_double<int32_t>;
      break;
    case DType::kUInt32:
      get = load_as_double<uint32_t>;
      break;
    case DType::kInt64:
      get = load_as_double<int64_t>;
      break;
    case DType::kUInt64:
      get = load_as_double<uint64_t>;
      break;
    default:
      return false;  // string, complex
  }
  *out = compute_stats(n, [&](size_t i) { return get(t.raw, i); });
  return true;
}

json value_info_json(const ValueInfo& v) {
  json shape = nullptr;
  if (v.has_shape) {
    shape = json::array();
    for (size_t i = 0; i < v.dims.size(); ++i) {
      if (v.dims[i] >= 0)
        shape.push_back(v.dims[i]);
      else if (i < v.dim_params.size() && !v.dim_params[i].empty())
        shape.push_back(v.dim_params[i]);
      else
        shape.push_back(nullptr);
    }
  }
  return {{"name", v.name}, {"dtype", dtype_name(v.dtype)}, {"shape", shape}};
}

std::string declared_shape_text(const json& shape) {
  if (shape.is_null()) return "?";
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    const json& d = shape[i];
    s += d.is_number()   ? std::to_string(d.get<int64_t>())
         : d.is_string() ? d.get<std::string>()
                         : "?";
  }
  return s + "]";
}

std::string number_text(const json& v, const char* spec) {
  if (v.is_null()) return "-";
  return fmt::format(fmt::runtime(spec), v.get<double>());
}

}  // namespace

std::string location_text(const TensorLocation& loc) {
  if (!loc.external_file.empty())
    return fmt::format("external {}@{}", loc.external_file, loc.external_offset);
  const std::string node = loc.node.empty() ? std::string("(unnamed)") : loc.node;
  std::string where =
      loc.kind == LocationKind::kInitializer ? std::string("initializer") : "Constant node " + node;
  if (loc.graph_path.empty()) return where;
  return "subgraph " + loc.graph_path + " " + where;
}

json model_summary_json(const Model& model) {
  json doc;
  doc["producer"] = model.producer_name;
  doc["producer_version"] = model.producer_version;
  doc["ir_version"] = model.ir_version;
  doc["opsets"] = json::array();
  for (const OpsetImport& op : model.opsets)
    doc["opsets"].push_back({{"domain", op.domain}, {"version", op.version}});
  doc["inputs"] = json::array();
  for (const ValueInfo& v : model.graph.inputs) doc["inputs"].push_back(value_info_json(v));
  doc["outputs"] = json::array();
  for (const ValueInfo& v : model.graph.outputs) doc["outputs"].push_back(value_info_json(v));

  const TensorRole roles[] = {TensorRole::kConvWeight, TensorRole::kFcWeight,
                              TensorRole::kEmbedding, TensorRole::kBias, TensorRole::kOther,
                              TensorRole::kFixedBasis};
  json by_role = json::object();
  for (TensorRole r : roles) by_role[role_name(r)] = {{"tensors", 0}, {"params", 0}, {"bytes", 0}};
  int64_t params = 0, bytes = 0, init_params = 0, const_params = 0;
  doc["tensors"] = json::array();
  for (const Tensor& t : model.tensors) {
    const int64_t n = t.numel();
    const int64_t b = t.dtype == DType::kString ? static_cast<int64_t>(t.raw.size())
                                                : static_cast<int64_t>(t.byte_size());
    json entry = {{"name", t.name},
                  {"role", role_name(t.role)},
                  {"shape", t.shape},
                  {"dtype", dtype_name(t.dtype)},
                  {"location", location_text(t.location)},
                  {"params", n},
                  {"bytes", b}};
    Stats s;
    if (tensor_stats(t, &s)) {
      entry["min"] = s.min;
      entry["max"] = s.max;
      entry["mean"] = s.mean;
      entry["std"] = s.std;
      entry["zeros"] = s.zeros;
    } else {
      for (const char* k : {"min", "max", "mean", "std", "zeros"}) entry[k] = nullptr;
    }
    doc["tensors"].push_back(std::move(entry));
    json& r = by_role[role_name(t.role)];
    r["tensors"] = r["tensors"].get<int64_t>() + 1;
    r["params"] = r["params"].get<int64_t>() + n;
    r["bytes"] = r["bytes"].get<int64_t>() + b;
    params += n;
    bytes += b;
    (t.location.kind == LocationKind::kInitializer ? init_params : const_params) += n;
  }
  doc["by_role"] = std::move(by_role);
  doc["total"] = {{"params", params},
                  {"bytes", bytes},
                  {"initializer_params", init_params},
                  {"constant_node_params", const_params}};
  return doc;
}

std::string model_summary_text(const json& doc) {
  std::string out;
  out += fmt::format("producer:   {} {}\n", doc["producer"].get<std::string>(),
                     doc["producer_version"].get<std::string>());
  out += fmt::format("IR version: {}\n", doc["ir_version"].get<int64_t>());
  std::string opsets;
  for (const json& op : doc["opsets"]) {
    if (!opsets.empty()) opsets += ", ";
    const std::string domain = op["domain"].get<std::string>();
    opsets +=
        fmt::format("{} {}", domain.empty() ? "ai.onnx" : domain, op["version"].get<int64_t>());
  }
  out += fmt::format("opsets:     {}\n", opsets);
  for (const char* io : {"inputs", "outputs"}) {
    out += fmt::format("{}:\n", io);
    for (const json& v : doc[io])
      out += fmt::format("  {} {} {}\n", v["name"].get<std::string>(),
                         v["dtype"].get<std::string>(), declared_shape_text(v["shape"]));
  }

  size_t name_w = 4, loc_w = 8, shape_w = 5;
  for (const json& t : doc["tensors"]) {
    name_w = std::max(name_w, t["name"].get<std::string>().size());
    loc_w = std::max(loc_w, t["location"].get<std::string>().size());
    shape_w = std::max(shape_w, declared_shape_text(t["shape"]).size());
  }
  name_w = std::min<size_t>(name_w, 48);
  const std::string row =
      "{:<{}}  {:<9}  {:<{}}  {:<8}  {:<{}}  {:>10}  {:>11}  {:>10}  "
      "{:>10}  {:>10}  {:>10}  {:>6}\n";
  out += "\ntensors:\n";
  out += fmt::format(fmt::runtime(row), "name", name_w, "role", "shape", shape_w, "dtype",
                     "location", loc_w, "params", "bytes", "min", "max", "mean", "std", "zeros");
  for (const json& t : doc["tensors"]) {
    out += fmt::format(fmt::runtime(row), t["name"].get<std::string>(), name_w,
                       t["role"].get<std::string>(), declared_shape_text(t["shape"]), shape_w,
                       t["dtype"].get<std::string>(), t["location"].get<std::string>(), loc_w,
                       t["params"].get<int64_t>(), t["bytes"].get<int64_t>(),
                       number_text(t["min"], "{:.4g}"), number_text(t["max"], "{:.4g}"),
                       number_text(t["mean"], "{:.4g}"), number_text(t["std"], "{:.4g}"),
                       number_text(t["zeros"], "{:.3f}"));
  }
  out += "\nby role:\n";
  for (const auto& [role, r] : doc["by_role"].items()) {
    if (r["tensors"].get<int64_t>() == 0) continue;
    out += fmt::format("  {:<9}  {:>5} tensors  {:>12} params  {:>13} bytes\n", role,
                       r["tensors"].get<int64_t>(), r["params"].get<int64_t>(),
                       r["bytes"].get<int64_t>());
  }
  const json& total = doc["total"];
  out += fmt::format("  {:<9}  {:>5} tensors  {:>12} params  {:>13} bytes\n", "total",
                     doc["tensors"].size(), total["params"].get<int64_t>(),
                     total["bytes"].get<int64_t>());
  out += fmt::format("  ({} params in initializers, {} in Constant nodes)\n",
                     total["initializer_params"].get<int64_t>(),
                     total["constant_node_params"].get<int64_t>());
  return out;
}

}  // namespace deepcomp::cli
