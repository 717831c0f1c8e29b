// run_batch: whole-batch runs when the graph allows it, else one run per sample.
#include "runtime/batch.h"

#include <algorithm>

namespace deepcomp::runtime {

Value sample_of(const Value& stacked, int64_t k) {
  Value v;
  v.dtype = stacked.dtype;
  v.shape = stacked.shape;
  v.shape[0] = 1;
  const int64_t per = v.numel();
  if (stacked.is_float()) {
    v.f.assign(stacked.f.begin() + k * per, stacked.f.begin() + (k + 1) * per);
  } else {
    v.i.assign(stacked.i.begin() + k * per, stacked.i.begin() + (k + 1) * per);
  }
  return v;
}

Result<BatchRun> run_batch(Session& session, const Value& stacked) {
  if (session.inputs().size() != 1) {
    return Status::Error("run_batch: the graph has " + std::to_string(session.inputs().size()) +
                         " inputs; batching needs exactly one");
  }
  return run_batch(session, std::vector<Value>{stacked}, 0);
}

Result<BatchRun> run_batch(Session& session, const std::vector<Value>& inputs, size_t batched) {
  if (inputs.size() != session.inputs().size() || batched >= inputs.size()) {
    return Status::Error("run_batch: " + std::to_string(inputs.size()) +
                         " inputs for a graph with " + std::to_string(session.inputs().size()) +
                         ", batched input " + std::to_string(batched));
  }
  const Value& stacked = inputs[batched];
  int64_t n = 0;
  if (stacked.rank() < 1 || !checked_numel(stacked.shape, &n) || n != stacked.stored()) {
    return Status::Error("run_batch: malformed input " + describe(stacked));
  }
  const int64_t count = stacked.shape[0];
  const ValueInfo& info = session.inputs()[batched];
  const bool free_batch =
      !info.has_shape || info.dims.empty() || info.dims[0] < 0 || info.dims[0] == count;
  BatchRun result;
  if (free_batch) {
    DEEPCOMP_ASSIGN_OR_RETURN(result.outputs, session.run(inputs));
    result.batched = true;
    return result;
  }
  std::vector<Value> one;  // the whole tensors, and sample k in the batched slot
  for (size_t j = 0; j < inputs.size(); ++j) one.push_back(j == batched ? Value{} : inputs[j]);
  for (int64_t k = 0; k < count; ++k) {
    one[batched] = sample_of(stacked, k);
    auto out = session.run(one);
    if (!out.ok()) return out.status().WithContext("sample " + std::to_string(k));
    if (k == 0) {
      result.outputs = std::move(out).value();
      for (Value& v : result.outputs) {
        // Each sample's output gets (or keeps) a leading axis that the samples stack along.
        if (v.shape.empty() || v.shape[0] != 1) v.shape.insert(v.shape.begin(), 1);
      }
      continue;
    }
    std::vector<Value>& outs = out.value();
    for (size_t j = 0; j < outs.size(); ++j) {
      Value& acc = result.outputs[j];
      const Value& v = outs[j];
      std::vector<int64_t> tail(acc.shape.begin() + 1, acc.shape.end());
      std::vector<int64_t> vshape = v.shape;
      if (vshape.empty() || vshape[0] != 1) vshape.insert(vshape.begin(), 1);
      if (v.dtype != acc.dtype || std::vector<int64_t>(vshape.begin() + 1, vshape.end()) != tail) {
        return Status::Error("run_batch: sample " + std::to_string(k) + " output " +
                             std::to_string(j) + " is " + describe(v) + ", unlike sample 0");
      }
      acc.f.insert(acc.f.end(), v.f.begin(), v.f.end());
      acc.i.insert(acc.i.end(), v.i.begin(), v.i.end());
      acc.shape[0] += 1;
    }
  }
  return result;
}

}  // namespace deepcomp::runtime
