// The streaming compress path (stream_compress.h): tensors in model order, in groups of at most
// `threads`, each loaded, planned and compressed by one thread and freed as soon as its encoded
// form exists; the group's sections are then written in order, so the file has the in-memory
// path's layout and bytes. A group's tensors hold together at most max(largest tensor, 256 MiB) of
// float32 data, so a model of large layers is done one layer at a time and the peak stays that of
// its largest layer; a tensor alone in its group gets every thread inside its own stages
// (compress/parallel_blocks.h: the OpenMP loops there run on the calling thread when several
// tensors share a group).
#include "compress/stream_compress.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <span>

#include "compress/container_writer.h"
#include "compress/pipeline_internal.h"
#include "compress/prune.h"

namespace deepcomp::compress {

using pipeline_internal::LayerPlan;
using pipeline_internal::LayerResult;

std::string streaming_unsupported_reason(const CompressOptions& options) {
  if (options.tuner != nullptr) return "retraining needs every weight in memory at once";
  return "";
}

Result<CompressReport> compress_model_streaming(
    Model& model, const CompressOptions& options, const TensorLoader& loader,
    const std::vector<std::pair<std::string, std::string>>& extra_metadata, const std::string& path,
    const WriteOptions& write, int threads) {
  DEEPCOMP_RETURN_IF_ERROR(validate_options(options));
  if (std::string why = streaming_unsupported_reason(options); !why.empty())
    return Status::Error("streaming compress: " + why);
  for (const Tensor& t : model.tensors)
    if (t.quant.present)
      return Status::Error("streaming compress: tensor '" + t.name +
                           "' is an 8-bit quantized weight, compressed on the in-memory path "
                           "(its scales and zero points are other tensors)");
  const auto start = std::chrono::steady_clock::now();
  if (threads <= 0) threads = std::max(1, omp_get_max_threads());

  ContainerHeader header = pipeline_internal::container_header(options);
  for (const auto& kv : extra_metadata) header.metadata.push_back(kv);
  ContainerWriter writer;
  DEEPCOMP_RETURN_IF_ERROR(writer.open(path, write, header, model.skeleton));

  const size_t n = model.tensors.size();
  constexpr uint64_t kMinGroupBytes = uint64_t{256} << 20;
  uint64_t group_budget = kMinGroupBytes;
  for (const Tensor& t : model.tensors)
    group_budget =
        std::max(group_budget, static_cast<uint64_t>(std::max<int64_t>(t.numel(), 0)) * 4);
  int total = 0;
  for (const Tensor& t : model.tensors) total += pipeline_internal::layer_plan(t, options).compress;

  // --prune-global: the one threshold from two (or three) extra reads of the layers it covers,
  // one layer in memory at a time; the same float compress_model finds.
  std::optional<float> global;
  if (options.prune_global) {
    std::vector<size_t> layers;
    uint64_t values = 0;
    for (size_t i = 0; i < n; ++i) {
      const Tensor& t = model.tensors[i];
      if (!pipeline_internal::in_global_threshold(t, pipeline_internal::layer_plan(t, options),
                                                  options))
        continue;
      layers.push_back(i);
      values += static_cast<uint64_t>(t.numel());
    }
    const LayerVisitor visit = [&](const std::function<void(std::span<const float>)>& fn) {
      for (size_t i : layers) {
        Tensor& t = model.tensors[i];
        DEEPCOMP_RETURN_IF_ERROR(loader.load(&t));
        Status finite = check_finite(t.values, t.name);
        if (finite.ok()) fn(t.values);
        loader.release(&t);
        DEEPCOMP_RETURN_IF_ERROR(finite);
      }
      return Status::Ok();
    };
    DEEPCOMP_ASSIGN_OR_RETURN(global,
                              global_threshold_streamed(values, visit, *options.prune_global));
  }
  int done = 0;
  std::mutex progress_mutex;
  CompressReport report;
  for (size_t first = 0, count = 0; first < n; first += count) {
    uint64_t group_bytes = 0;
    for (count = 0; first + count < n && count < static_cast<size_t>(threads); ++count) {
      const uint64_t bytes =
          static_cast<uint64_t>(std::max<int64_t>(model.tensors[first + count].numel(), 0)) * 4;
      if (count > 0 && group_bytes + bytes > group_budget) break;
      group_bytes += bytes;
    }
    std::vector<LayerResult> results(count);
    const auto compress_one = [&](size_t k) {
      Tensor& t = model.tensors[first + k];
      LayerResult& result = results[k];
      result.status = loader.load(&t);
      if (!result.status.ok()) return;
      LayerPlan plan = pipeline_internal::layer_plan(t, options);
      if (global && pipeline_internal::in_global_threshold(t, plan, options)) {
        plan.use_threshold = true;
        plan.threshold = *global;
        plan.prune = *global > 0;
      }
      result = plan.compress ? pipeline_internal::compress_layer(t, plan, options)
                             : pipeline_internal::store_lossless(t);
      loader.release(&t);
      if (plan.compress && options.progress) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        options.progress(t.name, ++done, total);
      }
    };
    if (count == 1) {
      // Outside any parallel region, so that the layer's own loops use the threads (a nested
      // region would start a new team for each of them).
      compress_one(0);
    } else {
#pragma omp parallel for schedule(dynamic, 1) num_threads(static_cast <int>(count))
      for (int k = 0; k < static_cast<int>(count); ++k) compress_one(static_cast<size_t>(k));
    }
    for (LayerResult& result : results) {
      if (!result.status.ok()) return result.status;
      DEEPCOMP_RETURN_IF_ERROR(writer.add(result.encoded));
      pipeline_internal::add_layer_report(std::move(result.report), &report);
    }
  }
  DEEPCOMP_RETURN_IF_ERROR(writer.finish());
  report.file_bytes = static_cast<double>(writer.size());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace deepcomp::compress
