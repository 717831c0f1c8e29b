// `deepcomp compare REFERENCE CANDIDATE --input ...`: runs two models (.onnx or .dcz, typically an
// original and its compressed form) on the same inputs and reports, per graph output, how far the
// candidate is from the reference without labels (toolkit/output_compare.h): max_abs, rel_l2, cosine
// and top-1 agreement. Text table, or --json.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cli/command.h"
#include "toolkit/model_inputs.h"
#include "toolkit/model_source.h"
#include "toolkit/output_compare.h"
#include "runtime/session.h"

namespace deepcomp::cli {
namespace {

struct CompareArgs {
  std::string reference, candidate;
  std::vector<std::string> inputs;
  KernelFlags kernel;
  int threads = 1;
  bool json = false;
};

std::string name_list(const std::vector<ValueInfo>& infos) {
  std::string s;
  for (const ValueInfo& v : infos) s += (s.empty() ? "" : ", ") + v.name;
  return "(" + s + ")";
}

std::set<std::string> names_of(const std::vector<ValueInfo>& infos) {
  std::set<std::string> names;
  for (const ValueInfo& v : infos) names.insert(v.name);
  return names;
}

// The models must agree on input and output names: the inputs are fed to both, the outputs are
// matched by name. The plain --input form feeds each model's first input, so those must agree too.
Status check_same_interface(const runtime::Session& ref, const runtime::Session& cand,
                            const CompareArgs& args, bool plain) {
  if (names_of(ref.inputs()) != names_of(cand.inputs())) {
    return Status::Error("the models have different inputs: " + args.reference + " " +
                         name_list(ref.inputs()) + ", " + args.candidate + " " +
                         name_list(cand.inputs()));
  }
  if (names_of(ref.outputs()) != names_of(cand.outputs())) {
    return Status::Error("the models have different outputs: " + args.reference + " " +
                         name_list(ref.outputs()) + ", " + args.candidate + " " +
                         name_list(cand.outputs()));
  }
  if (plain && !ref.inputs().empty() && ref.inputs()[0].name != cand.inputs()[0].name) {
    return Status::Error("--input without NAME= feeds the first input, which is '" +
                         ref.inputs()[0].name + "' in " + args.reference + " but '" +
                         cand.inputs()[0].name + "' in " + args.candidate + ": name it");
  }
  return Status::Ok();
}

nlohmann::ordered_json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

std::string text_number(double v) { return std::isnan(v) ? "nan" : fmt::format("{:.6g}", v); }

int run_compare(const CompareArgs& args) {
  auto specs = parse_input_specs(args.inputs, /*allow_plain=*/true);
  if (!specs.ok()) return print_error(specs.status());
  bool plain = false;
  for (const InputSpec& s : *specs) plain |= s.name.empty();
  auto ref = load_for_kernel_flags(args.reference, args.kernel, args.threads);
  if (!ref.ok()) return print_error(ref.status());
  auto cand = load_for_kernel_flags(args.candidate, args.kernel, args.threads);
  if (!cand.ok()) return print_error(cand.status());
  if (Status s = check_same_interface(ref->session, cand->session, args, plain); !s.ok())
    return print_error(s);
  // Each model checks the arrays against its own declarations (dtype, static dims).
  auto ref_inputs = load_model_inputs(*specs, ref->session.inputs());
  if (!ref_inputs.ok()) return print_error(ref_inputs.status().WithContext(args.reference));
  auto cand_inputs = load_model_inputs(*specs, cand->session.inputs());
  if (!cand_inputs.ok()) return print_error(cand_inputs.status().WithContext(args.candidate));
  auto ref_out = run_on_inputs(ref->session, *ref_inputs);
  if (!ref_out.ok()) return print_error(ref_out.status().WithContext(args.reference));
  auto cand_out = run_on_inputs(cand->session, *cand_inputs);
  if (!cand_out.ok()) return print_error(cand_out.status().WithContext(args.candidate));

  std::vector<OutputComparison> rows;
  const auto& cand_infos = cand->session.outputs();
  for (size_t k = 0; k < ref->session.outputs().size(); ++k) {
    const std::string& name = ref->session.outputs()[k].name;
    size_t j = 0;
    while (cand_infos[j].name != name) ++j;  // present: the name sets are equal
    auto row = compare_outputs(name, (*ref_out)[k], (*cand_out)[j], ref_inputs->samples);
    if (!row.ok()) return print_error(row.status());
    rows.push_back(std::move(*row));
  }

  if (args.json) {
    nlohmann::ordered_json doc;
    doc["outputs"] = nlohmann::ordered_json::array();
    for (const OutputComparison& r : rows) {
      nlohmann::ordered_json o;
      o["name"] = r.name;
      o["shape"] = r.shape;
      o["max_abs"] = number_or_null(r.max_abs);
      o["rel_l2"] = number_or_null(r.rel_l2);
      o["cosine"] = number_or_null(r.cosine);
      o["top1_agreement"] = r.top1_agreement ? nlohmann::ordered_json(*r.top1_agreement) : nullptr;
      o["dtype"] = dtype_name(r.dtype);
      o["samples"] = r.samples;
      o["positions"] = r.positions;
      doc["outputs"].push_back(o);
    }
    std::cout << doc.dump(2) << "\n";
    return 0;
  }
  std::cout << "reference: " << ref->opened.description << "\n";
  std::cout << "candidate: " << cand->opened.description << "\n";
  if (ref_inputs->samples > 1) {
    std::cout << "samples:   " << ref_inputs->samples
              << " (compared one by one: max_abs is the largest, rel_l2 and cosine the mean)\n";
  }
  size_t width = 6;
  for (const OutputComparison& r : rows) width = std::max(width, r.name.size());
  std::cout << fmt::format("\n{:<{}}  {:<8} {:<14} {:>12} {:>12} {:>10} {:>8}\n", "output", width,
                           "dtype", "shape", "max_abs", "rel_l2", "cosine", "top1");
  for (const OutputComparison& r : rows) {
    const std::string top1 =
        r.top1_agreement ? fmt::format("{:.4f}", *r.top1_agreement) : std::string("-");
    std::cout << fmt::format("{:<{}}  {:<8} {:<14} {:>12} {:>12} {:>10} {:>8}\n", r.name, width,
                             dtype_name(r.dtype), runtime::shape_string(r.shape),
                             text_number(r.max_abs), text_number(r.rel_l2), text_number(r.cosine),
                             top1);
  }
  return 0;
}

std::function<int()> setup_compare(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Run two models (e.g. an .onnx and its .dcz) on the same inputs and show, per output, "
      "what compression cost without labels: max_abs, rel_l2, cosine, top-1 agreement.");
  cmd->add_option("reference", args->reference, "Reference model: .onnx or .dcz")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("candidate", args->candidate, "Candidate model: .onnx or .dcz")
      ->required()
      ->check(CLI::ExistingFile);
  add_input_option(cmd, &args->inputs,
                   "Repeatable, as for run: NAME=FILE.npy (whole tensor of input NAME), or FILE "
                   "(first input, first axis = samples: run as a batch and compared sample by "
                   "sample)")
      ->required();
  cmd->add_flag("--json", args->json,
                "Print {\"outputs\": [{\"name\", \"shape\", \"max_abs\", \"rel_l2\", \"cosine\", "
                "\"top1_agreement\", \"dtype\", \"samples\", \"positions\"}]}");
  add_kernel_flags(cmd, &args->kernel);
  cmd->add_option("--threads", args->threads, "OpenMP threads (default 1; 0 = OpenMP default)")
      ->check(CLI::NonNegativeNumber);
  cmd->footer(
      "Per output, r = reference, c = candidate: max_abs = max |c - r|; rel_l2 = ||c - r|| / "
      "||r||; cosine = c.r / (||c|| ||r||); top1_agreement = fraction of positions whose argmax "
      "over the last axis agrees (null when the last axis has one element). With the plain "
      "--input form each sample is compared alone: max_abs is the largest over samples, rel_l2 "
      "and cosine the mean over samples, top-1 counts every sample's positions. Both models "
      "must have the same input and output names.");
  return [args] { return run_compare(*args); };
}

DEEPCOMP_REGISTER_COMMAND(compare_command, "compare", 45, setup_compare);

}  // namespace
}  // namespace deepcomp::cli
