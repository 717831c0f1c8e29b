// The exact 1-D k-means is never worse than any initialization followed by Lloyd, on the surviving
// weights of real trained layers (models/ and the shared pretrained models).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "compress/kmeans_1d.h"
#include "compress/prune.h"
#include "onnx_io/onnx_io.h"
#include "tests/test_util.h"

namespace deepcomp::compress {
namespace {

TEST(KMeansRealLayers, OptimalIsNeverWorseThanAnyInit) {
  std::vector<std::string> models = {testing::source_dir() + "/models/lenet-300-100.onnx",
                                     testing::source_dir() + "/models/lenet-5.onnx"};
  if (!testing::shared_dir().empty())
    models.push_back(testing::shared_dir() + "/models/mnist-net_256x2.onnx");
  int layers = 0;
  for (const std::string& path : models) {
    if (!std::filesystem::exists(path)) continue;
    auto model = onnx_io::load_model(path);
    ASSERT_TRUE(model.ok()) << model.status().message();
    for (const Tensor& t : model->tensors) {
      if (!is_weight_role(t.role) || t.numel() < 1000) continue;
      SCOPED_TRACE(path + " " + t.name);
      std::vector<float> w = t.values;
      prune_below(w, magnitude_threshold_for_sparsity(w, 0.9));
      std::vector<float> kept;
      for (float v : w)
        if (v != 0.0f) kept.push_back(v);
      for (int k : {16, 32}) {
        auto optimal = kmeans_1d(kept, KMeansOptions{k, KMeansInit::kOptimal, 0, 0});
        ASSERT_TRUE(optimal.ok()) << optimal.status().message();
        for (KMeansInit init : {KMeansInit::kLinear, KMeansInit::kDensity, KMeansInit::kRandom,
                                KMeansInit::kKMeansPlusPlus}) {
          auto other = kmeans_1d(kept, KMeansOptions{k, init, 300, 7});
          ASSERT_TRUE(other.ok());
          EXPECT_LE(optimal->inertia, other->inertia * (1 + 1e-9))
              << kmeans_init_name(init) << " k=" << k;
          // Re-seeding empty clusters keeps every centroid (trained weights have far more
          // distinct values than k) and never does worse than dropping them.
          EXPECT_EQ(other->centroids.size(), static_cast<size_t>(k));
          KMeansOptions drop{k, init, 300, 7};
          drop.empty_clusters = EmptyClusters::kDrop;
          auto dropped = kmeans_1d(kept, drop);
          ASSERT_TRUE(dropped.ok());
          EXPECT_LE(other->inertia, dropped->inertia * (1 + 1e-9)) << kmeans_init_name(init);
        }
      }
      ++layers;
    }
  }
  if (layers == 0) GTEST_SKIP() << "no models found";
}

}  // namespace
}  // namespace deepcomp::compress
