// `deepcomp eval` and `deepcomp bench` with --input NAME=FILE.npy on models with more than one
// input: eval's images feed the input left over (accuracy by hand: a bias input decides the
// class), bench times generated batches beside the given arrays, and eval's errors of a wrong
// split.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/idx.h"
#include "data/npy.h"
#include "tests/cli/multi_io_models.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

using testing::run_deepcomp;
using testing::temp_dir;
using testing::write_text;

// scores = MatMul(img [N,4], W = 0 [4,3]) + bias [3]: the class is argmax(bias) for every image.
std::string biased_classifier() {
  using onnx::TensorProto;
  onnx::ModelProto m = onnx_io::testing::make_model();
  auto* g = m.mutable_graph();
  testing::add_typed_value(g->mutable_input(), "img", TensorProto::FLOAT, {-1, 4});
  testing::add_typed_value(g->mutable_input(), "bias", TensorProto::FLOAT, {3});
  testing::add_typed_value(g->mutable_output(), "scores", TensorProto::FLOAT, {-1, 3});
  *g->add_initializer() = onnx_io::testing::float_tensor("W", {4, 3}, std::vector<float>(12, 0));
  onnx_io::testing::add_node(g, "MatMul", {"img", "W"}, {"p"}, "fc");
  onnx_io::testing::add_node(g, "Add", {"p", "bias"}, {"scores"}, "add");
  return onnx_io::testing::serialize(m);
}

TEST(EvalInputs, ImagesFeedTheInputLeftAndTheGivenBiasDecides) {
  const std::string dir = temp_dir();
  write_text(dir + "/m.onnx", biased_classifier());
  write_text(dir + "/img.npy", data::npy_bytes({4, 4}, std::vector<float>(16, 7.0f)));
  write_text(dir + "/labels.npy", data::npy_bytes({4}, {2, 2, 0, 1}));
  write_text(dir + "/b2.npy", data::npy_bytes({3}, {0, 0, 100}));
  write_text(dir + "/b0.npy", data::npy_bytes({3}, {100, 0, 0}));
  const std::string base = "eval " + dir + "/m.onnx --images " + dir + "/img.npy --labels " + dir +
                           "/labels.npy --json --input bias=";
  auto r = run_deepcomp(base + dir + "/b2.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["correct"], 2);  // labels 2, 2 of 2, 2, 0, 1
  r = run_deepcomp(base + dir + "/b0.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["correct"], 1);
  // Without the bias there are two inputs for one image set.
  r = run_deepcomp("eval " + dir + "/m.onnx --images " + dir + "/img.npy --labels " + dir +
                   "/labels.npy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("'img', 'bias'"), std::string::npos) << r.err;
  // Giving the image input too leaves the images nowhere to go.
  r = run_deepcomp(base + dir + "/b2.npy --input img=" + dir + "/img.npy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("every input"), std::string::npos) << r.err;
}

TEST(BenchInputs, TimesTheRandomBatchBesideGivenArraysOrTheGivenTensorsAlone) {
  const std::string dir = temp_dir();
  write_text(dir + "/multi.onnx", testing::three_input_model());
  data::TypedArray n, m, x;
  n.dtype = DType::kInt64;
  n.i = {3};
  m.dtype = DType::kBool;
  m.shape = {3};
  m.i = {1, 0, 1};
  x.shape = {2, 3};
  x.f = {0, 1, 2, 3, 4, 5};
  write_text(dir + "/n.npy", *data::npy_bytes_typed(n));
  write_text(dir + "/m.npy", *data::npy_bytes_typed(m));
  write_text(dir + "/x.npy", *data::npy_bytes_typed(x));
  const std::string given = " --input n=" + dir + "/n.npy --input m=" + dir + "/m.npy";
  auto r = run_deepcomp("bench " + dir + "/multi.onnx" + given +
                        " --batch 1,4 --threads 1 --repeat 2 --warmup 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto runs = nlohmann::json::parse(r.out)["runs"];
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1]["batch"], 4);
  r = run_deepcomp("bench " + dir + "/multi.onnx" + given + " --input x=" + dir +
                   "/x.npy --batch 1,4 --threads 1 --repeat 2 --warmup 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  runs = nlohmann::json::parse(r.out)["runs"];
  ASSERT_EQ(runs.size(), 1u);  // every input given: one batch, the given tensors
  EXPECT_EQ(runs[0]["batch"], 1);
  // Inputs left out are generated (x random, the bool m zero): the model still runs.
  r = run_deepcomp("bench " + dir + "/multi.onnx --input n=" + dir +
                   "/n.npy --batch 2 --threads 1 --repeat 1 --warmup 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["runs"][0]["batch"], 2);
}

}  // namespace
}  // namespace deepcomp
