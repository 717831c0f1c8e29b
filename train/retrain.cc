#include "train/retrain.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "data/idx.h"

namespace deepcomp::train {

Result<Dataset> load_dataset(const std::string& images, const std::string& labels,
                             const Preprocess& pre, const Trainer& trainer) {
  DEEPCOMP_ASSIGN_OR_RETURN(data::Array img, data::read_array(images));
  DEEPCOMP_ASSIGN_OR_RETURN(data::Array lab, data::read_array(labels));
  int64_t sample = 1;
  for (int64_t d : trainer.sample_shape()) sample *= d;
  if (sample <= 0)
    return Status::Error("model input '" + trainer.input_name() + "' has an unknown sample shape");
  if (img.sample_size() != sample)
    return Status::Error(images + ": images of " + std::to_string(img.sample_size()) +
                         " values do not fit the model input '" + trainer.input_name() + "' (" +
                         std::to_string(sample) + " values per sample)");
  if (lab.samples() != img.samples() || lab.sample_size() != 1)
    return Status::Error(labels + ": " + std::to_string(lab.values.size()) + " labels for " +
                         std::to_string(img.samples()) + " images in " + images);
  if (!(pre.std != 0.0) || !std::isfinite(pre.scale) || !std::isfinite(pre.mean) || !std::isfinite(pre.std))
    return Status::Error("--scale/--mean/--std must be finite and --std non-zero");
  Dataset d;
  d.n = img.samples();
  d.sample = sample;
  d.x.resize(img.values.size());
  for (size_t k = 0; k < img.values.size(); ++k)
    d.x[k] = static_cast<float>((img.values[k] * pre.scale - pre.mean) / pre.std);
  d.labels.resize(lab.values.size());
  for (size_t k = 0; k < lab.values.size(); ++k) {
    const float v = lab.values[k];
    if (!(v >= 0 && v < 65536 && v == std::floor(v)))
      return Status::Error(labels + ": label " + std::to_string(k) + " is not a class index");
    d.labels[k] = static_cast<int32_t>(v);
  }
  return d;
}

Result<double> evaluate(const Trainer& trainer, const Model& model, const Dataset& data) {
  if (data.n == 0) return Status::Error("empty evaluation set");
  const int64_t chunk = 250, chunks = (data.n + chunk - 1) / chunk;
  std::vector<int64_t> hits(static_cast<size_t>(chunks), 0);
  std::vector<Status> status(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * chunk, count = std::min(chunk, data.n - begin);
    Blob logits;
    Status s = trainer.forward(model, data.x.data() + begin * data.sample, count, &logits);
    double loss = 0;
    if (s.ok()) s = softmax_cross_entropy(logits, data.labels.data() + begin, 0, &loss,
                                          &hits[static_cast<size_t>(c)], nullptr);
    status[static_cast<size_t>(c)] = s;
  }
  int64_t total = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    DEEPCOMP_RETURN_IF_ERROR(status[static_cast<size_t>(c)]);
    total += hits[static_cast<size_t>(c)];
  }
  return static_cast<double>(total) / static_cast<double>(data.n);
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(seed + static_cast<uint64_t>(epoch));
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

namespace {

// Gathers one mini-batch into contiguous buffers.
void gather(const Dataset& data, const std::vector<int64_t>& order, int64_t begin, int64_t count,
            std::vector<float>* x, std::vector<int32_t>* y) {
  x->resize(static_cast<size_t>(count * data.sample));
  y->resize(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    const int64_t s = order[static_cast<size_t>(begin + k)];
    std::copy_n(data.x.data() + s * data.sample, data.sample, x->data() + k * data.sample);
    (*y)[static_cast<size_t>(k)] = data.labels[static_cast<size_t>(s)];
  }
}

// torch.optim.SGD: d = g + wd*w; buf = momentum*buf + d; w -= lr*buf.
void sgd_step(std::vector<float>& w, const std::vector<float>& g, std::vector<float>& buf,
              const SgdOptions& o, const std::vector<uint8_t>* mask) {
  const float lr = static_cast<float>(o.lr), mom = static_cast<float>(o.momentum),
              wd = static_cast<float>(o.weight_decay);
  for (size_t k = 0; k < w.size(); ++k) {
    if (mask != nullptr && !(*mask)[k]) {
      w[k] = 0.0f;
      buf[k] = 0.0f;
      continue;
    }
    const float d = g[k] + wd * w[k];
    buf[k] = mom * buf[k] + d;
    w[k] -= lr * buf[k];
  }
}

}  // namespace

Result<EpochLog> sgd_epoch(const Trainer& trainer, Model& model, const Dataset& data,
                           const std::vector<int64_t>& order, const SgdOptions& sgd,
                           const std::vector<std::vector<uint8_t>>* masks,
                           std::vector<std::vector<float>>* momentum) {
  const std::vector<size_t>& params = trainer.params();
  if (momentum->size() != params.size()) {
    momentum->resize(params.size());
    for (size_t p = 0; p < params.size(); ++p)
      (*momentum)[p].assign(model.tensors[params[p]].values.size(), 0.0f);
  }
  EpochLog log;
  std::vector<float> x;
  std::vector<int32_t> y;
  std::vector<std::vector<float>> grads;
  int64_t correct = 0;
  double loss_sum = 0;
  const int64_t n = static_cast<int64_t>(order.size());
  for (int64_t begin = 0; begin < n; begin += sgd.batch) {
    const int64_t count = std::min<int64_t>(sgd.batch, n - begin);
    gather(data, order, begin, count, &x, &y);
    DEEPCOMP_ASSIGN_OR_RETURN(BatchResult r, trainer.gradients(model, x.data(), y.data(), count, &grads));
    loss_sum += r.loss * static_cast<double>(count);
    correct += r.correct;
    for (size_t p = 0; p < params.size(); ++p) {
      const size_t t = params[p];
      const std::vector<uint8_t>* mask =
          masks != nullptr && !(*masks)[t].empty() ? &(*masks)[t] : nullptr;
      sgd_step(model.tensors[t].values, grads[p], (*momentum)[p], sgd, mask);
    }
  }
  log.loss = loss_sum / static_cast<double>(std::max<int64_t>(n, 1));
  log.accuracy = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(n, 1));
  return log;
}

