// If, Loop and Scan on hand-built graphs with hand-worked answers: subgraphs reading values of
// enclosing graphs (inputs, intermediates whose only later reader is the subgraph, initializers,
// two levels up), loop-carried values and scan outputs, scan directions and axes, and errors
// inside a subgraph naming the inner node.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_i;
using testing::attr_ints;
using testing::GraphBuilder;
using ::testing::HasSubstr;

Attribute attr_graph(const std::string& name, const Graph& g) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::kGraph;
  a.graph = std::make_shared<Graph>(g);
  return a;
}

ValueInfo info(const std::string& name, DType dtype = DType::kUndefined) {
  ValueInfo vi;
  vi.name = name;
  vi.dtype = dtype;
  return vi;
}

Node make_node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
               const std::string& name, std::vector<Attribute> attrs = {}) {
  Node n;
  n.op_type = op;
  n.name = name;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attributes = std::move(attrs);
  return n;
}

Graph graph(std::vector<std::string> inputs, std::vector<Node> nodes,
            std::vector<std::string> outputs) {
  Graph g;
  for (const std::string& n : inputs) g.inputs.push_back(info(n));
  g.nodes = std::move(nodes);
  for (const std::string& n : outputs) g.outputs.push_back(info(n));
  return g;
}

std::vector<Value> run_ok(const Model& m, const std::vector<Value>& inputs) {
  auto s = Session::create(m);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return {};
  auto out = s->run(inputs);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? std::move(out).value() : std::vector<Value>{};
}

// s = x + y is read only inside the branches (so it must stay alive until If runs, after Neg);
// then: s * x; else: s - w (w an initializer of the main graph).
Model if_model() {
  GraphBuilder b;
  b.input("cond", DType::kBool).input("x").input("y").weight("w", {2}, {10, 20});
  b.node("Add", {"x", "y"}, {"s"}, {}, "add");
  b.node("Neg", {"x"}, {"nx"}, {}, "neg");
  Graph then_g = graph({}, {make_node("Mul", {"s", "x"}, {"t"}, "mul")}, {"t"});
  Graph else_g = graph({}, {make_node("Sub", {"s", "w"}, {"e"}, "sub")}, {"e"});
  b.node("If", {"cond"}, {"r"},
         {attr_graph("then_branch", then_g), attr_graph("else_branch", else_g)}, "iff");
  b.output("r").output("nx");
  return b.model();
}

TEST(ControlFlow, IfBranchesReadOuterValues) {
  const Model m = if_model();
  const Value x = Value::floats({2}, {1, 2}), y = Value::floats({2}, {3, 5});
  const auto t = run_ok(m, {Value::bools({}, {1}), x, y});
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].f, (std::vector<float>{4, 14}));  // (1+3)*1, (2+5)*2
  EXPECT_EQ(t[1].f, (std::vector<float>{-1, -2}));
  const auto e = run_ok(m, {Value::bools({}, {0}), x, y});
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].f, (std::vector<float>{-6, -13}));  // 4-10, 7-20
}

// for i < M while cond: acc += x * float(i); cond = i < limit; scan out acc. x and limit are
// outer values (graph input, initializer).
Model loop_model() {
  GraphBuilder b;
  b.input("m", DType::kInt64).input("c", DType::kBool).input("x").input("acc0");
  b.int_weight("limit", {}, {2});
  Graph body = graph({"i", "cond_in", "acc"},
                     {make_node("Cast", {"i"}, {"fi"}, "cast", {attr_i("to", 1)}),
                      make_node("Mul", {"x", "fi"}, {"xi"}, "mul"),
                      make_node("Add", {"acc", "xi"}, {"acc_out"}, "add"),
                      make_node("Less", {"i", "limit"}, {"cond_out"}, "less"),
                      make_node("Identity", {"acc_out"}, {"scan"}, "id")},
                     {"cond_out", "acc_out", "scan"});
  b.node("Loop", {"m", "c", "acc0"}, {"acc_final", "stacked"}, {attr_graph("body", body)}, "loop");
  b.output("acc_final").output("stacked");
  return b.model();
}

