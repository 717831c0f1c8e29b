// `deepcomp energy --input NAME=FILE.npy`: a model whose shapes are not static (a Reshape to a
// shape given as an input, a free batch) runs on the given arrays, and the layer work follows
// their shapes (MACs by hand); a model with int64 and bool inputs runs without any; layers inside
// If branches count when their branch runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <tuple>

#include "data/npy.h"
#include "tests/cli/multi_io_models.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

using testing::run_deepcomp;
using testing::temp_dir;
using testing::write_text;

constexpr const char* kFixed = " --json --watts 50 --latency-ms-dense 1 --latency-ms-compressed 1";

// x float32[N,4] -> Reshape(x, target) -> MatMul with W [4,3]; `target` an int64[3] input.
std::string reshape_model() {
  using onnx::TensorProto;
  onnx::ModelProto m = onnx_io::testing::make_model();
  auto* g = m.mutable_graph();
  testing::add_typed_value(g->mutable_input(), "x", TensorProto::FLOAT, {-1, 4});
  testing::add_typed_value(g->mutable_input(), "target", TensorProto::INT64, {3});
  testing::add_typed_value(g->mutable_output(), "y", TensorProto::FLOAT, {});
  std::vector<float> w(12);
  for (size_t k = 0; k < w.size(); ++k) w[k] = 0.1f * static_cast<float>(k) - 0.5f;
  *g->add_initializer() = onnx_io::testing::float_tensor("W", {4, 3}, w);
  onnx_io::testing::add_node(g, "Reshape", {"x", "target"}, {"xr"}, "reshape");
  onnx_io::testing::add_node(g, "MatMul", {"xr", "W"}, {"y"}, "fc");
  // An untyped output shape: the graph output is rank-unknown.
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  return onnx_io::testing::serialize(m);
}

void save(const std::string& path, DType dtype, std::vector<int64_t> shape,
          std::vector<int64_t> ints, std::vector<float> floats = {}) {
  data::TypedArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.i = std::move(ints);
  a.f = std::move(floats);
  auto bytes = data::npy_bytes_typed(a);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  write_text(path, *bytes);
}

// `compress` estimates energy on generated inputs; when those do not fit the model it says so
// and names the command that takes real ones (and the .dcz is still written).
TEST(EnergyInputs, CompressPointsToRealInputsWhenItsEstimateFails) {
  const std::string dir = temp_dir();
  write_text(dir + "/m.onnx", reshape_model());
  auto r = run_deepcomp("compress " + dir + "/m.onnx -o " + dir + "/m.dcz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("energy: not estimated: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(with real inputs: deepcomp energy " + dir + "/m.onnx --compressed " + dir +
                       "/m.dcz -i NAME=FILE.npy ...)"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir + "/m.dcz"));
}

TEST(EnergyInputs, GivenInputsDecideTheShapesOfTheLayerWork) {
  const std::string dir = temp_dir();
  write_text(dir + "/m.onnx", reshape_model());
  // Without inputs the generated target is [0,0,0]: Reshape cannot copy a third dimension of x.
  auto r = run_deepcomp("energy " + dir + "/m.onnx" + kFixed);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  // target = [5,1,4] and x of 5 rows: MatMul [5,1,4] x [4,3] = 5 * 4 * 3 = 60 MACs.
  save(dir + "/t.npy", DType::kInt64, {3}, {5, 1, 4});
  save(dir + "/x.npy", DType::kFloat32, {5, 4}, {}, std::vector<float>(20, 0.5f));
  r = run_deepcomp("energy " + dir + "/m.onnx --input target=" + dir + "/t.npy --input x=" + dir +
                   "/x.npy" + kFixed);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto layers = nlohmann::json::parse(r.out)["per_inference"]["layers"];
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0]["name"], "W");
  EXPECT_EQ(layers[0]["macs"].get<double>(), 60.0);
  // Only target given: x is generated with its free batch set to 1, target [1,1,4]: 12 MACs.
  save(dir + "/t1.npy", DType::kInt64, {3}, {1, 1, 4});
  r = run_deepcomp("energy " + dir + "/m.onnx --input target=" + dir + "/t1.npy" + kFixed);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  layers = nlohmann::json::parse(r.out)["per_inference"]["layers"];
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0]["macs"].get<double>(), 12.0);
}

