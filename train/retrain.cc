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
  if (!(pre.std != 0.0) || !std::isfinite(pre.scale) || !std::isfinite(pre.mean) ||
      !std::isfinite(pre.std))
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

Result<double> evaluate(const Trainer& trainer, const Model& model, const Dataset& data,
                        int64_t limit) {
  const int64_t n = limit > 0 ? std::min(limit, data.n) : data.n;
  if (n == 0) return Status::Error("empty evaluation set");
  const int64_t chunk = 250, chunks = (n + chunk - 1) / chunk;
  std::vector<int64_t> hits(static_cast<size_t>(chunks), 0);
  std::vector<Status> status(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * chunk, count = std::min(chunk, n - begin);
    Blob logits;
    Status s = trainer.forward(model, data.x.data() + begin * data.sample, count, &logits);
    double loss = 0;
    if (s.ok())
      s = softmax_cross_entropy(logits, data.labels.data() + begin, 0, &loss,
                                &hits[static_cast<size_t>(c)], nullptr);
    status[static_cast<size_t>(c)] = s;
  }
  int64_t total = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    DEEPCOMP_RETURN_IF_ERROR(status[static_cast<size_t>(c)]);
    total += hits[static_cast<size_t>(c)];
  }
  return static_cast<double>(total) / static_cast<double>(n);
}

Status split_holdout(const Dataset& all, double fraction, uint64_t seed, Dataset* train,
                     Dataset* holdout) {
  if (!(fraction > 0 && fraction < 1)) return Status::Error("holdout fraction not in (0, 1)");
  const int64_t held =
      std::max<int64_t>(1, static_cast<int64_t>(std::floor(static_cast<double>(all.n) * fraction)));
  if (all.n < 2 || held >= all.n)
    return Status::Error("training set of " + std::to_string(all.n) +
                         " samples: too small to hold out " + std::to_string(held));
  const std::vector<int64_t> order = epoch_order(all.n, seed, 0);
  std::vector<uint8_t> is_held(static_cast<size_t>(all.n), 0);
  for (int64_t k = 0; k < held; ++k)
    is_held[static_cast<size_t>(order[static_cast<size_t>(k)])] = 1;
  Dataset parts[2];
  for (Dataset& p : parts) p.sample = all.sample;
  for (int64_t i = 0; i < all.n; ++i) {
    Dataset& p = parts[is_held[static_cast<size_t>(i)]];
    p.x.insert(p.x.end(), all.x.begin() + i * all.sample, all.x.begin() + (i + 1) * all.sample);
    p.labels.push_back(all.labels[static_cast<size_t>(i)]);
    ++p.n;
  }
  *train = std::move(parts[0]);
  *holdout = std::move(parts[1]);
  return Status::Ok();
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

}  // namespace

std::vector<size_t> param_sizes(const Trainer& trainer, const Model& model) {
  std::vector<size_t> sizes;
  for (size_t t : trainer.params()) sizes.push_back(model.tensors[t].values.size());
  return sizes;
}

