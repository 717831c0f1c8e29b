// `deepcomp eval` through the binary: correct counts against ONNX Runtime's (PROVENANCE.tsv) and
// models/README.md, preprocessing (padding, mean/std, layouts) checked against independent truth,
// a .dcz against its decompressed .onnx, and one-line errors naming the bad file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/idx.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::run_deepcomp;
using testing::temp_dir;
using testing::write_text;

std::string mnist(const std::string& file) { return testing::shared_dir() + "/data/mnist/" + file; }
std::string shared_model(const std::string& name) {
  return testing::shared_dir() + "/models/" + name + ".onnx";
}

nlohmann::json eval_json(const std::string& args) {
  auto r = run_deepcomp("eval --json " + args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return {};
  return nlohmann::json::parse(r.out);
}

// Rows of PROVENANCE.tsv with an ONNX Runtime count: {model file, correct}.
std::vector<std::pair<std::string, int>> ort_counts() {
  std::istringstream in(testing::read_text(testing::shared_dir() + "/models/PROVENANCE.tsv"));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::istringstream hs(line);
  for (std::string f; std::getline(hs, f, '\t');) header.push_back(f);
  const size_t col =
      std::find(header.begin(), header.end(), "ort_top1_correct_on_shared_mnist") - header.begin();
  std::vector<std::pair<std::string, int>> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream ls(line);
    for (std::string x; std::getline(ls, x, '\t');) f.push_back(x);
    if (col < f.size() && f[col] != "-") rows.emplace_back(f[0], std::stoi(f[col]));
  }
  return rows;
}

TEST(EvalCli, CorrectCountsMatchOnnxRuntimeOnSharedMnist) {
  DEEPCOMP_REQUIRE_SHARED();
  const auto rows = ort_counts();
  ASSERT_EQ(rows.size(), 5u);
  for (const auto& [file, ort_correct] : rows) {
    SCOPED_TRACE(file);
    const auto j =
        eval_json(testing::shared_dir() + "/models/" + file + " --images " +
                  mnist("images-idx3-ubyte.gz") + " --labels " + mnist("labels-idx1-ubyte.gz"));
    ASSERT_FALSE(j.is_null());
    EXPECT_EQ(j["count"], 10000);
    EXPECT_NEAR(j["correct"].get<int>(), ort_correct, 5);
    EXPECT_DOUBLE_EQ(j["top1"].get<double>(), j["correct"].get<int>() / 10000.0);
    EXPECT_GE(j["top5"].get<double>(), j["top1"].get<double>());
    EXPECT_LE(j["top5"].get<double>(), 1.0);
    EXPECT_GT(j["images_per_s"].get<double>(), 0);
    EXPECT_EQ(j["sparse"], false);
  }
}

TEST(EvalCli, LeNet300100OnFashionMnistGivesTheReadmeCount) {
  const std::string model = testing::source_dir() + "/models/lenet-300-100.onnx";
  const std::string f = "/usr/share/datasets/fashion-mnist/";
  if (!fs::exists(model) || !fs::exists(f + "t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "models/lenet-300-100.onnx or Fashion-MNIST absent";
  }
  const auto j = eval_json(model + " --images " + f + "t10k-images-idx3-ubyte.gz --labels " + f +
                           "t10k-labels-idx1-ubyte.gz");
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["correct"], 8937);  // models/README.md: PyTorch and ONNX Runtime both
  EXPECT_EQ(j["top5_correct"], 9984);
}

// The first `n` MNIST images and labels as float arrays (pixels 0..255).
struct Digits {
  data::Array images, labels;
};
Digits first_digits(int64_t n) {
  auto images = data::read_idx(mnist("images-idx3-ubyte.gz"));
  auto labels = data::read_idx(mnist("labels-idx1-ubyte.gz"));
  EXPECT_TRUE(images.ok() && labels.ok());
  Digits d;
  d.images.shape = {n, 28, 28};
  d.images.values.assign(images->values.begin(), images->values.begin() + n * 784);
  d.labels.shape = {n};
  d.labels.values.assign(labels->values.begin(), labels->values.begin() + n);
  return d;
}

