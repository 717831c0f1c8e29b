// `deepcomp run` through the binary: reference outputs of the shared models (ONNX Runtime's),
// a .dcz run sparse from its compressed form against its decompressed .onnx run dense, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "data/idx.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::run_deepcomp;
using testing::temp_dir;

std::vector<std::string> shared_models() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(testing::shared_dir() + "/models")) {
    if (entry.path().extension() == ".onnx") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Largest error, absolute for |want| <= 1 and relative above.
double max_error(const data::Array& got, const data::Array& want) {
  double worst = 0;
  for (size_t k = 0; k < want.values.size(); ++k) {
    const double d = std::abs(static_cast<double>(got.values[k]) - want.values[k]);
    worst = std::max(worst, d / std::max(1.0, std::abs(static_cast<double>(want.values[k]))));
  }
  return worst;
}

data::Array read_npy_or_die(const std::string& path) {
  auto a = data::read_npy(path);
  EXPECT_TRUE(a.ok()) << a.status().message();
  return a.ok() ? *a : data::Array{};
}

TEST(RunCli, ReproducesOnnxRuntimeReferenceOutputsOfEverySharedModel) {
  DEEPCOMP_REQUIRE_SHARED();
  const std::string ref = testing::shared_dir() + "/models/reference/";
  for (const std::string& name : shared_models()) {
    SCOPED_TRACE(name);
    const std::string out = temp_dir() + "/out.npy";
    auto r = run_deepcomp("run " + testing::shared_dir() + "/models/" + name + ".onnx --input " +
                          ref + name + ".inputs.npy -o " + out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const data::Array got = read_npy_or_die(out);
    const data::Array want = read_npy_or_die(ref + name + ".outputs.npy");
    ASSERT_EQ(got.shape, want.shape);
    EXPECT_LE(max_error(got, want), 1e-4);
  }
}

// The sparse path computes with the codebook directly, the dense one with the decoded weights:
// the same numbers summed in a different order.
TEST(RunCli, DczRunSparseEqualsDecompressedOnnxRunDense) {
  DEEPCOMP_REQUIRE_SHARED();
  const std::string ref = testing::shared_dir() + "/models/reference/";
  for (const std::string& name : shared_models()) {
    SCOPED_TRACE(name);
    const std::string dir = temp_dir();
    auto r = run_deepcomp("compress " + testing::shared_dir() + "/models/" + name + ".onnx -o " +
                          dir + "/m.dcz");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_deepcomp("decompress " + dir + "/m.dcz -o " + dir + "/m.onnx");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string in = ref + name + ".inputs.npy";
    r = run_deepcomp("run " + dir + "/m.dcz --input " + in + " -o " + dir + "/sparse.npy");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_deepcomp("run " + dir + "/m.onnx --input " + in + " -o " + dir + "/dense.npy");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // --dense on the .dcz decodes every weight: exactly the decompressed model's numbers.
    r = run_deepcomp("run --dense " + dir + "/m.dcz --input " + in + " -o " + dir + "/dd.npy");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const data::Array sparse = read_npy_or_die(dir + "/sparse.npy");
    const data::Array dense = read_npy_or_die(dir + "/dense.npy");
    const data::Array dcz_dense = read_npy_or_die(dir + "/dd.npy");
    ASSERT_EQ(sparse.shape, dense.shape);
    EXPECT_LE(max_error(sparse, dense), 1e-5);
    EXPECT_EQ(dcz_dense.values, dense.values);
    // Compression changed the model: outputs differ from the original's (the test can fail).
    const data::Array original = read_npy_or_die(ref + name + ".outputs.npy");
    EXPECT_GT(max_error(sparse, original), 1e-6);
  }
}

TEST(RunCli, InputShapeMismatchNamesTheInputAndBothShapes) {
  DEEPCOMP_REQUIRE_SHARED();
  const std::string dir = temp_dir();
  testing::write_text(dir + "/in.npy", data::npy_bytes({2, 10}, std::vector<float>(20, 0.5f)));
  auto r = run_deepcomp("run " + testing::shared_dir() + "/models/mnist-net_256x2.onnx --input " +
                        dir + "/in.npy -o " + dir + "/out.npy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("in.npy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("input '0'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[1,784,1]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[2,10]"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/out.npy"));
}

TEST(RunCli, BatchedRunOfProjectModelEqualsPerSampleReference) {
  // lenet-300-100 has a free batch axis, so run_batch runs the 8 samples at once; each row must
  // equal the model run on that sample alone.
  const std::string model = testing::source_dir() + "/models/lenet-300-100.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << "models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  std::vector<float> values(8 * 784);
  for (size_t k = 0; k < values.size(); ++k) values[k] = static_cast<float>((k * 37) % 256) / 255;
  testing::write_text(dir + "/all.npy", data::npy_bytes({8, 1, 28, 28}, values));
  auto r = run_deepcomp("run " + model + " --input " + dir + "/all.npy -o " + dir + "/all_out.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const data::Array all = read_npy_or_die(dir + "/all_out.npy");
  ASSERT_EQ(all.shape, (std::vector<int64_t>{8, 10}));
  for (int s = 0; s < 8; s += 7) {
    std::vector<float> one(values.begin() + s * 784, values.begin() + (s + 1) * 784);
    testing::write_text(dir + "/one.npy", data::npy_bytes({1, 1, 28, 28}, one));
    r = run_deepcomp("run --force " + model + " --input " + dir + "/one.npy -o " + dir +
                     "/one_out.npy");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const data::Array single = read_npy_or_die(dir + "/one_out.npy");
    ASSERT_EQ(single.values.size(), 10u);
    for (int c = 0; c < 10; ++c) EXPECT_NEAR(single.values[c], all.values[s * 10 + c], 1e-5);
  }
}

TEST(RunCli, RefusesToOverwriteWithoutForceAndSparseWithDense) {
  const std::string model = testing::source_dir() + "/models/lenet-300-100.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << "models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  testing::write_text(dir + "/in.npy", data::npy_bytes({1, 1, 28, 28}, std::vector<float>(784)));
  testing::write_text(dir + "/out.npy", "keep");
  auto r = run_deepcomp("run " + model + " --input " + dir + "/in.npy -o " + dir + "/out.npy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(testing::read_text(dir + "/out.npy"), "keep");
  r = run_deepcomp("run --sparse --dense " + model + " --input " + dir + "/in.npy -o " + dir +
                   "/o2.npy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--sparse"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace deepcomp
