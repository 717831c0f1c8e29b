#include "compress/pipeline.h"

#include <fnmatch.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "compress/huffman.h"
#include "compress/pipeline_internal.h"
#include "compress/prune.h"
#include "compress/relative_index.h"
#include "core/tensor_bytes.h"

namespace deepcomp::compress {
namespace {

using pipeline_internal::compress_layer;
using pipeline_internal::LayerPlan;
using pipeline_internal::LayerResult;
using pipeline_internal::run_tuned;
using pipeline_internal::store_lossless;

// A fixed basis is a conv weight too (8 bits, 8-bit index) when it is compressed on request.
bool is_conv(TensorRole role) {
  return role == TensorRole::kConvWeight || role == TensorRole::kFixedBasis;
}

// An int8/uint8 weight of a quantized layer (onnx_io/roles.cc), compressed on its integer codes.
bool is_quantized_weight(const Tensor& t) {
  return (t.dtype == DType::kInt8 || t.dtype == DType::kUInt8) && t.quant.present &&
         is_weight_role(t.role);
}

bool wants_compression(const Tensor& t, const CompressOptions& options) {
  if (is_quantized_weight(t)) return t.numel() > 0;
  if (!is_float_dtype(t.dtype) || t.numel() <= 0) return false;
  if (is_weight_role(t.role)) return true;
  return options.include_biases && t.role == TensorRole::kBias;
}

}  // namespace

int quant_layer_bits(int bits, int64_t weights) {
  if (weights <= 0 || weights >= kQuantFullWidthWeights || bits >= 8) return bits;
  const double more =
      0.5 * std::log2(static_cast<double>(kQuantFullWidthWeights) / static_cast<double>(weights));
  return std::min(8, bits + static_cast<int>(std::lround(more)));
}

namespace {

LayerPlan plan_layer(const Tensor& t, const CompressOptions& options) {
  LayerPlan plan;
  plan.compress = wants_compression(t, options);
  const bool conv = is_conv(t.role);
  const bool quantized = is_quantized_weight(t);
  plan.bits = quantized ? (conv ? options.quant_bits_conv : options.quant_bits_fc)
                        : (conv ? options.bits_conv : options.bits_fc);
  if (quantized && options.quant_size_bits) plan.bits = quant_layer_bits(plan.bits, t.numel());
  plan.index_bits = conv ? options.index_bits_conv : options.index_bits_fc;
  std::optional<double> sparsity;
  if (!options.no_prune && !options.prune_global && !options.prune_std) {
    const std::optional<double>& kind = conv ? options.prune_conv : options.prune_fc;
    if (kind)
      sparsity = kind;
    else if (options.prune)
      sparsity = options.prune;
    else if (quantized)
      sparsity = conv ? kDefaultQuantPruneConv : kDefaultQuantPruneFc;
    else
      sparsity = conv ? kDefaultPruneConv : kDefaultPruneFc;
  }
  if (!options.no_prune && options.prune_std) {
    plan.use_threshold = true;
    plan.threshold = std_threshold(t.values, *options.prune_std);
  }
  for (const LayerOverride& o : options.layers) {
    if (fnmatch(o.pattern.c_str(), t.name.c_str(), 0) != 0) continue;
    // "compress" (skip = false) turns on a fixed basis, which is lossless by default.
    if (o.skip)
      plan.compress = !*o.skip && (plan.compress || (t.role == TensorRole::kFixedBasis &&
                                                     is_float_dtype(t.dtype) && t.numel() > 0));
    if (o.prune) {
      sparsity = o.prune;
      plan.use_threshold = false;
    }
    if (o.bits) plan.bits = *o.bits;
    if (o.index_bits) plan.index_bits = *o.index_bits;
  }
  if (sparsity) plan.sparsity = *sparsity;
  plan.prune = plan.use_threshold ? plan.threshold > 0 : plan.sparsity > 0;
  return plan;
}

bool has_prune_override(const Tensor& t, const CompressOptions& options) {
  for (const LayerOverride& o : options.layers)
    if (o.prune && fnmatch(o.pattern.c_str(), t.name.c_str(), 0) == 0) return true;
  return false;
}

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::vector<std::pair<std::string, std::string>> settings_metadata(const CompressOptions& o) {
  std::vector<std::pair<std::string, std::string>> m;
  if (o.no_prune) m.emplace_back("prune", "none");
  if (o.prune) m.emplace_back("prune", format_double(*o.prune));
  if (o.prune_std) m.emplace_back("prune-std", format_double(*o.prune_std));
  if (o.prune_global) m.emplace_back("prune-global", format_double(*o.prune_global));
  if (o.prune_conv) m.emplace_back("prune-conv", format_double(*o.prune_conv));
  if (o.prune_fc) m.emplace_back("prune-fc", format_double(*o.prune_fc));
  for (const LayerOverride& l : o.layers) m.emplace_back("layer", l.pattern);
  m.emplace_back("share", o.share ? "yes" : "no");
  m.emplace_back("bits-conv", std::to_string(o.bits_conv));
  m.emplace_back("bits-fc", std::to_string(o.bits_fc));
  m.emplace_back("quant-bits-conv", std::to_string(o.quant_bits_conv));
  m.emplace_back("quant-bits-fc", std::to_string(o.quant_bits_fc));
  if (!o.quant_size_bits) m.emplace_back("quant-flat-bits", "yes");
  m.emplace_back("init", kmeans_init_name(o.init));
  m.emplace_back("empty-clusters", empty_clusters_name(o.empty_clusters));
  m.emplace_back("iters", std::to_string(o.iters));
  m.emplace_back("seed", std::to_string(o.seed));
  m.emplace_back("index-bits-conv", std::to_string(o.index_bits_conv));
  m.emplace_back("index-bits-fc", std::to_string(o.index_bits_fc));
  m.emplace_back("huffman", o.huffman ? "yes" : "no");
  if (o.tuner != nullptr) {
    m.emplace_back("retrain", "yes");
    m.emplace_back("prune-steps", std::to_string(o.prune_steps));
    m.emplace_back("prune-schedule", o.prune_schedule == CompressOptions::PruneSchedule::kGeometric
                                         ? "geometric"
                                         : "linear");
  }
  return m;
}

}  // namespace

Result<LayerOverride> parse_layer_override(const std::string& spec) {
  const size_t eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0)
    return Status::Error("--layer '" + spec +
                         "': expected 'PATTERN=prune:0.9,bits:4,index-bits:5'");
  LayerOverride o;
  o.pattern = spec.substr(0, eq);
  std::string rest = spec.substr(eq + 1);
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t comma = rest.find(',', pos);
    std::string item =
        rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? rest.size() + 1 : comma + 1;
    if (item.empty()) continue;
    if (item == "skip" || item == "compress") {
      o.skip = item == "skip";
      continue;
    }
    const size_t colon = item.find(':');
    if (colon == std::string::npos)
      return Status::Error("--layer '" + spec + "': '" + item + "' is not KEY:VALUE");
    const std::string key = item.substr(0, colon), value = item.substr(colon + 1);
    char* end = nullptr;
    const double number = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(number))
      return Status::Error("--layer '" + spec + "': '" + value + "' is not a number");
    if (key == "prune") {
      o.prune = number;
    } else if (key == "bits" || key == "index-bits") {
      if (number != std::floor(number))
        return Status::Error("--layer '" + spec + "': " + key + " must be an integer");
      (key == "bits" ? o.bits : o.index_bits) = static_cast<int>(number);
    } else {
      return Status::Error("--layer '" + spec + "': unknown key '" + key +
                           "' (expected prune, bits, index-bits, skip or compress)");
    }
  }
  return o;
}

