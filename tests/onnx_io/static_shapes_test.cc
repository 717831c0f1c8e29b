// infer_static_shapes against the shapes the runtime sees in a real batch-1 run of every shared
// model and every model in models/ (independent truth: the run computes them from data).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "onnx_io/onnx_io.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::shared_dir;
using testing::source_dir;

const Node* node_named(const Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].name == name || "#" + std::to_string(i) == name) return &g.nodes[i];
  return nullptr;
}

// Returns how many weight-node shapes were compared.
int compare_with_run(const std::string& path) {
  auto model = onnx_io::load_model(path);
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return 0;
  auto shapes = onnx_io::infer_static_shapes(*model);
  EXPECT_TRUE(shapes.ok()) << path << ": " << shapes.status().message();
  if (!shapes.ok()) return 0;
  runtime::SessionOptions options;
  options.profile = true;
  auto session = runtime::Session::create(*model, options);
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return 0;
  std::vector<runtime::Value> inputs;
  for (const ValueInfo& info : session->inputs()) {
    std::vector<int64_t> dims = info.dims;
    int64_t n = 1;
    for (int64_t& d : dims) n *= (d = d < 0 ? 1 : d);
    inputs.push_back(runtime::Value::floats(dims, std::vector<float>(static_cast<size_t>(n), 0.5f)));
  }
  auto run = session->run(inputs);
  EXPECT_TRUE(run.ok()) << run.status().message();
  int compared = 0;
  for (const runtime::NodeTiming& t : session->profile()) {
    if (t.weight.empty()) continue;
    const Node* node = node_named(model->graph, t.node);
    EXPECT_NE(node, nullptr) << t.node;
    if (node == nullptr) continue;
    auto in = shapes->find(node->inputs[0]);
    auto out = shapes->find(node->outputs[0]);
    if (in == shapes->end() || out == shapes->end()) continue;  // unknown statically: allowed
    EXPECT_EQ(in->second, t.input_shapes[0]) << path << " node " << t.node << " input";
    EXPECT_EQ(out->second, t.output_shapes[0]) << path << " node " << t.node << " output";
    ++compared;
  }
  return compared;
}

TEST(StaticShapes, EqualTheShapesOfARealRunOnTheDefaultModels) {
  for (const char* name : {"lenet-300-100.onnx", "lenet-5.onnx"}) {
    const std::string path = source_dir() + "/models/" + name;
    EXPECT_GE(compare_with_run(path), 3) << path;  // every weight layer resolved statically
  }
}

TEST(StaticShapes, EqualTheShapesOfARealRunOnTheSharedModels) {
  DEEPCOMP_REQUIRE_SHARED();
  int models = 0;
  for (const auto& entry : fs::directory_iterator(shared_dir() + "/models")) {
    if (entry.path().extension() != ".onnx") continue;
    EXPECT_GE(compare_with_run(entry.path().string()), 1) << entry.path();
    ++models;
  }
  EXPECT_EQ(models, 8);
}

TEST(StaticShapes, UsesNoWeightDataAndKeepsUnknownShapesOut) {
  // A weight-free skeleton is enough: the shapes come from dims alone.
  auto model = onnx_io::load_model(source_dir() + "/models/lenet-300-100.onnx");
  ASSERT_TRUE(model.ok());
  for (Tensor& t : model->tensors) std::vector<float>().swap(t.values);
  auto shapes = onnx_io::infer_static_shapes(*model);
  ASSERT_TRUE(shapes.ok()) << shapes.status().message();
  ASSERT_EQ(model->graph.outputs.size(), 1u);
  EXPECT_EQ(shapes->at(model->graph.outputs[0].name), (std::vector<int64_t>{1, 10}));
}

}  // namespace
}  // namespace deepcomp