TEST(ControlFlow, LoopCarriesValuesStacksScanOutputsAndStopsOnCond) {
  const Model m = loop_model();
  const Value x = Value::floats({2}, {1, 10}), acc0 = Value::floats({2}, {0.5f, 0});
  // cond stays true for i = 0, 1 and turns false after i = 2: three iterations of M = 10.
  auto out = run_ok(m, {Value::ints({}, {10}), Value::bools({}, {1}), x, acc0});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].f, (std::vector<float>{3.5f, 30}));  // 0.5 + 1*(0+1+2), 10*(0+1+2)
  EXPECT_EQ(out[1].shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(out[1].f, (std::vector<float>{0.5f, 0, 1.5f, 10, 3.5f, 30}));
  // M = 2 ends first; M = 0 runs nothing and returns the initial value.
  out = run_ok(m, {Value::ints({}, {2}), Value::bools({}, {1}), x, acc0});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].f, (std::vector<float>{1.5f, 10}));
  out = run_ok(m, {Value::ints({}, {0}), Value::bools({}, {1}), x, acc0});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].f, acc0.f);
  EXPECT_EQ(out[1].shape[0], 0);
  // cond false on entry: no iteration either.
  out = run_ok(m, {Value::ints({}, {5}), Value::bools({}, {0}), x, acc0});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].f, acc0.f);
}

TEST(ControlFlow, IfInsideLoopReadsAValueTwoLevelsUp) {
  GraphBuilder b;
  b.input("m", DType::kInt64).input("x").input("acc0");
  b.int_weight("one", {}, {1});
  // Odd iterations add x (an input of the main graph), even ones subtract it.
  Graph add_g = graph({}, {make_node("Add", {"acc", "x"}, {"a"}, "add_x")}, {"a"});
  Graph sub_g = graph({}, {make_node("Sub", {"acc", "x"}, {"s"}, "sub_x")}, {"s"});
  Graph body =
      graph({"i", "cond_in", "acc"},
            {make_node("Equal", {"i", "one"}, {"is_one"}, "eq"),
             make_node("If", {"is_one"}, {"acc_out"}, "inner_if",
                       {attr_graph("then_branch", add_g), attr_graph("else_branch", sub_g)}),
             make_node("Identity", {"cond_in"}, {"cond_out"}, "id")},
            {"cond_out", "acc_out"});
  b.node("Loop", {"m", "", "acc0"}, {"acc_final"}, {attr_graph("body", body)}, "loop");
  b.output("acc_final");
  // i = 0: -x, i = 1: +x, i = 2: -x.
  const auto out =
      run_ok(b.model(), {Value::ints({}, {3}), Value::floats({1}, {2}), Value::floats({1}, {100})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].f, (std::vector<float>{98}));
}

// A profiled run lists the steps of the subgraphs that ran, under "OWNER/ATTRIBUTE/" labels,
// once per run of the subgraph and before the owner's own entry; the If branch not taken is
// absent.
TEST(ControlFlow, ProfileListsSubgraphStepsOncePerRun) {
  const Model m = loop_model();
  SessionOptions options;
  options.profile = true;
  auto s = Session::create(m, options);
  ASSERT_TRUE(s.ok()) << s.status().message();
  const Value x = Value::floats({2}, {1, 10}), acc0 = Value::floats({2}, {0.5f, 0});
  ASSERT_TRUE(s->run({Value::ints({}, {10}), Value::bools({}, {1}), x, acc0}).ok());
  std::vector<std::string> labels;
  for (const NodeTiming& t : s->profile()) labels.push_back(t.node);
  std::vector<std::string> want;
  for (int i = 0; i < 3; ++i) {  // three iterations (see the test above)
    for (const char* step : {"cast", "mul", "add", "less", "id"})
      want.push_back(std::string("loop/body/") + step);
  }
  want.push_back("loop");
  EXPECT_EQ(labels, want);

  auto f = Session::create(if_model(), options);
  ASSERT_TRUE(f.ok()) << f.status().message();
  const Value y = Value::floats({2}, {3, 5});
  ASSERT_TRUE(f->run({Value::bools({}, {0}), x, y}).ok());
  labels.clear();
  for (const NodeTiming& t : f->profile()) labels.push_back(t.node);
  EXPECT_EQ(labels, (std::vector<std::string>{"add", "neg", "iff/else_branch/sub", "iff"}));
}

TEST(ControlFlow, ScanRunsReverseAndStacksAlongTheOutputAxis) {
  GraphBuilder b(11);
  b.input("init").input("xs");
  Graph body = graph({"sum_in", "row"},
                     {make_node("Add", {"sum_in", "row"}, {"sum_out"}, "add"),
                      make_node("Identity", {"sum_out"}, {"scan_out"}, "id")},
                     {"sum_out", "scan_out"});
  b.node("Scan", {"init", "xs"}, {"final", "partial"},
         {attr_graph("body", body), attr_i("num_scan_inputs", 1),
          attr_ints("scan_input_directions", {1}), attr_ints("scan_output_axes", {1})},
         "scan");
  b.output("final").output("partial");
  // xs rows [1,2], [3,4], [5,6] taken last first: sums [5,6], [8,10], [9,12].
  const auto out =
      run_ok(b.model(), {Value::floats({2}, {0, 0}), Value::floats({3, 2}, {1, 2, 3, 4, 5, 6})});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].f, (std::vector<float>{9, 12}));
  EXPECT_EQ(out[1].shape, (std::vector<int64_t>{2, 3}));  // the iterations along axis 1
  EXPECT_EQ(out[1].f, (std::vector<float>{5, 8, 9, 6, 10, 12}));
}

