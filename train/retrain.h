// Deep Compression's retraining: masked SGD fine-tuning after pruning (pruned weights stay exactly
// 0) and centroid fine-tuning after weight sharing (each weight's gradient summed into its
// cluster's centroid, Han et al. 2016 Fig. 3; labels fixed), as a compress::FineTuner. Also the
// training data (IDX / .npy images and labels, preprocessed) and top-1 evaluation.
// Uses only the interface types of compress/pipeline.h (no compress library code); depends on
// train/trainer.h, data/ and core/.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compress/pipeline.h"
#include "core/model.h"
#include "core/status.h"
#include "train/optimizer.h"
#include "train/trainer.h"

namespace deepcomp::train {

struct Dataset {
  std::vector<float> x;  // n * sample values, preprocessed
  std::vector<int32_t> labels;
  int64_t n = 0;
  int64_t sample = 0;  // values per sample
};

struct Preprocess {
  double scale = 1.0 / 255.0;
  double mean = 0.0;
  double std = 1.0;
};

// Reads images and labels (IDX, gzipped or not, or .npy), applies (pixel*scale - mean)/std and
// checks that each image has exactly as many values as one sample of the model input and that
// the label count matches. Errors name the file.
Result<Dataset> load_dataset(const std::string& images, const std::string& labels,
                             const Preprocess& pre, const Trainer& trainer);

// Top-1 accuracy (0..1) of `model` on `data` (on its first `limit` samples when 0 < limit < n).
Result<double> evaluate(const Trainer& trainer, const Model& model, const Dataset& data,
                        int64_t limit = 0);

// Splits `all` into a training part and a held-out part of floor(n * fraction) samples (at least
// 1): the first that many entries of epoch_order(n, seed, 0), each part then in file order. The
// parts are disjoint and together are `all`. Error when either part would be empty.
Status split_holdout(const Dataset& all, double fraction, uint64_t seed, Dataset* train,
                     Dataset* holdout);

// The epoch's sample order: Fisher-Yates with std::mt19937_64(seed + epoch), j = rng() % (i + 1)
// for i = n-1 down to 1 (spelled out so other implementations can reproduce it).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int epoch);

struct EpochLog {
  std::string phase;  // "prune" or "share"
  int epoch = 0, epochs = 0;
  double loss = 0, accuracy = 0;  // training mean loss and top-1 over the epoch
};

// Where a phase is in its learning-rate schedule: the next mini-batch step and the phase's total.
struct PhaseClock {
  int64_t step = 0;
  int64_t total = 0;
};

// Mini-batches in one epoch of n samples.
inline int64_t batches_per_epoch(int64_t n, int batch) { return (n + batch - 1) / batch; }

// One epoch over `data` in the given order, updating every trainer parameter with `opt` at the
// scheduled learning rate (opt.options().schedule over clock->total steps; clock->step advances).
// `masks` (per Model tensor, empty = all trainable) keeps pruned weights at 0. `opt` holds one
// state vector per trainer.params() entry.
Result<EpochLog> train_epoch(const Trainer& trainer, Model& model, const Dataset& data,
                             const std::vector<int64_t>& order, Optimizer& opt,
                             const std::vector<std::vector<uint8_t>>* masks, PhaseClock* clock);

// Element counts of the trainer's parameters (to size an Optimizer).
std::vector<size_t> param_sizes(const Trainer& trainer, const Model& model);

struct RetrainOptions {
  OptimizerOptions optim;
  int epochs_prune = 1;
  int epochs_share = 1;
  // Centroid updates use lr * share_lr_scale (the summed cluster gradient is large) and no weight
  // decay; the same optimizer kind and schedule.
  double share_lr_scale = 1.0;
  std::function<void(const EpochLog&)> on_epoch;
};

struct AccuracyLog {
  std::optional<double> before, after_prune, after_prune_retrain, after_share, after_share_retrain;
};

class Retrainer : public compress::FineTuner {
 public:
  // `eval` is the set the accuracies are measured on (the validation set, or a training subset).
  Retrainer(const Trainer& trainer, const Dataset& train, const Dataset& eval,
            RetrainOptions options)
      : trainer_(trainer), train_(train), eval_(eval), options_(std::move(options)) {}
  Status after_prune(Model& model, const std::vector<std::vector<uint8_t>>& masks) override;
  Status after_share(Model& model, std::vector<compress::SharedLayer>& layers) override;
  const AccuracyLog& accuracy() const { return accuracy_; }
  AccuracyLog& accuracy() { return accuracy_; }
  double seconds() const { return seconds_; }

 private:
  const Trainer& trainer_;
  const Dataset& train_;
  const Dataset& eval_;
  RetrainOptions options_;
  AccuracyLog accuracy_;
  double seconds_ = 0;
  int prune_round_ = 0;
};

}  // namespace deepcomp::train
