// Small ONNX models with several inputs and outputs of several dtypes, built with ONNX's protobuf
// classes for the CLI tests of --input NAME=FILE, .npz outputs and compare.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "tests/onnx_io/fixture_util.h"

namespace deepcomp::testing {

// A graph value of `elem_type`; a negative dim is symbolic, named "N".
inline void add_typed_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list,
                            const std::string& name, int elem_type, std::vector<int64_t> dims) {
  auto* v = list->Add();
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    if (d < 0) {
      shape->add_dim()->set_dim_param("N");
    } else {
      shape->add_dim()->set_dim_value(d);
    }
  }
}

// Inputs x float32[N,3], n int64 scalar, m bool[3]; outputs
//   y  float32[N,3] = Where(m, x, 0) * float(n)
//   z  int64 scalar = n + 1
//   nm bool[3]      = Not(m)
// in that order, or z first when `int_first`.
inline std::string three_input_model(bool int_first = false) {
  using onnx::TensorProto;
  onnx::ModelProto m = onnx_io::testing::make_model();
  auto* g = m.mutable_graph();
  add_typed_value(g->mutable_input(), "x", TensorProto::FLOAT, {-1, 3});
  add_typed_value(g->mutable_input(), "n", TensorProto::INT64, {});
  add_typed_value(g->mutable_input(), "m", TensorProto::BOOL, {3});
  if (int_first) add_typed_value(g->mutable_output(), "z", TensorProto::INT64, {});
  add_typed_value(g->mutable_output(), "y", TensorProto::FLOAT, {-1, 3});
  if (!int_first) add_typed_value(g->mutable_output(), "z", TensorProto::INT64, {});
  add_typed_value(g->mutable_output(), "nm", TensorProto::BOOL, {3});
  *g->add_initializer() = onnx_io::testing::float_tensor("zero", {}, {0.0f});
  onnx::TensorProto one;
  one.set_name("one");
  one.set_data_type(TensorProto::INT64);
  one.add_int64_data(1);
  *g->add_initializer() = one;
  auto* cast = onnx_io::testing::add_node(g, "Cast", {"n"}, {"nf"}, "cast");
  auto* to = cast->add_attribute();
  to->set_name("to");
  to->set_type(onnx::AttributeProto::INT);
  to->set_i(TensorProto::FLOAT);
  onnx_io::testing::add_node(g, "Where", {"m", "x", "zero"}, {"xm"}, "where");
  onnx_io::testing::add_node(g, "Mul", {"xm", "nf"}, {"y"}, "mul");
  onnx_io::testing::add_node(g, "Add", {"n", "one"}, {"z"}, "add");
  onnx_io::testing::add_node(g, "Not", {"m"}, {"nm"}, "not");
  return onnx_io::testing::serialize(m);
}

// Input x float32[N,3]; outputs y = x + d (float32) and z = int64(x + d), d a constant [3].
// Two such models with different d are a reference and a candidate with hand-computable metrics.
inline std::string offset_model(const std::vector<float>& d, const std::string& y_name = "y") {
  using onnx::TensorProto;
  onnx::ModelProto m = onnx_io::testing::make_model();
  auto* g = m.mutable_graph();
  add_typed_value(g->mutable_input(), "x", TensorProto::FLOAT, {-1, 3});
  add_typed_value(g->mutable_output(), y_name, TensorProto::FLOAT, {-1, 3});
  add_typed_value(g->mutable_output(), "z", TensorProto::INT64, {-1, 3});
  *g->add_initializer() = onnx_io::testing::float_tensor("d", {3}, d);
  onnx_io::testing::add_node(g, "Add", {"x", "d"}, {y_name}, "add");
  auto* cast = onnx_io::testing::add_node(g, "Cast", {y_name}, {"z"}, "cast");
  auto* to = cast->add_attribute();
  to->set_name("to");
  to->set_type(onnx::AttributeProto::INT);
  to->set_i(TensorProto::INT64);
  return onnx_io::testing::serialize(m);
}

}  // namespace deepcomp::testing
