// Scorers for the budget commands (toolkit/budget_scorer.h).
#include "toolkit/budget_scorer.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>

#include "toolkit/output_compare.h"
#include "runtime/batch.h"
#include "runtime/session.h"

namespace deepcomp::cli {
namespace {

// Threads for a scoring run. A graph pinned to batch 1 runs sample by sample (runtime/batch.h),
// and OpenMP regions over one sample cost more than they save: on the shared 2-core machine,
// under load, the default of 2 threads made the sensitivity grid of mnist-net_256x2 21x slower
// (166 s against 7.8 s, bench/RESULTS.md). So such runs take 1 thread unless a count is given.
int run_threads(int requested, const ValueInfo& input, int64_t n) {
  if (requested > 0) return requested;
  const bool free_batch =
      !input.has_shape || input.dims.empty() || input.dims[0] < 0 || input.dims[0] == n;
  return free_batch ? 0 : 1;
}

// Session::create sets the process's OpenMP thread count; this puts the caller's back.
class ThreadsRestore {
 public:
  ThreadsRestore() : saved_(omp_get_max_threads()) {}
  ~ThreadsRestore() { omp_set_num_threads(saved_); }
  ThreadsRestore(const ThreadsRestore&) = delete;
  ThreadsRestore& operator=(const ThreadsRestore&) = delete;

 private:
  int saved_;
};

}  // namespace

LabelledScorer::LabelledScorer(ImageSet set, ImageOptions options, int threads,
                               std::string model_path)
    : set_(std::move(set)),
      options_(options),
      threads_(threads),
      model_path_(std::move(model_path)) {}

Result<double> LabelledScorer::score(const Model& model, int64_t n) {
  n = std::clamp<int64_t>(n, 1, set_.count);
  auto it = batches_.find(n);
  if (it == batches_.end()) it = batches_.emplace(n, image_batch(set_, options_, 0, n)).first;
  if (model.graph.inputs.size() != 1)
    return Status::Error("labelled scoring needs a model with one graph input");
  ThreadsRestore restore;
  runtime::SessionOptions so;
  so.threads = run_threads(threads_, model.graph.inputs[0], n);
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::Session session, runtime::Session::create(model, so));
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::BatchRun run, runtime::run_batch(session, it->second));
  AccuracyCounter counter(set_, model_path_);
  DEEPCOMP_RETURN_IF_ERROR(counter.add(run.outputs.at(0), 0, n));
  return static_cast<double>(counter.top1()) / static_cast<double>(n);
}

Result<std::unique_ptr<AgreementScorer>> AgreementScorer::create(const Model& original,
                                                                 ModelInputs inputs, int threads) {
  if (original.graph.outputs.empty()) return Status::Error("the model has no outputs");
  std::unique_ptr<AgreementScorer> s(new AgreementScorer(std::move(inputs), threads));
  s->output_name_ = original.graph.outputs[0].name;
  runtime::SessionOptions so;
  so.threads = threads;
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::Session session, runtime::Session::create(original, so));
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<runtime::Value> outs, run_on_inputs(session, s->inputs_));
  if (outs.empty()) return Status::Error("the model has no outputs");
  s->reference_ = std::move(outs[0]);
  return s;
}

Result<double> AgreementScorer::score(const Model& model, int64_t /*n*/) {
  ThreadsRestore restore;
  runtime::SessionOptions so;
  so.threads = threads_;
  if (inputs_.batched && *inputs_.batched < model.graph.inputs.size())
    so.threads = run_threads(threads_, model.graph.inputs[*inputs_.batched], inputs_.samples);
  DEEPCOMP_ASSIGN_OR_RETURN(runtime::Session session, runtime::Session::create(model, so));
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<runtime::Value> outs, run_on_inputs(session, inputs_));
  if (outs.empty()) return Status::Error("the model has no outputs");
  DEEPCOMP_ASSIGN_OR_RETURN(OutputComparison c,
                            compare_outputs(output_name_, reference_, outs[0], inputs_.samples));
  if (c.top1_agreement) return *c.top1_agreement;
  return std::max(0.0, 1.0 - c.rel_l2);
}

Result<std::unique_ptr<compress::Scorer>> make_scorer(const Model& model,
                                                      const std::string& model_path,
                                                      const ValidationArgs& args,
                                                      std::string* metric) {
  DEEPCOMP_ASSIGN_OR_RETURN(std::vector<InputSpec> specs,
                            parse_input_specs(args.inputs, /*allow_plain=*/true));
  const bool labelled = !args.images.empty() || !args.labels.empty();
  if (!specs.empty() && labelled)
    return Status::Error(args.input_flag + " and " + args.images_flag + "/" + args.labels_flag +
                         " exclude each other");
  if (specs.empty() && (args.images.empty() || args.labels.empty()))
    return Status::Error("validation data missing: give " + args.images_flag + " and " +
                         args.labels_flag + " (accuracy), or " + args.input_flag +
                         " (agreement with the original model)");
  DEEPCOMP_RETURN_IF_ERROR(validate_image_options(args.pre));
  if (!specs.empty()) {
    DEEPCOMP_ASSIGN_OR_RETURN(ModelInputs inputs, load_model_inputs(specs, model.graph.inputs));
    if (inputs.samples <= 0) return Status::Error(args.input_flag + ": no samples");
    *metric = "agreement";
    DEEPCOMP_ASSIGN_OR_RETURN(std::unique_ptr<AgreementScorer> s,
                              AgreementScorer::create(model, std::move(inputs), args.threads));
    return std::unique_ptr<compress::Scorer>(std::move(s));
  }
  if (model.graph.inputs.size() != 1)
    return Status::Error(model_path + ": the model has " +
                         std::to_string(model.graph.inputs.size()) +
                         " graph inputs; labelled validation needs one image input (or use " +
                         args.input_flag + ")");
  DEEPCOMP_ASSIGN_OR_RETURN(
      ImageSet set,
      load_image_set(args.images, args.labels, model.graph.inputs[0], args.pre, args.limit));
  if (set.count <= 0) return Status::Error(args.images + ": the validation set is empty");
  *metric = "top1";
  return std::unique_ptr<compress::Scorer>(
      std::make_unique<LabelledScorer>(std::move(set), args.pre, args.threads, model_path));
}

}  // namespace deepcomp::cli