Status Retrainer::after_prune(Model& model, const std::vector<std::vector<uint8_t>>& masks) {
  const auto start = std::chrono::steady_clock::now();
  DEEPCOMP_ASSIGN_OR_RETURN(double pruned, evaluate(trainer_, model, eval_));
  if (prune_round_ == 0) accuracy_.after_prune = pruned;
  std::vector<std::vector<float>> momentum;
  for (int e = 0; e < options_.epochs_prune; ++e) {
    const std::vector<int64_t> order = epoch_order(train_.n, options_.sgd.seed, prune_round_ * 1000 + e);
    DEEPCOMP_ASSIGN_OR_RETURN(EpochLog log, sgd_epoch(trainer_, model, train_, order, options_.sgd,
                                                      &masks, &momentum));
    log.phase = "prune";
    log.epoch = e + 1;
    log.epochs = options_.epochs_prune;
    if (options_.on_epoch) options_.on_epoch(log);
  }
  ++prune_round_;
  DEEPCOMP_ASSIGN_OR_RETURN(double tuned, evaluate(trainer_, model, eval_));
  accuracy_.after_prune_retrain = tuned;
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::Ok();
}

Status Retrainer::after_share(Model& model, std::vector<compress::SharedLayer>& layers) {
  const auto start = std::chrono::steady_clock::now();
  auto apply = [&] {
    for (const compress::SharedLayer& l : layers)
      for (size_t k = 0; k < l.positions.size(); ++k)
        model.tensors[l.tensor].values[static_cast<size_t>(l.positions[k])] = l.codebook[l.labels[k]];
  };
  apply();
  DEEPCOMP_ASSIGN_OR_RETURN(double shared, evaluate(trainer_, model, eval_));
  accuracy_.after_share = shared;
  const std::vector<size_t>& params = trainer_.params();
  std::vector<int> layer_of_param(params.size(), -1);
  for (size_t p = 0; p < params.size(); ++p)
    for (size_t l = 0; l < layers.size(); ++l)
      if (layers[l].tensor == params[p]) layer_of_param[p] = static_cast<int>(l);
  std::vector<std::vector<float>> momentum(params.size()), centroid_momentum(layers.size());
  for (size_t p = 0; p < params.size(); ++p) momentum[p].assign(model.tensors[params[p]].values.size(), 0.0f);
  for (size_t l = 0; l < layers.size(); ++l) centroid_momentum[l].assign(layers[l].codebook.size(), 0.0f);
  SgdOptions centroid_sgd = options_.sgd;
  centroid_sgd.lr *= options_.share_lr_scale;
  centroid_sgd.weight_decay = 0;  // no decay on shared values (keeps them at the data's scale)
  std::vector<float> x;
  std::vector<int32_t> y;
  std::vector<std::vector<float>> grads;
  for (int e = 0; e < options_.epochs_share; ++e) {
    const std::vector<int64_t> order = epoch_order(train_.n, options_.sgd.seed, 500 + e);
    double loss_sum = 0;
    int64_t correct = 0;
    for (int64_t begin = 0; begin < train_.n; begin += options_.sgd.batch) {
      const int64_t count = std::min<int64_t>(options_.sgd.batch, train_.n - begin);
      gather(train_, order, begin, count, &x, &y);
      DEEPCOMP_ASSIGN_OR_RETURN(BatchResult r, trainer_.gradients(model, x.data(), y.data(), count, &grads));
      loss_sum += r.loss * static_cast<double>(count);
      correct += r.correct;
      for (size_t p = 0; p < params.size(); ++p) {
        const int l = layer_of_param[p];
        if (l < 0) {  // not shared (biases): plain SGD
          sgd_step(model.tensors[params[p]].values, grads[p], momentum[p], options_.sgd, nullptr);
          continue;
        }
        compress::SharedLayer& layer = layers[static_cast<size_t>(l)];
        std::vector<float> cg(layer.codebook.size(), 0.0f);
        for (size_t k = 0; k < layer.positions.size(); ++k)
          cg[layer.labels[k]] += grads[p][static_cast<size_t>(layer.positions[k])];
        sgd_step(layer.codebook, cg, centroid_momentum[static_cast<size_t>(l)], centroid_sgd, nullptr);
        for (size_t k = 0; k < layer.positions.size(); ++k)
          model.tensors[params[p]].values[static_cast<size_t>(layer.positions[k])] =
              layer.codebook[layer.labels[k]];
      }
    }
    EpochLog log;
    log.phase = "share";
    log.epoch = e + 1;
    log.epochs = options_.epochs_share;
    log.loss = loss_sum / static_cast<double>(std::max<int64_t>(train_.n, 1));
    log.accuracy = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(train_.n, 1));
    if (options_.on_epoch) options_.on_epoch(log);
  }
  DEEPCOMP_ASSIGN_OR_RETURN(double tuned, evaluate(trainer_, model, eval_));
  accuracy_.after_share_retrain = tuned;
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::Ok();
}

}  // namespace deepcomp::train
