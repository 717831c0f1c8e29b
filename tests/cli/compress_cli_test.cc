// `deepcomp compress` / `decompress` end to end through the binary, on the project's models and
// the shared pretrained ones: restoration exactness, the JSON report, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "onnx_io/onnx_io.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_deepcomp;
using testing::temp_dir;
using testing::write_text;

std::vector<std::string> all_models() {
  std::vector<std::string> models;
  for (const char* name : {"lenet-300-100.onnx", "lenet-5.onnx"}) {
    const std::string path = testing::source_dir() + "/models/" + name;
    if (fs::exists(path)) models.push_back(path);
  }
  const std::string shared = testing::shared_dir();
  if (!shared.empty())
    for (const auto& entry : fs::directory_iterator(shared + "/models"))
      if (entry.path().extension() == ".onnx") models.push_back(entry.path().string());
  std::sort(models.begin(), models.end());
  return models;
}

// Every weight of the restored model is 0 or one of few shared values per layer, the graph and
// every other tensor are unchanged, and the report's counts agree with the restored weights.
TEST(CompressCli, DecompressRestoresSharedWeightsAndEverythingElse) {
  const auto models = all_models();
  if (models.empty()) GTEST_SKIP() << "no models (models/ and ../shared absent)";
  for (const std::string& path : models) {
    SCOPED_TRACE(path);
    const std::string dir = temp_dir();
    auto r = run_deepcomp("compress '" + path + "' -o " + dir + "/m.dcz --report-json " + dir +
                          "/report.json --prune-fc 0.9 --prune-conv 0.6");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_deepcomp("decompress " + dir + "/m.dcz -o " + dir + "/m.onnx");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto original = onnx_io::load_model(path);
    auto restored = onnx_io::load_model(dir + "/m.onnx");
    ASSERT_TRUE(original.ok()) << original.status().message();
    ASSERT_TRUE(restored.ok()) << restored.status().message();
    EXPECT_EQ(original->skeleton, restored->skeleton);
    const auto report = nlohmann::json::parse(read_text(dir + "/report.json"));
    ASSERT_EQ(report["layers"].size(), original->tensors.size());
    for (size_t i = 0; i < original->tensors.size(); ++i) {
      const Tensor& a = original->tensors[i];
      const Tensor& b = restored->tensors[i];
      const auto& layer = report["layers"][i];
      ASSERT_EQ(a.name, b.name);
      ASSERT_EQ(layer["name"], a.name);
      EXPECT_EQ(a.shape, b.shape);
      EXPECT_EQ(a.dtype, b.dtype);
      if (!layer["compressed"].get<bool>()) {
        EXPECT_EQ(a.values, b.values) << a.name;
        EXPECT_EQ(a.raw, b.raw) << a.name;
        continue;
      }
      std::set<float> shared;
      int64_t nonzero = 0;
      double sse = 0;
      for (size_t k = 0; k < b.values.size(); ++k) {
        if (b.values[k] == 0.0f) continue;
        ++nonzero;
        shared.insert(b.values[k]);
        sse += std::pow(static_cast<double>(a.values[k]) - b.values[k], 2);
      }
      EXPECT_LE(shared.size(), size_t{1} << layer["bits"].get<int>()) << a.name;
      EXPECT_EQ(nonzero, layer["nonzero"].get<int64_t>()) << a.name;
      EXPECT_NEAR(sse, layer["sse"].get<double>(), 1e-6 + 1e-4 * sse) << a.name;
    }
    const auto& total = report["total"];
    EXPECT_EQ(total["file_bytes"].get<double>(), static_cast<double>(fs::file_size(dir + "/m.dcz")));
    EXPECT_GT(total["ratio"].get<double>(), 1.0);
  }
}

