// Test helper: builds small deepcomp::Model graphs by hand (no ONNX file involved), so the
// runtime's operators can be tested on hand-worked cases.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/model.h"
#include "runtime/session.h"
#include "runtime/value.h"

namespace deepcomp::runtime::testing {

inline Attribute attr_i(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::kInt;
  a.i = v;
  return a;
}
inline Attribute attr_f(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::kFloat;
  a.f = v;
  return a;
}
inline Attribute attr_ints(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::kInts;
  a.ints = std::move(v);
  return a;
}
inline Attribute attr_s(const std::string& name, const std::string& v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::kString;
  a.s = v;
  return a;
}

class GraphBuilder {
 public:
  explicit GraphBuilder(int64_t opset = 13) { model_.opsets.push_back({"", opset}); }

  GraphBuilder& input(const std::string& name, DType dtype = DType::kFloat32,
                      std::vector<int64_t> dims = {}) {
    ValueInfo vi;
    vi.name = name;
    vi.dtype = dtype;
    vi.dims = std::move(dims);
    vi.has_shape = !vi.dims.empty();
    model_.graph.inputs.push_back(vi);
    return *this;
  }
  GraphBuilder& output(const std::string& name) {
    ValueInfo vi;
    vi.name = name;
    model_.graph.outputs.push_back(vi);
    return *this;
  }
  GraphBuilder& weight(const std::string& name, std::vector<int64_t> shape, std::vector<float> values) {
    Tensor t;
    t.name = name;
    t.shape = std::move(shape);
    t.values = std::move(values);
    model_.tensors.push_back(std::move(t));
    model_.graph.initializers.push_back(name);
    return *this;
  }
  GraphBuilder& int_weight(const std::string& name, std::vector<int64_t> shape, std::vector<int64_t> values) {
    Tensor t;
    t.name = name;
    t.shape = std::move(shape);
    t.dtype = DType::kInt64;
    t.raw.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(int64_t));
    model_.tensors.push_back(std::move(t));
    model_.graph.initializers.push_back(name);
    return *this;
  }
  GraphBuilder& node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                     std::vector<Attribute> attrs = {}, const std::string& name = "") {
    Node n;
    n.name = name.empty() ? op + "_" + std::to_string(model_.graph.nodes.size()) : name;
    n.op_type = op;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    n.attributes = std::move(attrs);
    model_.graph.nodes.push_back(std::move(n));
    return *this;
  }
  const Model& model() const { return model_; }
  Model& model() { return model_; }

 private:
  Model model_;
};

// One node `op` with float inputs "x0", "x1", ... and one output "y".
inline Model single_op(const std::string& op, size_t num_inputs, std::vector<Attribute> attrs = {},
                       int64_t opset = 13) {
  GraphBuilder b(opset);
  std::vector<std::string> ins;
  for (size_t k = 0; k < num_inputs; ++k) {
    ins.push_back("x" + std::to_string(k));
    b.input(ins.back(), DType::kUndefined);
  }
  b.node(op, ins, {"y"}, std::move(attrs)).output("y");
  return b.model();
}

// Runs `model` on `inputs` in a fresh Session and returns its first output (an empty Value, with
// the failure recorded, when creating or running fails).
inline Value run_one(const Model& model, std::vector<Value> inputs) {
  auto session = Session::create(model);
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return {};
  auto out = session->run(inputs);
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (!out.ok()) return {};
  return out.value()[0];
}

}  // namespace deepcomp::runtime::testing
