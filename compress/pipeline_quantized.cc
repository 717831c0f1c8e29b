// Deep Compression of an 8-bit weight (int8/uint8 with its scale and zero point, Tensor::quant)
// on its integer codes, so that the result stays a valid 8-bit model with the same scales and zero
// points. With c = q - zero_point (the centered code) and w = c * scale:
//   pruning   keeps the weights of largest |w| (per-channel scales respected); a pruned weight
//             becomes c = 0, i.e. q = zero_point;
//   sharing   picks at most 2^bits integer levels of c: the optimal 1-D k-means (dynamic
//             programming) on the survivors' codes, each weighted by scale^2 so that it minimizes
//             the squared error of the dequantized weights, levels integers (a level valid in every
//             channel: q stays in the dtype's range; a weight whose channel cannot take any level
//             keeps its own code as an extra level);
//   coding    Huffman-codes the level indices and the relative sparse index as for float layers;
//             an unpruned layer whose shared form is not smaller than its codes keeps its codes.
// The levels go into the codebook, the zero points into the encoded tensor (FORMAT.md 3.6).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "compress/huffman.h"
#include "compress/pipeline_internal.h"
#include "compress/prune.h"
#include "compress/relative_index.h"

namespace deepcomp::compress::pipeline_internal {

namespace {

constexpr int kSpan = 511;  // centered codes -255..255
constexpr int kOffset = 255;

void dtype_range(DType d, int32_t* lo, int32_t* hi) {
  *lo = d == DType::kInt8 ? -128 : 0;
  *hi = d == DType::kInt8 ? 127 : 255;
}

int32_t code_at(const Tensor& t, int64_t k) {
  const auto b = static_cast<unsigned char>(t.raw[static_cast<size_t>(k)]);
  return t.dtype == DType::kInt8 ? static_cast<int32_t>(static_cast<int8_t>(b)) : b;
}

// The optimal choice of at most k integer levels for the histogram of centered codes: the levels
// minimizing sum weight[v] * (v - level(v))^2, i.e. the squared error of the dequantized weights
// (each code weighted by its channel's scale^2). In one dimension an optimal clustering splits the
// sorted codes into contiguous runs, and a run's best integer level is its weighted mean rounded
// (the cost is a parabola in the level), so dynamic programming over the at most 511 present codes
// finds the exact optimum (Lloyd's iterations from a linear init, used before, stopped in local
// optima that flipped ~4% of LeNet-300-100's predictions at 5 bits where this flips < 1%).
// Returns sorted distinct levels; `iterations` is set to 1 (one exact solve) when levels merge.
std::vector<int32_t> integer_levels(const std::vector<double>& weight, int k, int* iterations) {
  std::vector<int32_t> present;
  for (int v = 0; v < kSpan; ++v)
    if (weight[v] > 0) present.push_back(v - kOffset);
  const int n = static_cast<int>(present.size());
  *iterations = 0;
  if (n <= k) return present;
  // Prefix sums (shifted codes keep the sums small and positive) for O(1) run costs.
  std::vector<double> w0(n + 1, 0), w1(n + 1, 0), w2(n + 1, 0);
  for (int i = 0; i < n; ++i) {
    const double v = present[i], w = weight[present[i] + kOffset];
    w0[i + 1] = w0[i] + w;
    w1[i + 1] = w1[i] + w * v;
    w2[i + 1] = w2[i] + w * v * v;
  }
  auto level_of = [&](int a, int b) {  // codes a..b-1
    return std::lround((w1[b] - w1[a]) / (w0[b] - w0[a]));
  };
  auto cost = [&](int a, int b) {
    const double c = static_cast<double>(level_of(a, b));
    const double e = (w2[b] - w2[a]) - 2 * c * (w1[b] - w1[a]) + c * c * (w0[b] - w0[a]);
    return std::max(e, 0.0);
  };
  // best[j][b]: least cost of codes 0..b-1 in j+1 runs; cut[j][b]: where the last run starts.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> best(k, std::vector<double>(n + 1, inf));
  std::vector<std::vector<int>> cut(k, std::vector<int>(n + 1, 0));
  for (int b = 1; b <= n; ++b) best[0][b] = cost(0, b);
  for (int j = 1; j < k; ++j) {
    for (int b = j + 1; b <= n; ++b) {
      for (int a = j; a < b; ++a) {
        const double c = best[j - 1][a] + cost(a, b);
        if (c < best[j][b]) best[j][b] = c, cut[j][b] = a;
      }
    }
  }
  std::vector<int32_t> levels;
  for (int j = k - 1, b = n; j >= 0; --j) {
    const int a = j == 0 ? 0 : cut[j][b];
    levels.push_back(static_cast<int32_t>(level_of(a, b)));
    b = a;
  }
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  *iterations = 1;
  return levels;
}

}  // namespace

Result<QuantView> quant_view(const Model& model, const Tensor& t) {
  const std::string where = "tensor '" + t.name + "'";
  if (t.dtype != DType::kInt8 && t.dtype != DType::kUInt8)
    return Status::Error(where + ": " + dtype_name(t.dtype) +
                         " weights are stored losslessly (8-bit only)");
  if (!t.quant.present) return Status::Error(where + ": no scale / zero point known");
  if (!t.quant.note.empty()) return Status::Error(where + ": " + t.quant.note);
  if (static_cast<int64_t>(t.raw.size()) != t.numel())
    return Status::Error(where + ": holds " + std::to_string(t.raw.size()) + " bytes for " +
                         std::to_string(t.numel()) + " elements");
  QuantView q;
  const int64_t rank = static_cast<int64_t>(t.shape.size());
  if (t.quant.axis >= rank)
    return Status::Error(where + ": axis " + std::to_string(t.quant.axis) +
                         " is out of range for rank " + std::to_string(rank));
  if (t.quant.axis >= 0) {
    q.axis = t.quant.axis;
    q.dim = t.shape[q.axis];
    for (int64_t d = q.axis + 1; d < rank; ++d) q.inner *= t.shape[d];
  }
  // A scale or zero point holds one value or one per channel (any shape of that size, e.g. the
  // [1, M, 1, 1] a Mul broadcasts).
  auto per_channel = [&](int64_t n) { return n == 1 || (q.axis >= 0 && n == q.dim); };
  q.scale.assign(q.dim, 1.0f);
  if (!t.quant.scale.empty()) {
    const Tensor* s = model.find_tensor(t.quant.scale);
    if (!s || !is_float_dtype(s->dtype) || static_cast<int64_t>(s->values.size()) != s->numel())
      return Status::Error(where + ": scale '" + t.quant.scale + "' is not a float tensor");
    if (!per_channel(s->numel()))
      return Status::Error(where + ": scale '" + t.quant.scale + "' has " +
                           std::to_string(s->numel()) + " values for " + std::to_string(q.dim) +
                           " channels");
    for (int64_t c = 0; c < q.dim; ++c) {
      const float v = s->values[s->numel() == 1 ? 0 : c];
      if (!std::isfinite(v) || v == 0)
        return Status::Error(where + ": scale '" + t.quant.scale + "' holds " + std::to_string(v));
      q.scale[c] = std::fabs(v);
    }
  }
  q.zero_point.assign(q.dim, 0);
  if (!t.quant.zero_point.empty()) {
    const Tensor* z = model.find_tensor(t.quant.zero_point);
    if (!z || z->dtype != t.dtype)
      return Status::Error(where + ": zero point '" + t.quant.zero_point + "' is " +
                           (z ? dtype_name(z->dtype) : std::string("missing")) + ", not " +
                           dtype_name(t.dtype));
    if (!per_channel(z->numel()) || static_cast<int64_t>(z->raw.size()) != z->numel())
      return Status::Error(where + ": zero point '" + t.quant.zero_point + "' has " +
                           std::to_string(z->numel()) + " values for " + std::to_string(q.dim) +
                           " channels");
    for (int64_t c = 0; c < q.dim; ++c) q.zero_point[c] = code_at(*z, z->numel() == 1 ? 0 : c);
  }
  return q;
}

LayerResult compress_quantized_layer(const Tensor& t, const QuantView& q, const LayerPlan& plan,
                                     const CompressOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  LayerResult out;
  LayerReport& r = out.report;
  r = base_report(t);
  r.compressed = true;
  EncodedTensor& e = out.encoded;
  e.name = t.name;
  e.shape = t.shape;
  e.dtype = t.dtype;
  e.role = t.role;
  e.location = t.location;
  e.zero_point_axis = q.axis;
  e.zero_points = q.zero_point;
  const int64_t numel = t.numel();
  int32_t lo = 0, hi = 0;
  dtype_range(t.dtype, &lo, &hi);

  // Centered codes and dequantized magnitudes.
  std::vector<int16_t> code(static_cast<size_t>(numel));
  std::vector<float> deq(static_cast<size_t>(numel));
  for (int64_t k = 0; k < numel; ++k) {
    const int64_t ch = q.channel(k);
    code[k] = static_cast<int16_t>(code_at(t, k) - q.zero_point[ch]);
    deq[k] = static_cast<float>(code[k]) * q.scale[ch];
  }

  // 1. Pruning on |dequantized| (a zero code is never stored), 2. the relative index.
  float threshold = 0;
  if (plan.prune) {
    threshold =
        plan.use_threshold ? plan.threshold : magnitude_threshold_for_sparsity(deq, plan.sparsity);
    if (plan.use_threshold && options.prune_std && !options.prune_global)
      threshold = std_threshold(deq, *options.prune_std);
  }
  r.threshold = threshold;
  auto survives = [&](int64_t k) {
    return code[k] != 0 && (!plan.prune || std::fabs(deq[k]) >= threshold);
  };
  std::vector<int64_t> stored;
  std::vector<uint16_t> index_codes;
  if (plan.prune) {
    RelativeIndexWriter<uint16_t> writer(plan.index_bits, &index_codes);
    for (int64_t k = 0; k < numel; ++k)
      if (survives(k)) {
        stored.push_back(k);
        writer.add(k);
      }
  }
  const int64_t nnz = plan.prune ? static_cast<int64_t>(stored.size()) : numel;
  r.nonzero = 0;
  for (int64_t k = 0; k < numel; ++k) r.nonzero += survives(k);
  r.sparsity = numel > 0 ? 1.0 - static_cast<double>(r.nonzero) / static_cast<double>(numel) : 0;
  double index_bits_fixed = 0;
  if (plan.prune) {
    r.index_bits = plan.index_bits;
    r.fillers = static_cast<int64_t>(index_codes.size()) - nnz;
    index_bits_fixed = static_cast<double>(index_codes.size()) * plan.index_bits;
    auto coded =
        code_stream(index_codes, uint32_t{1} << plan.index_bits, plan.index_bits, options.huffman);
    if (!coded.ok()) {
      out.status = coded.status().WithContext("tensor '" + t.name + "' index");
      return out;
    }
    e.index_bits = static_cast<uint32_t>(plan.index_bits);
    e.index = std::move(coded->stream);
    r.index_entropy_bits = coded->entropy;
    r.index_huffman_bits = coded->bits;
  }
  r.bytes.pruned = plan.prune ? static_cast<double>(nnz) + index_bits_fixed / 8 : r.bytes.original;

  // 3. Sharing: integer levels (every level in use when sharing is off: lossless codes).
  const auto for_each_stored = [&](auto&& fn) {
    if (plan.prune) {
      for (int64_t k : stored) fn(k);
    } else {
      for (int64_t k = 0; k < numel; ++k) fn(k);
    }
  };
  std::vector<double> hist(kSpan, 0);
  for_each_stored([&](int64_t k) {
    const double s = q.scale[q.channel(k)];
    hist[code[k] + kOffset] += std::max(s * s, 1e-30);
  });
  const int k_levels = options.share ? (1 << std::min(plan.bits, 9)) : kSpan;
  std::vector<int32_t> levels = integer_levels(hist, k_levels, &r.kmeans_iterations);
  // Labels: the nearest level this weight's channel can hold (q = level + zero point in range).
  const size_t main_levels = levels.size();
  std::vector<uint16_t> clusters;
  clusters.reserve(static_cast<size_t>(nnz));
  double sse = 0;
  int64_t nonzero_after = 0;
  for_each_stored([&](int64_t k) {
    const int64_t ch = q.channel(k);
    const int32_t zp = q.zero_point[ch], c = code[k];
    auto valid = [&](int32_t l) { return l + zp >= lo && l + zp <= hi; };
    int best = -1;
    const int n_main = static_cast<int>(main_levels);
    const auto it = std::lower_bound(levels.begin(), levels.begin() + n_main, c);
    int right = static_cast<int>(it - levels.begin()), left = right - 1;
    while (best < 0 && (left >= 0 || right < n_main)) {
      const bool take_left =
          left >= 0 && (right >= n_main || c - levels[left] <= levels[right] - c);
      const int cand = take_left ? left-- : right++;
      if (valid(levels[cand])) best = cand;
    }
    if (best < 0) {
      // The code itself is always valid in its own channel: an extra level after the sorted ones.
      const auto extra = std::find(levels.begin() + n_main, levels.end(), c);
      best = static_cast<int>(extra - levels.begin());
      if (extra == levels.end()) levels.push_back(c);
    }
    clusters.push_back(static_cast<uint16_t>(best));
    nonzero_after += levels[best] != 0;
    const double d = (static_cast<double>(c) - levels[best]) * q.scale[ch];
    sse += d * d;
  });
  r.sse = sse;
  // Nonzero after sharing: a weight whose level is 0 decodes to its zero point like a pruned one.
  r.nonzero = nonzero_after;
  r.sparsity = numel > 0 ? 1.0 - static_cast<double>(r.nonzero) / static_cast<double>(numel) : 0;
  r.bits = options.share ? plan.bits : 8;
  r.clusters = static_cast<int>(levels.size());
  e.encoding = plan.prune ? Encoding::kSparseShared : Encoding::kSharedDense;
  const uint32_t alphabet = static_cast<uint32_t>(std::max<size_t>(levels.size(), 1));
  auto coded = code_stream(clusters, alphabet, r.bits, options.huffman);
  if (!coded.ok()) {
    out.status = coded.status().WithContext("tensor '" + t.name + "' clusters");
    return out;
  }
  e.codebook.assign(levels.begin(), levels.end());
  e.clusters = std::move(coded->stream);
  r.cluster_entropy_bits = coded->entropy;
  r.cluster_huffman_bits = coded->bits;
  // Stored: levels as f32 (as the container holds them) and one byte per zero point.
  const double side_bytes =
      static_cast<double>(levels.size()) * 4 + static_cast<double>(q.zero_point.size());
  const int fixed_bits = std::max(r.bits, bits_for_alphabet(alphabet));
  r.bytes.quantized = (static_cast<double>(nnz) * fixed_bits + index_bits_fixed) / 8 + side_bytes;
  r.bytes.huffman = (r.cluster_huffman_bits + r.index_huffman_bits) / 8 + side_bytes;
  r.huffman_bits = r.cluster_huffman_bits + r.index_huffman_bits;
  r.entropy_bits = r.index_entropy_bits + r.cluster_entropy_bits;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // A small layer's codebook (4 bytes per level) can outweigh what sharing saves: then its exact
  // 8-bit codes are smaller and lose nothing.
  const double shared_bytes = options.huffman ? r.bytes.huffman : r.bytes.quantized;
  if (!plan.prune && shared_bytes >= r.bytes.original) {
    LayerResult lossless = store_lossless(t);
    char note[160];
    std::snprintf(note, sizeof note,
                  "stored losslessly: %d bits of shared levels take %.0f B, its 8-bit codes %.0f B",
                  r.bits, shared_bytes, r.bytes.original);
    lossless.report.note = note;
    lossless.report.seconds = r.seconds;
    return lossless;
  }
  return out;
}

Result<Tensor> decode_quantized(const EncodedTensor& e) {
  const std::string where = "tensor '" + e.name + "'";
  DEEPCOMP_ASSIGN_OR_RETURN(SparseTensor s, decode_sparse(e));
  Tensor t = tensor_header(e);
  const int64_t numel = t.numel();
  const int64_t rank = static_cast<int64_t>(e.shape.size());
  int64_t inner = 1, dim = 1;
  if (e.zero_point_axis >= 0) {
    dim = e.shape[e.zero_point_axis];
    for (int64_t d = e.zero_point_axis + 1; d < rank; ++d) inner *= e.shape[d];
  }
  if (e.zero_points.size() != static_cast<size_t>(dim))
    return Status::Error(where + ": " + std::to_string(e.zero_points.size()) + " zero points for " +
                         std::to_string(dim) + " channels");
  int32_t lo = 0, hi = 0;
  dtype_range(e.dtype, &lo, &hi);
  auto channel = [&](int64_t k) { return e.zero_point_axis < 0 ? 0 : (k / inner) % dim; };
  t.raw.assign(static_cast<size_t>(numel), 0);
  for (int64_t k = 0; k < numel; ++k) t.raw[k] = static_cast<char>(e.zero_points[channel(k)]);
  for (size_t i = 0; i < s.positions.size(); ++i) {
    const int64_t k = s.positions[i];
    const int32_t v = static_cast<int32_t>(s.values[i]) + e.zero_points[channel(k)];
    // Never a model that decodes to other integers than were written: no wrap-around.
    if (v < lo || v > hi)
      return Status::Error(where + ": level " + std::to_string(static_cast<int32_t>(s.values[i])) +
                           " at element " + std::to_string(k) + " decodes to " + std::to_string(v) +
                           ", outside " + dtype_name(e.dtype));
    t.raw[k] = static_cast<char>(static_cast<uint8_t>(v & 0xFF));
  }
  return t;
}

}  // namespace deepcomp::compress::pipeline_internal
