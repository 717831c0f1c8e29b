// One tensor through the pipeline: pruning, the relative index, weight sharing and the coding of
// both streams, with its per-layer report (see pipeline.h for the stages and report fields).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <span>

#include "compress/huffman.h"
#include "compress/kmeans_1d.h"
#include "compress/parallel_blocks.h"
#include "compress/pipeline_internal.h"
#include "compress/prune.h"
#include "compress/relative_index.h"
#include "core/tensor_bytes.h"

namespace deepcomp::compress::pipeline_internal {

// Huffman-codes a stream, or packs it at fixed width when that is smaller (or Huffman is off).
// The symbols are counted once: the choice is made from the code lengths before encoding.
Result<CodedStream> code_stream(std::span<const uint16_t> symbols, uint32_t alphabet,
                                int fixed_bits, bool huffman) {
  fixed_bits = std::min(fixed_bits, 16);
  fixed_bits = std::max(fixed_bits, bits_for_alphabet(alphabet));
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<uint64_t> freqs, symbol_frequencies(symbols, alphabet));
  CodedStream out;
  out.entropy = entropy_bits(freqs);
  const uint64_t fixed_total =
      static_cast<uint64_t>(symbols.size()) * static_cast<uint64_t>(fixed_bits);
  if (huffman) {
    DEEPCOMP_ASSIGN_OR_RETURN(std::vector<uint8_t> lengths, huffman_code_lengths(freqs));
    uint64_t huffman_total = 0;
    for (size_t s = 0; s < freqs.size(); ++s) huffman_total += freqs[s] * lengths[s];
    // The code lengths cost about half a byte per symbol in the file.
    if ((huffman_total + 7) / 8 + lengths.size() / 2 < (fixed_total + 7) / 8) {
      DEEPCOMP_ASSIGN_OR_RETURN(out.stream,
                                huffman_encode_with_lengths(symbols, std::move(lengths)));
      out.bits = static_cast<double>(huffman_total);
      return out;
    }
  }
  DEEPCOMP_ASSIGN_OR_RETURN(out.stream, fixed_encode(symbols, alphabet, fixed_bits));
  out.bits = static_cast<double>(fixed_total);
  return out;
}

namespace {

EncodedTensor identity_of(const Tensor& t) {
  EncodedTensor e;
  e.name = t.name;
  e.shape = t.shape;
  e.dtype = t.dtype;
  e.role = t.role;
  e.location = t.location;
  return e;
}

// Pruning scan of one tensor split across threads (parallel_blocks.h): a first pass counts each
// block's survivors and the index codes of the gaps inside it, the blocks' offsets follow in block
// order (the first gap of a block depends on the last survivor before it), and a second pass
// writes the kept values and codes in place. Same codes as RelativeIndexWriter over the whole
// tensor; returns where each block's kept values start (size blocks + 1).
template <typename Survives>
std::vector<size_t> scan_survivors(std::span<const float> w, const Survives& survives,
                                   int index_bits, std::vector<float>* kept,
                                   std::vector<uint16_t>* codes) {
  struct Block {
    size_t kept = 0, codes = 0;  // inner codes in pass 1; offsets after the prefix
    int64_t first = -1, last = -1, cursor = -1;
  };
  const int64_t max_gap = (int64_t{1} << index_bits) - 1;
  const auto codes_for = [max_gap](int64_t gap) {
    return static_cast<size_t>((gap - 1) / max_gap + 1);
  };
  std::vector<Block> blocks(parallel::block_count(w.size()));
  parallel::for_each_block(w.size(), [&](size_t b, size_t begin, size_t end) {
    Block& k = blocks[b];
    for (size_t i = begin; i < end; ++i) {
      if (!survives(w[i])) continue;
      const int64_t p = static_cast<int64_t>(i);
      if (k.first < 0)
        k.first = p;
      else
        k.codes += codes_for(p - k.last);
      k.last = p;
      ++k.kept;
    }
  });
  std::vector<size_t> kept_at(blocks.size() + 1, 0);
  size_t kept_total = 0, codes_total = 0;
  int64_t cursor = -1;
  for (size_t b = 0; b < blocks.size(); ++b) {
    Block& k = blocks[b];
    kept_at[b] = kept_total;
    kept_total += k.kept;
    const size_t inner = k.codes;
    k.codes = codes_total;
    k.cursor = cursor;
    if (k.first >= 0) {
      codes_total += codes_for(k.first - cursor) + inner;
      cursor = k.last;
    }
  }
  kept_at[blocks.size()] = kept_total;
  kept->resize(kept_total);
  codes->resize(codes_total);
  parallel::for_each_block(w.size(), [&](size_t b, size_t /*begin*/, size_t end) {
    const Block& k = blocks[b];
    if (k.first < 0) return;
    float* kv = kept->data() + kept_at[b];
    uint16_t* c = codes->data() + k.codes;
    int64_t at = k.cursor;
    for (size_t i = static_cast<size_t>(k.first); i < end; ++i) {
      if (!survives(w[i])) continue;
      *kv++ = w[i];
      const int64_t p = static_cast<int64_t>(i), gap = p - at;
      const int64_t fillers = (gap - 1) / max_gap;
      c = std::fill_n(c, fillers, uint16_t{0});
      *c++ = static_cast<uint16_t>(gap - fillers * max_gap);
      at = p;
    }
  });
  return kept_at;
}

// Cluster labels of every stored weight (all of w, or its survivors when kept_at is given) and
// their squared error against the codebook, split across threads; the error is summed per block,
// then over blocks in order.
template <typename Survives>
double label_blocks(std::span<const float> w, const KMeansFit& fit,
                    const std::vector<float>& codebook, const std::vector<size_t>* kept_at,
                    const Survives& survives, size_t stored, std::vector<uint16_t>* clusters) {
  clusters->resize(stored);
  std::vector<double> sse(parallel::block_count(w.size()), 0);
  parallel::for_each_block(w.size(), [&](size_t b, size_t begin, size_t end) {
    uint16_t* out = clusters->data() + (kept_at != nullptr ? (*kept_at)[b] : begin);
    double s = 0;
    for (size_t i = begin; i < end; ++i) {
      const float x = w[i];
      if (kept_at != nullptr && !survives(x)) continue;
      const uint16_t label = fit.label(x);
      *out++ = label;
      const double d = static_cast<double>(x) - codebook[label];
      s += d * d;
    }
    sse[b] = s;
  });
  double total = 0;
  for (double s : sse) total += s;
  return total;
}

}  // namespace

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

