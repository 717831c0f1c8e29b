// Same input and seed give byte-identical .dcz files: across runs and across OMP_NUM_THREADS=1
// and 2, for every k-means initialization, through the deepcomp binary on models/lenet-5.onnx.
#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace deepcomp {
namespace {

using testing::read_text;
using testing::run_command;

class Determinism : public ::testing::TestWithParam<const char*> {};

TEST_P(Determinism, SameSeedGivesByteIdenticalDczForOneAndTwoThreads) {
  const std::string model = testing::source_dir() + "/models/lenet-5.onnx";
  const std::string dir = testing::temp_dir();
  std::string first;
  int run = 0;
  for (const char* threads : {"1", "2", "2"}) {  // the repeated "2" compares two runs as well
    const std::string out = dir + "/r" + std::to_string(run++) + ".dcz";
    auto r = run_command(std::string("OMP_NUM_THREADS=") + threads + " '" +
                         testing::deepcomp_binary() + "' compress -q --seed 7 --init " +
                         GetParam() + " '" + model + "' -o '" + out + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string bytes = read_text(out);
    ASSERT_GT(bytes.size(), 1000u);
    if (first.empty()) {
      first = bytes;
    } else {
      EXPECT_TRUE(bytes == first) << "run with OMP_NUM_THREADS=" << threads << " differs";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Inits, Determinism,
                         ::testing::Values("linear", "density", "random", "kmeans++", "optimal"),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n == "kmeans++" ? std::string("kmeanspp") : n;
                         });

}  // namespace
}  // namespace deepcomp
