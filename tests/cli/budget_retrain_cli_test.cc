// `compress --retrain --max-loss` end to end through the binary on a tiny MLP (8 -> 24 -> 4) whose
// training set is labelled by the model itself (100% before compression): the report's schedule
// and chosen setting, the figure re-measured independently with `deepcomp eval` on the held-out
// samples (rebuilt here from train::epoch_order), determinism, --time-limit, and the one-line
// errors of bad input.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "data/idx.h"
#include "tests/cli/multi_io_models.h"
#include "tests/test_util.h"
#include "train/retrain.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_deepcomp;
using testing::temp_dir;

constexpr int kIn = 8, kHidden = 24, kClasses = 4, kSamples = 3000;

struct Files {
  std::string dir, model, images, labels;
  std::vector<float> x;
  std::vector<int> y;
};

// Random MLP weights, random inputs, labels = the model's own top-1.
Files make_files() {
  Files f;
  f.dir = temp_dir();
  std::mt19937_64 rng(11);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> w1(kHidden * kIn), b1(kHidden), w2(kClasses * kHidden), b2(kClasses);
  for (auto* v : {&w1, &b1, &w2, &b2})
    for (float& x : *v) x = d(rng) * 0.5f;
  f.x.resize(static_cast<size_t>(kSamples * kIn));
  for (float& v : f.x) v = d(rng);
  for (int n = 0; n < kSamples; ++n) {
    std::vector<float> h(kHidden);
    for (int j = 0; j < kHidden; ++j) {
      float s = b1[j];
      for (int i = 0; i < kIn; ++i) s += w1[j * kIn + i] * f.x[n * kIn + i];
      h[j] = std::max(s, 0.0f);
    }
    int best = 0;
    float best_v = -1e30f;
    for (int c = 0; c < kClasses; ++c) {
      float s = b2[c];
      for (int j = 0; j < kHidden; ++j) s += w2[c * kHidden + j] * h[j];
      if (s > best_v) best_v = s, best = c;
    }
    f.y.push_back(best);
  }
  using onnx::TensorProto;
  onnx::ModelProto m = onnx_io::testing::make_model();
  auto* g = m.mutable_graph();
  testing::add_typed_value(g->mutable_input(), "x", TensorProto::FLOAT, {-1, kIn});
  testing::add_typed_value(g->mutable_output(), "logits", TensorProto::FLOAT, {-1, kClasses});
  *g->add_initializer() = onnx_io::testing::float_tensor("w1", {kHidden, kIn}, w1);
  *g->add_initializer() = onnx_io::testing::float_tensor("b1", {kHidden}, b1);
  *g->add_initializer() = onnx_io::testing::float_tensor("w2", {kClasses, kHidden}, w2);
  *g->add_initializer() = onnx_io::testing::float_tensor("b2", {kClasses}, b2);
  for (auto [in, w, b, out] : {std::tuple{"x", "w1", "b1", "h"}, {"r", "w2", "b2", "logits"}}) {
    auto* n = onnx_io::testing::add_node(g, "Gemm", {in, w, b}, {out}, std::string("gemm_") + w);
    auto* a = n->add_attribute();
    a->set_name("transB");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(1);
    if (std::string(out) == "h") onnx_io::testing::add_node(g, "Relu", {"h"}, {"r"}, "relu");
  }
  f.model = f.dir + "/tiny.onnx";
  testing::write_text(f.model, onnx_io::testing::serialize(m));
  f.images = f.dir + "/x.npy";
  f.labels = f.dir + "/y.npy";
  testing::write_text(f.images, data::npy_bytes({kSamples, kIn}, f.x));
  std::vector<float> labels(f.y.begin(), f.y.end());
  testing::write_text(f.labels, data::npy_bytes({kSamples}, labels));
  return f;
}

std::string train_flags(const Files& f) {
  return " --train-images " + f.images + " --train-labels " + f.labels + " --scale 1";
}

// Small grids keep the sensitivity phase short.
const char* kGrid = " --budget-rates 0.3,0.6 --budget-bits 6,4,3 --budget-subset 20";

