// `deepcomp sweep --shard K/N` and `sweep --merge`: the shards of a grid, merged, give byte for
// byte the CSV, JSON and SVG of the unsharded sweep (labelled and unlabelled), each shard holds
// exactly its share of the grid, and shards of different sweeps (grid, data or model), missing or
// repeated shards and
// bad shard specs are refused with one line and nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
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

std::string lenet300() { return testing::source_dir() + "/models/lenet-300-100.onnx"; }

std::string labelled_grid(int limit = 200) {
  return lenet300() + " --prune 0.5,0.9 --bits 5,3 --init linear,density --images " + kImages +
         " --labels " + kLabels + " --limit " + std::to_string(limit) + " -q";
}

// The `setting` column (position in the grid) of every row of a sweep CSV.
std::vector<int> settings_of(const std::string& csv) {
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  size_t column = 0;
  for (size_t start = 0, k = 0;; ++k) {
    const size_t comma = line.find(',', start);
    if (line.substr(start, comma - start) == "setting") column = k;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::vector<int> settings;
  while (std::getline(in, line)) {
    size_t start = 0;
    for (size_t k = 0; k < column; ++k) start = line.find(',', start) + 1;
    settings.push_back(std::stoi(line.substr(start, line.find(',', start) - start)));
  }
  return settings;
}

class SweepShards : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kImages) || !fs::exists(kLabels) || !fs::exists(lenet300()))
      GTEST_SKIP() << "Fashion-MNIST (dataset-fashion-mnist) or models/lenet-300-100.onnx absent";
    dir_ = temp_dir();
  }
  std::string dir_;
};

