// `deepcomp compress --onnx-compact`: the compact ONNX file is written beside the .dcz, passes the
// ONNX checker, is smaller than the input, holds the decompressed model's weights exactly (its
// outputs in deepcomp's runtime equal the decompressed model's), and the output path is guarded
// like every other output.
#include <gtest/gtest.h>

#include <filesystem>

#include "onnx_io/onnx_io.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::run_deepcomp;
using testing::temp_dir;

std::string lenet() { return testing::source_dir() + "/models/lenet-300-100.onnx"; }

std::vector<float> run_model(const std::string& path) {
  auto model = onnx_io::load_model(path);
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return {};
  auto session = runtime::Session::create(*model);
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return {};
  std::vector<float> x(3 * 784);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 256) / 255.0f;
  auto out = session->run({runtime::Value::floats({3, 1, 28, 28}, x)});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? (*out)[0].f : std::vector<float>{};
}

TEST(CompactCli, CompactOnnxIsSmallerCheckedAndMatchesTheDecompressedModel) {
  if (!fs::exists(lenet())) GTEST_SKIP() << "models/lenet-300-100.onnx is absent";
  const std::string dir = temp_dir();
  // Without pruning every weight takes the dense-indices form, which deepcomp's runtime runs.
  auto r = run_deepcomp("compress '" + lenet() + "' -o " + dir +
                        "/m.dcz --no-prune --onnx-compact " + dir + "/m.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + dir + "/m.onnx (compact ONNX"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 weights rebuilt: 3 dense-indices; opset 13"), std::string::npos) << r.out;
  EXPECT_TRUE(onnx_io::check_model_file(dir + "/m.onnx").ok());
  // 266200 fc weights at one byte each instead of four.
  EXPECT_LT(fs::file_size(dir + "/m.onnx"), fs::file_size(lenet()) / 3);
  auto compact = onnx_io::load_model(dir + "/m.onnx");
  ASSERT_TRUE(compact.ok());
  for (const Tensor& t : compact->tensors)
    EXPECT_FALSE(t.dtype == DType::kFloat32 && t.numel() > 1000) << t.name << " is still dense";

  ASSERT_EQ(run_deepcomp("decompress " + dir + "/m.dcz -o " + dir + "/dense.onnx").exit_code, 0);
  const std::vector<float> want = run_model(dir + "/dense.onnx");
  ASSERT_EQ(want.size(), 30u);
  EXPECT_EQ(run_model(dir + "/m.onnx"), want);
}

TEST(CompactCli, PrunedModelPassesTheCheckerAndShrinks) {
  if (!fs::exists(lenet())) GTEST_SKIP() << "models/lenet-300-100.onnx is absent";
  const std::string dir = temp_dir();
  auto r = run_deepcomp("compress '" + lenet() + "' -o " + dir +
                        "/m.dcz --prune 0.95 --onnx-compact " + dir + "/m.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // At 5% density the sparse form (a uint8 cluster and a uint8/uint16 gap per weight) wins.
  EXPECT_NE(r.out.find("sparse-delta"), std::string::npos) << r.out;
  EXPECT_TRUE(onnx_io::check_model_file(dir + "/m.onnx").ok());
  EXPECT_LT(fs::file_size(dir + "/m.onnx"), fs::file_size(lenet()) / 10);
}

TEST(CompactCli, OutputPathIsRefusedWhenItIsAnInputOrExists) {
  if (!fs::exists(lenet())) GTEST_SKIP() << "models/lenet-300-100.onnx is absent";
  const std::string dir = temp_dir();
  const std::string base = "compress '" + lenet() + "' -q -o " + dir + "/m.dcz --onnx-compact ";
  auto same_as_input = run_deepcomp(base + "'" + lenet() + "'");
  EXPECT_NE(same_as_input.exit_code, 0);
  EXPECT_NE(same_as_input.err.find("overwrite the input"), std::string::npos) << same_as_input.err;
  auto same_as_dcz = run_deepcomp(base + dir + "/m.dcz");
  EXPECT_NE(same_as_dcz.exit_code, 0);
  EXPECT_FALSE(fs::exists(dir + "/m.dcz")) << "nothing is written when an output path is refused";

  testing::write_text(dir + "/c.onnx", "keep");
  auto exists = run_deepcomp(base + dir + "/c.onnx");
  EXPECT_NE(exists.exit_code, 0);
  EXPECT_EQ(testing::read_text(dir + "/c.onnx"), "keep");
  auto forced = run_deepcomp(base + dir + "/c.onnx --force");
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_TRUE(onnx_io::check_model_file(dir + "/c.onnx").ok());
}

}  // namespace
}  // namespace deepcomp
