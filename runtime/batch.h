// Running N samples through a Session whose graph may be pinned to batch 1 (as the shared
// models are: fixed leading dimension, Reshape targets with a hard-coded 1). Depends on
// runtime/session.h only.
#pragma once

#include <vector>

#include "core/status.h"
#include "runtime/session.h"
#include "runtime/value.h"

namespace deepcomp::runtime {

struct BatchRun {
  std::vector<Value> outputs;  // each graph output, samples stacked along axis 0
  bool batched = false;        // true: one run over the whole batch; false: one run per sample
};

// `inputs` holds one value per graph input, in order; inputs[batched] holds N samples along axis
// 0, the others are whole tensors that every run gets unchanged. When the batched input's leading
// dimension is declared free (symbolic or unknown), or already equals N, the whole batch runs at
// once; otherwise each sample runs alone (with a leading dimension of 1) and the outputs are
// stacked. Looping is the safe default: batch-1 graphs hard-code shapes that a batched run would
// silently mix across samples.
Result<BatchRun> run_batch(Session& session, const std::vector<Value>& inputs, size_t batched);

// The same for a session with a single graph input.
Result<BatchRun> run_batch(Session& session, const Value& stacked);

// Sample k of a stacked value, keeping a leading dimension of 1.
Value sample_of(const Value& stacked, int64_t k);

}  // namespace deepcomp::runtime
