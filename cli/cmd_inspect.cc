// `deepcomp inspect MODEL [--json]`: what is in a model (metadata, graph inputs/outputs, every
// tensor with its role, location and statistics, totals). The summary comes from
// toolkit/inspect_file.h (the library's deepcomp::inspect gives the same JSON); this file parses
// the flags and prints.
#include <cstdio>

#include "cli/command.h"
#include "core/file_io.h"
#include "toolkit/inspect_dcz.h"
#include "toolkit/inspect_file.h"
#include "toolkit/inspect_onnx.h"
#include "toolkit/weight_histograms.h"

namespace deepcomp::cli {
namespace {

struct InspectOptions {
  std::string path;
  bool json = false;
  std::string plot_dir;  // --plot: per-layer weight histograms (toolkit/weight_histograms.h)
  std::string original;  // --original: the uncompressed .onnx, for the "before" histograms
};

// The summary (toolkit/inspect_file.h), then for a .dcz the --plot histograms.
int inspect_file(const InspectOptions& opts, bool is_dcz) {
  auto summary = inspect_summary(opts.path);
  if (!summary.ok()) return print_error(summary.status());
  const std::string text = opts.json ? summary->dump(2) + "\n"
                           : is_dcz  ? dcz_summary_text(*summary)
                                     : model_summary_text(*summary);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!opts.plot_dir.empty()) {
    std::vector<std::string> written;
    Status s = write_weight_histograms(opts.path, opts.original, opts.plot_dir, &written);
    if (!s.ok()) return print_error(s);
    std::fprintf(stderr, "wrote %zu weight histograms to %s\n", written.size(),
                 opts.plot_dir.c_str());
  }
  return 0;
}

int run_inspect(const InspectOptions& opts) {
  if ((!opts.plot_dir.empty() || !opts.original.empty()) && file_magic(opts.path) != "DCZ")
    return print_error(opts.path + ": --plot and --original apply to .dcz files only");
  if (!opts.original.empty() && opts.plot_dir.empty())
    return print_error("--original is used with --plot DIR");
  if (!opts.plot_dir.empty()) {
    // Checked before the summary is printed, so a bad folder fails with no output at all.
    WriteOptions write;
    write.inputs = {opts.path};
    if (!opts.original.empty()) write.inputs.push_back(opts.original);
    if (Status s = check_outputs({}, {opts.plot_dir}, write); !s.ok()) return print_error(s);
  }
  return inspect_file(opts, file_magic(opts.path) == "DCZ");
}

DEEPCOMP_REGISTER_COMMAND(
    inspect_command, "inspect", 30, [](CLI::App& app) -> std::function<int()> {
      auto opts = std::make_shared<InspectOptions>();
      CLI::App* sub = app.add_subcommand(
          "inspect",
          "Show what is in a model: producer, IR version, opsets, graph inputs and outputs, and "
          "every weight tensor (initializers and Constant nodes, in all subgraphs) with its role, "
          "shape, dtype, location, size and value statistics; totals by role.");
      sub->add_option("MODEL", opts->path, "The .onnx model or .dcz file to inspect")->required();
      sub->add_flag("--json", opts->json,
                    "Print a JSON document instead of the table: producer, producer_version, "
                    "ir_version, opsets, inputs, outputs, tensors (name, role, shape, dtype, "
                    "location, params, bytes, min, max, mean, std, zeros), by_role, total");
      sub->add_option("--plot", opts->plot_dir,
                      "For a .dcz: write DIR/<tensor>.svg per compressed layer, the weight "
                      "distribution before and after pruning and sharing, with the shared values");
      sub->add_option("--original", opts->original,
                      "With --plot: the uncompressed .onnx, for the original weights' histogram");
      return [opts] { return run_inspect(*opts); };
    });

}  // namespace
}  // namespace deepcomp::cli
