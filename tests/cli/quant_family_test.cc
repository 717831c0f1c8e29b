// `deepcomp sweep --quantized` (toolkit/quant_family.h) end to end on LeNet-300-100 and its 8-bit
// QDQ form (scripts/quantize_onnx.py) on 500 Fashion-MNIST images: the four rows in order, their
// weight bytes equal to `deepcomp compress`'s report of each model, and their top-1 equal to
// `deepcomp eval` of the float model, the 8-bit model and the decompressed .dcz of each.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::run_command;
using testing::run_deepcomp;

const char* kImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const char* kLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

std::string python() {
  const char* env = std::getenv("PYTHON");
  if (env && *env) return env;
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

TEST(QuantFamily, SweepWritesFloatEightBitAndDeepCompressionOfBoth) {
  const std::string src = testing::source_dir();
  const std::string lenet = src + "/models/lenet-300-100.onnx";
  if (!fs::exists(kImages) || !fs::exists(kLabels))
    GTEST_SKIP() << "Fashion-MNIST test set not in /usr/share/datasets/fashion-mnist";
  if (run_command(python() + " -c 'import numpy, onnx'").exit_code != 0)
    GTEST_SKIP() << "python3 with numpy and onnx is not available (set $PYTHON)";
  const std::string dir = testing::temp_dir();
  const std::string q = dir + "/lenet.qdq.onnx";
  auto made = run_command(python() + " " + src + "/scripts/quantize_onnx.py " + lenet + " " + q +
                          " --form qdq --scheme asym");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string data =
      std::string(" --images ") + kImages + " --labels " + kLabels + " --limit 500";
  auto sweep = run_deepcomp("sweep " + lenet + " --quantized " + q +
                            " --prune 0.5 --bits 5 --init linear -q -o " + dir + "/s.csv" + data);
  ASSERT_EQ(sweep.exit_code, 0) << sweep.err;
  const auto rows = csv_rows(testing::read_text(dir + "/s.family.csv"));
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"form", "model", "weight_bytes", "vs_float",
                                               "file_bytes", "score"}));
  const char* forms[] = {"float", "8-bit", "deep compression of float",
                         "deep compression of 8-bit"};
  // The independent measurements, one model at a time.
  auto compress = [&](const std::string& model, const std::string& base) {
    auto c = run_deepcomp("compress " + model + " -o " + base + ".dcz -q --report-json " + base +
                          ".json");
    EXPECT_EQ(c.exit_code, 0) << c.err;
    auto d = run_deepcomp("decompress " + base + ".dcz -o " + base + ".out.onnx");
    EXPECT_EQ(d.exit_code, 0) << d.err;
    return nlohmann::json::parse(testing::read_text(base + ".json"))["total"];
  };
  auto top1 = [&](const std::string& model) {
    auto e = run_deepcomp("eval " + model + data + " --json");
    EXPECT_EQ(e.exit_code, 0) << e.err;
    return nlohmann::json::parse(e.out)["top1"].get<double>();
  };
  const auto f = compress(lenet, dir + "/f"), e = compress(q, dir + "/q");
  const double bytes[] = {f["original_bytes"].get<double>(), e["original_bytes"].get<double>(),
                          f["huffman_bytes"].get<double>(), e["huffman_bytes"].get<double>()};
  const double scores[] = {top1(lenet), top1(q), top1(dir + "/f.out.onnx"),
                           top1(dir + "/q.out.onnx")};
  for (int k = 0; k < 4; ++k) {
    const auto& r = rows[k + 1];
    ASSERT_EQ(r.size(), 6u);
    EXPECT_EQ(r[0], forms[k]);
    EXPECT_NEAR(std::stod(r[2]), bytes[k], 0.5) << forms[k];
    EXPECT_NEAR(std::stod(r[3]), bytes[0] / bytes[k], 1e-4) << forms[k];
    EXPECT_NEAR(std::stod(r[5]), scores[k], 1e-6) << forms[k];
  }
  // 8-bit weights are a quarter of the float ones (1 byte against 4, the same tensors).
  EXPECT_NEAR(bytes[0] / bytes[1], 4.0, 0.1);
}

}  // namespace
}  // namespace deepcomp