// x float32[2,4], c bool: If(c) then MatMul(x, A [4,3]) (A a main-graph initializer) else
// MatMul(x, B [4,5]) (B an initializer of the branch), as exporters that inline modules into If
// branches write them (Silero VAD v5/v6).
std::string if_model() {
  using onnx::TensorProto;
  onnx::ModelProto m = onnx_io::testing::make_model();
  auto* g = m.mutable_graph();
  testing::add_typed_value(g->mutable_input(), "x", TensorProto::FLOAT, {2, 4});
  testing::add_typed_value(g->mutable_input(), "c", TensorProto::BOOL, {});
  testing::add_typed_value(g->mutable_output(), "y", TensorProto::FLOAT, {});
  *g->add_initializer() = onnx_io::testing::float_tensor("A", {4, 3}, std::vector<float>(12, 0.5f));
  auto* node = onnx_io::testing::add_node(g, "If", {"c"}, {"y"}, "branch");
  const char* names[] = {"then_branch", "else_branch"};
  for (int b = 0; b < 2; ++b) {
    auto* a = node->add_attribute();
    a->set_name(names[b]);
    a->set_type(onnx::AttributeProto::GRAPH);
    auto* sub = a->mutable_g();
    sub->set_name(names[b]);
    if (b == 1) {
      *sub->add_initializer() =
          onnx_io::testing::float_tensor("B", {4, 5}, std::vector<float>(20, 0.25f));
    }
    onnx_io::testing::add_node(sub, "MatMul", {"x", b == 0 ? "A" : "B"}, {b == 0 ? "ya" : "yb"},
                               "fc");
    testing::add_typed_value(sub->mutable_output(), b == 0 ? "ya" : "yb", TensorProto::FLOAT, {});
  }
  return onnx_io::testing::serialize(m);
}

// The layers of the branch that runs are counted (2 x 4 x 3 = 24 or 2 x 4 x 5 = 40 MACs), under
// the weights' names; the other branch's are not.
TEST(EnergyInputs, LayersInsideIfBranchesCountWhenTheirBranchRuns) {
  const std::string dir = temp_dir();
  write_text(dir + "/m.onnx", if_model());
  for (const auto& [cond, weight, macs] : {std::tuple{1, "A", 24.0}, std::tuple{0, "B", 40.0}}) {
    data::TypedArray c;
    c.dtype = DType::kBool;
    c.i = {cond};
    auto bytes = data::npy_bytes_typed(c);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    write_text(dir + "/c.npy", *bytes);
    auto r = run_deepcomp("energy " + dir + "/m.onnx --input c=" + dir + "/c.npy" + kFixed);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto layers = nlohmann::json::parse(r.out)["per_inference"]["layers"];
    ASSERT_EQ(layers.size(), 1u) << r.out;
    EXPECT_EQ(layers[0]["name"], weight);
    EXPECT_EQ(layers[0]["macs"].get<double>(), macs);
  }
}

TEST(EnergyInputs, BadInputsAreOneLineErrors) {
  const std::string dir = temp_dir();
  write_text(dir + "/m.onnx", reshape_model());
  save(dir + "/t32.npy", DType::kInt32, {3}, {1, 1, 4});
  auto r = run_deepcomp("energy " + dir + "/m.onnx --input target=" + dir + "/t32.npy" + kFixed);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("input 'target' is int64"), std::string::npos) << r.err;
  r = run_deepcomp("energy " + dir + "/m.onnx --input tgt=" + dir + "/t32.npy" + kFixed);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no input 'tgt'"), std::string::npos) << r.err;
  // energy takes whole tensors only: the plain form is refused.
  r = run_deepcomp("energy " + dir + "/m.onnx --input " + dir + "/t32.npy" + kFixed);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("NAME=FILE.npy"), std::string::npos) << r.err;
}

TEST(EnergyInputs, IntegerAndBoolInputsAreGeneratedWhenNotGiven) {
  const std::string dir = temp_dir();
  write_text(dir + "/multi.onnx", testing::three_input_model());
  auto r = run_deepcomp("energy " + dir + "/multi.onnx --json --runs 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["deployment"]["latency_ms_dense"].get<double>(), 0.0);  // it really ran
}

}  // namespace
}  // namespace deepcomp
