// The runtime against ONNX Runtime on the real models in ../shared/models: each model's 8
// reference inputs, run one sample at a time, must reproduce ONNX Runtime's outputs within 1e-4
// (absolute, relative for large values); the same with every weight sparse (CSR built from the
// dense tensors) within 1e-5 of the dense run; and run_batch must give the per-sample results.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/file_io.h"
#include "onnx_io/onnx_io.h"
#include "runtime/batch.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace deepcomp::runtime {
namespace {

namespace fs = std::filesystem;

// Test-local reader for the reference files: little-endian float32 C-order .npy (v1-3) only.
Value read_npy_f32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_GE(data.size(), 10u) << path;
  if (data.size() < 10 || data.compare(0, 6, "\x93NUMPY") != 0) return {};
  const int major = static_cast<unsigned char>(data[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(data[8]) | (static_cast<unsigned char>(data[9]) << 8);
    offset = 10;
  } else {
    uint32_t len = 0;
    std::memcpy(&len, data.data() + 8, 4);
    header_len = len;
    offset = 12;
  }
  const std::string header = data.substr(offset, header_len);
  EXPECT_NE(header.find("'<f4'"), std::string::npos) << path << ": " << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << path;
  const size_t open = header.find('(', header.find("'shape'")), close = header.find(')', open);
  std::vector<int64_t> shape;
  std::string dims = header.substr(open + 1, close - open - 1);
  for (size_t pos = 0; pos < dims.size();) {
    const size_t comma = dims.find(',', pos);
    const std::string tok = dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (tok.find_first_of("0123456789") != std::string::npos) shape.push_back(std::stoll(tok));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  Value v = Value::floats(shape, {});
  const size_t n = static_cast<size_t>(v.numel());
  EXPECT_EQ(data.size() - offset - header_len, n * 4) << path;
  if (data.size() - offset - header_len != n * 4) return {};
  v.f.resize(n);
  std::memcpy(v.f.data(), data.data() + offset + header_len, n * 4);
  return v;
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  const std::string dir = testing::shared_dir();
  if (dir.empty()) return names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir + "/models", ec)) {
    if (e.path().extension() == ".onnx") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool near(float got, float want, float tol) {
  return std::fabs(got - want) <= tol * std::max(1.0f, std::fabs(want));
}

class SharedModelTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    DEEPCOMP_REQUIRE_SHARED();
    const std::string dir = testing::shared_dir() + "/models/";
    auto model = onnx_io::load_model(dir + GetParam() + ".onnx");
    ASSERT_TRUE(model.ok()) << model.status().message();
    model_ = std::move(model).value();
    inputs_ = read_npy_f32(dir + "reference/" + GetParam() + ".inputs.npy");
    expected_ = read_npy_f32(dir + "reference/" + GetParam() + ".outputs.npy");
    ASSERT_EQ(inputs_.rank() > 0 ? inputs_.shape[0] : 0, 8);
    ASSERT_EQ(expected_.shape, (std::vector<int64_t>{8, 10}));
  }

  // Runs every sample alone; returns the outputs stacked [8, 10].
  std::vector<float> run_per_sample(Session& session) {
    std::vector<float> all;
    for (int64_t k = 0; k < 8; ++k) {
      auto out = session.run({sample_of(inputs_, k)});
      EXPECT_TRUE(out.ok()) << out.status().message();
      if (!out.ok()) return {};
      EXPECT_EQ((*out)[0].numel(), 10);
      all.insert(all.end(), (*out)[0].f.begin(), (*out)[0].f.end());
    }
    return all;
  }

  Model model_;
  Value inputs_, expected_;
};

TEST_P(SharedModelTest, MatchesOnnxRuntimeReference) {
  auto session = Session::create(model_);
  ASSERT_TRUE(session.ok()) << session.status().message();
  const std::vector<float> got = run_per_sample(*session);
  ASSERT_EQ(got.size(), expected_.f.size());
  for (size_t k = 0; k < got.size(); ++k) {
    EXPECT_TRUE(near(got[k], expected_.f[k], 1e-4f)) << "element " << k << ": " << got[k] << " vs " << expected_.f[k];
  }
}

TEST_P(SharedModelTest, SparseWeightsFromDenseMatchDenseRun) {
  auto dense = Session::create(model_);
  ASSERT_TRUE(dense.ok()) << dense.status().message();
  SessionOptions options;
  options.sparse_from_dense = true;
  options.profile = true;
  auto sparse = Session::create(model_, options);
  ASSERT_TRUE(sparse.ok()) << sparse.status().message();
  const std::vector<float> a = run_per_sample(*dense), b = run_per_sample(*sparse);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(near(b[k], a[k], 1e-5f)) << k << ": " << b[k] << " vs " << a[k];
  // The profile shows that the layers really ran sparse.
  int sparse_layers = 0;
  for (const NodeTiming& t : sparse->profile()) sparse_layers += t.sparse;
  EXPECT_GT(sparse_layers, 0);
}

TEST_P(SharedModelTest, RunBatchEqualsPerSampleRuns) {
  auto session = Session::create(model_);
  ASSERT_TRUE(session.ok()) << session.status().message();
  const std::vector<float> one = run_per_sample(*session);
  auto batch = run_batch(*session, inputs_);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  ASSERT_EQ(batch->outputs[0].shape, (std::vector<int64_t>{8, 10}));
  for (size_t k = 0; k < one.size(); ++k) EXPECT_TRUE(near(batch->outputs[0].f[k], one[k], 1e-5f));
}

INSTANTIATE_TEST_SUITE_P(Shared, SharedModelTest, ::testing::ValuesIn(model_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SharedModelTest);

}  // namespace
}  // namespace deepcomp::runtime