KMeansOptions kmeans_options(const CompressOptions& options, int bits) {
  KMeansOptions k;
  k.k = 1 << bits;
  k.init = options.init;
  k.max_iters = options.iters;
  k.seed = options.seed;
  k.empty_clusters = options.empty_clusters;
  return k;
}

Result<CompressOptions::PruneSchedule> parse_prune_schedule(const std::string& name) {
  if (name == "linear") return CompressOptions::PruneSchedule::kLinear;
  if (name == "geometric") return CompressOptions::PruneSchedule::kGeometric;
  return Status::Error("--prune-schedule: unknown schedule '" + name +
                       "' (expected linear or geometric)");
}

Status validate_options(const CompressOptions& o) {
  auto check_sparsity = [](const std::optional<double>& v, const char* flag) -> Status {
    if (v && !(*v >= 0.0 && *v < 1.0))
      return Status::Error(std::string(flag) + " must be in [0, 1), got " + format_double(*v));
    return Status::Ok();
  };
  auto check_bits = [](int v, const std::string& flag) -> Status {
    if (v < 1 || v > 16) return Status::Error(flag + " must be in 1..16, got " + std::to_string(v));
    return Status::Ok();
  };
  DEEPCOMP_RETURN_IF_ERROR(check_sparsity(o.prune, "--prune"));
  DEEPCOMP_RETURN_IF_ERROR(check_sparsity(o.prune_global, "--prune-global"));
  DEEPCOMP_RETURN_IF_ERROR(check_sparsity(o.prune_conv, "--prune-conv"));
  DEEPCOMP_RETURN_IF_ERROR(check_sparsity(o.prune_fc, "--prune-fc"));
  if (o.prune_std && !(*o.prune_std >= 0.0 && std::isfinite(*o.prune_std)))
    return Status::Error("--prune-std must be a finite number >= 0, got " +
                         format_double(*o.prune_std));
  const int exclusive =
      (o.prune ? 1 : 0) + (o.prune_std ? 1 : 0) + (o.prune_global ? 1 : 0) + (o.no_prune ? 1 : 0);
  if (exclusive > 1)
    return Status::Error(
        "--prune, --prune-std, --prune-global and --no-prune are mutually exclusive");
  if (o.no_prune && (o.prune_conv || o.prune_fc))
    return Status::Error("--no-prune cannot be combined with --prune-conv / --prune-fc");
  DEEPCOMP_RETURN_IF_ERROR(check_bits(o.bits_conv, "--bits-conv"));
  DEEPCOMP_RETURN_IF_ERROR(check_bits(o.bits_fc, "--bits-fc"));
  DEEPCOMP_RETURN_IF_ERROR(check_bits(o.quant_bits_conv, "--quant-bits-conv"));
  DEEPCOMP_RETURN_IF_ERROR(check_bits(o.quant_bits_fc, "--quant-bits-fc"));
  DEEPCOMP_RETURN_IF_ERROR(check_bits(o.index_bits_conv, "--index-bits-conv"));
  DEEPCOMP_RETURN_IF_ERROR(check_bits(o.index_bits_fc, "--index-bits-fc"));
  if (o.iters < 0) return Status::Error("--iters must be >= 0");
  if (o.prune_steps < 1 || o.prune_steps > 100)
    return Status::Error("--prune-steps must be in 1..100, got " + std::to_string(o.prune_steps));
  for (const LayerOverride& l : o.layers) {
    const std::string flag = "--layer '" + l.pattern + "'";
    DEEPCOMP_RETURN_IF_ERROR(check_sparsity(l.prune, (flag + " prune").c_str()));
    if (l.bits) DEEPCOMP_RETURN_IF_ERROR(check_bits(*l.bits, flag + " bits"));
    if (l.index_bits) DEEPCOMP_RETURN_IF_ERROR(check_bits(*l.index_bits, flag + " index-bits"));
  }
  return Status::Ok();
}

