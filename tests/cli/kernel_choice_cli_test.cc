// `--kernel auto|sparse|dense` on run, eval and bench, through the binary on LeNet-300-100
// compressed with one layer far below the density crossover and two above it: the three modes
// give the same outputs (within 1e-5), auto runs exactly the sparse-enough layer sparse, and the
// flags that exclude each other are errors. Also the shared output checks of inspect --plot and
// sweep (core/file_io.h check_outputs).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/idx.h"
#include "runtime/kernel_choice.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::run_deepcomp;
using testing::temp_dir;

const char* kImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const char* kLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

std::string lenet300() { return testing::source_dir() + "/models/lenet-300-100.onnx"; }

// fc1 pruned to 5% density (below the crossover), fc2 and fc3 to 60% (above it).
std::string compressed_lenet(const std::string& dir) {
  auto r = run_deepcomp("compress " + lenet300() + " -o " + dir +
                        "/m.dcz -q --prune 0.4 --layer 'fc1.weight=prune:0.95'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir + "/m.dcz";
}

// 16 Fashion-MNIST-sized inputs in [0, 1).
std::string inputs(const std::string& dir) {
  std::vector<float> v(16 * 784);
  for (size_t k = 0; k < v.size(); ++k) v[k] = static_cast<float>((k * 7919) % 256) / 256.0f;
  testing::write_text(dir + "/in.npy", data::npy_bytes({16, 1, 28, 28}, v));
  return dir + "/in.npy";
}

data::Array read_npy(const std::string& path) {
  auto a = data::read_array(path);
  EXPECT_TRUE(a.ok()) << a.status().message();
  return a.ok() ? *a : data::Array{};
}

double max_error(const data::Array& a, const data::Array& b) {
  EXPECT_EQ(a.shape, b.shape);
  double m = a.values.size() == b.values.size() ? 0 : INFINITY;
  for (size_t k = 0; k < std::min(a.values.size(), b.values.size()); ++k)
    m = std::max(m, std::abs(static_cast<double>(a.values[k]) - b.values[k]));
  return m;
}

TEST(KernelCli, RunGivesTheSameOutputsInEveryMode) {
  const std::string dir = temp_dir();
  const std::string dcz = compressed_lenet(dir), in = inputs(dir);
  for (const char* mode : {"auto", "sparse", "dense"}) {
    auto r = run_deepcomp(std::string("run --kernel ") + mode + " " + dcz + " --input " + in +
                          " -o " + dir + "/" + mode + ".npy");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const data::Array dense = read_npy(dir + "/dense.npy");
  EXPECT_LE(max_error(read_npy(dir + "/sparse.npy"), dense), 1e-5);
  EXPECT_LE(max_error(read_npy(dir + "/auto.npy"), dense), 1e-5);
  // The default is auto, and --dense/--sparse are short for the --kernel forms.
  auto r = run_deepcomp("run " + dcz + " --input " + in + " -o " + dir + "/default.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_npy(dir + "/default.npy").values, read_npy(dir + "/auto.npy").values);
  r = run_deepcomp("run --dense " + dcz + " --input " + in + " -o " + dir + "/d2.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_npy(dir + "/d2.npy").values, dense.values);
}

TEST(KernelCli, EvalAutoRunsOnlyTheLayerBelowTheCrossoverSparse) {
  if (!fs::exists(kImages) || !fs::exists(kLabels)) GTEST_SKIP() << "Fashion-MNIST absent";
  static_assert(
      runtime::kDefaultDenseAboveDensity > 0.05 && runtime::kDefaultDenseAboveDensity < 0.6,
      "the model below straddles the crossover");
  const std::string dir = temp_dir();
  const std::string dcz = compressed_lenet(dir);
  const std::string data =
      std::string(" --images ") + kImages + " --labels " + kLabels + " --limit 300 --json";
  struct Want {
    const char* flags;
    int sparse_layers;
  };
  std::vector<int64_t> correct;
  for (const Want& w : {Want{"", 1}, Want{"--kernel auto", 1}, Want{"--kernel sparse", 3},
                        Want{"--sparse", 3}, Want{"--kernel dense", 0}, Want{"--dense", 0}}) {
    SCOPED_TRACE(w.flags);
    auto r = run_deepcomp("eval " + dcz + " " + w.flags + data);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["sparse_layers"], w.sparse_layers);
    EXPECT_EQ(j["dense_layers"], 3 - w.sparse_layers);
    EXPECT_EQ(j["sparse"], w.sparse_layers > 0);
    correct.push_back(j["correct"].get<int64_t>());
  }
  // Summation order can move a near-tie, but not more than a handful of 300 images.
  for (int64_t c : correct) EXPECT_NEAR(c, correct[0], 2);
  // The text report names the choice.
  auto r =
      run_deepcomp("eval " + dcz + " --images " + kImages + " --labels " + kLabels + " --limit 10");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kernel auto (dense above "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 layer sparse, 2 dense"), std::string::npos) << r.out;
}

TEST(KernelCli, BenchReportsEachLayersDensityAndKernel) {
  const std::string dir = temp_dir();
  const std::string dcz = compressed_lenet(dir);
  auto r = run_deepcomp("bench " + dcz + " --batch 1 --threads 1 --repeat 2 --warmup 0 --json" +
                        " --kernel auto");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["kernel"], "auto");
  const auto& layers = j["runs"][0]["layers"];
  ASSERT_EQ(layers.size(), 3u);
  for (const auto& l : layers) {
    const double density = l["density"].get<double>();
    EXPECT_EQ(l["runs_sparse"].get<bool>(), density <= runtime::kDefaultDenseAboveDensity)
        << l["weight"] << " " << density;
    // A sparse Gemm names its weight layout (runtime/ops_nn.cc); a dense one has none.
    if (l["runs_sparse"].get<bool>()) {
      const std::string layout = l.value("layout", std::string());
      EXPECT_TRUE(layout == "cluster-blocks" || layout == "cluster-blocks+grouped" ||
                  layout == "compact-codebook-csr")
          << layout;
    } else {
      EXPECT_FALSE(l.contains("layout")) << l["weight"];
    }
  }
  EXPECT_NE(j["sparse_kernels"].get<std::string>().find("; fc layouts: 1 "), std::string::npos)
      << j["sparse_kernels"];
  EXPECT_NEAR(layers[0]["density"].get<double>(), 0.05, 0.01);
  // The default sparse side is every layer sparse.
  r = run_deepcomp("bench " + dcz + " --batch 1 --threads 1 --repeat 1 --warmup 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Parsed into a variable: a range-for over parse(...)[...] would iterate a destroyed temporary.
  const auto sparse_side = nlohmann::json::parse(r.out);
  for (const auto& l : sparse_side["runs"][0]["layers"])
    EXPECT_TRUE(l["runs_sparse"].get<bool>()) << l["weight"];
}

TEST(KernelCli, ConflictingFlagsAreOneLineErrors) {
  const std::string dir = temp_dir();
  const std::string dcz = compressed_lenet(dir), in = inputs(dir);
  for (const char* flags :
       {"--kernel dense --sparse", "--kernel sparse --dense", "--sparse --dense"}) {
    SCOPED_TRACE(flags);
    auto r = run_deepcomp(std::string("run ") + flags + " " + dcz + " --input " + in + " -o " +
                          dir + "/out.npy");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("exclude each other"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir + "/out.npy"));
  }
  auto r = run_deepcomp("run --kernel fast " + dcz + " --input " + in + " -o " + dir + "/o.npy");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/o.npy"));
}

TEST(OutputChecks, InspectPlotFolderThatIsAnInputOrAFileFailsBeforePrinting) {
  const std::string dir = temp_dir();
  const std::string dcz = compressed_lenet(dir);
  testing::write_text(dir + "/file.txt", "x");
  for (const std::string& plot : {dcz, dir + "/file.txt", lenet300()}) {
    SCOPED_TRACE(plot);
    auto r = run_deepcomp("inspect " + dcz + " --plot " + plot + " --original " + lenet300());
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find(plot), std::string::npos) << r.err;
  }
  EXPECT_EQ(testing::read_text(dir + "/file.txt"), "x");
  auto r = run_deepcomp("inspect " + dcz + " --plot " + dir + "/plots");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir + "/plots/fc1.weight.svg"));
}

TEST(OutputChecks, SweepRefusesTwoOutputsNamingOneFile) {
  if (!fs::exists(kImages) || !fs::exists(kLabels)) GTEST_SKIP() << "Fashion-MNIST absent";
  const std::string dir = temp_dir();
  auto r = run_deepcomp("sweep " + lenet300() + " --images " + kImages + " --labels " + kLabels +
                        " --prune 0.5 --bits 4 --init linear --limit 10 -o " + dir +
                        "/s.csv --svg " + dir + "/./s.csv");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("s.csv"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/s.csv"));
}

}  // namespace
}  // namespace deepcomp
