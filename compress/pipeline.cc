#include "compress/pipeline.h"

#include <fnmatch.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>

#include "compress/huffman.h"
#include "compress/prune.h"
#include "compress/relative_index.h"
#include "core/tensor_bytes.h"

namespace deepcomp::compress {
namespace {

bool is_conv(TensorRole role) { return role == TensorRole::kConvWeight; }

// What the pipeline does to one tensor, resolved from the options.
struct LayerPlan {
  bool compress = false;
  bool prune = false;
  bool use_threshold = false;  // threshold given directly (global or std) instead of sparsity
  double sparsity = 0;
  float threshold = 0;
  int bits = 0;
  int index_bits = 0;
};

bool wants_compression(const Tensor& t, const CompressOptions& options) {
  if (!is_float_dtype(t.dtype) || t.numel() <= 0) return false;
  if (is_weight_role(t.role)) return true;
  return options.include_biases && t.role == TensorRole::kBias;
}

LayerPlan plan_layer(const Tensor& t, const CompressOptions& options) {
  LayerPlan plan;
  plan.compress = wants_compression(t, options);
  const bool conv = is_conv(t.role);
  plan.bits = conv ? options.bits_conv : options.bits_fc;
  plan.index_bits = conv ? options.index_bits_conv : options.index_bits_fc;
  std::optional<double> sparsity;
  if (!options.no_prune && !options.prune_global && !options.prune_std) {
    const std::optional<double>& kind = conv ? options.prune_conv : options.prune_fc;
    if (kind) sparsity = kind;
    else if (options.prune) sparsity = options.prune;
    else sparsity = conv ? kDefaultPruneConv : kDefaultPruneFc;
  }
  if (!options.no_prune && options.prune_std) {
    plan.use_threshold = true;
    plan.threshold = std_threshold(t.values, *options.prune_std);
  }
  for (const LayerOverride& o : options.layers) {
    if (fnmatch(o.pattern.c_str(), t.name.c_str(), 0) != 0) continue;
    if (o.skip) plan.compress = !*o.skip && plan.compress;
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

struct CodedStream {
  SymbolStream stream;
  double bits = 0;     // exact payload bits (without the last byte's padding)
  double entropy = 0;  // Shannon bound of the stream, in bits
};

// Huffman-codes a stream, or packs it at fixed width when that is smaller (or Huffman is off).
// The symbols are counted once: the choice is made from the code lengths before encoding.
Result<CodedStream> code_stream(std::span<const uint16_t> symbols, uint32_t alphabet,
                                int fixed_bits, bool huffman) {
  fixed_bits = std::min(fixed_bits, 16);
  fixed_bits = std::max(fixed_bits, bits_for_alphabet(alphabet));
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<uint64_t> freqs, symbol_frequencies(symbols, alphabet));
  CodedStream out;
  out.entropy = entropy_bits(freqs);
  const uint64_t fixed_total = static_cast<uint64_t>(symbols.size()) * static_cast<uint64_t>(fixed_bits);
  if (huffman) {
    DEEPCOMP_ASSIGN_OR_RETURN(std::vector<uint8_t> lengths, huffman_code_lengths(freqs));
    uint64_t huffman_total = 0;
    for (size_t s = 0; s < freqs.size(); ++s) huffman_total += freqs[s] * lengths[s];
    // The code lengths cost about half a byte per symbol in the file.
    if ((huffman_total + 7) / 8 + lengths.size() / 2 < (fixed_total + 7) / 8) {
      DEEPCOMP_ASSIGN_OR_RETURN(out.stream, huffman_encode_with_lengths(symbols, std::move(lengths)));
      out.bits = static_cast<double>(huffman_total);
      return out;
    }
  }
  DEEPCOMP_ASSIGN_OR_RETURN(out.stream, fixed_encode(symbols, alphabet, fixed_bits));
  out.bits = static_cast<double>(fixed_total);
  return out;
}

struct LayerResult {
  Status status;
  EncodedTensor encoded;
  LayerReport report;
};

EncodedTensor identity_of(const Tensor& t) {
  EncodedTensor e;
  e.name = t.name;
  e.shape = t.shape;
  e.dtype = t.dtype;
  e.role = t.role;
  e.location = t.location;
  return e;
}

LayerReport base_report(const Tensor& t) {
  LayerReport r;
  r.name = t.name;
  r.kind = role_name(t.role);
  r.shape = t.shape;
  r.params = t.numel();
  const double bytes = static_cast<double>(t.numel()) * static_cast<double>(dtype_size(t.dtype));
  r.bytes = {bytes, bytes, bytes, bytes};
  return r;
}

LayerResult store_lossless(const Tensor& t) {
  LayerResult out;
  out.encoded = identity_of(t);
  out.encoded.encoding = Encoding::kLossless;
  out.encoded.raw = tensor_element_bytes(t);
  out.report = base_report(t);
  int64_t nonzero = 0;
  if (!t.values.empty()) {
    for (float v : t.values) nonzero += v != 0.0f;
  } else {
    nonzero = t.numel();
  }
  out.report.nonzero = nonzero;
  out.report.sparsity = t.numel() > 0 ? 1.0 - static_cast<double>(nonzero) / t.numel() : 0;
  return out;
}

// With retraining, the surviving positions and the final codebook/labels were decided by the
// earlier phases; compress_layer then only encodes them.
struct Preset {
  const std::vector<int64_t>* positions = nullptr;  // when plan.prune
  float threshold = 0;
  const SharedLayer* shared = nullptr;  // when options.share
};

// Memory matters here: a layer can be a large part of the model, so no per-weight position list
// is built (the index codes come straight from the scan), the kept values are clustered in place,
// and symbols are 16-bit.
LayerResult compress_layer(const Tensor& t, const LayerPlan& plan, const CompressOptions& options,
                           const Preset* preset = nullptr) {
  const auto start = std::chrono::steady_clock::now();
  LayerResult out;
  out.status = check_finite(t.values, t.name);
  if (!out.status.ok()) return out;
  LayerReport& r = out.report;
  r = base_report(t);
  r.compressed = true;
  EncodedTensor& e = out.encoded;
  e = identity_of(t);
  const int64_t numel = t.numel();
  const double elem_bytes = static_cast<double>(dtype_size(t.dtype));
  const std::span<const float> w(t.values);

  // 1. Pruning, 2. the relative sparse index: the kept values and the index codes, in one scan.
  float threshold = 0;
  if (plan.prune && preset == nullptr) {
    threshold = plan.use_threshold ? plan.threshold : magnitude_threshold_for_sparsity(w, plan.sparsity);
  }
  const auto survives = [threshold](float x) { return std::fabs(x) >= threshold && x != 0.0f; };
  // Calls fn(value) for every stored weight, in order.
  const auto for_each_stored = [&](auto&& fn) {
    if (!plan.prune) {
      for (float x : w) fn(x);
    } else if (preset != nullptr) {
      for (int64_t p : *preset->positions) fn(w[static_cast<size_t>(p)]);
    } else {
      for (float x : w)
        if (survives(x)) fn(x);
    }
  };
  std::vector<float> kept;
  std::vector<uint16_t> index_codes;
  if (plan.prune) {
    RelativeIndexWriter<uint16_t> writer(plan.index_bits, &index_codes);
    if (preset != nullptr) {
      r.threshold = preset->threshold;
      kept.reserve(preset->positions->size());
      for (int64_t p : *preset->positions) {
        kept.push_back(w[static_cast<size_t>(p)]);
        writer.add(p);
      }
    } else {
      r.threshold = threshold;
      // Room for every weight is reserved but only the pages written become resident, so one
      // scan fills both without a counting pass and without over-using memory.
      kept.reserve(static_cast<size_t>(numel));
      index_codes.reserve(static_cast<size_t>(numel));
      for (int64_t i = 0; i < numel; ++i) {
        const float x = w[static_cast<size_t>(i)];
        if (!survives(x)) continue;
        kept.push_back(x);
        writer.add(i);
      }
    }
  }
  const int64_t nnz = plan.prune ? static_cast<int64_t>(kept.size()) : numel;
  r.nonzero = plan.prune ? nnz : static_cast<int64_t>(std::count_if(w.begin(), w.end(), [](float v) { return v != 0.0f; }));
  r.sparsity = numel > 0 ? 1.0 - static_cast<double>(r.nonzero) / static_cast<double>(numel) : 0;

  double index_bits_fixed = 0;
  if (plan.prune) {
    r.index_bits = plan.index_bits;
    r.fillers = static_cast<int64_t>(index_codes.size()) - nnz;
    index_bits_fixed = static_cast<double>(index_codes.size()) * plan.index_bits;
    const uint32_t alphabet = uint32_t{1} << plan.index_bits;
    auto coded = code_stream(index_codes, alphabet, plan.index_bits, options.huffman);
    if (!coded.ok()) {
      out.status = coded.status().WithContext("tensor '" + t.name + "' index");
      return out;
    }
    e.index_bits = static_cast<uint32_t>(plan.index_bits);
    e.index = std::move(coded->stream);
    r.index_entropy_bits = coded->entropy;
    r.index_huffman_bits = coded->bits;
    std::vector<uint16_t>().swap(index_codes);  // released before k-means allocates its own
  }
  r.bytes.pruned = plan.prune ? static_cast<double>(nnz) * elem_bytes + index_bits_fixed / 8 : r.bytes.original;

  // 3. Weight sharing and 4. Huffman coding of the cluster indices.
  if (!options.share) {
    e.encoding = plan.prune ? Encoding::kSparseFloat : Encoding::kLossless;
    if (plan.prune) {
      e.raw.resize(kept.size() * sizeof(float));
      // Every weight may be pruned: no memcpy from an empty vector's null data().
      if (!kept.empty()) std::memcpy(e.raw.data(), kept.data(), e.raw.size());
      r.bytes.quantized = r.bytes.pruned;
      r.bytes.huffman = static_cast<double>(nnz) * 4 + r.index_huffman_bits / 8;
      r.huffman_bits = r.index_huffman_bits + static_cast<double>(nnz) * 32;
    } else {
      e.raw = tensor_element_bytes(t);
    }
  } else {
    e.encoding = plan.prune ? Encoding::kSparseShared : Encoding::kSharedDense;
    r.bits = plan.bits;
    std::vector<float> codebook;
    std::vector<uint16_t> clusters;
    double sse = 0;
    clusters.reserve(static_cast<size_t>(nnz));
    // Shared values must be representable in the tensor's own dtype so that decompress restores
    // them exactly: the codebook is rounded before the labels and the SSE are computed.
    if (preset != nullptr && preset->shared != nullptr) {
      codebook = preset->shared->codebook;
      for (float& c : codebook) c = round_to_dtype(c, t.dtype);
      size_t i = 0;
      for_each_stored([&](float x) {
        const uint16_t label = static_cast<uint16_t>(preset->shared->labels[i++]);
        clusters.push_back(label);
        const double d = static_cast<double>(x) - codebook[label];
        sse += d * d;
      });
    } else if (nnz > 0) {
      if (!plan.prune) kept.assign(w.begin(), w.end());
      auto fit = kmeans_1d_fit(std::move(kept), KMeansOptions{1 << plan.bits, options.init,
                                                              options.iters, options.seed});
      if (!fit.ok()) {
        out.status = fit.status().WithContext("tensor '" + t.name + "'");
        return out;
      }
      codebook = std::move(fit->centroids);
      for (float& c : codebook) c = round_to_dtype(c, t.dtype);
      for_each_stored([&](float x) {
        const uint16_t label = fit->label(x);
        clusters.push_back(label);
        const double d = static_cast<double>(x) - codebook[label];
        sse += d * d;
      });
      r.kmeans_iterations = fit->iterations;
    }
    std::vector<float>().swap(kept);
    r.sse = sse;
    r.clusters = static_cast<int>(codebook.size());
    const uint32_t alphabet = static_cast<uint32_t>(std::max<size_t>(codebook.size(), 1));
    auto coded = code_stream(clusters, alphabet, plan.bits, options.huffman);
    if (!coded.ok()) {
      out.status = coded.status().WithContext("tensor '" + t.name + "' clusters");
      return out;
    }
    e.codebook = std::move(codebook);
    e.clusters = std::move(coded->stream);
    r.cluster_entropy_bits = coded->entropy;
    r.cluster_huffman_bits = coded->bits;
    const double codebook_bytes = static_cast<double>(e.codebook.size()) * 4;
    r.bytes.quantized = (static_cast<double>(nnz) * plan.bits + index_bits_fixed) / 8 + codebook_bytes;
    r.bytes.huffman = (r.cluster_huffman_bits + r.index_huffman_bits) / 8 + codebook_bytes;
    r.huffman_bits = r.cluster_huffman_bits + r.index_huffman_bits;
  }
  if (e.encoding == Encoding::kLossless) {
    r.compressed = false;
    r.bytes.quantized = r.bytes.huffman = r.bytes.pruned;
  }
  r.entropy_bits = r.index_entropy_bits + r.cluster_entropy_bits;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

// The retraining phases (options.tuner set): prune (in options.prune_steps steps, after_prune
// after each), k-means on the fine-tuned survivors, after_share, then encode with the final
// codebooks. `work` is the pipeline's copy of the model; uncompressed tensors are stored as the
// tuner left them.
Status run_tuned(Model& work, const std::vector<LayerPlan>& plans, const std::vector<size_t>& order,
                 const CompressOptions& options, std::vector<LayerResult>* results) {
  const size_t n = work.tensors.size();
  const int steps = std::max(options.prune_steps, 1);
  std::vector<std::vector<uint8_t>> masks(n);
  std::vector<float> thresholds(n, 0.0f);
  bool any_pruned = false;
  for (int step = 1; step <= steps; ++step) {
    const double fraction = static_cast<double>(step) / steps;
    for (size_t i = 0; i < n; ++i) {
      if (!plans[i].compress || !plans[i].prune) continue;
      any_pruned = true;
      Tensor& t = work.tensors[i];
      DEEPCOMP_RETURN_IF_ERROR(check_finite(t.values, t.name));
      const float threshold =
          plans[i].use_threshold
              ? static_cast<float>(plans[i].threshold * fraction)
              : magnitude_threshold_for_sparsity(t.values, plans[i].sparsity * fraction);
      thresholds[i] = threshold;
      std::vector<uint8_t>& mask = masks[i];
      if (mask.empty()) mask.assign(t.values.size(), 1);
      for (size_t k = 0; k < t.values.size(); ++k) {
        const float w = t.values[k];
        if (!(std::fabs(w) >= threshold && w != 0.0f)) mask[k] = 0;
        if (!mask[k]) t.values[k] = 0.0f;
      }
    }
    DEEPCOMP_RETURN_IF_ERROR(options.tuner->after_prune(work, masks));
    // The tuner must not revive pruned weights; enforce it rather than trust it.
    for (size_t i = 0; i < n; ++i) {
      if (masks[i].empty()) continue;
      Tensor& t = work.tensors[i];
      if (t.values.size() != masks[i].size())
        return Status::Error("tensor '" + t.name + "': fine-tuning changed its size");
      for (size_t k = 0; k < t.values.size(); ++k)
        if (!masks[i][k]) t.values[k] = 0.0f;
    }
    if (!any_pruned) break;
  }

  std::vector<std::vector<int64_t>> positions(n);
  std::vector<SharedLayer> layers;
  std::vector<size_t> layer_of(n, SIZE_MAX);
  for (size_t i : order) {
    const Tensor& t = work.tensors[i];
    DEEPCOMP_RETURN_IF_ERROR(check_finite(t.values, t.name));
    std::vector<int64_t>& pos = positions[i];
    for (size_t k = 0; k < t.values.size(); ++k)
      if (masks[i].empty() || masks[i][k]) pos.push_back(static_cast<int64_t>(k));
    if (options.share) {
      layer_of[i] = layers.size();
      SharedLayer layer;
      layer.tensor = i;
      layer.positions = pos;
      layers.push_back(std::move(layer));
    }
  }
  const int count = static_cast<int>(layers.size());
  std::vector<Status> statuses(layers.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (int l = 0; l < count; ++l) {
    SharedLayer& layer = layers[static_cast<size_t>(l)];
    const Tensor& t = work.tensors[layer.tensor];
    if (layer.positions.empty()) continue;
    std::vector<float> kept;
    kept.reserve(layer.positions.size());
    for (int64_t p : layer.positions) kept.push_back(t.values[static_cast<size_t>(p)]);
    auto km = kmeans_1d(kept, KMeansOptions{1 << plans[layer.tensor].bits, options.init,
                                            options.iters, options.seed});
    if (!km.ok()) {
      statuses[static_cast<size_t>(l)] = km.status().WithContext("tensor '" + t.name + "'");
      continue;
    }
    layer.codebook = km->centroids;
    for (float& c : layer.codebook) c = round_to_dtype(c, t.dtype);
    layer.labels.assign(km->labels.begin(), km->labels.end());
  }
  for (const Status& s : statuses) DEEPCOMP_RETURN_IF_ERROR(s);
  if (options.share) {
    DEEPCOMP_RETURN_IF_ERROR(options.tuner->after_share(work, layers));
    for (const SharedLayer& layer : layers) {
      const Tensor& t = work.tensors[layer.tensor];
      if (layer.labels.size() != layer.positions.size())
        return Status::Error("tensor '" + t.name + "': fine-tuning changed the cluster labels");
      for (uint32_t label : layer.labels)
        if (label >= layer.codebook.size())
          return Status::Error("tensor '" + t.name + "': cluster label outside the codebook");
      for (float c : layer.codebook)
        if (!std::isfinite(c))
          return Status::Error("tensor '" + t.name + "': fine-tuned codebook is not finite");
    }
    for (SharedLayer& layer : layers)
      for (float& c : layer.codebook) c = round_to_dtype(c, work.tensors[layer.tensor].dtype);
  }

  const int total = static_cast<int>(order.size());
  std::mutex progress_mutex;
  int done = 0;
#pragma omp parallel for schedule(dynamic, 1)
  for (int w = 0; w < total; ++w) {
    const size_t i = order[static_cast<size_t>(w)];
    Preset preset;
    preset.positions = &positions[i];
    preset.threshold = thresholds[i];
    if (layer_of[i] != SIZE_MAX) preset.shared = &layers[layer_of[i]];
    (*results)[i] = compress_layer(work.tensors[i], plans[i], options, &preset);
    if (options.progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      options.progress(work.tensors[i].name, ++done, total);
    }
  }
  return Status::Ok();
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
  m.emplace_back("init", kmeans_init_name(o.init));
  m.emplace_back("iters", std::to_string(o.iters));
  m.emplace_back("seed", std::to_string(o.seed));
  m.emplace_back("index-bits-conv", std::to_string(o.index_bits_conv));
  m.emplace_back("index-bits-fc", std::to_string(o.index_bits_fc));
  m.emplace_back("huffman", o.huffman ? "yes" : "no");
  if (o.tuner != nullptr) {
    m.emplace_back("retrain", "yes");
    m.emplace_back("prune-steps", std::to_string(o.prune_steps));
  }
  return m;
}

}  // namespace

Result<LayerOverride> parse_layer_override(const std::string& spec) {
  const size_t eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0)
    return Status::Error("--layer '" + spec + "': expected 'PATTERN=prune:0.9,bits:4,index-bits:5'");
  LayerOverride o;
  o.pattern = spec.substr(0, eq);
  std::string rest = spec.substr(eq + 1);
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t comma = rest.find(',', pos);
    std::string item = rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? rest.size() + 1 : comma + 1;
    if (item.empty()) continue;
    if (item == "skip") {
      o.skip = true;
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
                           "' (expected prune, bits, index-bits or skip)");
    }
  }
  return o;
}

Status validate_options(const CompressOptions& o) {
  auto check_sparsity = [](const std::optional<double>& v, const char* flag) -> Status {
    if (v && !(*v >= 0.0 && *v < 1.0))
      return Status::Error(std::string(flag) + " must be in [0, 1), got " + format_double(*v));
    return Status::Ok();
  };
  auto check_bits = [](int v, const std::string& flag) -> Status {
    if (v < 1 || v > 16)
      return Status::Error(flag + " must be in 1..16, got " + std::to_string(v));
    return Status::Ok();
  };
  DEEPCOMP_RETURN_IF_ERROR(check_sparsity(o.prune, "--prune"));
  DEEPCOMP_RETURN_IF_ERROR(check_sparsity(o.prune_global, "--prune-global"));
  DEEPCOMP_RETURN_IF_ERROR(check_sparsity(o.prune_conv, "--prune-conv"));
  DEEPCOMP_RETURN_IF_ERROR(check_sparsity(o.prune_fc, "--prune-fc"));
  if (o.prune_std && !(*o.prune_std >= 0.0 && std::isfinite(*o.prune_std)))
    return Status::Error("--prune-std must be a finite number >= 0, got " + format_double(*o.prune_std));
  const int exclusive = (o.prune ? 1 : 0) + (o.prune_std ? 1 : 0) + (o.prune_global ? 1 : 0) +
                        (o.no_prune ? 1 : 0);
  if (exclusive > 1)
    return Status::Error("--prune, --prune-std, --prune-global and --no-prune are mutually exclusive");
  if (o.no_prune && (o.prune_conv || o.prune_fc))
    return Status::Error("--no-prune cannot be combined with --prune-conv / --prune-fc");
  DEEPCOMP_RETURN_IF_ERROR(check_bits(o.bits_conv, "--bits-conv"));
  DEEPCOMP_RETURN_IF_ERROR(check_bits(o.bits_fc, "--bits-fc"));
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

  if (options.prune_global) {
    // One threshold over every compressible layer that has no explicit per-layer sparsity.
    std::vector<std::span<const float>> layers;
    for (size_t i = 0; i < n; ++i) {
      const Tensor& t = model.tensors[i];
      if (plans[i].compress && !has_prune_override(t, options)) {
        DEEPCOMP_RETURN_IF_ERROR(check_finite(t.values, t.name));
        layers.emplace_back(t.values);
      }
    }
    const float threshold = global_threshold_for_sparsity(layers, *options.prune_global);
    for (size_t i = 0; i < n; ++i) {
      if (plans[i].compress && !has_prune_override(model.tensors[i], options)) {
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
  const int total = options.tuner != nullptr ? 0 : static_cast<int>(work.size());
  Model tuned;
  if (options.tuner != nullptr) {
    tuned = model;
    DEEPCOMP_RETURN_IF_ERROR(run_tuned(tuned, plans, work, options, &results));
  }
  const Model& source = options.tuner != nullptr ? tuned : model;
#pragma omp parallel for schedule(dynamic, 1)
  for (int w = 0; w < total; ++w) {
    const size_t i = work[static_cast<size_t>(w)];
    results[i] = compress_layer(model.tensors[i], plans[i], options);
    if (options.progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      options.progress(model.tensors[i].name, ++done, total);
    }
  }

  CompressOutput out;
  out.container.header.producer = "deepcomp 0.1.0";
  out.container.header.metadata = settings_metadata(options);
  out.container.skeleton = source.skeleton;
  CompressReport& report = out.report;
  for (size_t i = 0; i < n; ++i) {
    LayerResult& result = results[i];
    if (!plans[i].compress) result = store_lossless(source.tensors[i]);
    if (!result.status.ok()) return result.status;
    report.params += result.report.params;
    report.nonzero += result.report.nonzero;
    report.bytes.original += result.report.bytes.original;
    report.bytes.pruned += result.report.bytes.pruned;
    report.bytes.quantized += result.report.bytes.quantized;
    report.bytes.huffman += result.report.bytes.huffman;
    report.layers.push_back(std::move(result.report));
    out.container.tensors.push_back(std::move(result.encoded));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

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
    DEEPCOMP_RETURN_IF_ERROR(decode_stream(e.clusters, &s.clusters).WithContext(where + " clusters"));
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
  Tensor t;
  t.name = e.name;
  t.shape = e.shape;
  t.dtype = e.dtype;
  t.role = e.role;
  t.location = e.location;
  if (e.encoding == Encoding::kLossless) {
    DEEPCOMP_RETURN_IF_ERROR(set_tensor_from_bytes(&t, e.raw));
    return t;
  }
  if (!is_float_dtype(e.dtype))
    return Status::Error("tensor '" + e.name + "': compressed encoding on a " +
                         dtype_name(e.dtype) + " tensor");
  DEEPCOMP_ASSIGN_OR_RETURN(SparseTensor s, decode_sparse(e));
  t.values.assign(static_cast<size_t>(t.numel()), 0.0f);
  for (size_t i = 0; i < s.positions.size(); ++i) t.values[static_cast<size_t>(s.positions[i])] = s.values[i];
  return t;
}

}  // namespace deepcomp::compress
