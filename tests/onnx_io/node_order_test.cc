// onnx_io puts a graph's nodes in topological order (onnx_io/node_order.h) when the file does
// not, as onnxconverter-common's float16 models do with their appended Cast nodes: the runtime
// then runs them, while the saved model keeps the file's node order byte for byte.
#include <gtest/gtest.h>

#include "onnx_io/onnx_io.h"
#include "runtime/session.h"
#include "tests/onnx_io/fixture_util.h"

namespace deepcomp::onnx_io {
namespace {

using testing::add_node;
using testing::add_value;
using testing::make_model;
using testing::serialize;

std::vector<std::string> op_order(const Graph& g) {
  std::vector<std::string> names;
  for (const Node& n : g.nodes) names.push_back(n.name);
  return names;
}

void set_cast_to(onnx::NodeProto* node, int dtype) {
  auto* to = node->add_attribute();
  to->set_name("to");
  to->set_type(onnx::AttributeProto::INT);
  to->set_i(dtype);
}

// y = Relu(Cast(x to float16)) * 2 as float32, listed as the converter lists it: the consumers
// first, the Cast that feeds them last.
onnx::ModelProto cast_appended_model() {
  onnx::ModelProto m = make_model();
  auto* g = m.mutable_graph();
  add_value(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {4});
  add_value(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {4});
  add_node(g, "Relu", {"x16"}, {"r16"}, "relu");
  add_node(g, "Add", {"r16", "r16"}, {"s16"}, "double");
  set_cast_to(add_node(g, "Cast", {"s16"}, {"y"}, "to_float32"), onnx::TensorProto::FLOAT);
  set_cast_to(add_node(g, "Cast", {"x"}, {"x16"}, "graph_input_cast0"), onnx::TensorProto::FLOAT16);
  return m;
}

TEST(NodeOrder, AppendedCastRunsFirstAndTheFileKeepsItsOrder) {
  const std::string bytes = serialize(cast_appended_model());
  auto model = parse_model(bytes, "cast.onnx", "");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(op_order(model->graph),
            (std::vector<std::string>{"graph_input_cast0", "relu", "double", "to_float32"}));
  auto saved = serialize_model(*model);
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(*saved, bytes);  // the skeleton keeps the file's order

  auto session = runtime::Session::create(*model);
  ASSERT_TRUE(session.ok()) << session.status().message();
  // float16 rounding of 0.1 is 0.0999755859375; doubled exactly.
  auto out = session->run({runtime::Value::floats({4}, {-1.0f, 0.1f, 2.5f, 0.0f})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->at(0).f, (std::vector<float>{0.0f, 0.199951171875f, 5.0f, 0.0f}));
}

TEST(NodeOrder, SortedGraphKeepsItsOrderEvenWhereAnotherOrderWouldDo) {
  onnx::ModelProto m = make_model();
  auto* g = m.mutable_graph();
  add_value(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {2});
  add_value(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {2});
  add_node(g, "Neg", {"x"}, {"b"}, "n2");  // independent of "a": could go either way
  add_node(g, "Abs", {"x"}, {"a"}, "n1");
  add_node(g, "Add", {"a", "b"}, {"y"}, "n3");
  auto model = parse_model(serialize(m), "sorted.onnx", "");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(op_order(model->graph), (std::vector<std::string>{"n2", "n1", "n3"}));
}

TEST(NodeOrder, SubgraphReadsOfOuterNamesCountAsInputs) {
  // An If whose branches read "t", produced by a node listed after the If.
  onnx::ModelProto m = make_model();
  auto* g = m.mutable_graph();
  add_value(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {2});
  add_value(g->mutable_input(), "c", onnx::TensorProto::BOOL, {});
  add_value(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {2});
  auto* if_node = add_node(g, "If", {"c"}, {"y"}, "if");
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto* a = if_node->add_attribute();
    a->set_name(branch);
    a->set_type(onnx::AttributeProto::GRAPH);
    auto* body = a->mutable_g();
    body->set_name(branch);
    add_value(body->mutable_output(), std::string(branch) + "_out", onnx::TensorProto::FLOAT, {2});
    add_node(body, std::string(branch) == "then_branch" ? "Neg" : "Abs", {"t"},
             {std::string(branch) + "_out"}, std::string(branch) + "_op");
  }
  add_node(g, "Relu", {"x"}, {"t"}, "producer");
  auto model = parse_model(serialize(m), "if.onnx", "");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(op_order(model->graph), (std::vector<std::string>{"producer", "if"}));
  auto session = runtime::Session::create(*model);
  ASSERT_TRUE(session.ok()) << session.status().message();
  auto out =
      session->run({runtime::Value::floats({2}, {-3.0f, 4.0f}), runtime::Value::bools({}, {1})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->at(0).f, (std::vector<float>{-0.0f, -4.0f}));  // Neg(Relu(x))
}

TEST(NodeOrder, CycleStaysInFileOrderAndTheRuntimeNamesTheMissingInput) {
  onnx::ModelProto m = make_model();
  auto* g = m.mutable_graph();
  add_value(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {2});
  add_value(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {2});
  add_node(g, "Add", {"x", "q"}, {"p"}, "a");
  add_node(g, "Neg", {"p"}, {"q"}, "b");
  add_node(g, "Relu", {"x"}, {"y"}, "c");
  auto model = parse_model(serialize(m), "cycle.onnx", "");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(op_order(model->graph), (std::vector<std::string>{"c", "a", "b"}));
  auto session = runtime::Session::create(*model);
  ASSERT_FALSE(session.ok());
  EXPECT_NE(session.status().message().find("'q'"), std::string::npos)
      << session.status().message();
}

}  // namespace
}  // namespace deepcomp::onnx_io
