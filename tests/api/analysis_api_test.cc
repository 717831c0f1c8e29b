// deepcomp::sweep and deepcomp::sensitivity (include/deepcomp/analysis.h) against the `deepcomp
// sweep` and `deepcomp sensitivity` commands run on the same settings: the same rows (every
// field against the command's --json file), the same CSV and JSON bytes; and bad settings give
// errors naming the flag. The commands' own correctness is pinned by tests/cli/sweep_test.cc and
// budget_cli_test.cc against independent runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/idx.h"
#include "data/npy.h"
#include "deepcomp/deepcomp.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_deepcomp;
using testing::temp_dir;

const char* kImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const char* kLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
constexpr int kVal = 300;

std::string lenet300() { return testing::source_dir() + "/models/lenet-300-100.onnx"; }

bool have_data() { return fs::exists(kImages) && fs::exists(kLabels) && fs::exists(lenet300()); }

// The first kVal test images as model input ([N,784] in [0,1]) for the unlabelled forms.
std::string write_inputs(const std::string& dir) {
  auto images = data::read_idx(kImages);
  EXPECT_TRUE(images.ok());
  std::vector<float> x(images->values.begin(), images->values.begin() + kVal * 784);
  for (float& v : x) v /= 255.0f;
  const std::string path = dir + "/inputs.npy";
  testing::write_text(path, data::npy_bytes({kVal, 784}, x));
  return path;
}

// Every field of an API row against the command's JSON object for it.
void expect_row_equals_json(const SweepRow& r, const nlohmann::json& j) {
  EXPECT_EQ(r.prune, j["prune"].get<double>());
  EXPECT_EQ(r.bits, j["bits"].get<int>());
  EXPECT_EQ(r.init, j["init"].get<std::string>());
  EXPECT_EQ(r.params, j["params"].get<int64_t>());
  EXPECT_EQ(r.nonzero, j["nonzero"].get<int64_t>());
  EXPECT_EQ(r.original_bytes, j["original_bytes"].get<double>());
  EXPECT_EQ(r.pruned_bytes, j["pruned_bytes"].get<double>());
  EXPECT_EQ(r.quantized_bytes, j["quantized_bytes"].get<double>());
  EXPECT_EQ(r.huffman_bytes, j["huffman_bytes"].get<double>());
  EXPECT_EQ(r.file_bytes, j["file_bytes"].get<double>());
  EXPECT_EQ(r.ratio, j["ratio"].get<double>());
  EXPECT_EQ(r.weight_energy_uj, j["weight_energy_uj"].get<double>());
  EXPECT_EQ(r.setting, j["setting"].get<int64_t>());
  EXPECT_EQ(r.settings, j["settings"].get<int64_t>());
  EXPECT_EQ(r.model, j["model"].get<std::string>());
  EXPECT_EQ(r.sweep_id, j["sweep_id"].get<std::string>());
  if (r.unlabelled) {
    ASSERT_TRUE(r.top1_agreement.has_value());
    EXPECT_EQ(*r.top1_agreement, j["top1_agreement"].get<double>());
    EXPECT_EQ(r.rel_l2, j["rel_l2"].get<double>());
    EXPECT_EQ(r.cosine, j["cosine"].get<double>());
    EXPECT_EQ(r.samples, j["samples"].get<int64_t>());
    EXPECT_EQ(r.score, *r.top1_agreement);
  } else {
    EXPECT_EQ(r.top1, j["top1"].get<double>());
    EXPECT_EQ(r.top5, j["top5"].get<double>());
    EXPECT_EQ(r.correct, j["correct"].get<int64_t>());
    EXPECT_EQ(r.correct5, j["correct5"].get<int64_t>());
    EXPECT_EQ(r.count, j["count"].get<int64_t>());
    EXPECT_EQ(r.score, r.top1);
  }
}

