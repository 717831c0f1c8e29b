// The two Scorers the budget commands use (compress/budget_search.h): top-1 accuracy on labelled
// images (as `deepcomp eval`), or the top-1 agreement of the first output with the original
// model's on given inputs (as `deepcomp compare`; 1 - rel_l2 when the output has no top-1).
// Also the shared checks of a validation set. Depends on cli/image_set.h, cli/model_inputs.h,
// cli/output_compare.h and the runtime.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compress/budget_search.h"
#include "toolkit/image_set.h"
#include "toolkit/model_inputs.h"
#include "train/retrain.h"

namespace deepcomp::cli {

// Accuracy on the first n images of a labelled set (the images preprocessed once per n).
class LabelledScorer : public compress::Scorer {
 public:
  LabelledScorer(ImageSet set, ImageOptions options, int threads, std::string model_path);
  int64_t samples() const override { return set_.count; }
  Result<double> score(const Model& model, int64_t n) override;

 private:
  ImageSet set_;
  ImageOptions options_;
  int threads_;
  std::string model_path_;
  std::map<int64_t, runtime::Value> batches_;
};

// Agreement with the original model's first output on every given input (no subsets: score()
// always uses all of them).
class AgreementScorer : public compress::Scorer {
 public:
  // Runs `original` once for the reference output.
  static Result<std::unique_ptr<AgreementScorer>> create(const Model& original, ModelInputs inputs,
                                                         int threads);
  int64_t samples() const override { return inputs_.samples; }
  bool subsets() const override { return false; }
  Result<double> score(const Model& model, int64_t n) override;

 private:
  AgreementScorer(ModelInputs inputs, int threads)
      : inputs_(std::move(inputs)), threads_(threads) {}
  ModelInputs inputs_;
  int threads_;
  runtime::Value reference_;
  std::string output_name_;
};

// Accuracy on the first n samples of an in-memory, preprocessed dataset, through the trainer's
// batched forward pass (the budget with --retrain: the held-out part of the training set or the
// validation set). Neither is owned.
class DatasetScorer : public compress::Scorer {
 public:
  DatasetScorer(const train::Trainer& trainer, const train::Dataset& data)
      : trainer_(trainer), data_(data) {}
  int64_t samples() const override { return data_.n; }
  Result<double> score(const Model& model, int64_t n) override {
    return train::evaluate(trainer_, model, data_, n);
  }

 private:
  const train::Trainer& trainer_;
  const train::Dataset& data_;
};

// Where the validation figure comes from: labelled images, or --input arrays (agreement).
struct ValidationArgs {
  std::string images, labels;
  std::vector<std::string> inputs;  // NAME=FILE.npy or FILE (cli/model_inputs.h)
  ImageOptions pre;
  int64_t limit = 0;
  int threads = 0;
  std::string images_flag = "--images", labels_flag = "--labels", input_flag = "--input";
};

// The scorer for `args` (errors: neither or both kinds given, an empty set, images and labels
// that do not match, inputs that do not fit the model). *metric = "top1" or "agreement".
Result<std::unique_ptr<compress::Scorer>> make_scorer(const Model& model,
                                                      const std::string& model_path,
                                                      const ValidationArgs& args,
                                                      std::string* metric);

}  // namespace deepcomp::cli
