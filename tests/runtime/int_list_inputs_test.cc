// The int64 list inputs (Reshape's shape, Slice's starts/ends, Pad's pads, Expand's and
// ConstantOfShape's shape) go through one reader (ops.h int_list): 1-D int64 only, whichever op.
#include <gtest/gtest.h>

#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::GraphBuilder;

// Runs `model` on x = [1, 2, 3, 4] and returns the error (empty when it ran).
std::string run_error(const Model& model) {
  auto session = Session::create(model);
  if (!session.ok()) return session.status().message();
  auto out = session->run({Value::floats({4}, {1, 2, 3, 4})});
  return out.ok() ? "" : out.status().message();
}

TEST(IntListInputs, EveryOpRejectsATwoDimensionalList) {
  struct Case {
    const char* op;
    std::vector<std::string> inputs;  // "L" is the 2-D list
    const char* what;
  };
  const Case cases[] = {
      {"Reshape", {"x", "L"}, "shape must be 1-D"},
      {"Slice", {"x", "L", "e"}, "starts must be 1-D"},
      {"Pad", {"x", "L"}, "pads must be 1-D"},
      {"Expand", {"x", "L"}, "shape must be 1-D"},
  };
  for (const Case& c : cases) {
    GraphBuilder b(13);
    b.input("x").int_weight("L", {1, 2}, {0, 2}).int_weight("e", {1}, {2});
    b.node(c.op, c.inputs, {"y"}).output("y");
    const std::string error = run_error(b.model());
    EXPECT_NE(error.find(c.what), std::string::npos) << c.op << ": " << error;
  }
  GraphBuilder b(13);
  b.input("x").int_weight("L", {1, 1}, {2});
  b.node("ConstantOfShape", {"L"}, {"c"}).node("Add", {"x", "c"}, {"y"}).output("y");
  const std::string error = run_error(b.model());
  EXPECT_NE(error.find("shape must be 1-D"), std::string::npos) << error;
}

TEST(IntListInputs, OneDimensionalListsStillWork) {
  GraphBuilder b(13);
  b.input("x").int_weight("s", {1}, {1}).int_weight("e", {1}, {3}).int_weight("p", {2}, {1, 0});
  b.node("Slice", {"x", "s", "e"}, {"t"}).node("Pad", {"t", "p"}, {"y"}).output("y");
  auto session = Session::create(b.model());
  ASSERT_TRUE(session.ok()) << session.status().message();
  auto out = session->run({Value::floats({4}, {1, 2, 3, 4})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].f, (std::vector<float>{0, 2, 3}));
}

}  // namespace
}  // namespace deepcomp::runtime
