// The sensitivity analysis (toolkit/sensitivity_run.h), moved out of cli/cmd_sensitivity.cc.
#include "toolkit/sensitivity_run.h"

#include <fmt/format.h>

#include <cmath>

#include "onnx_io/onnx_io.h"

namespace deepcomp::cli {

Status check_sensitivity_settings(const SensitivitySettings& settings) {
  const compress::SensitivityOptions& o = settings.options;
  if (o.rates.empty()) return Status::Error("--rates: no prune rates");
  if (o.bits.empty()) return Status::Error("--bits: no bit widths");
  for (double r : o.rates)
    if (!(r > 0 && r < 1))
      return Status::Error(fmt::format("--rates: {} is not a sparsity in (0,1)", r));
  for (int b : o.bits)
    if (b < 1 || b > 16)
      return Status::Error(fmt::format("--bits: {} is not a bit width in 1..16", b));
  if (o.subset < 1) return Status::Error("--subset must be at least 1");
  if (o.refine < 0 || o.refine > 20) return Status::Error("--refine must be in 0..20");
  if (!(o.edge_loss >= 0) || !std::isfinite(o.edge_loss))
    return Status::Error("--max-loss must be a non-negative number of points");
  if (settings.validation.limit < 0) return Status::Error("--limit must be >= 0");
  return Status::Ok();
}

Result<SensitivityRun> sensitivity_model(const SensitivitySettings& settings) {
  DEEPCOMP_RETURN_IF_ERROR(check_sensitivity_settings(settings));
  DEEPCOMP_ASSIGN_OR_RETURN(Model model, onnx_io::load_model(settings.model));
  SensitivityRun run;
  DEEPCOMP_ASSIGN_OR_RETURN(std::unique_ptr<compress::Scorer> scorer,
                            make_scorer(model, settings.model, settings.validation, &run.metric));
  auto result = compress::analyze_sensitivity(model, settings.base, *scorer, settings.options);
  if (!result.ok()) return result.status().WithContext(settings.model);
  run.result = std::move(*result);
  return run;
}

}  // namespace deepcomp::cli