TEST(ControlFlow, ScanInputAxisAndReversedOutput) {
  GraphBuilder b(11);
  b.input("init").input("xs");
  Graph body = graph({"sum_in", "col"},
                     {make_node("Add", {"sum_in", "col"}, {"sum_out"}, "add"),
                      make_node("Identity", {"sum_out"}, {"scan_out"}, "id")},
                     {"sum_out", "scan_out"});
  b.node("Scan", {"init", "xs"}, {"final", "partial"},
         {attr_graph("body", body), attr_i("num_scan_inputs", 1),
          attr_ints("scan_input_axes", {-1}), attr_ints("scan_output_directions", {1})},
         "scan");
  b.output("final").output("partial");
  // Columns of [[1,2,3],[4,5,6]]: [1,4], [2,5], [3,6]; sums [1,4], [3,9], [6,15], stacked last
  // first.
  const auto out =
      run_ok(b.model(), {Value::floats({2}, {0, 0}), Value::floats({2, 3}, {1, 2, 3, 4, 5, 6})});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].f, (std::vector<float>{6, 15}));
  EXPECT_EQ(out[1].shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(out[1].f, (std::vector<float>{6, 15, 3, 9, 1, 4}));
}

TEST(ControlFlow, ErrorsInsideASubgraphNameTheInnerNode) {
  // At run time: the branch adds values of shapes [2] and [3].
  GraphBuilder b;
  b.input("cond", DType::kBool).input("x").input("y");
  Graph bad = graph({}, {make_node("Add", {"x", "y"}, {"t"}, "inner_add")}, {"t"});
  Graph fine = graph({}, {make_node("Identity", {"x"}, {"e"}, "inner_id")}, {"e"});
  b.node("If", {"cond"}, {"r"}, {attr_graph("then_branch", bad), attr_graph("else_branch", fine)},
         "iff");
  b.output("r");
  auto s = Session::create(b.model());
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto out =
      s->run({Value::bools({}, {1}), Value::floats({2}, {1, 2}), Value::floats({3}, {1, 2, 3})});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(
      out.status().message(),
      HasSubstr("node 'iff' (If): then_branch: node 'inner_add' (Add): shapes [2] and [3]"));
  EXPECT_TRUE(
      s->run({Value::bools({}, {0}), Value::floats({2}, {1, 2}), Value::floats({3}, {1, 2, 3})})
          .ok());

  // At create time: an unsupported operator and an undefined name inside a Loop body.
  for (const auto& [inner, want] :
       {std::pair<Node, std::string>{
            make_node("NoSuchOp", {"acc"}, {"acc_out"}, "weird"),
            "node 'loop' (Loop): body: node 'weird' (NoSuchOp): operator not supported"},
        std::pair<Node, std::string>{
            make_node("Add", {"acc", "nowhere"}, {"acc_out"}, "add"),
            "node 'loop' (Loop): body: node 'add' (Add): input 'nowhere'"}}) {
    GraphBuilder l;
    l.input("m", DType::kInt64).input("acc0");
    Graph body = graph({"i", "c", "acc"}, {inner, make_node("Identity", {"c"}, {"c_out"}, "id")},
                       {"c_out", "acc_out"});
    l.node("Loop", {"m", "", "acc0"}, {"acc_final"}, {attr_graph("body", body)}, "loop")
        .output("acc_final");
    auto t = Session::create(l.model());
    ASSERT_FALSE(t.ok());
    EXPECT_THAT(t.status().message(), HasSubstr(want));
  }
}

TEST(ControlFlow, LoopWithoutTripCountOrCondIsRejected) {
  GraphBuilder b;
  b.input("acc0");
  Graph body = graph({"i", "c", "acc"},
                     {make_node("Identity", {"c"}, {"c_out"}, "id"),
                      make_node("Identity", {"acc"}, {"acc_out"}, "id2")},
                     {"c_out", "acc_out"});
  b.node("Loop", {"", "", "acc0"}, {"acc_final"}, {attr_graph("body", body)}, "loop")
      .output("acc_final");
  auto s = Session::create(b.model());
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("node 'loop' (Loop): neither M nor cond"));
}

}  // namespace
}  // namespace deepcomp::runtime
