// `deepcomp sweep --input` (no labels): each setting's top-1 agreement and rel_l2 against the
// original model's first output, checked against runs of `deepcomp run` made here (the original,
// and the .dcz that `deepcomp compress` writes for one setting, decoded dense as the sweep runs
// it); the CSV/JSON columns; and the labelled-or-unlabelled argument rules.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/idx.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::run_deepcomp;
using testing::temp_dir;

std::string lenet300() { return testing::source_dir() + "/models/lenet-300-100.onnx"; }

TEST(SweepUnlabelled, RowsAgreeWithRunOutputsOfTheCompressedModel) {
  if (!fs::exists(lenet300())) GTEST_SKIP() << "models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  const int n = 24;
  std::vector<float> values(n * 784);
  for (size_t k = 0; k < values.size(); ++k) values[k] = static_cast<float>((k * 97) % 256) / 255;
  testing::write_text(dir + "/in.npy", data::npy_bytes({n, 1, 28, 28}, values));
  auto r = run_deepcomp("sweep " + lenet300() + " --input " + dir +
                        "/in.npy --prune 0.5,0.95 --bits 2 --init linear -q --threads 2 -o " + dir +
                        "/s.csv --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string csv = testing::read_text(dir + "/s.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "prune,bits,init,params,nonzero,original_bytes,pruned_bytes,quantized_bytes,"
            "huffman_bytes,file_bytes,ratio,top1_agreement,rel_l2,cosine,samples,"
            "weight_energy_uj,setting,settings,model,sweep_id");
  const auto doc = nlohmann::json::parse(testing::read_text(dir + "/s.json"));
  ASSERT_EQ(doc.size(), 3u);
  EXPECT_EQ(doc[0]["init"], "none");
  EXPECT_EQ(doc[0]["top1_agreement"].get<double>(), 1.0);  // the original against itself
  EXPECT_EQ(doc[0]["rel_l2"].get<double>(), 0.0);
  EXPECT_FALSE(doc[0].contains("top1"));  // no accuracy without labels

  // The 95% setting, recomputed: compress as sweep does, run both models, compare here.
  r = run_deepcomp("compress " + lenet300() +
                   " --prune 0.95 --bits-conv 2 --bits-fc 2 --init linear -o " + dir + "/m.dcz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_deepcomp("run " + lenet300() + " --input " + dir + "/in.npy -o " + dir + "/ref.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_deepcomp("run --dense " + dir + "/m.dcz --input " + dir + "/in.npy -o " + dir +
                   "/cand.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ref = data::read_npy(dir + "/ref.npy");
  auto cand = data::read_npy(dir + "/cand.npy");
  ASSERT_TRUE(ref.ok() && cand.ok());
  int agree = 0;
  double rel = 0;
  for (int s = 0; s < n; ++s) {
    int ra = 0, ca = 0;
    double rr = 0, dd = 0;
    for (int j = 0; j < 10; ++j) {
      const double a = ref->values[s * 10 + j], b = cand->values[s * 10 + j];
      if (a > ref->values[s * 10 + ra]) ra = j;
      if (b > cand->values[s * 10 + ca]) ca = j;
      rr += a * a;
      dd += (b - a) * (b - a);
    }
    agree += ra == ca;
    rel += std::sqrt(dd / rr) / n;
  }
  const auto& row = doc[2];
  EXPECT_EQ(row["prune"].get<double>(), 0.95);
  EXPECT_EQ(row["samples"], n);
  EXPECT_DOUBLE_EQ(row["top1_agreement"].get<double>(), static_cast<double>(agree) / n);
  EXPECT_NEAR(row["rel_l2"].get<double>(), rel, 1e-6 * rel);
  EXPECT_GT(rel, 1e-3);  // 95% pruning at 2 bits moved the outputs: the check can fail
  // Further from the original than the milder 50% setting.
  EXPECT_LE(row["top1_agreement"].get<double>(), doc[1]["top1_agreement"].get<double>());
  EXPECT_GT(row["rel_l2"].get<double>(), doc[1]["rel_l2"].get<double>());
}

TEST(SweepUnlabelled, NeedsLabelsOrInputsButNotBoth) {
  if (!fs::exists(lenet300())) GTEST_SKIP() << "models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  testing::write_text(dir + "/in.npy", data::npy_bytes({1, 1, 28, 28}, std::vector<float>(784)));
  auto r = run_deepcomp("sweep " + lenet300() + " -o " + dir + "/s.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--images and --labels"), std::string::npos) << r.err;
  r = run_deepcomp("sweep " + lenet300() + " --input " + dir + "/in.npy --images " + dir +
                   "/in.npy --labels " + dir + "/in.npy -o " + dir + "/s.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("exclude each other"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/s.csv"));
}

}  // namespace
}  // namespace deepcomp
