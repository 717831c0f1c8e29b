// `deepcomp train IN.onnx -o OUT.onnx --train-images F --train-labels F`: plain (unmasked) training
// epochs with train/'s optimizers, writing the trained ONNX model; `--gradients DIR` writes the
// loss gradient of one batch per parameter instead. A debugging and verification command: it exists
// so that bench/train_vs_torch.py can compare deepcomp's gradients and SGD/Adam epochs with
// PyTorch's.
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "core/file_io.h"
#include "data/idx.h"
#include "onnx_io/onnx_io.h"
#include "train/retrain.h"

namespace deepcomp::cli {
namespace {

struct TrainArgs {
  std::string input, output, gradients_dir;
  std::string train_images, train_labels, val_images, val_labels;
  std::string optimizer = "sgd", lr_schedule = "constant";
  train::Preprocess pre;
  train::OptimizerOptions optim;
  int epochs = 1;
  int64_t limit = 0;
  bool force = false;
};

// A tensor name as a file name: anything but [A-Za-z0-9._-] becomes '_'.
std::string file_safe(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  return out;
}

// The mean-loss gradient over the first --batch samples (file order), one .npy per parameter.
Status write_gradients(const TrainArgs& args, const train::Trainer& trainer, const Model& model,
                       const train::Dataset& data) {
  const int64_t n = std::min<int64_t>(data.n, args.optim.batch);
  std::vector<std::vector<float>> grads;
  DEEPCOMP_ASSIGN_OR_RETURN(train::BatchResult r,
                            trainer.gradients(model, data.x.data(), data.labels.data(), n, &grads));
  WriteOptions write;
  write.force = args.force;
  for (size_t p = 0; p < trainer.params().size(); ++p) {
    const Tensor& t = model.tensors[trainer.params()[p]];
    const std::string path = args.gradients_dir + "/" + file_safe(t.name) + ".npy";
    DEEPCOMP_RETURN_IF_ERROR(write_file_atomic(path, data::npy_bytes(t.shape, grads[p]), write));
  }
  std::cout << fmt::format("gradients of {} parameters over {} samples: loss {:.8f}\n",
                           trainer.params().size(), n, r.loss);
  return Status::Ok();
}

Status run_train(const TrainArgs& args) {
  if (args.output.empty() && args.gradients_dir.empty())
    return Status::Error("train needs -o OUT.onnx or --gradients DIR");
  if (args.val_images.empty() != args.val_labels.empty())
    return Status::Error("--val-images and --val-labels go together");
  if (args.epochs < 0) return Status::Error("--epochs must be >= 0");
  if (args.limit < 0) return Status::Error("--limit must be >= 0");
  train::OptimizerOptions optim = args.optim;
  DEEPCOMP_ASSIGN_OR_RETURN(optim.kind, train::parse_optimizer(args.optimizer));
  DEEPCOMP_ASSIGN_OR_RETURN(optim.schedule, train::parse_lr_schedule(args.lr_schedule));
  DEEPCOMP_RETURN_IF_ERROR(train::validate_optimizer(optim));
  WriteOptions write;
  write.force = args.force;
  write.inputs = {args.input};
  if (!args.output.empty()) DEEPCOMP_RETURN_IF_ERROR(check_output_path(args.output, write));

  DEEPCOMP_ASSIGN_OR_RETURN(Model model, onnx_io::load_model(args.input));
  auto trainer = train::Trainer::create(model);
  if (!trainer.ok()) return trainer.status().WithContext(args.input);
  DEEPCOMP_ASSIGN_OR_RETURN(
      train::Dataset data,
      train::load_dataset(args.train_images, args.train_labels, args.pre, **trainer));
  if (args.limit > 0 && args.limit < data.n) {
    data.n = args.limit;
    data.x.resize(static_cast<size_t>(data.n * data.sample));
    data.labels.resize(static_cast<size_t>(data.n));
  }
  if (!args.gradients_dir.empty())
    DEEPCOMP_RETURN_IF_ERROR(write_gradients(args, **trainer, model, data));
  if (args.output.empty()) return Status::Ok();

  std::optional<train::Dataset> val;
  if (!args.val_images.empty()) {
    DEEPCOMP_ASSIGN_OR_RETURN(
        val, train::load_dataset(args.val_images, args.val_labels, args.pre, **trainer));
  }
  train::Optimizer opt(optim, train::param_sizes(**trainer, model));
  train::PhaseClock clock;
  clock.total = args.epochs * train::batches_per_epoch(data.n, optim.batch);
  for (int e = 0; e < args.epochs; ++e) {
    const std::vector<int64_t> order = train::epoch_order(data.n, optim.seed, e);
    DEEPCOMP_ASSIGN_OR_RETURN(train::EpochLog log,
                              train_epoch(**trainer, model, data, order, opt, nullptr, &clock));
    std::string line = fmt::format("epoch {}/{}: loss {:.6f}, training accuracy {:.2f}%", e + 1,
                                   args.epochs, log.loss, 100 * log.accuracy);
    if (val) {
      DEEPCOMP_ASSIGN_OR_RETURN(double acc, train::evaluate(**trainer, model, *val));
      line += fmt::format(", validation accuracy {:.2f}%", 100 * acc);
    }
    std::cout << line << "\n" << std::flush;
  }
  if (Status s = onnx_io::save_model(model, args.output, onnx_io::SaveOptions{write}); !s.ok())
    return s;
  std::cout << "wrote " << args.output << "\n";
  return Status::Ok();
}

std::function<int()> setup_train(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Plain training epochs (no pruning) or one batch's gradients, for verification");
  cmd->group("");  // a debugging command: not listed in --help
  cmd->add_option("input", args->input, "Input ONNX model")->required()->check(CLI::ExistingPath);
  cmd->add_option("-o,--output", args->output, "Write the trained model here (ONNX)");
  cmd->add_option("--gradients", args->gradients_dir,
                  "Write the mean-loss gradient over the first --batch samples (file order), one "
                  "NAME.npy per parameter, into this existing folder");
  cmd->add_flag("--force", args->force, "Replace existing outputs");
  cmd->add_option("--train-images", args->train_images, "Training images (IDX or .npy)")
      ->required();
  cmd->add_option("--train-labels", args->train_labels, "Training labels (IDX or .npy)")
      ->required();
  cmd->add_option("--val-images", args->val_images,
                  "Validation images (accuracy after each epoch)");
  cmd->add_option("--val-labels", args->val_labels, "Validation labels");
  cmd->add_option("--limit", args->limit, "Use only the first N training samples");
  cmd->add_option("--scale", args->pre.scale, "Pixel scale: (pixel*scale - mean)/std")
      ->default_val(1.0 / 255.0);
  cmd->add_option("--mean", args->pre.mean, "Mean subtracted after scaling")->default_val(0.0);
  cmd->add_option("--std", args->pre.std, "Divisor after subtracting the mean")->default_val(1.0);
  cmd->add_option("--epochs", args->epochs, "Epochs")->default_val(1);
  cmd->add_option("--optimizer", args->optimizer, "sgd or adam")->default_val("sgd");
  cmd->add_option("--lr", args->optim.lr, "Learning rate")->default_val(0.01);
  cmd->add_option("--lr-schedule", args->lr_schedule, "constant, cosine or step")
      ->default_val("constant");
  cmd->add_option("--momentum", args->optim.momentum, "SGD momentum")->default_val(0.9);
  cmd->add_option("--weight-decay", args->optim.weight_decay, "Weight decay (L2)")
      ->default_val(0.0);
  cmd->add_option("--batch", args->optim.batch, "Mini-batch size")->default_val(64);
  cmd->add_option("--train-seed", args->optim.seed, "Seed of the batch order (train::epoch_order)")
      ->default_val(0);
  return [args] {
    Status s = run_train(*args);
    return s.ok() ? 0 : print_error(s);
  };
}

DEEPCOMP_REGISTER_COMMAND(train_command, "train", 90, setup_train);

}  // namespace
}  // namespace deepcomp::cli