TEST(CompressCli, NoPruneNoShareRestoresBitForBit) {
  const auto models = all_models();
  if (models.empty()) GTEST_SKIP() << "no models (models/ and ../shared absent)";
  for (const std::string& path : models) {
    SCOPED_TRACE(path);
    const std::string dir = temp_dir();
    auto r = run_deepcomp("compress '" + path + "' -o " + dir + "/m.dcz --no-prune --no-share -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.empty());
    r = run_deepcomp("decompress " + dir + "/m.dcz -o " + dir + "/m.onnx");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto original = onnx_io::load_model(path);
    auto restored = onnx_io::load_model(dir + "/m.onnx");
    ASSERT_TRUE(original.ok() && restored.ok());
    EXPECT_EQ(original->skeleton, restored->skeleton);
    ASSERT_EQ(original->tensors.size(), restored->tensors.size());
    for (size_t i = 0; i < original->tensors.size(); ++i) {
      EXPECT_EQ(original->tensors[i].values, restored->tensors[i].values);
      EXPECT_EQ(original->tensors[i].raw, restored->tensors[i].raw);
    }
  }
}

class CompressCliErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = testing::source_dir() + "/models/lenet-300-100.onnx";
    if (!fs::exists(model_)) GTEST_SKIP() << "models/lenet-300-100.onnx absent";
    dir_ = temp_dir();
    auto r = run_deepcomp("compress " + model_ + " -o " + dir_ + "/good.dcz -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    good_ = read_text(dir_ + "/good.dcz");
  }
  // Runs and expects exit 1, a one-line error containing `needle`, and no file at `output`.
  void expect_failure(const std::string& args, const std::string& needle,
                      const std::string& output) {
    auto r = run_deepcomp(args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(output)) << output;
    for (const auto& entry : fs::directory_iterator(dir_))
      EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  }
  std::string model_, dir_, good_;
};

TEST_F(CompressCliErrors, BadSettings) {
  const std::string out = dir_ + "/out.dcz";
  expect_failure("compress " + model_ + " -o " + out + " --prune 1.5", "--prune must be in [0, 1)", out);
  expect_failure("compress " + model_ + " -o " + out + " --prune 1", "--prune must be in [0, 1)", out);
  expect_failure("compress " + model_ + " -o " + out + " --bits-fc 0", "--bits-fc must be in 1..16", out);
  expect_failure("compress " + model_ + " -o " + out + " --bits-conv 17", "--bits-conv", out);
  expect_failure("compress " + model_ + " -o " + out + " --init fancy", "fancy", out);
  expect_failure("compress " + model_ + " -o " + out + " --layer 'fc*=prune:2'", "prune", out);
}

TEST_F(CompressCliErrors, RefusesToOverwriteWithoutForceAndNeverTheInput) {
  write_text(dir_ + "/exists.dcz", "keep me");
  auto r = run_deepcomp("compress " + model_ + " -o " + dir_ + "/exists.dcz");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(dir_ + "/exists.dcz"), "keep me");
  r = run_deepcomp("compress " + model_ + " -o " + dir_ + "/exists.dcz --force -q");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_text(dir_ + "/exists.dcz"), "keep me");
  const std::string copy = dir_ + "/copy.onnx";
  fs::copy_file(model_, copy);
  r = run_deepcomp("compress " + copy + " -o " + copy + " --force");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("overwrite the input"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(copy), read_text(model_));
}

TEST_F(CompressCliErrors, DamagedContainers) {
  const std::string out = dir_ + "/out.onnx";
  auto damaged = [&](const std::string& name, const std::string& bytes, const std::string& needle) {
    write_text(dir_ + "/" + name, bytes);
    expect_failure("decompress " + dir_ + "/" + name + " -o " + out, needle, out);
  };
  damaged("magic.dcz", "XXXX" + good_.substr(4), "not a .dcz file");
  damaged("empty.dcz", "", "");
  damaged("truncated.dcz", good_.substr(0, good_.size() / 2), "");
  std::string newer = good_;
  newer[4] = static_cast<char>(0x7F);  // the major version byte follows the 4-byte magic
  damaged("newer.dcz", newer, "version");
  // A flipped byte anywhere (40 positions spread over the file) is detected. Every byte of
  // every section is covered by the container's own tests; this checks the CLI's handling.
  for (size_t pos = 8; pos < good_.size(); pos += good_.size() / 40) {
    std::string flipped = good_;
    flipped[pos] = static_cast<char>(flipped[pos] ^ 0x10);
    damaged("flip.dcz", flipped, "");
  }
}

}  // namespace
}  // namespace deepcomp