TEST(AnalysisApi, SweepGivesTheCommandsRowsAndFiles) {
  if (!have_data()) GTEST_SKIP() << "Fashion-MNIST or models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  auto cli = run_deepcomp("sweep " + lenet300() + " --images " + kImages + " --labels " + kLabels +
                          " --limit " + std::to_string(kVal) +
                          " --prune 0,0.9 --bits 6,3 --init linear,density --seed 7 --threads 2 "
                          "-q --json -o " +
                          dir + "/s.csv");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const nlohmann::json want = nlohmann::json::parse(read_text(dir + "/s.json"));

  SweepOptions options;
  options.prune = {0, 0.9};
  options.bits = {6, 3};
  options.init = {"linear", "density"};
  options.validation.images = kImages;
  options.validation.labels = kLabels;
  options.validation.limit = kVal;
  options.seed = 7;
  options.threads = 2;
  auto got = sweep(lenet300(), options);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->rows.size(), 1u + 2 * 2 * 2);
  ASSERT_EQ(want.size(), got->rows.size());
  for (size_t k = 0; k < got->rows.size(); ++k) {
    SCOPED_TRACE(k);
    expect_row_equals_json(got->rows[k], want[k]);
  }
  EXPECT_EQ(got->csv, read_text(dir + "/s.csv"));
  EXPECT_EQ(got->json, read_text(dir + "/s.json"));
  // Something was measured: the baseline scores, and pruning 90% shrinks the model.
  EXPECT_GT(got->rows[0].top1, 0.5);
  EXPECT_GT(got->rows.back().ratio, 10);
  EXPECT_NE(got->svg.find("<svg"), std::string::npos);
}

TEST(AnalysisApi, UnlabelledShardedSweepGivesTheCommandsRows) {
  if (!have_data()) GTEST_SKIP() << "Fashion-MNIST or models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  const std::string inputs = write_inputs(dir);
  auto cli = run_deepcomp("sweep " + lenet300() + " --input " + inputs +
                          " --prune 0.5,0.95 --bits 4,2 --init linear --shard 2/3 --threads 1 "
                          "-q --json -o " +
                          dir + "/s.csv");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const nlohmann::json want = nlohmann::json::parse(read_text(dir + "/s.json"));

  SweepOptions options;
  options.prune = {0.5, 0.95};
  options.bits = {4, 2};
  options.init = {"linear"};
  options.validation.inputs = {inputs};
  options.shard_index = 2;
  options.shard_count = 3;
  options.threads = 1;
  auto got = sweep(lenet300(), options);
  ASSERT_TRUE(got.ok()) << got.status().message();
  // Grid positions 2 and 5 of 4 settings: only position 2 (0.5 / 2 bits) belongs to shard 2/3.
  ASSERT_EQ(got->rows.size(), 2u);
  EXPECT_EQ(got->rows[1].setting, 2);
  EXPECT_EQ(got->rows[1].bits, 2);
  ASSERT_EQ(want.size(), got->rows.size());
  for (size_t k = 0; k < got->rows.size(); ++k) {
    SCOPED_TRACE(k);
    EXPECT_TRUE(got->rows[k].unlabelled);
    expect_row_equals_json(got->rows[k], want[k]);
  }
  EXPECT_EQ(got->rows[0].top1_agreement, 1.0);  // the original against itself
  EXPECT_EQ(got->csv, read_text(dir + "/s.csv"));
}