TEST_F(SweepShards, MergedShardsEqualTheUnshardedSweepByteForByte) {
  auto r = run_deepcomp("sweep " + labelled_grid() + " --threads 2 -o " + dir_ +
                        "/all.csv --json --svg " + dir_ + "/all.svg");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (int k = 1; k <= 3; ++k) {
    r = run_deepcomp("sweep " + labelled_grid() + " --threads 1 --shard " + std::to_string(k) +
                     "/3 -o " + dir_ + "/s" + std::to_string(k) + ".csv");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // Shard K holds the baseline and the positions K, K+3, K+6 of the 8 settings.
  EXPECT_EQ(settings_of(read_text(dir_ + "/s1.csv")), (std::vector<int>{0, 1, 4, 7}));
  EXPECT_EQ(settings_of(read_text(dir_ + "/s2.csv")), (std::vector<int>{0, 2, 5, 8}));
  EXPECT_EQ(settings_of(read_text(dir_ + "/s3.csv")), (std::vector<int>{0, 3, 6}));
  // In any order.
  r = run_deepcomp("sweep --merge " + dir_ + "/s3.csv " + dir_ + "/s1.csv " + dir_ + "/s2.csv -o " +
                   dir_ + "/m.csv --json --svg " + dir_ + "/m.svg");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(settings_of(read_text(dir_ + "/m.csv")), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(read_text(dir_ + "/m.csv"), read_text(dir_ + "/all.csv"));
  EXPECT_EQ(read_text(dir_ + "/m.json"), read_text(dir_ + "/all.json"));
  EXPECT_EQ(read_text(dir_ + "/m.svg"), read_text(dir_ + "/all.svg"));
}

TEST_F(SweepShards, UnlabelledShardsMergeToo) {
  const int n = 16;
  std::vector<float> values(n * 784);
  for (size_t k = 0; k < values.size(); ++k) values[k] = static_cast<float>((k * 31) % 256) / 255;
  testing::write_text(dir_ + "/in.npy", data::npy_bytes({n, 1, 28, 28}, values));
  const std::string grid = lenet300() + " --input " + dir_ +
                           "/in.npy --prune 0.6,0.95 --bits 4,2 --init linear -q --threads 1";
  ASSERT_EQ(run_deepcomp("sweep " + grid + " -o " + dir_ + "/all.csv --json").exit_code, 0);
  ASSERT_EQ(run_deepcomp("sweep " + grid + " --shard 1/2 -o " + dir_ + "/a.csv").exit_code, 0);
  ASSERT_EQ(run_deepcomp("sweep " + grid + " --shard 2/2 -o " + dir_ + "/b.csv").exit_code, 0);
  auto r = run_deepcomp("sweep --merge " + dir_ + "/a.csv " + dir_ + "/b.csv -o " + dir_ +
                        "/m.csv --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_text(dir_ + "/m.csv"), read_text(dir_ + "/all.csv"));
  EXPECT_EQ(read_text(dir_ + "/m.json"), read_text(dir_ + "/all.json"));
}

TEST_F(SweepShards, RefusesWhatIsNotOneWholeSweep) {
  for (int k = 1; k <= 3; ++k)
    ASSERT_EQ(run_deepcomp("sweep " + labelled_grid() + " --shard " + std::to_string(k) + "/3 -o " +
                           dir_ + "/s" + std::to_string(k) + ".csv")
                  .exit_code,
              0);
  // Another grid (0.8 for 0.9), and the same grid on other data (--limit 100).
  ASSERT_EQ(run_deepcomp("sweep " + lenet300() +
                         " --prune 0.5,0.8 --bits 5,3 --init linear,density --images " + kImages +
                         " --labels " + kLabels + " --limit 200 -q --shard 2/3 -o " + dir_ +
                         "/other_grid.csv")
                .exit_code,
            0);
  ASSERT_EQ(
      run_deepcomp("sweep " + labelled_grid(100) + " --shard 2/3 -o " + dir_ + "/other_data.csv")
          .exit_code,
      0);
  // The same grid and data on another model (LeNet-5 reads the same images).
  const std::string lenet5 = testing::source_dir() + "/models/lenet-5.onnx";
  ASSERT_EQ(run_deepcomp("sweep " + lenet5 +
                         " --prune 0.5,0.9 --bits 5,3 --init linear,density --images " + kImages +
                         " --labels " + kLabels + " --limit 200 -q --shard 2/3 -o " + dir_ +
                         "/other_model.csv")
                .exit_code,
            0);
  const std::string s1 = dir_ + "/s1.csv", s2 = dir_ + "/s2.csv", s3 = dir_ + "/s3.csv";
  struct Case {
    std::string files, message;
  };
  const Case cases[] = {
      {s1 + " " + s3, "3 of the sweep's 8 settings are missing (settings 2, 5, 8)"},
      {s1 + " " + s2 + " " + s2 + " " + s3, "setting 2 appears twice"},
      {s1 + " " + dir_ + "/other_grid.csv " + s3, "other_grid.csv: a shard of another sweep"},
      {s1 + " " + dir_ + "/other_data.csv " + s3, "other_data.csv: its baseline row differs from"},
      {s1 + " " + s3 + " " + dir_ + "/other_model.csv",
       "other_model.csv: a shard of another sweep"},
      {lenet300(), "not a CSV written by this version of `deepcomp sweep`"},
  };
  for (const Case& c : cases) {
    auto r = run_deepcomp("sweep --merge " + c.files + " -o " + dir_ + "/m.csv");
    EXPECT_EQ(r.exit_code, 1) << c.files;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir_ + "/m.csv"));
  }
  for (const char* spec : {"0/4", "5/4", "1/0", "x/2", "2", "-1/3", "1/3/4"}) {
    auto r =
        run_deepcomp("sweep " + labelled_grid() + " --shard " + spec + " -o " + dir_ + "/x.csv");
    EXPECT_EQ(r.exit_code, 1) << spec;
    EXPECT_NE(r.err.find("--shard: '"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir_ + "/x.csv"));
  }
  auto r = run_deepcomp("sweep " + lenet300() + " --merge " + s1 + " -o " + dir_ + "/x.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--merge takes the shards' CSV files, not a MODEL"), std::string::npos);
}

}  // namespace
}  // namespace deepcomp