// Cropping 2 blank pixels off each side and padding them back with --pad 2 restores the input,
// and --scale 1 --std 255 is the default scale spelled differently: same counts as the original.
TEST(EvalCli, PaddingAndMeanStdReproduceTheOriginalInput) {
  DEEPCOMP_REQUIRE_SHARED();
  const Digits d = first_digits(300);
  const std::string dir = temp_dir();
  data::Array cropped;
  cropped.shape = {0, 24, 24};
  data::Array kept_labels;
  kept_labels.shape = {0};
  for (int64_t i = 0; i < 300; ++i) {
    const float* img = d.images.values.data() + i * 784;
    bool blank_border = true;
    std::vector<float> inner;
    for (int y = 0; y < 28; ++y) {
      for (int x = 0; x < 28; ++x) {
        const bool border = y < 2 || y >= 26 || x < 2 || x >= 26;
        if (border)
          blank_border = blank_border && img[y * 28 + x] == 0;
        else
          inner.push_back(img[y * 28 + x]);
      }
    }
    if (!blank_border) continue;
    cropped.values.insert(cropped.values.end(), inner.begin(), inner.end());
    ++cropped.shape[0];
    kept_labels.values.push_back(d.labels.values[i]);
    ++kept_labels.shape[0];
  }
  ASSERT_GT(cropped.shape[0], 200);
  // The uncropped versions of the kept images, to compare with.
  data::Array full;
  full.shape = {cropped.shape[0], 28, 28};
  for (int64_t i = 0; i < cropped.shape[0]; ++i) {
    std::vector<float> img(784, 0.0f);
    for (int y = 0; y < 24; ++y)
      for (int x = 0; x < 24; ++x) img[(y + 2) * 28 + x + 2] = cropped.values[i * 576 + y * 24 + x];
    full.values.insert(full.values.end(), img.begin(), img.end());
  }
  write_text(dir + "/crop.npy", data::npy_bytes(cropped.shape, cropped.values));
  write_text(dir + "/full.npy", data::npy_bytes(full.shape, full.values));
  write_text(dir + "/labels.npy", data::npy_bytes(kept_labels.shape, kept_labels.values));
  for (const char* name : {"Convnet_maxpool", "mnist-net_256x2"}) {
    SCOPED_TRACE(name);
    const std::string base = shared_model(name) + " --labels " + dir + "/labels.npy --images ";
    const auto want = eval_json(base + dir + "/full.npy");
    const auto padded = eval_json(base + dir + "/crop.npy --pad 2");
    const auto std_form = eval_json(base + dir + "/full.npy --scale 1 --mean 0 --std 255");
    ASSERT_FALSE(want.is_null() || padded.is_null() || std_form.is_null());
    EXPECT_GT(want["correct"].get<int>(), 0.9 * cropped.shape[0]);
    EXPECT_EQ(padded["correct"], want["correct"]);
    EXPECT_EQ(padded["top5"], want["top5"]);
    EXPECT_EQ(std_form["correct"], want["correct"]);
    // Without the padding the images do not fit the model: an error, not a silent reshape.
    auto r = run_deepcomp("eval " + base + dir + "/crop.npy");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("crop.npy"), std::string::npos) << r.err;
  }
}

// With labels = ONNX Runtime's argmax on the reference inputs, top-1 is 8/8 whatever layout the
// images are stored in: NHWC model fed HWC images, NCHW model fed CHW and HWC images.
TEST(EvalCli, LayoutsFollowTheModelInputAndTheStoredImages) {
  DEEPCOMP_REQUIRE_SHARED();
  const std::string ref = testing::shared_dir() + "/models/reference/";
  const std::string dir = temp_dir();
  for (const char* name : {"cifar10_large", "cifar_base_kw"}) {
    SCOPED_TRACE(name);
    auto in = data::read_npy(ref + std::string(name) + ".inputs.npy");
    auto out = data::read_npy(ref + std::string(name) + ".outputs.npy");
    ASSERT_TRUE(in.ok() && out.ok());
    std::vector<float> labels;
    for (int s = 0; s < 8; ++s) {
      const float* row = out->values.data() + s * 10;
      labels.push_back(static_cast<float>(std::max_element(row, row + 10) - row));
    }
    write_text(dir + "/labels.npy", data::npy_bytes({8}, labels));
    write_text(dir + "/images.npy", data::npy_bytes(in->shape, in->values));
    std::vector<std::string> image_files = {dir + "/images.npy"};
    if (in->shape[1] == 3) {  // also the same images stored HWC
      std::vector<float> hwc(in->values.size());
      for (int s = 0; s < 8; ++s)
        for (int c = 0; c < 3; ++c)
          for (int p = 0; p < 1024; ++p)
            hwc[s * 3072 + p * 3 + c] = in->values[s * 3072 + c * 1024 + p];
      write_text(dir + "/hwc.npy", data::npy_bytes({8, 32, 32, 3}, hwc));
      image_files.push_back(dir + "/hwc.npy");
    }
    for (const std::string& images : image_files) {
      const auto j = eval_json(shared_model(name) + " --scale 1 --images " + images + " --labels " +
                               dir + "/labels.npy");
      ASSERT_FALSE(j.is_null());
      EXPECT_EQ(j["correct"], 8) << images;
    }
  }
}

