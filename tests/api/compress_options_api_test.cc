// The CompressOptions fields that mirror `deepcomp compress --onnx-compact` and
// `--quant-bits-conv / --quant-bits-fc`: the API writes the command's files byte for byte.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "deepcomp/deepcomp.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_command;
using testing::run_deepcomp;
using testing::temp_dir;

std::string model_path(const std::string& name) {
  return testing::source_dir() + "/models/" + name;
}

std::string python() {
  const char* env = std::getenv("PYTHON");
  if (env && *env) return env;
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

TEST(CompressOptionsApi, OnnxCompactWritesTheCommandsFile) {
  const std::string dir = temp_dir();
  auto cli = run_deepcomp("compress " + model_path("lenet-300-100.onnx") + " -o " + dir +
                          "/cli.dcz --onnx-compact " + dir +
                          "/cli.onnx --prune-fc 0.8 -q "
                          "--no-energy");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  CompressOptions options;
  options.prune_fc = 0.8;
  options.onnx_compact = dir + "/api.onnx";
  auto report = compress_file(model_path("lenet-300-100.onnx"), dir + "/api.dcz", options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(read_text(dir + "/api.dcz"), read_text(dir + "/cli.dcz"));
  ASSERT_TRUE(fs::exists(dir + "/api.onnx"));
  EXPECT_EQ(read_text(dir + "/api.onnx"), read_text(dir + "/cli.onnx"));

  // An existing compact output is refused before any work (the .dcz is not written either).
  auto again = compress_file(model_path("lenet-300-100.onnx"), dir + "/new.dcz", options);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("api.onnx"), std::string::npos)
      << again.status().message();
  EXPECT_FALSE(fs::exists(dir + "/new.dcz"));
  options.onnx_compact = dir + "/api.dcz";  // the .dcz itself
  options.overwrite = true;
  EXPECT_FALSE(compress_file(model_path("lenet-300-100.onnx"), dir + "/api.dcz", options).ok());
}

TEST(CompressOptionsApi, QuantBitsShareEightBitLayersAsTheCommandDoes) {
  if (run_command(python() + " -c 'import numpy, onnx'").exit_code != 0)
    GTEST_SKIP() << "python3 with numpy and onnx is not available (set $PYTHON)";
  const std::string dir = temp_dir();
  const std::string q8 = dir + "/lenet5.qdq.onnx";
  auto q = run_command(python() + " " + testing::source_dir() + "/scripts/quantize_onnx.py " +
                       model_path("lenet-5.onnx") + " " + q8 + " --form qdq --scheme sym");
  ASSERT_EQ(q.exit_code, 0) << q.err;
  auto cli = run_deepcomp("compress " + q8 + " -o " + dir +
                          "/cli.dcz --quant-bits-conv 2 --quant-bits-fc 3 -q --no-energy");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  CompressOptions options;
  options.quant_bits_conv = 2;
  options.quant_bits_fc = 3;
  auto narrow = compress_file(q8, dir + "/api.dcz", options);
  ASSERT_TRUE(narrow.ok()) << narrow.status().message();
  EXPECT_EQ(read_text(dir + "/api.dcz"), read_text(dir + "/cli.dcz"));
  // The defaults (4 / 6 bits) give a larger file: the fields reach the pipeline.
  auto defaults = compress_file(q8, dir + "/default.dcz");
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_GT(defaults->ratio(), 0);
  EXPECT_GT(fs::file_size(dir + "/default.dcz"), fs::file_size(dir + "/api.dcz"));
  options.quant_bits_fc = 17;
  Status s = validate_compress_options(options);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("quant-bits-fc"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace deepcomp
