// The runtime against ONNX Runtime on real pretrained third-party models (PaddleOCR, BlazeFace,
// Silero VAD, openWakeWord; models/real/PROVENANCE.tsv) and the project's own models, on real
// inputs. scripts/fetch-real-models.sh fetches the models and scripts/make-real-references.sh
// writes, per case, the inputs, ONNX Runtime's outputs on the original model, the .dcz that
// `deepcomp compress` makes at its defaults, and ONNX Runtime's outputs on its decompressed ONNX.
// Every output must match within 1e-4 + 1e-3 * max|reference| (per output tensor):
//   original .onnx in the Session            vs ORT on the original
//   .dcz decoded dense in the Session          vs ORT on the decompressed .onnx
//   .dcz run by `deepcomp run` (compressed form), first output     vs the same
// A case whose files are absent skips with the command that makes them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "compress/container.h"
#include "compress/pipeline.h"
#include "onnx_io/onnx_io.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace deepcomp::runtime {
namespace {

namespace fs = std::filesystem;

// One per model run that make-real-references.sh makes (models/real/make_inputs.py).
const std::vector<std::string> kCases = {
    "ocr_det",
    "ocr_rec",
    "ocr_cls",
    "blazeface_front",
    "blazeface_back",
    "silero_v6",
    "silero_op18_ifless",
    "silero_16k_op15",
    "silero_v4",
    "oww_melspectrogram",
    "oww_embedding",
    "oww_hey_jarvis",
    "oww_alexa",
    "seq-transformer",
    "seq-lstm",
    "lenet-300-100",
    "lenet-5",
};

std::string cases_dir() { return testing::source_dir() + "/third_party/real-models/cases"; }

// Test-local typed .npy reader (v1-3, C order): the dtype decides the Value's storage, so int64
// inputs such as Silero's sample rate stay exact. Returns false with `error` set on anything else.
bool read_npy(const std::string& path, Value* v, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < 12 || data.compare(0, 6, "\x93NUMPY") != 0)
    return *error = path + ": not .npy", false;
  const int major = static_cast<unsigned char>(data[6]);
  uint32_t header_len = 0;
  size_t offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(data[8]) | (static_cast<unsigned char>(data[9]) << 8);
    offset = 10;
  } else {
    std::memcpy(&header_len, data.data() + 8, 4);
    offset = 12;
  }
  if (offset + header_len > data.size()) return *error = path + ": truncated header", false;
  const std::string header = data.substr(offset, header_len);
  if (header.find("'fortran_order': False") == std::string::npos)
    return *error = path + ": fortran order", false;
  const size_t d0 = header.find('\'', header.find("'descr'") + 7) + 1;
  const std::string descr = header.substr(d0, header.find('\'', d0) - d0);
  const size_t open = header.find('(', header.find("'shape'")), close = header.find(')', open);
  std::vector<int64_t> shape;
  const std::string dims = header.substr(open + 1, close - open - 1);
  for (size_t pos = 0; pos < dims.size();) {
    const size_t comma = dims.find(',', pos);
    const std::string tok =
        dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (tok.find_first_of("0123456789") != std::string::npos) shape.push_back(std::stoll(tok));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  const char* p = data.data() + offset + header_len;
  const size_t bytes = data.size() - offset - header_len;
  auto need = [&](size_t width) { return bytes == static_cast<size_t>(n) * width; };
  if (descr == "<f4" && need(4)) {
    *v = Value::floats(shape, std::vector<float>(n));
    std::memcpy(v->f.data(), p, bytes);
  } else if (descr == "<f8" && need(8)) {
    *v = zeros_like_dtype(DType::kFloat64, shape);
    for (int64_t k = 0; k < n; ++k) {
      double x;
      std::memcpy(&x, p + 8 * k, 8);
      v->f[k] = static_cast<float>(x);
    }
  } else if (descr == "<i8" && need(8)) {
    *v = Value::ints(shape, std::vector<int64_t>(n));
    std::memcpy(v->i.data(), p, bytes);
  } else if (descr == "<i4" && need(4)) {
    *v = zeros_like_dtype(DType::kInt32, shape);
    for (int64_t k = 0; k < n; ++k) {
      int32_t x;
      std::memcpy(&x, p + 4 * k, 4);
      v->i[k] = x;
    }
  } else if ((descr == "|b1" || descr == "|u1") && need(1)) {
    *v = zeros_like_dtype(descr == "|b1" ? DType::kBool : DType::kUInt8, shape);
    for (int64_t k = 0; k < n; ++k) v->i[k] = static_cast<unsigned char>(p[k]);
  } else {
    return *error = path + ": dtype " + descr + " with " + std::to_string(bytes) + " bytes for " +
                    std::to_string(n) + " elements is not supported here",
           false;
  }
  return true;
}

// Reads PREFIX0.npy, PREFIX1.npy ... from `dir` until one is absent.
std::vector<Value> read_numbered(const std::string& dir, const std::string& prefix) {
  std::vector<Value> values;
  for (int k = 0; fs::exists(dir + "/" + prefix + std::to_string(k) + ".npy"); ++k) {
    Value v;
    std::string error;
    if (!read_npy(dir + "/" + prefix + std::to_string(k) + ".npy", &v, &error)) {
      ADD_FAILURE() << error;
      return {};
    }
    values.push_back(std::move(v));
  }
  return values;
}