// A .dcz run sparse (its default) and its decompressed .onnx run dense predict the same classes.
TEST(EvalCli, DczAndItsDecompressedOnnxPredictTheSame) {
  DEEPCOMP_REQUIRE_SHARED();
  const Digits d = first_digits(200);
  const std::string dir = temp_dir();
  std::vector<float> scaled(d.images.values);
  for (float& v : scaled) v /= 255.0f;
  for (const char* name : {"mnist-net_256x2", "Convnet_maxpool"}) {
    SCOPED_TRACE(name);
    auto r = run_deepcomp("compress " + shared_model(name) +
                          " --prune-fc 0.95 --prune-conv 0.7 -o " + dir + "/" + name + ".dcz");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_deepcomp("decompress " + dir + "/" + name + ".dcz -o " + dir + "/" + name + ".onnx");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const bool flat = std::string(name) == "mnist-net_256x2";
    write_text(dir + "/in.npy", data::npy_bytes(flat ? std::vector<int64_t>{200, 784, 1}
                                                     : std::vector<int64_t>{200, 1, 28, 28},
                                                scaled));
    std::vector<std::vector<int>> predictions;
    for (const std::string& model : {dir + "/" + name + ".dcz", dir + "/" + name + ".onnx"}) {
      r = run_deepcomp("run --force " + model + " --input " + dir + "/in.npy -o " + dir +
                       "/out.npy");
      ASSERT_EQ(r.exit_code, 0) << r.err;
      auto out = data::read_npy(dir + "/out.npy");
      ASSERT_TRUE(out.ok());
      ASSERT_EQ(out->shape, (std::vector<int64_t>{200, 10}));
      std::vector<int> argmax;
      for (int s = 0; s < 200; ++s) {
        const float* row = out->values.data() + s * 10;
        argmax.push_back(static_cast<int>(std::max_element(row, row + 10) - row));
      }
      predictions.push_back(argmax);
    }
    EXPECT_EQ(predictions[0], predictions[1]);
    // And eval reports the .dcz as run sparse, every Gemm/Conv weight kept compressed.
    r = run_deepcomp("eval " + dir + "/" + name + ".dcz --limit 50 --images " +
                     mnist("images-idx3-ubyte.gz") + " --labels " + mnist("labels-idx1-ubyte.gz"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(flat ? "3 weights sparse)" : "2 weights sparse)"), std::string::npos)
        << r.out;
  }
}

// Each bad input: exit 1, one line on stderr naming the file.
void expect_one_line_error(const std::string& args, const std::string& file) {
  auto r = run_deepcomp("eval " + args);
  EXPECT_EQ(r.exit_code, 1) << args;
  EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

std::string be32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}

TEST(EvalCli, BadInputsGiveOneLineErrorsNamingTheFile) {
  DEEPCOMP_REQUIRE_SHARED();
  const std::string dir = temp_dir();
  const std::string model = shared_model("Convnet_maxpool");
  const std::string images = mnist("images-idx3-ubyte.gz");
  const std::string labels = mnist("labels-idx1-ubyte.gz");
  // Image size not matching the model input (MNIST into a CIFAR model).
  expect_one_line_error(
      shared_model("cifar_base_kw") + " --images " + images + " --labels " + labels,
      "images-idx3-ubyte.gz");
  // Label count != image count.
  const Digits d = first_digits(10);
  write_text(dir + "/ten.npy", data::npy_bytes(d.images.shape, d.images.values));
  write_text(dir + "/nine.npy", data::npy_bytes({9}, std::vector<float>(9, 1.0f)));
  expect_one_line_error(model + " --images " + dir + "/ten.npy --labels " + dir + "/nine.npy",
                        "nine.npy");
  // Labels out of range for 10 outputs.
  std::vector<float> bad(d.labels.values);
  bad[4] = 10;
  write_text(dir + "/bad_labels.npy", data::npy_bytes({10}, bad));
  expect_one_line_error(model + " --images " + dir + "/ten.npy --labels " + dir + "/bad_labels.npy",
                        "bad_labels.npy");
  // Truncated IDX: the header promises 10 images of 28x28, the file holds 3.5.
  std::string idx = be32(0x00000803) + be32(10) + be32(28) + be32(28);
  idx += std::string(784 * 3 + 392, '\x10');
  write_text(dir + "/trunc.idx", idx);
  expect_one_line_error(model + " --images " + dir + "/trunc.idx --labels " + dir + "/nine.npy",
                        "trunc.idx");
  // Wrong IDX magic.
  write_text(dir + "/magic.idx",
             be32(0x00001803) + be32(1) + be32(28) + be32(28) + std::string(784, '\0'));
  expect_one_line_error(model + " --images " + dir + "/magic.idx --labels " + dir + "/nine.npy",
                        "magic.idx");
  // Empty file, as images and as labels.
  write_text(dir + "/empty.idx", "");
  expect_one_line_error(model + " --images " + dir + "/empty.idx --labels " + labels, "empty.idx");
  expect_one_line_error(model + " --images " + dir + "/ten.npy --labels " + dir + "/empty.idx",
                        "empty.idx");
}

}  // namespace
}  // namespace deepcomp
