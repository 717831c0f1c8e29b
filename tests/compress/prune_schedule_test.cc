// Iterative pruning with a tuner: the sparsity reached after each step, for the linear and the
// geometric schedule, on a layer with distinct magnitudes (so each target is hit exactly).
#include <gtest/gtest.h>

#include <cmath>

#include "compress/pipeline.h"

namespace deepcomp::compress {
namespace {

// Records how many weights each after_prune saw pruned; changes nothing.
class RecordingTuner : public FineTuner {
 public:
  Status after_prune(Model&, const std::vector<std::vector<uint8_t>>& masks) override {
    int64_t pruned = 0;
    for (uint8_t m : masks[0]) pruned += m == 0;
    pruned_per_step.push_back(pruned);
    return Status::Ok();
  }
  Status after_share(Model&, std::vector<SharedLayer>&) override { return Status::Ok(); }
  std::vector<int64_t> pruned_per_step;
};

Model ramp_model() {
  Tensor t;
  t.name = "fc.weight";
  t.shape = {10, 100};
  t.role = TensorRole::kFcWeight;
  for (int i = 0; i < 1000; ++i) t.values.push_back((i % 2 ? -1.0f : 1.0f) * (1 + i) / 1000.0f);
  Model m;
  m.skeleton = "skeleton";
  m.tensors.push_back(t);
  return m;
}

std::vector<int64_t> pruned_after_each_step(CompressOptions::PruneSchedule schedule) {
  RecordingTuner tuner;
  CompressOptions options;
  options.prune = 0.936;  // keep 6.4% = 0.4^3 after 3 steps
  options.prune_steps = 3;
  options.prune_schedule = schedule;
  options.tuner = &tuner;
  auto out = compress_model(ramp_model(), options);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return tuner.pruned_per_step;
}

TEST(PruneSchedule, LinearStepsTheSparsityEvenly) {
  // 0.936 * k/3 of 1000 weights: 312, 624, 936.
  EXPECT_EQ(pruned_after_each_step(CompressOptions::PruneSchedule::kLinear),
            (std::vector<int64_t>{312, 624, 936}));
}

TEST(PruneSchedule, GeometricRemovesTheSameFractionOfTheSurvivorsEachStep) {
  // Keep 0.4, 0.16, 0.064 of 1000: pruned 600, 840, 936 (each step keeps 40% of the survivors).
  EXPECT_EQ(pruned_after_each_step(CompressOptions::PruneSchedule::kGeometric),
            (std::vector<int64_t>{600, 840, 936}));
}

TEST(PruneSchedule, ParsesItsNames) {
  EXPECT_EQ(*parse_prune_schedule("linear"), CompressOptions::PruneSchedule::kLinear);
  EXPECT_EQ(*parse_prune_schedule("geometric"), CompressOptions::PruneSchedule::kGeometric);
  EXPECT_FALSE(parse_prune_schedule("cubic").ok());
}

}  // namespace
}  // namespace deepcomp::compress