// Every output within 1e-4 + 1e-3 * max|reference| of ONNX Runtime's; integer outputs exactly.
void expect_outputs_match(const std::vector<Value>& got, const std::vector<Value>& want,
                          const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what << ": output count";
  for (size_t o = 0; o < want.size(); ++o) {
    ASSERT_EQ(got[o].shape, want[o].shape)
        << what << ": output " << o << " shape " << describe(got[o]) << " vs " << describe(want[o]);
    double max_ref = 0;
    for (int64_t k = 0; k < want[o].numel(); ++k)
      max_ref = std::max(max_ref, std::fabs(want[o].as_double(k)));
    const double tol = want[o].is_float() ? 1e-4 + 1e-3 * max_ref : 0;
    double worst = 0;
    int64_t worst_at = -1, bad = 0;
    for (int64_t k = 0; k < want[o].numel(); ++k) {
      const double d = std::fabs(got[o].as_double(k) - want[o].as_double(k));
      if (!(d <= tol)) ++bad;
      if (!(d <= worst)) worst = d, worst_at = k;
    }
    EXPECT_EQ(bad, 0) << what << ": output " << o << " " << describe(want[o]) << ": " << bad
                      << " elements off by more than " << tol << "; worst " << worst << " at "
                      << worst_at << " (" << got[o].as_double(worst_at) << " vs "
                      << want[o].as_double(worst_at) << ")";
  }
}

void run_and_compare(const Model& model, const std::vector<Value>& inputs,
                     const std::vector<Value>& want, const std::string& what) {
  auto session = Session::create(model);
  ASSERT_TRUE(session.ok()) << what << ": " << session.status().message();
  ASSERT_EQ(session->inputs().size(), inputs.size()) << what;
  auto got = session->run(inputs);
  ASSERT_TRUE(got.ok()) << what << ": " << got.status().message();
  expect_outputs_match(*got, want, what);
}

// The dense Model a .dcz restores to (what `deepcomp decompress` writes).
Result<Model> load_dcz_dense(const std::string& path) {
  DEEPCOMP_ASSIGN_OR_RETURN(compress::Container container, compress::read_container(path));
  std::vector<Tensor> tensors;
  for (const compress::EncodedTensor& encoded : container.tensors) {
    DEEPCOMP_ASSIGN_OR_RETURN(Tensor t, compress::decode_tensor(encoded));
    tensors.push_back(std::move(t));
  }
  return onnx_io::model_from_skeleton(container.skeleton, std::move(tensors), path);
}

class RealModelTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = cases_dir() + "/" + GetParam();
    if (!fs::exists(dir_ + "/model.txt") || !fs::exists(dir_ + "/ort_0.npy")) {
      GTEST_SKIP() << dir_ << " is absent: run scripts/fetch-real-models.sh, then "
                   << "scripts/make-real-references.sh (needs bench/node_modules)";
    }
    model_path_ = testing::read_text(dir_ + "/model.txt");
    while (!model_path_.empty() && (model_path_.back() == '\n' || model_path_.back() == '\r'))
      model_path_.pop_back();
    if (!fs::exists(model_path_)) GTEST_SKIP() << model_path_ << " is absent";
    inputs_ = read_numbered(dir_, "in_");
    ASSERT_FALSE(inputs_.empty()) << dir_ << ": no inputs";
  }

  std::string dir_, model_path_;
  std::vector<Value> inputs_;
};

TEST_P(RealModelTest, OriginalMatchesOnnxRuntime) {
  auto model = onnx_io::load_model(model_path_);
  ASSERT_TRUE(model.ok()) << model.status().message();
  run_and_compare(*model, inputs_, read_numbered(dir_, "ort_"), GetParam());
}

TEST_P(RealModelTest, CompressedDecodedMatchesOnnxRuntimeOnDecompressed) {
  if (fs::exists(dir_ + "/compress.err")) {
    FAIL() << "deepcomp compress failed on " << model_path_ << ": "
           << testing::read_text(dir_ + "/compress.err");
  }
  if (!fs::exists(dir_ + "/model.dcz") || !fs::exists(dir_ + "/ort_dcz_0.npy")) {
    GTEST_SKIP() << dir_
                 << ": no model.dcz / ort_dcz_0.npy (rerun scripts/make-real-references.sh)";
  }
  auto model = load_dcz_dense(dir_ + "/model.dcz");
  ASSERT_TRUE(model.ok()) << model.status().message();
  run_and_compare(*model, inputs_, read_numbered(dir_, "ort_dcz_"), GetParam() + " (.dcz dense)");
}

// `deepcomp run` keeps each compressed layer in its codebook-CSR form (kernel auto). Every graph
// input is given by name (NAME=FILE.npy, the whole tensor in its dtype); OUT.npy is the first
// graph output.
TEST_P(RealModelTest, CompressedFormRunByCliMatchesOnnxRuntimeOnDecompressed) {
  if (!fs::exists(dir_ + "/model.dcz") || !fs::exists(dir_ + "/ort_dcz_0.npy")) {
    GTEST_SKIP() << dir_ << ": no model.dcz / ort_dcz_0.npy";
  }
  auto model = onnx_io::load_model(model_path_);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_EQ(model->graph.inputs.size(), inputs_.size());
  const std::string out = testing::temp_dir() + "/out.npy";
  std::string args = "run '" + dir_ + "/model.dcz' -o '" + out + "' --force";
  for (size_t k = 0; k < inputs_.size(); ++k) {
    args += " --input '" + model->graph.inputs[k].name + "=" + dir_ + "/in_" + std::to_string(k) +
            ".npy'";
  }
  const testing::CommandResult r = testing::run_deepcomp(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Value got;
  std::string error;
  ASSERT_TRUE(read_npy(out, &got, &error)) << error;
  std::vector<Value> want = read_numbered(dir_, "ort_dcz_");
  ASSERT_FALSE(want.empty());
  want.resize(1);
  expect_outputs_match({got}, want, GetParam() + " (deepcomp run .dcz)");
}

INSTANTIATE_TEST_SUITE_P(Real, RealModelTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace deepcomp::runtime
