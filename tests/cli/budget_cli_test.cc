// `deepcomp sensitivity` and `compress --max-loss / --min-agreement` end to end through the
// binary on LeNet-300-100 and the first 500 Fashion-MNIST test images: points and the chosen
// setting re-measured independently with `compress --layer ... --no-share` / `eval`, replay of
// the printed --layer flags (byte-identical .dcz), and the one-line errors of bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/idx.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_deepcomp;
using testing::temp_dir;

const char* kImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const char* kLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
constexpr int kVal = 500;

std::string lenet300() { return testing::source_dir() + "/models/lenet-300-100.onnx"; }

bool have_data() { return fs::exists(kImages) && fs::exists(kLabels) && fs::exists(lenet300()); }

// The first kVal images (raw pixels, and scaled to [0,1] as [N,784] model input) and labels.
struct ValFiles {
  std::string dir, images, labels, inputs;
};

ValFiles make_val_files() {
  ValFiles f;
  f.dir = temp_dir();
  auto images = data::read_idx(kImages);
  auto labels = data::read_idx(kLabels);
  EXPECT_TRUE(images.ok() && labels.ok());
  std::vector<float> x(images->values.begin(), images->values.begin() + kVal * 784);
  std::vector<float> y(labels->values.begin(), labels->values.begin() + kVal);
  f.images = f.dir + "/val_images.npy";
  f.labels = f.dir + "/val_labels.npy";
  f.inputs = f.dir + "/val_inputs.npy";
  testing::write_text(f.images, data::npy_bytes({kVal, 28, 28}, x));
  testing::write_text(f.labels, data::npy_bytes({kVal}, y));
  for (float& v : x) v /= 255.0f;
  testing::write_text(f.inputs, data::npy_bytes({kVal, 784}, x));
  return f;
}

double eval_top1(const std::string& model, const std::string& images, const std::string& labels,
                 int64_t limit) {
  auto r = run_deepcomp("eval " + model + " --images " + images + " --labels " + labels +
                        " --json --limit " + std::to_string(limit));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out)["top1"].get<double>();
}

std::vector<std::map<std::string, std::string>> parse_csv(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  auto split = [](const std::string& l) {
    std::vector<std::string> cells;
    std::stringstream ss(l);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    if (!l.empty() && l.back() == ',') cells.emplace_back();
    return cells;
  };
  std::getline(in, line);
  const auto header = split(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const auto cells = split(line);
    EXPECT_EQ(cells.size(), header.size()) << line;
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(row);
  }
  return rows;
}

