// `deepcomp compare`: metrics of two hand-built models against hand-worked values (per sample and
// whole-tensor), an .onnx against its own .dcz against metrics recomputed here from `run`'s
// outputs, the JSON schema, the text table, and interface mismatches.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/idx.h"
#include "data/npy.h"
#include "tests/cli/multi_io_models.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::run_deepcomp;
using testing::temp_dir;
using testing::write_text;

// Reference y = x, candidate y = x + [0,2,0], on x = [[1,2,3],[3,1,0]].
struct Pair {
  std::string dir = temp_dir();
  Pair() {
    write_text(dir + "/ref.onnx", testing::offset_model({0, 0, 0}));
    write_text(dir + "/cand.onnx", testing::offset_model({0, 2, 0}));
    write_text(dir + "/x.npy", data::npy_bytes({2, 3}, {1, 2, 3, 3, 1, 0}));
  }
  std::string models() const { return dir + "/ref.onnx " + dir + "/cand.onnx"; }
};

TEST(CompareCli, PlainInputComparesSampleBySampleWithHandWorkedMetrics) {
  Pair p;
  auto r = run_deepcomp("compare " + p.models() + " --input " + p.dir + "/x.npy --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::ordered_json doc = nlohmann::ordered_json::parse(r.out);  // keeps key order
  ASSERT_EQ(doc.size(), 1u);  // {"outputs": [...]} and nothing else
  ASSERT_EQ(doc["outputs"].size(), 2u);
  // Sample 0: r = [1,2,3], c = [1,4,3]; sample 1: r = [3,1,0], c = [3,3,0].
  const double rel = (2 / std::sqrt(14.0) + 2 / std::sqrt(10.0)) / 2;
  const double cosine = (18 / std::sqrt(14.0 * 26.0) + 12 / std::sqrt(10.0 * 18.0)) / 2;
  for (const nlohmann::ordered_json& o : doc["outputs"]) {
    SCOPED_TRACE(o.dump());
    const std::vector<std::string> keys = {"name",   "shape",  "max_abs",
                                           "rel_l2", "cosine", "top1_agreement"};
    auto it = o.begin();
    for (const std::string& key : keys) {  // the documented fields first, in this order
      ASSERT_NE(it, o.end());
      EXPECT_EQ(it.key(), key);
      ++it;
    }
    EXPECT_EQ(o["shape"], nlohmann::ordered_json::array({2, 3}));
    EXPECT_DOUBLE_EQ(o["max_abs"].get<double>(), 2.0);
    EXPECT_NEAR(o["rel_l2"].get<double>(), rel, 1e-12);
    EXPECT_NEAR(o["cosine"].get<double>(), cosine, 1e-12);
    // argmax: sample 0 reference 2, candidate 1; sample 1 both 0 (the tie 3,3 goes to the first).
    EXPECT_DOUBLE_EQ(o["top1_agreement"].get<double>(), 0.5);
    EXPECT_EQ(o["samples"], 2);
  }
  EXPECT_EQ(doc["outputs"][0]["name"], "y");
  EXPECT_EQ(doc["outputs"][1]["name"], "z");
  EXPECT_EQ(doc["outputs"][1]["dtype"], "int64");
}

TEST(CompareCli, NamedInputIsOneWholeTensor) {
  Pair p;
  auto r = run_deepcomp("compare " + p.models() + " --input x=" + p.dir + "/x.npy --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json o = json::parse(r.out)["outputs"][0];
  // ||c - r|| = sqrt(8) over ||r|| = sqrt(24); c . r = 18 + 12 = 30, ||c|| = sqrt(44).
  EXPECT_NEAR(o["rel_l2"].get<double>(), std::sqrt(8.0 / 24.0), 1e-12);
  EXPECT_NEAR(o["cosine"].get<double>(), 30 / std::sqrt(24.0 * 44.0), 1e-12);
  EXPECT_DOUBLE_EQ(o["top1_agreement"].get<double>(), 0.5);
  EXPECT_EQ(o["samples"], 1);
}

TEST(CompareCli, IdenticalModelsAgreeExactlyAndTheTableShowsEveryOutput) {
  Pair p;
  auto r = run_deepcomp("compare " + p.dir + "/ref.onnx " + p.dir + "/ref.onnx --input " + p.dir +
                        "/x.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("max_abs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("top1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\ny "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nz "), std::string::npos) << r.out;
  r = run_deepcomp("compare " + p.dir + "/ref.onnx " + p.dir + "/ref.onnx --input " + p.dir +
                   "/x.npy --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A variable: a range-for over a member of a temporary would dangle.
  const json doc = json::parse(r.out);
  for (const json& o : doc["outputs"]) {
    EXPECT_EQ(o["max_abs"].get<double>(), 0.0);
    EXPECT_EQ(o["rel_l2"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(o["cosine"].get<double>(), 1.0);
    EXPECT_EQ(o["top1_agreement"].get<double>(), 1.0);
  }
}

TEST(CompareCli, TopOneIsNullForAScalarOutput) {
  const std::string dir = temp_dir();
  write_text(dir + "/n.npy", *data::npy_bytes_typed([] {
               data::TypedArray a;
               a.dtype = DType::kInt64;
               a.i = {3};
               return a;
             }()));
  write_text(dir + "/m.npy", *data::npy_bytes_typed([] {
               data::TypedArray a;
               a.dtype = DType::kBool;
               a.shape = {3};
               a.i = {1, 1, 1};
               return a;
             }()));
  write_text(dir + "/x.npy", data::npy_bytes({1, 3}, {1, 2, 3}));
  write_text(dir + "/multi.onnx", testing::three_input_model());
  auto r = run_deepcomp("compare " + dir + "/multi.onnx " + dir + "/multi.onnx --input x=" + dir +
                        "/x.npy --input n=" + dir + "/n.npy --input m=" + dir + "/m.npy --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  ASSERT_EQ(doc["outputs"].size(), 3u);
  EXPECT_EQ(doc["outputs"][1]["name"], "z");
  EXPECT_TRUE(doc["outputs"][1]["top1_agreement"].is_null());  // a scalar output
  EXPECT_EQ(doc["outputs"][1]["shape"], json::array());
}

TEST(CompareCli, ZeroReferenceFollowsTheDocumentedConventions) {
  Pair p;
  write_text(p.dir + "/zero.npy", data::npy_bytes({1, 3}, {0, 0, 0}));
  // Reference y = 0, candidate y = [0,2,0]: rel_l2 infinite (null), cosine 0, argmax 0 vs 1.
  auto r = run_deepcomp("compare " + p.models() + " --input x=" + p.dir + "/zero.npy --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json o = json::parse(r.out)["outputs"][0];
  EXPECT_EQ(o["max_abs"].get<double>(), 2.0);
  EXPECT_TRUE(o["rel_l2"].is_null()) << o.dump();
  EXPECT_EQ(o["cosine"].get<double>(), 0.0);
  EXPECT_EQ(o["top1_agreement"].get<double>(), 0.0);
  // Both zero: no error at all.
  r = run_deepcomp("compare " + p.dir + "/ref.onnx " + p.dir + "/ref.onnx --input x=" + p.dir +
                   "/zero.npy --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  o = json::parse(r.out)["outputs"][0];
  EXPECT_EQ(o["rel_l2"].get<double>(), 0.0);
  EXPECT_EQ(o["cosine"].get<double>(), 1.0);
  EXPECT_EQ(o["top1_agreement"].get<double>(), 1.0);
}

TEST(CompareCli, DifferentOutputNamesAreAClearError) {
  const std::string dir = temp_dir();
  write_text(dir + "/a.onnx", testing::offset_model({0, 0, 0}, "y"));
  write_text(dir + "/b.onnx", testing::offset_model({0, 0, 0}, "logits"));
  write_text(dir + "/x.npy", data::npy_bytes({1, 3}, {1, 2, 3}));
  auto r = run_deepcomp("compare " + dir + "/a.onnx " + dir + "/b.onnx --input " + dir + "/x.npy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("different outputs"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("logits"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// Metrics of one sample, computed here from `run`'s outputs (independent of toolkit/output_compare).
struct Expected {
  double max_abs = 0, rel = 0, cosine = 0;
  int agree = 0;
};

TEST(CompareCli, OnnxAgainstItsOwnDczMatchesMetricsOfRunOutputs) {
  const std::string model = testing::source_dir() + "/models/lenet-300-100.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << "models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  auto r = run_deepcomp("compress " + model + " -o " + dir + "/m.dcz --prune 0.9 --bits-fc 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int n = 16;
  std::vector<float> values(n * 784);
  for (size_t k = 0; k < values.size(); ++k) values[k] = static_cast<float>((k * 131) % 256) / 255;
  write_text(dir + "/in.npy", data::npy_bytes({n, 1, 28, 28}, values));
  r = run_deepcomp("run " + model + " --input " + dir + "/in.npy -o " + dir + "/ref.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_deepcomp("run " + dir + "/m.dcz --input " + dir + "/in.npy -o " + dir + "/cand.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ref = data::read_npy(dir + "/ref.npy");
  auto cand = data::read_npy(dir + "/cand.npy");
  ASSERT_TRUE(ref.ok() && cand.ok());
  ASSERT_EQ(ref->shape, (std::vector<int64_t>{n, 10}));
  double max_abs = 0, rel = 0, cosine = 0;
  int agree = 0;
  for (int s = 0; s < n; ++s) {
    double rr = 0, cc = 0, rc = 0, dd = 0;
    int ra = 0, ca = 0;
    for (int j = 0; j < 10; ++j) {
      const double a = ref->values[s * 10 + j], b = cand->values[s * 10 + j];
      max_abs = std::max(max_abs, std::abs(b - a));
      rr += a * a, cc += b * b, rc += a * b, dd += (b - a) * (b - a);
      if (a > ref->values[s * 10 + ra]) ra = j;
      if (b > cand->values[s * 10 + ca]) ca = j;
    }
    rel += std::sqrt(dd / rr) / n;
    cosine += rc / std::sqrt(rr * cc) / n;
    agree += ra == ca;
  }
  ASSERT_GT(max_abs, 1e-4);  // 90% pruning at 3 bits changed the outputs: the test can fail
  r = run_deepcomp("compare " + model + " " + dir + "/m.dcz --input " + dir + "/in.npy --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json o = json::parse(r.out)["outputs"][0];
  EXPECT_EQ(o["shape"], json::array({n, 10}));
  EXPECT_EQ(o["samples"], n);
  EXPECT_NEAR(o["max_abs"].get<double>(), max_abs, 1e-6 * max_abs);
  EXPECT_NEAR(o["rel_l2"].get<double>(), rel, 1e-6 * rel);
  EXPECT_NEAR(o["cosine"].get<double>(), cosine, 1e-9);
  EXPECT_DOUBLE_EQ(o["top1_agreement"].get<double>(), static_cast<double>(agree) / n);
}

}  // namespace
}  // namespace deepcomp