TEST(BudgetRetrainCli, ScheduleReportAndHeldOutFigureCheckedWithEval) {
  const Files f = make_files();
  const std::string out = f.dir + "/a.dcz", json = f.dir + "/a.json";
  auto r = run_deepcomp("compress " + f.model + " -o " + out + " --retrain --max-loss 3" +
                        train_flags(f) + kGrid + " --report-json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("search (top1, retraining schedule)"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(read_text(json));
  const auto& s = j["search"];
  EXPECT_TRUE(s["retrain"].get<bool>());
  EXPECT_TRUE(s["met"].get<bool>());
  EXPECT_EQ(s["samples"].get<int>(), kSamples / 10);
  EXPECT_EQ(s["training_samples"].get<int>(), kSamples - kSamples / 10);
  EXPECT_DOUBLE_EQ(s["base_score"].get<double>(), 1.0);  // labelled by the model itself
  EXPECT_GE(s["score"].get<double>(), s["min_score"].get<double>());
  // The default reference: the uncompressed model's figure, minus the 3 points at every step.
  EXPECT_EQ(s["reference"], "original");
  EXPECT_NEAR(s["min_score"].get<double>(), 0.97, 1e-12);
  for (const auto& step : s["schedule"]) {
    EXPECT_DOUBLE_EQ(step["reference"].get<double>(), 1.0);
    EXPECT_NEAR(step["min_score"].get<double>(), 0.97, 1e-12);
  }
  // The schedule: a start step, tightening steps, then share attempts; the last that passed is
  // the chosen setting.
  const auto& steps = s["schedule"];
  ASSERT_GE(steps.size(), 2u);
  EXPECT_EQ(steps[0]["phase"], "start");
  EXPECT_EQ(steps.back()["phase"], "share");
  size_t chosen = steps.size();
  for (size_t k = 0; k < steps.size(); ++k)
    if (steps[k]["phase"] == "share" && steps[k]["passed"].get<bool>()) chosen = k;
  ASSERT_LT(chosen, steps.size());
  EXPECT_EQ(steps[chosen]["layers"], s["layers"]);
  EXPECT_DOUBLE_EQ(steps[chosen]["ratio"].get<double>(), j["total"]["ratio"].get<double>());
  EXPECT_DOUBLE_EQ(s["ratio"].get<double>(), j["total"]["ratio"].get<double>());
  // At least one tightening step passed before one left the budget (this set allows it).
  int tightened = 0;
  for (const auto& step : steps) tightened += step["phase"] == "tighten" && step["passed"];
  EXPECT_GE(tightened, 1) << s.dump(1);
  // Every pruning step but a last one that stopped the schedule passed; after that miss, at most
  // one half step back.
  size_t pruning = 0;
  while (pruning < steps.size() && steps[pruning]["phase"] != "share") ++pruning;
  size_t full = pruning;
  if (steps[full - 1]["phase"] == "half") {
    --full;
    EXPECT_DOUBLE_EQ(steps[full]["at"].get<double>(), steps[full - 1]["at"].get<double>() - 0.5);
  }
  for (size_t k = 0; k + 1 < full; ++k) EXPECT_TRUE(steps[k]["passed"].get<bool>()) << k;
  EXPECT_EQ(steps[full - 1]["passed"].get<bool>(), s["stopped"] != "budget");
  for (size_t k = 1; k < steps.size() && steps[k]["phase"] == "tighten"; ++k)
    EXPECT_LE(steps[k]["density"].get<double>(), steps[k - 1]["density"].get<double>());
  // The held-out samples: the first 10% of epoch_order(n, 0, 0), in file order. Scored by the
  // runtime on the written .dcz, they give the report's figure.
  std::vector<int64_t> order = train::epoch_order(kSamples, 0, 0);
  order.resize(kSamples / 10);
  std::sort(order.begin(), order.end());
  std::vector<float> hx, hy;
  for (int64_t i : order) {
    hx.insert(hx.end(), f.x.begin() + i * kIn, f.x.begin() + (i + 1) * kIn);
    hy.push_back(static_cast<float>(f.y[static_cast<size_t>(i)]));
  }
  testing::write_text(f.dir + "/hx.npy", data::npy_bytes({kSamples / 10, kIn}, hx));
  testing::write_text(f.dir + "/hy.npy", data::npy_bytes({kSamples / 10}, hy));
  auto e = run_deepcomp("eval " + out + " --images " + f.dir + "/hx.npy --labels " + f.dir +
                        "/hy.npy --scale 1 --json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(e.out)["top1"].get<double>(), s["score"].get<double>());

  // Deterministic: the same command writes the same bytes.
  const std::string out2 = f.dir + "/b.dcz";
  auto r2 = run_deepcomp("compress " + f.model + " -o " + out2 + " --retrain --max-loss 3" +
                         train_flags(f) + kGrid);
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_EQ(read_text(out), read_text(out2));
}

// --budget-reference dense: every step's threshold is the retrained unpruned copy's figure at
// that step minus the budget, less --budget-margin.
TEST(BudgetRetrainCli, DenseReferenceAndMargin) {
  const Files f = make_files();
  const std::string out = f.dir + "/o.dcz", json = f.dir + "/o.json";
  auto r = run_deepcomp("compress " + f.model + " -o " + out +
                        " --retrain --max-loss 3 --budget-reference dense --budget-margin 1" +
                        train_flags(f) + kGrid + " --report-json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("reference: the unpruned model retrained alongside scores"),
            std::string::npos)
      << r.out;
  const auto s = nlohmann::json::parse(read_text(json))["search"];
  EXPECT_EQ(s["reference"], "dense");
  EXPECT_DOUBLE_EQ(s["margin_points"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(s["dense_score"].get<double>(), s["schedule"][0]["reference"].get<double>());
  for (const auto& step : s["schedule"]) {
    if (step["step"].get<int>() < 0) continue;  // the unpruned model: the original threshold
    EXPECT_NEAR(step["min_score"].get<double>(), step["reference"].get<double>() - 0.02, 1e-12);
    EXPECT_EQ(step["passed"].get<bool>(),
              step["score"].get<double>() >= step["min_score"].get<double>());
  }
}

TEST(BudgetRetrainCli, TimeLimitStopsTighteningAndSaysSo) {
  const Files f = make_files();
  const std::string out = f.dir + "/t.dcz", json = f.dir + "/t.json";
  auto r = run_deepcomp("compress " + f.model + " -o " + out + " --retrain --max-loss 3" +
                        train_flags(f) + kGrid + " --time-limit 1e-9 --report-json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("tightening stopped: time limit"), std::string::npos) << r.out;
  const auto s = nlohmann::json::parse(read_text(json))["search"];
  EXPECT_EQ(s["stopped"], "time limit");
  // No pruning step ran: only share attempts, on the unpruned model.
  for (const auto& step : s["schedule"]) {
    EXPECT_EQ(step["phase"], "share");
    EXPECT_EQ(step["step"].get<int>(), -1);
  }
  EXPECT_TRUE(s["met"].get<bool>());
}

// The holdout check: the original's figure on the holdout against as many training-part samples.
// Every label here is the model's own top-1, so both are 100% and the holdout "looks seen" (a
// warning on stderr). With the held-out labels shifted by one class the holdout scores 0% while
// the training part stays at 100%: no warning.
TEST(BudgetRetrainCli, HoldoutTheModelScoresAsWellAsItsTrainingDataIsFlagged) {
  Files f = make_files();
  const std::string json = f.dir + "/h.json";
  const std::string cmd = "compress " + f.model + " -o " + f.dir + "/h.dcz --force --retrain " +
                          "--max-loss 3 --time-limit 1e-9" + train_flags(f) + kGrid +
                          " --report-json " + json;
  auto r = run_deepcomp(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.err.find("warning: the model scores 100.00% on the 300 held-out training samples "
                       "and 100.00% on as many it is retrained on"),
            std::string::npos)
      << r.err;
  auto check = nlohmann::json::parse(read_text(json))["search"]["holdout_check"];
  EXPECT_DOUBLE_EQ(check["holdout"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(check["training_part"].get<double>(), 1.0);
  EXPECT_TRUE(check["looks_seen"].get<bool>());

  std::vector<int64_t> held = train::epoch_order(kSamples, 0, 0);
  held.resize(kSamples / 10);
  std::vector<float> labels(f.y.begin(), f.y.end());
  for (int64_t i : held) labels[static_cast<size_t>(i)] = static_cast<float>((f.y[i] + 1) % kClasses);
  testing::write_text(f.labels, data::npy_bytes({kSamples}, labels));
  r = run_deepcomp(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(r.err.find("warning:"), std::string::npos) << r.err;
  check = nlohmann::json::parse(read_text(json))["search"]["holdout_check"];
  EXPECT_DOUBLE_EQ(check["holdout"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(check["training_part"].get<double>(), 1.0);
  EXPECT_FALSE(check["looks_seen"].get<bool>());
}

// The default margin: one standard error of the uncompressed model's validation top-1, at most
// half the budget. With 30 of the 300 held-out labels wrong the model scores p = 0.9 there:
// 100 * sqrt(0.9 * 0.1 / 300) = 1.7320508 points, under half of a 5-point budget, over half of 3.
TEST(BudgetRetrainCli, DefaultMarginIsOneStandardErrorAtMostHalfTheBudget) {
  Files f = make_files();
  std::vector<int64_t> held = train::epoch_order(kSamples, 0, 0);
  held.resize(kSamples / 10);
  std::vector<float> labels(f.y.begin(), f.y.end());
  for (size_t k = 0; k < 30; ++k)
    labels[static_cast<size_t>(held[k])] = static_cast<float>((f.y[held[k]] + 1) % kClasses);
  testing::write_text(f.labels, data::npy_bytes({kSamples}, labels));
  const std::string json = f.dir + "/m.json";
  for (double budget : {5.0, 3.0}) {
    // "auto" spelled out is the default.
    auto r = run_deepcomp("compress " + f.model + " -o " + f.dir + "/m.dcz --force --retrain " +
                          "--max-loss " + std::to_string(budget) + " --time-limit 1e-9" +
                          (budget == 3.0 ? " --budget-margin auto" : "") + train_flags(f) + kGrid +
                          " --report-json " + json);
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    const auto s = nlohmann::json::parse(read_text(json))["search"];
    ASSERT_DOUBLE_EQ(s["base_score"].get<double>(), 0.9);
    const double margin = budget == 5.0 ? 100 * std::sqrt(0.9 * 0.1 / 300) : 1.5;
    EXPECT_NEAR(s["margin_points"].get<double>(), margin, 1e-9) << budget;
    EXPECT_NEAR(s["min_score"].get<double>(), 0.9 - (budget - margin) / 100, 1e-9) << budget;
    EXPECT_NE(r.out.find(fmt::format("margin {:g} points", margin)), std::string::npos) << r.out;
  }
}

TEST(BudgetRetrainCli, BadInputIsOneLineAndWritesNothing) {
  const Files f = make_files();
  const std::string out = f.dir + "/e.dcz";
  auto one_line_error = [&](const std::string& args, const std::string& needle) {
    auto r = run_deepcomp("compress " + f.model + " -o " + out + " " + args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    // One error line; the holdout check's warning (the labels here are the model's own, so the
    // holdout scores like the training part) may come before it.
    std::string err = r.err;
    if (err.rfind("warning: the model scores", 0) == 0) err.erase(0, err.find('\n') + 1);
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
  };
  one_line_error("--retrain --max-loss 1", "needs --train-images and --train-labels");
  one_line_error("--retrain --min-agreement 0.9" + train_flags(f),
                 "--min-agreement is not supported with --retrain");
  one_line_error("--retrain --max-loss -1" + train_flags(f), "--max-loss must be");
  one_line_error("--retrain --max-loss 1 --budget-tighten 1" + train_flags(f), "--budget-tighten");
  one_line_error("--retrain --max-loss 1 --budget-reference best" + train_flags(f),
                 "--budget-reference must be original, dense or dense-once, not 'best'");
  one_line_error("--retrain --max-loss 1 --budget-margin 2" + train_flags(f),
                 "--budget-margin must be between 0 and the --max-loss points");
  {  // a usage error: exit code 2, as for every flag value that does not parse
    auto r = run_deepcomp("compress " + f.model + " -o " + out +
                          " --retrain --max-loss 1 --budget-margin 0.2x" + train_flags(f));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--budget-margin: '0.2x' is neither a number of points nor auto"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out));
  }
  one_line_error("--retrain --max-loss 1 --val-images " + f.images + train_flags(f),
                 "--val-images and --val-labels go together");
  // Even the least compression (unpruned, 1-bit sharing, no retraining) loses predictions.
  const std::string unreachable =
      "--retrain --max-loss 0 --budget-rates 0.3 --budget-bits 1 "
      "--epochs-prune 0 --epochs-share 0" +
      train_flags(f);
  one_line_error(unreachable, "budget unreachable with retraining: the closest setting tried");
  auto r =
      run_deepcomp("compress " + f.model + " -o " + out + " " + unreachable + " --best-effort");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out));
  EXPECT_NE(r.out.find("budget NOT met"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace deepcomp