TEST(SensitivityCli, PointsMatchIndependentCompressAndEvalRuns) {
  if (!have_data()) GTEST_SKIP() << "Fashion-MNIST or models/lenet-300-100.onnx absent";
  const ValFiles f = make_val_files();
  auto r = run_deepcomp("sensitivity " + lenet300() + " --images " + f.images + " --labels " +
                        f.labels + " --rates 0.5,0.9 --bits 4 --subset 200 -o " + f.dir +
                        "/s.csv --json --svg " + f.dir + "/s.svg -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = parse_csv(read_text(f.dir + "/s.csv"));
  // 3 layers x (2 rates + 1 width), plus up to 2 bisection rates per layer at the 1-point edge.
  ASSERT_GE(rows.size(), 1u + 3 * 3);
  ASSERT_LE(rows.size(), 1u + 3 * 5);
  const double base = eval_top1(lenet300(), f.images, f.labels, kVal);
  EXPECT_NEAR(std::stod(rows[0].at("top1")), base, 1e-9);
  int checked = 0;
  for (const auto& row : rows) {
    if (row.at("curve") != "prune" && row.at("curve") != "share") continue;
    // The same point by hand: the other layers skipped, this one pruned (no sharing) or shared.
    std::string flags;
    for (const char* other : {"fc1.weight", "fc2.weight", "fc3.weight"})
      if (row.at("layer") != other) flags += std::string(" --layer '") + other + "=skip'";
    if (row.at("curve") == "prune")
      flags += " --no-share --layer '" + row.at("layer") + "=prune:" + row.at("prune") + "'";
    else
      flags += " --layer '" + row.at("layer") + "=prune:0,bits:" + row.at("bits") + "'";
    const std::string dcz = f.dir + "/p.dcz";
    auto c =
        run_deepcomp("compress " + lenet300() + " -o " + dcz + " --force -q --no-energy" + flags);
    ASSERT_EQ(c.exit_code, 0) << c.err;
    const int64_t n = std::stoll(row.at("samples"));
    EXPECT_TRUE(n == 200 || n == kVal);
    const double top1 = eval_top1(dcz, f.images, f.labels, n);
    EXPECT_NEAR(std::stod(row.at("top1")), top1, 1e-9) << row.at("layer") << " " << row.at("curve");
    const double base_n = eval_top1(lenet300(), f.images, f.labels, n);
    EXPECT_NEAR(std::stod(row.at("loss_points")), 100 * (base_n - top1), 1e-3);
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(rows.size()) - 1);
  auto j = nlohmann::json::parse(read_text(f.dir + "/s.json"));
  EXPECT_EQ(j["layers"].size(), 3u);
  EXPECT_EQ(j["metric"], "top1");
  const std::string svg = read_text(f.dir + "/s.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("fc2.weight"), std::string::npos);
}

TEST(BudgetCli, MaxLossChoosesAReplayableSettingWithinBudget) {
  if (!have_data()) GTEST_SKIP() << "Fashion-MNIST or models/lenet-300-100.onnx absent";
  const ValFiles f = make_val_files();
  const std::string out = f.dir + "/b.dcz", report = f.dir + "/b.json";
  auto r = run_deepcomp("compress " + lenet300() + " -o " + out + " --report-json " + report +
                        " --no-energy --max-loss 1 --val-images " + f.images + " --val-labels " +
                        f.labels + " --budget-rates 0.3,0.5,0.7 --budget-bits 5,4,3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto s = nlohmann::json::parse(read_text(report))["search"];
  EXPECT_TRUE(s["met"].get<bool>());
  const double base = eval_top1(lenet300(), f.images, f.labels, kVal);
  const double got = eval_top1(out, f.images, f.labels, kVal);
  EXPECT_NEAR(s["base_score"].get<double>(), base, 1e-9);
  EXPECT_NEAR(s["score"].get<double>(), got, 1e-9);
  EXPECT_GE(got, base - 0.01 - 1e-9);
  EXPECT_EQ(s["layers"].size(), 3u);
  EXPECT_NE(r.out.find("replay: --layer '"), std::string::npos);
  // Replay the printed flags: the same file, byte for byte.
  const std::string replay = f.dir + "/replay.dcz";
  auto again = run_deepcomp("compress " + lenet300() + " -o " + replay + " -q --no-energy " +
                            s["replay"].get<std::string>());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(read_text(replay), read_text(out));
}

TEST(BudgetCli, MinAgreementUsesValInput) {
  if (!have_data()) GTEST_SKIP() << "Fashion-MNIST or models/lenet-300-100.onnx absent";
  const ValFiles f = make_val_files();
  const std::string report = f.dir + "/a.json";
  auto r = run_deepcomp("compress " + lenet300() + " -o " + f.dir + "/a.dcz --report-json " +
                        report + " -q --no-energy --min-agreement 0.97 --val-input " + f.inputs +
                        " --budget-rates 0.5,0.8 --budget-bits 4,3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto s = nlohmann::json::parse(read_text(report))["search"];
  EXPECT_EQ(s["metric"], "agreement");
  EXPECT_DOUBLE_EQ(s["base_score"].get<double>(), 1.0);
  EXPECT_GE(s["score"].get<double>(), 0.97);
  // Independent: compare's top-1 agreement on the same inputs.
  auto c = run_deepcomp("compare " + lenet300() + " " + f.dir + "/a.dcz --input " + f.inputs +
                        " --json");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("top1_agreement"), std::string::npos);
}

TEST(BudgetCli, BadInputGivesOneLineErrors) {
  if (!have_data()) GTEST_SKIP() << "Fashion-MNIST or models/lenet-300-100.onnx absent";
  const ValFiles f = make_val_files();
  const std::string out = f.dir + "/x.dcz";
  const std::string base = "compress " + lenet300() + " -o " + out + " -q --no-energy ";
  struct Case {
    std::string args, message;
  } cases[] = {
      {"--max-loss 1", "--max-loss needs labelled validation data"},
      {"--min-agreement 0.9", "--min-agreement needs validation inputs"},
      {"--max-loss 1 --min-agreement 0.9 --val-images " + f.images + " --val-labels " + f.labels,
       "exclude each other"},
      {"--max-loss -1 --val-images " + f.images + " --val-labels " + f.labels, "non-negative"},
      {"--max-loss 1 --val-images " + f.images + " --val-labels " + f.inputs, ""},
      // Even the least compression tried (unpruned, 1 bit) loses more than 0 points.
      {"--max-loss 0 --budget-rates 0.9 --budget-bits 1 --budget-verifications 2 --val-images " +
           f.images + " --val-labels " + f.labels,
       "budget unreachable"},
  };
  for (const Case& c : cases) {
    auto r = run_deepcomp(base + c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << c.args;
  }
  // --best-effort writes the closest setting.
  auto r = run_deepcomp(base + "--best-effort --report-json " + f.dir + "/x.json " +
                        "--max-loss 0 --budget-rates 0.9 --budget-bits 1 --budget-verifications 2 "
                        "--val-images " +
                        f.images + " --val-labels " + f.labels);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out));
  EXPECT_FALSE(nlohmann::json::parse(read_text(f.dir + "/x.json"))["search"]["met"].get<bool>());
}

}  // namespace
}  // namespace deepcomp
