// Runs bench/train_vs_torch.py --quick: deepcomp's gradients of every trainable operator and a
// short SGD / Adam epoch of models/lenet-300-100.onnx against PyTorch (Debian's python3-torch).
// Skips when /usr/bin/python3 lacks torch/onnx or the Fashion-MNIST data is absent (exit 77).
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/test_util.h"

namespace deepcomp::testing {
namespace {

TEST(TrainVsTorch, GradientsAndEpochsMatchPyTorch) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 is absent";
  const CommandResult r =
      run_command("/usr/bin/python3 " + source_dir() +
                  "/bench/train_vs_torch.py --quick --deepcomp " + deepcomp_binary());
  if (r.exit_code == 77) GTEST_SKIP() << r.out;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("all checks passed"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace deepcomp::testing
