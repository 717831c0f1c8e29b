// Building small ONNX models in tests with ONNX's protobuf classes, and checking that a model
// survives load -> serialize -> load unchanged.
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/tensor_bytes.h"
#include "onnx_io/onnx_io.h"

namespace deepcomp::onnx_io::testing {

inline onnx::ModelProto make_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("fixture");
  m.set_producer_version("1.0");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  m.mutable_graph()->set_name("g");
  return m;
}

inline void add_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list,
                      const std::string& name, int elem_type, std::vector<int64_t> dims) {
  auto* v = list->Add();
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

inline onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op,
                                 std::vector<std::string> inputs, std::vector<std::string> outputs,
                                 const std::string& name = "") {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (auto& i : inputs) n->add_input(i);
  for (auto& o : outputs) n->add_output(o);
  return n;
}

inline onnx::TensorProto float_tensor(const std::string& name, std::vector<int64_t> dims,
                                      const std::vector<float>& values, bool raw = true) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  if (raw)
    t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4));
  else
    for (float v : values) t.add_float_data(v);
  return t;
}

inline std::string serialize(const onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

inline std::string tensor_bytes(const Tensor& t) {
  // Empty tensors: core's conversion would memcpy from a null buffer.
  return t.dtype == DType::kString || t.numel() == 0 ? t.raw : tensor_element_bytes(t);
}

// Loads `bytes`, serializes, reloads: skeleton and tensors must match and, for an unmodified
// model, the serialized bytes must equal the input. Returns the first load.
inline Model load_and_round_trip(const std::string& bytes, const std::string& base_dir = "") {
  auto m = parse_model(bytes, "fixture.onnx", base_dir);
  EXPECT_TRUE(m.ok()) << m.status().message();
  if (!m.ok()) return Model{};
  auto out = serialize_model(*m);
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (!out.ok()) return Model{};
  EXPECT_EQ(*out, bytes) << "serialization of an unmodified model changed its bytes";
  auto again = parse_model(*out, "fixture.onnx (saved)", base_dir);
  EXPECT_TRUE(again.ok()) << again.status().message();
  if (!again.ok()) return Model{};
  EXPECT_EQ(again->skeleton, m->skeleton);
  EXPECT_EQ(again->tensors.size(), m->tensors.size());
  for (size_t i = 0; i < m->tensors.size() && i < again->tensors.size(); ++i) {
    EXPECT_EQ(again->tensors[i].name, m->tensors[i].name);
    EXPECT_EQ(tensor_bytes(again->tensors[i]), tensor_bytes(m->tensors[i])) << m->tensors[i].name;
  }
  return std::move(m).value();
}

template <typename T>
std::string le_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

}  // namespace deepcomp::onnx_io::testing