Result<EpochLog> train_epoch(const Trainer& trainer, Model& model, const Dataset& data,
                             const std::vector<int64_t>& order, Optimizer& opt,
                             const std::vector<std::vector<uint8_t>>* masks, PhaseClock* clock) {
  const std::vector<size_t>& params = trainer.params();
  const int batch = opt.options().batch;
  EpochLog log;
  std::vector<float> x;
  std::vector<int32_t> y;
  std::vector<std::vector<float>> grads;
  int64_t correct = 0;
  double loss_sum = 0;
  const int64_t n = static_cast<int64_t>(order.size());
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t count = std::min<int64_t>(batch, n - begin);
    gather(data, order, begin, count, &x, &y);
    DEEPCOMP_ASSIGN_OR_RETURN(BatchResult r,
                              trainer.gradients(model, x.data(), y.data(), count, &grads));
    loss_sum += r.loss * static_cast<double>(count);
    correct += r.correct;
    const double lr = scheduled_lr(opt.options(), clock->step++, clock->total);
    opt.begin_step();
    for (size_t p = 0; p < params.size(); ++p) {
      const size_t t = params[p];
      const std::vector<uint8_t>* mask =
          masks != nullptr && !(*masks)[t].empty() ? &(*masks)[t] : nullptr;
      opt.update(p, model.tensors[t].values, grads[p], lr, mask);
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
  Optimizer opt(options_.optim, param_sizes(trainer_, model));
  PhaseClock clock;
  clock.total = options_.epochs_prune * batches_per_epoch(train_.n, options_.optim.batch);
  for (int e = 0; e < options_.epochs_prune; ++e) {
    const std::vector<int64_t> order =
        epoch_order(train_.n, options_.optim.seed, prune_round_ * 1000 + e);
    DEEPCOMP_ASSIGN_OR_RETURN(EpochLog log,
                              train_epoch(trainer_, model, train_, order, opt, &masks, &clock));
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
        model.tensors[l.tensor].values[static_cast<size_t>(l.positions[k])] =
            l.codebook[l.labels[k]];
  };
  apply();
  DEEPCOMP_ASSIGN_OR_RETURN(double shared, evaluate(trainer_, model, eval_));
  accuracy_.after_share = shared;
  const std::vector<size_t>& params = trainer_.params();
  std::vector<int> layer_of_param(params.size(), -1);
  for (size_t p = 0; p < params.size(); ++p)
    for (size_t l = 0; l < layers.size(); ++l)
      if (layers[l].tensor == params[p]) layer_of_param[p] = static_cast<int>(l);
  Optimizer opt(options_.optim, param_sizes(trainer_, model));
  OptimizerOptions centroid_options = options_.optim;
  centroid_options.lr *= options_.share_lr_scale;
  centroid_options.weight_decay = 0;  // no decay on shared values (keeps them at the data's scale)
  std::vector<size_t> codebook_sizes;
  for (const compress::SharedLayer& l : layers) codebook_sizes.push_back(l.codebook.size());
  Optimizer centroid_opt(centroid_options, codebook_sizes);
  PhaseClock clock;
  clock.total = options_.epochs_share * batches_per_epoch(train_.n, options_.optim.batch);
  std::vector<float> x;
  std::vector<int32_t> y;
  std::vector<std::vector<float>> grads;
  for (int e = 0; e < options_.epochs_share; ++e) {
    const std::vector<int64_t> order = epoch_order(train_.n, options_.optim.seed, 500 + e);
    double loss_sum = 0;
    int64_t correct = 0;
    for (int64_t begin = 0; begin < train_.n; begin += options_.optim.batch) {
      const int64_t count = std::min<int64_t>(options_.optim.batch, train_.n - begin);
      gather(train_, order, begin, count, &x, &y);
      DEEPCOMP_ASSIGN_OR_RETURN(BatchResult r,
                                trainer_.gradients(model, x.data(), y.data(), count, &grads));
      loss_sum += r.loss * static_cast<double>(count);
      correct += r.correct;
      const double lr = scheduled_lr(options_.optim, clock.step, clock.total);
      const double centroid_lr = scheduled_lr(centroid_options, clock.step, clock.total);
      ++clock.step;
      opt.begin_step();
      centroid_opt.begin_step();
      for (size_t p = 0; p < params.size(); ++p) {
        const int l = layer_of_param[p];
        if (l < 0) {  // not shared (biases): trained as plain parameters
          opt.update(p, model.tensors[params[p]].values, grads[p], lr, nullptr);
          continue;
        }
        compress::SharedLayer& layer = layers[static_cast<size_t>(l)];
        std::vector<float> cg(layer.codebook.size(), 0.0f);
        for (size_t k = 0; k < layer.positions.size(); ++k)
          cg[layer.labels[k]] += grads[p][static_cast<size_t>(layer.positions[k])];
        centroid_opt.update(static_cast<size_t>(l), layer.codebook, cg, centroid_lr, nullptr);
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
    log.accuracy =
        static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(train_.n, 1));
    if (options_.on_epoch) options_.on_epoch(log);
  }
  DEEPCOMP_ASSIGN_OR_RETURN(double tuned, evaluate(trainer_, model, eval_));
  accuracy_.after_share_retrain = tuned;
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::Ok();
}

}  // namespace deepcomp::train
