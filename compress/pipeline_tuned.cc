// The pipeline with retraining (see pipeline_internal.h): pruning in steps with the tuner's
// after_prune between them, k-means on the fine-tuned survivors, after_share, then the encoding.
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <mutex>

#include "compress/kmeans_1d.h"
#include "compress/pipeline_internal.h"
#include "compress/prune.h"
#include "core/tensor_bytes.h"

namespace deepcomp::compress::pipeline_internal {

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
      const double sparsity =
          options.prune_schedule == CompressOptions::PruneSchedule::kGeometric
              ? 1.0 - std::pow(1.0 - plans[i].sparsity, fraction)
              : plans[i].sparsity * fraction;
      const float threshold = plans[i].use_threshold
                                  ? static_cast<float>(plans[i].threshold * fraction)
                                  : magnitude_threshold_for_sparsity(t.values, sparsity);
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
    auto km = kmeans_1d(kept, kmeans_options(options, plans[layer.tensor].bits));
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

}  // namespace deepcomp::compress::pipeline_internal