Result<CompressOutput> compress_model(const Model& model, const CompressOptions& options) {
  DEEPCOMP_RETURN_IF_ERROR(validate_options(options));
  const auto start = std::chrono::steady_clock::now();
  const size_t n = model.tensors.size();
  std::vector<LayerPlan> plans(n);
  for (size_t i = 0; i < n; ++i) plans[i] = plan_layer(model.tensors[i], options);
  // 8-bit weights: their scales and zero points, or the reason they stay lossless.
  std::vector<pipeline_internal::QuantView> quant(n);
  std::vector<std::string> notes(n);
  for (size_t i = 0; i < n; ++i) {
    const Tensor& t = model.tensors[i];
    if (!is_quantized_weight(t) || !plans[i].compress) continue;
    auto view = pipeline_internal::quant_view(model, t);
    if (view.ok()) {
      quant[i] = std::move(*view);
    } else {
      plans[i].compress = false;
      notes[i] = view.status().message();
    }
  }
  auto is_quantized = [&](size_t i) {
    return plans[i].compress && is_quantized_weight(model.tensors[i]);
  };

  if (options.prune_global) {
    // One threshold over every compressible layer that has no explicit per-layer sparsity.
    std::vector<std::span<const float>> layers;
    // 8-bit weights take the global sparsity as their own target (their magnitudes are in
    // their own scales).
    for (size_t i = 0; i < n; ++i) {
      const Tensor& t = model.tensors[i];
      if (is_quantized(i) && !has_prune_override(t, options)) {
        plans[i].sparsity = *options.prune_global;
        plans[i].prune = plans[i].sparsity > 0;
      } else if (plans[i].compress && !has_prune_override(t, options)) {
        DEEPCOMP_RETURN_IF_ERROR(check_finite(t.values, t.name));
        layers.emplace_back(t.values);
      }
    }
    const float threshold = global_threshold_for_sparsity(layers, *options.prune_global);
    for (size_t i = 0; i < n; ++i) {
      if (plans[i].compress && !is_quantized(i) && !has_prune_override(model.tensors[i], options)) {
        plans[i].use_threshold = true;
        plans[i].threshold = threshold;
        plans[i].prune = threshold > 0;
      }
    }
  }

  std::vector<size_t> work;
  for (size_t i = 0; i < n; ++i)
    if (plans[i].compress) work.push_back(i);
  // Larger layers first so that the parallel loop finishes evenly.
  std::stable_sort(work.begin(), work.end(), [&](size_t a, size_t b) {
    return model.tensors[a].numel() > model.tensors[b].numel();
  });

  std::vector<LayerResult> results(n);
  std::mutex progress_mutex;
  int done = 0;
  // Retraining works on float weights: 8-bit weights are compressed as they are, in the loop below.
  std::vector<size_t> float_work, loop = work;
  for (size_t i : work)
    if (!is_quantized(i)) float_work.push_back(i);
  Model tuned;
  if (options.tuner != nullptr) {
    tuned = model;
    DEEPCOMP_RETURN_IF_ERROR(run_tuned(tuned, plans, float_work, options, &results));
    loop.clear();
    for (size_t i : work)
      if (is_quantized(i)) loop.push_back(i);
  }
  const int total = static_cast<int>(loop.size());
  const Model& source = options.tuner != nullptr ? tuned : model;
  // One layer alone gets the threads inside its own stages instead (parallel_blocks.h).
#pragma omp parallel for schedule(dynamic, 1) if (total > 1)
  for (int w = 0; w < total; ++w) {
    const size_t i = loop[static_cast<size_t>(w)];
    results[i] = is_quantized(i) ? pipeline_internal::compress_quantized_layer(
                                       model.tensors[i], quant[i], plans[i], options)
                                 : compress_layer(model.tensors[i], plans[i], options);
    if (options.progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      options.progress(model.tensors[i].name, ++done, total);
    }
  }

  CompressOutput out;
  out.container.header = pipeline_internal::container_header(options);
  out.container.skeleton = source.skeleton;
  CompressReport& report = out.report;
  for (size_t i = 0; i < n; ++i) {
    LayerResult& result = results[i];
    if (!plans[i].compress) result = store_lossless(source.tensors[i]);
    if (!result.status.ok()) return result.status;
    if (!notes[i].empty()) result.report.note = notes[i];
    pipeline_internal::add_layer_report(std::move(result.report), &report);
    out.container.tensors.push_back(std::move(result.encoded));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

namespace pipeline_internal {

LayerPlan layer_plan(const Tensor& t, const CompressOptions& options) {
  return plan_layer(t, options);
}

bool in_global_threshold(const Tensor& t, const LayerPlan& plan, const CompressOptions& options) {
  return options.prune_global && plan.compress && !has_prune_override(t, options);
}

ContainerHeader container_header(const CompressOptions& options) {
  ContainerHeader header;
  header.producer = "deepcomp 0.1.0";
  header.metadata = settings_metadata(options);
  return header;
}

void add_layer_report(LayerReport layer, CompressReport* report) {
  report->params += layer.params;
  report->nonzero += layer.nonzero;
  report->bytes.original += layer.bytes.original;
  report->bytes.pruned += layer.bytes.pruned;
  report->bytes.quantized += layer.bytes.quantized;
  report->bytes.huffman += layer.bytes.huffman;
  report->layers.push_back(std::move(layer));
}

}  // namespace pipeline_internal

Result<SparseTensor> decode_sparse(const EncodedTensor& e) {
  SparseTensor s;
  const std::string where = "tensor '" + e.name + "'";
  int64_t numel = 1;
  for (int64_t d : e.shape) numel *= d;
  const bool shared = e.encoding == Encoding::kSharedDense || e.encoding == Encoding::kSparseShared;
  const bool sparse = e.encoding == Encoding::kSparseShared || e.encoding == Encoding::kSparseFloat;
  if (!shared && !sparse) return Status::Error(where + ": stored losslessly, not in sparse form");
  int64_t stored = 0;
  if (shared) {
    DEEPCOMP_RETURN_IF_ERROR(
        decode_stream(e.clusters, &s.clusters).WithContext(where + " clusters"));
    stored = static_cast<int64_t>(s.clusters.size());
    s.codebook = e.codebook;
    s.values.resize(s.clusters.size());
    for (size_t i = 0; i < s.clusters.size(); ++i) {
      if (s.clusters[i] >= s.codebook.size())
        return Status::Error(where + ": cluster index " + std::to_string(s.clusters[i]) +
                             " outside the codebook of " + std::to_string(s.codebook.size()));
      s.values[i] = s.codebook[s.clusters[i]];
    }
  } else {
    if (e.raw.size() % 4 != 0) return Status::Error(where + ": value bytes not a multiple of 4");
    stored = static_cast<int64_t>(e.raw.size() / 4);
    s.values.resize(static_cast<size_t>(stored));
    // No stored value (every weight pruned): no memcpy to or from a null data().
    if (stored > 0) std::memcpy(s.values.data(), e.raw.data(), e.raw.size());
  }
  if (sparse) {
    std::vector<uint32_t> codes;
    DEEPCOMP_RETURN_IF_ERROR(decode_stream(e.index, &codes).WithContext(where + " index"));
    DEEPCOMP_RETURN_IF_ERROR(
        decode_relative_index(codes, static_cast<int>(e.index_bits), numel, stored, &s.positions)
            .WithContext(where + " index"));
  } else {
    if (stored != numel)
      return Status::Error(where + ": " + std::to_string(stored) + " cluster indices for " +
                           std::to_string(numel) + " elements");
    s.positions.resize(static_cast<size_t>(numel));
    for (int64_t i = 0; i < numel; ++i) s.positions[static_cast<size_t>(i)] = i;
  }
  return s;
}

Result<Tensor> decode_tensor(const EncodedTensor& e) {
  Tensor t = tensor_header(e);
  if (e.encoding == Encoding::kLossless) {
    DEEPCOMP_RETURN_IF_ERROR(set_tensor_from_bytes(&t, e.raw));
    return t;
  }
  if (is_quantized_layer(e)) return pipeline_internal::decode_quantized(e);
  if (!is_float_dtype(e.dtype))
    return Status::Error("tensor '" + e.name + "': compressed encoding on a " +
                         dtype_name(e.dtype) + " tensor");
  DEEPCOMP_ASSIGN_OR_RETURN(SparseTensor s, decode_sparse(e));
  t.values.assign(static_cast<size_t>(t.numel()), 0.0f);
  for (size_t i = 0; i < s.positions.size(); ++i)
    t.values[static_cast<size_t>(s.positions[i])] = s.values[i];
  return t;
}

}  // namespace deepcomp::compress
