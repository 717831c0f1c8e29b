// `deepcomp bench --json` through the binary: the report's structure (one run per batch x
// threads, one layer per Gemm/MatMul/Conv weight, the other operators by type) and positive
// timings. No timing assertions.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::run_deepcomp;

void expect_report(const nlohmann::json& j, const std::string& model,
                   const std::vector<std::pair<int, int>>& batch_threads,
                   const std::vector<std::string>& weights,
                   const std::map<std::string, int>& others) {
  EXPECT_EQ(j["model"], model);
  ASSERT_TRUE(j["runs"].is_array());
  ASSERT_EQ(j["runs"].size(), batch_threads.size());
  for (size_t k = 0; k < batch_threads.size(); ++k) {
    const auto& run = j["runs"][k];
    SCOPED_TRACE(run.dump());
    EXPECT_EQ(run["threads"], batch_threads[k].first);
    EXPECT_EQ(run["batch"], batch_threads[k].second);
    for (const char* key : {"dense_ms", "sparse_ms", "speedup", "dense_samples_per_s",
                            "sparse_samples_per_s", "dense_profiled_ms", "sparse_profiled_ms"}) {
      ASSERT_TRUE(run[key].is_number()) << key;
      EXPECT_GT(run[key].get<double>(), 0) << key;
    }
    const double batch = run["batch"].get<double>();
    EXPECT_NEAR(run["dense_samples_per_s"].get<double>(),
                1000 * batch / run["dense_ms"].get<double>(),
                1e-6 * run["dense_samples_per_s"].get<double>());
    EXPECT_NEAR(run["speedup"].get<double>(),
                run["dense_ms"].get<double>() / run["sparse_ms"].get<double>(), 1e-9);
    ASSERT_EQ(run["layers"].size(), weights.size());
    for (size_t l = 0; l < weights.size(); ++l) {
      const auto& layer = run["layers"][l];
      EXPECT_EQ(layer["weight"], weights[l]);
      EXPECT_TRUE(layer["node"].is_string());
      const std::string op = layer["op"];
      EXPECT_TRUE(op == "Gemm" || op == "MatMul" || op == "Conv") << op;
      for (const char* key : {"dense_ms", "sparse_ms", "speedup"}) {
        EXPECT_GT(layer[key].get<double>(), 0) << key;
      }
      // A layer is part of the whole model's time in the same (profiled) runs.
      EXPECT_LT(layer["dense_ms"].get<double>(), run["dense_profiled_ms"].get<double>());
      EXPECT_LT(layer["sparse_ms"].get<double>(), run["sparse_profiled_ms"].get<double>());
    }
    // Every step without a weight, counted by operator type (the graph's, less what runs fused
    // into a layer).
    std::map<std::string, int> got;
    for (const auto& o : run["other_ops"]) {
      got[o["op"]] += o["nodes"].get<int>();
      EXPECT_GE(o["dense_ms"].get<double>(), 0);
      EXPECT_GE(o["sparse_ms"].get<double>(), 0);
      EXPECT_LT(o["dense_ms"].get<double>(), run["dense_profiled_ms"].get<double>());
    }
    EXPECT_EQ(got, others);
  }
}

TEST(BenchCli, JsonReportsEveryBatchThreadPairAndWeightLayerForOnnxAndDcz) {
  const std::string onnx = testing::source_dir() + "/models/lenet-300-100.onnx";
  if (!fs::exists(onnx)) GTEST_SKIP() << "models/lenet-300-100.onnx absent";
  const std::string dcz = testing::temp_dir() + "/l.dcz";
  auto r = run_deepcomp("compress " + onnx + " -o " + dcz);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string& model : {onnx, dcz}) {
    SCOPED_TRACE(model);
    r = run_deepcomp("bench " + model + " --batch 1,3 --threads 1,2 --repeat 3 --warmup 1 --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    // The file's six nodes: Flatten, then Gemm and Relu twice, then a last Gemm.
    expect_report(j, model, {{1, 1}, {1, 3}, {2, 1}, {2, 3}},
                  {"fc1.weight", "fc2.weight", "fc3.weight"}, {{"Flatten", 1}, {"Relu", 2}});
  }
}

// A model pinned to batch 1 runs batch B as B single-sample runs; its Conv and Gemm both appear.
TEST(BenchCli, FixedBatchModelRunsOneSampleAtATime) {
  DEEPCOMP_REQUIRE_SHARED();
  const std::string model = testing::shared_dir() + "/models/Convnet_maxpool.onnx";
  auto r = run_deepcomp("bench " + model + " --batch 2 --threads 1 --repeat 2 --warmup 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // Conv, Relu, MaxPool, Flatten, Gemm: the Relu runs inside the Conv (fused).
  expect_report(j, model, {{1, 2}}, {"conv1.0.weight", "out.weight"},
                {{"MaxPool", 1}, {"Flatten", 1}});
}

TEST(BenchCli, BadListsAreRejectedNamingTheOption) {
  const std::string onnx = testing::source_dir() + "/models/lenet-300-100.onnx";
  if (!fs::exists(onnx)) GTEST_SKIP() << "models/lenet-300-100.onnx absent";
  auto r = run_deepcomp("bench " + onnx + " --batch 1,x --json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--batch"), std::string::npos) << r.err;
  r = run_deepcomp("bench " + onnx + " --threads 0 --json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--threads"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace deepcomp