TEST(AnalysisApi, SensitivityGivesTheCommandsPointsAndFiles) {
  if (!have_data()) GTEST_SKIP() << "Fashion-MNIST or models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  auto cli = run_deepcomp("sensitivity " + lenet300() + " --images " + kImages + " --labels " +
                          kLabels + " --limit " + std::to_string(kVal) +
                          " --rates 0.5,0.9 --bits 4,2 --subset 100 --threads 2 -q --json -o " +
                          dir + "/s.csv");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const nlohmann::json want = nlohmann::json::parse(read_text(dir + "/s.json"));

  SensitivityOptions options;
  options.rates = {0.5, 0.9};
  options.bits = {4, 2};
  options.subset = 100;
  options.threads = 2;
  options.validation.images = kImages;
  options.validation.labels = kLabels;
  options.validation.limit = kVal;
  auto got = sensitivity(lenet300(), options);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->metric, want["metric"]);
  EXPECT_EQ(got->base_score, want["base_score"].get<double>());
  EXPECT_EQ(got->samples, kVal);
  EXPECT_EQ(got->subset, want["subset"].get<int64_t>());
  EXPECT_EQ(got->evaluations, want["evaluations"].get<int>());
  EXPECT_EQ(got->full_evaluations, want["full_evaluations"].get<int>());
  // The rows: the uncompressed model, then the command's layers' prune and share points in order.
  ASSERT_FALSE(got->rows.empty());
  EXPECT_EQ(got->rows[0].layer, "(uncompressed)");
  EXPECT_EQ(got->rows[0].score, want["base_score"].get<double>());
  size_t k = 1;
  for (const auto& layer : want["layers"]) {
    for (const char* curve : {"prune", "share"}) {
      for (const auto& p : layer[curve]) {
        ASSERT_LT(k, got->rows.size());
        const SensitivityRow& r = got->rows[k++];
        SCOPED_TRACE(r.layer + " " + r.curve);
        EXPECT_EQ(r.layer, layer["name"].get<std::string>());
        EXPECT_EQ(r.kind, layer["kind"].get<std::string>());
        EXPECT_EQ(r.params, layer["params"].get<int64_t>());
        EXPECT_EQ(r.original_bytes, layer["original_bytes"].get<double>());
        EXPECT_EQ(r.curve, curve);
        EXPECT_EQ(r.prune, p["prune"].get<double>());
        EXPECT_EQ(r.bits, p["bits"].get<int>());
        EXPECT_EQ(r.score, p["score"].get<double>());
        EXPECT_EQ(r.loss_points, p["loss_points"].get<double>());
        EXPECT_EQ(r.samples, p["samples"].get<int64_t>());
        EXPECT_EQ(r.bytes, p["bytes"].get<double>());
      }
    }
  }
  EXPECT_EQ(k, got->rows.size());
  EXPECT_GE(k, 1u + 3 * 4);  // 3 layers x (2 rates + 2 widths), plus refinements
  EXPECT_EQ(got->csv, read_text(dir + "/s.csv"));
  EXPECT_EQ(got->json, read_text(dir + "/s.json"));
}

TEST(AnalysisApi, BadSettingsNameTheFlag) {
  const std::string dir = temp_dir();
  auto message = [](const auto& r) { return r.ok() ? std::string("ok") : r.status().message(); };
  SweepOptions s;
  s.validation.images = kImages;
  s.validation.labels = kLabels;
  s.prune = {1.5};
  EXPECT_NE(message(sweep(lenet300(), s)).find("--prune"), std::string::npos);
  s.prune = {0.5};
  s.bits = {17};
  EXPECT_NE(message(sweep(lenet300(), s)).find("--bits"), std::string::npos);
  s.bits = {4};
  s.init = {"nonsense"};
  EXPECT_NE(message(sweep(lenet300(), s)).find("--init"), std::string::npos);
  s.init = {"linear"};
  s.prune = {};
  EXPECT_FALSE(sweep(lenet300(), s).ok());
  s.prune = {0.5};
  s.shard_index = 3;
  s.shard_count = 2;
  EXPECT_NE(message(sweep(lenet300(), s)).find("--shard"), std::string::npos);
  s.shard_index = 1;
  s.validation.layout = "chwn";
  EXPECT_NE(message(sweep(lenet300(), s)).find("--layout"), std::string::npos);
  s.validation.layout = "nchw";
  s.validation.inputs = {dir + "/x.npy"};
  EXPECT_NE(message(sweep(lenet300(), s)).find("exclude"), std::string::npos);
  s.validation = {};
  EXPECT_NE(message(sweep(lenet300(), s)).find("--images"), std::string::npos);
  s.validation.images = kImages;
  s.validation.labels = kLabels;
  EXPECT_NE(message(sweep(dir + "/missing.onnx", s)).find("missing.onnx"), std::string::npos);

  SensitivityOptions o;
  o.validation.images = kImages;
  o.validation.labels = kLabels;
  o.rates = {0};
  EXPECT_NE(message(sensitivity(lenet300(), o)).find("--rates"), std::string::npos);
  o.rates = {0.5};
  o.max_loss = -1;
  EXPECT_NE(message(sensitivity(lenet300(), o)).find("--max-loss"), std::string::npos);
  o.max_loss = 1;
  o.init = "nonsense";
  EXPECT_NE(message(sensitivity(lenet300(), o)).find("--init"), std::string::npos);
  o.init = "linear";
  o.validation = {};
  EXPECT_FALSE(sensitivity(lenet300(), o).ok());
}

}  // namespace
}  // namespace deepcomp