// Memory matters here: a layer can be a large part of the model, so no per-weight position list
// is built (the index codes come straight from the scan), the kept values are clustered in place,
// and symbols are 16-bit.
LayerResult compress_layer(const Tensor& t, const LayerPlan& plan, const CompressOptions& options,
                           const Preset* preset) {
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
    threshold =
        plan.use_threshold ? plan.threshold : magnitude_threshold_for_sparsity(w, plan.sparsity);
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
  std::vector<size_t> block_kept;  // per block of w: where its kept values start in `kept`
  if (plan.prune) {
    if (preset != nullptr) {
      RelativeIndexWriter<uint16_t> writer(plan.index_bits, &index_codes);
      r.threshold = preset->threshold;
      kept.reserve(preset->positions->size());
      for (int64_t p : *preset->positions) {
        kept.push_back(w[static_cast<size_t>(p)]);
        writer.add(p);
      }
    } else {
      r.threshold = threshold;
      block_kept = scan_survivors(w, survives, plan.index_bits, &kept, &index_codes);
    }
  }
  const int64_t nnz = plan.prune ? static_cast<int64_t>(kept.size()) : numel;
  r.nonzero = plan.prune ? nnz
                         : static_cast<int64_t>(std::count_if(w.begin(), w.end(),
                                                              [](float v) { return v != 0.0f; }));
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
  r.bytes.pruned =
      plan.prune ? static_cast<double>(nnz) * elem_bytes + index_bits_fixed / 8 : r.bytes.original;

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
      auto fit = kmeans_1d_fit(std::move(kept), kmeans_options(options, plan.bits));
      if (!fit.ok()) {
        out.status = fit.status().WithContext("tensor '" + t.name + "'");
        return out;
      }
      codebook = std::move(fit->centroids);
      for (float& c : codebook) c = round_to_dtype(c, t.dtype);
      if (preset != nullptr) {
        for_each_stored([&](float x) {
          const uint16_t label = fit->label(x);
          clusters.push_back(label);
          const double d = static_cast<double>(x) - codebook[label];
          sse += d * d;
        });
      } else {
        sse = label_blocks(w, *fit, codebook, plan.prune ? &block_kept : nullptr, survives,
                           static_cast<size_t>(nnz), &clusters);
      }
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
    r.bytes.quantized =
        (static_cast<double>(nnz) * plan.bits + index_bits_fixed) / 8 + codebook_bytes;
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

}  // namespace deepcomp::compress::pipeline_internal
