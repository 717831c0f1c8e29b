// Where tensors live: Constant nodes (value and value_float(s)/value_int(s)), If and Loop
// subgraphs, external data files; saving with external data; rebuilding from a skeleton; single
// TensorProto files. Models are built here with ONNX's protobuf classes.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/file_io.h"
#include "tests/onnx_io/fixture_util.h"
#include "tests/test_util.h"

namespace deepcomp::onnx_io {
namespace {
using namespace testing;
namespace fs = std::filesystem;

TEST(OnnxLocations, ConstantNodeValueAndScalarListAttributesBecomeTensors) {
  auto m = make_model();
  auto* g = m.mutable_graph();
  auto* c1 = add_node(g, "Constant", {}, {"c_value"}, "const_value");
  auto* a1 = c1->add_attribute();
  a1->set_name("value");
  a1->set_type(onnx::AttributeProto::TENSOR);
  *a1->mutable_t() = float_tensor("", {2}, {3.0f, 4.0f});
  auto* c2 = add_node(g, "Constant", {}, {"c_floats"}, "const_floats");
  auto* a2 = c2->add_attribute();
  a2->set_name("value_floats");
  a2->set_type(onnx::AttributeProto::FLOATS);
  for (float f : {0.5f, 0.25f, 0.0f}) a2->add_floats(f);
  auto* c3 = add_node(g, "Constant", {}, {"c_ints"});
  auto* a3 = c3->add_attribute();
  a3->set_name("value_ints");
  a3->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : {1, -2}) a3->add_ints(v);
  auto* c4 = add_node(g, "Constant", {}, {"c_float"});
  auto* a4 = c4->add_attribute();
  a4->set_name("value_float");
  a4->set_type(onnx::AttributeProto::FLOAT);
  a4->set_f(-1.25f);
  auto* c5 = add_node(g, "Constant", {}, {"c_int"});
  auto* a5 = c5->add_attribute();
  a5->set_name("value_int");
  a5->set_type(onnx::AttributeProto::INT);
  a5->set_i(42);
  add_value(g->mutable_output(), "c_value", onnx::TensorProto::FLOAT, {2});
  const std::string bytes = serialize(m);
  ASSERT_TRUE(check_model_bytes(bytes, "fixture").ok());

  Model model = load_and_round_trip(bytes);
  ASSERT_EQ(model.tensors.size(), 5u);
  const Tensor& v = model.tensors[0];
  EXPECT_EQ(v.name, "c_value");
  EXPECT_EQ(v.location.kind, LocationKind::kConstantNode);
  EXPECT_EQ(v.location.node, "const_value");
  EXPECT_EQ(v.location.attribute, "value");
  EXPECT_EQ(v.values, (std::vector<float>{3.0f, 4.0f}));
  const Tensor& f = model.tensors[1];
  EXPECT_EQ(f.location.attribute, "value_floats");
  EXPECT_EQ(f.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(f.values, (std::vector<float>{0.5f, 0.25f, 0.0f}));
  const Tensor& ints = model.tensors[2];
  EXPECT_EQ(ints.dtype, DType::kInt64);
  EXPECT_EQ(ints.raw, le_bytes(std::vector<int64_t>{1, -2}));
  EXPECT_EQ(model.tensors[3].shape, std::vector<int64_t>{});
  EXPECT_EQ(model.tensors[3].values, std::vector<float>{-1.25f});
  EXPECT_EQ(model.tensors[4].raw, le_bytes(std::vector<int64_t>{42}));
  // The graph refers to the tensor by name instead of holding data.
  ASSERT_EQ(model.graph.nodes.size(), 5u);
  const Attribute* attr = model.graph.nodes[0].attr("value");
  ASSERT_NE(attr, nullptr);
  EXPECT_EQ(attr->type, Attribute::Type::kTensor);
  EXPECT_EQ(attr->tensor, "c_value");
}

// An If whose branches hold an initializer and a Constant, inside a Loop body.
onnx::ModelProto if_inside_loop_model() {
  auto m = make_model();
  auto* g = m.mutable_graph();
  add_value(g->mutable_input(), "trip", onnx::TensorProto::INT64, {});
  add_value(g->mutable_input(), "cond", onnx::TensorProto::BOOL, {});
  add_value(g->mutable_input(), "x0", onnx::TensorProto::FLOAT, {2});
  auto* loop = add_node(g, "Loop", {"trip", "cond", "x0"}, {"x_final"});  // no name
  add_value(g->mutable_output(), "x_final", onnx::TensorProto::FLOAT, {2});
  auto* body_attr = loop->add_attribute();
  body_attr->set_name("body");
  body_attr->set_type(onnx::AttributeProto::GRAPH);
  auto* body = body_attr->mutable_g();
  body->set_name("body");
  add_value(body->mutable_input(), "i", onnx::TensorProto::INT64, {});
  add_value(body->mutable_input(), "c_in", onnx::TensorProto::BOOL, {});
  add_value(body->mutable_input(), "x", onnx::TensorProto::FLOAT, {2});
  add_node(body, "Identity", {"c_in"}, {"c_out"});
  auto* iff = add_node(body, "If", {"c_in"}, {"delta"}, "inner_if");
  auto* then_attr = iff->add_attribute();
  then_attr->set_name("then_branch");
  then_attr->set_type(onnx::AttributeProto::GRAPH);
  auto* then_g = then_attr->mutable_g();
  then_g->set_name("then");
  *then_g->add_initializer() = float_tensor("then_w", {2}, {1.0f, 2.0f});
  add_node(then_g, "Identity", {"then_w"}, {"then_out"});
  add_value(then_g->mutable_output(), "then_out", onnx::TensorProto::FLOAT, {2});
  auto* else_attr = iff->add_attribute();
  else_attr->set_name("else_branch");
  else_attr->set_type(onnx::AttributeProto::GRAPH);
  auto* else_g = else_attr->mutable_g();
  else_g->set_name("else");
  auto* c = add_node(else_g, "Constant", {}, {"else_out"}, "else_const");
  auto* v = c->add_attribute();
  v->set_name("value");
  v->set_type(onnx::AttributeProto::TENSOR);
  *v->mutable_t() = float_tensor("", {2}, {-1.0f, -2.0f}, false);
  add_value(else_g->mutable_output(), "else_out", onnx::TensorProto::FLOAT, {2});
  add_node(body, "Add", {"x", "delta"}, {"x_next"});
  add_value(body->mutable_output(), "c_out", onnx::TensorProto::BOOL, {});
  add_value(body->mutable_output(), "x_next", onnx::TensorProto::FLOAT, {2});
  return m;
}

TEST(OnnxLocations, IfBranchesInsideLoopBodyAreFoundWithTheirGraphPaths) {
  const std::string bytes = serialize(if_inside_loop_model());
  ASSERT_TRUE(check_model_bytes(bytes, "fixture").ok())
      << check_model_bytes(bytes, "fixture").message();
  Model model = load_and_round_trip(bytes);
  ASSERT_EQ(model.tensors.size(), 2u);
  EXPECT_EQ(model.tensors[0].name, "then_w");
  EXPECT_EQ(model.tensors[0].location.kind, LocationKind::kInitializer);
  EXPECT_EQ(model.tensors[0].location.graph_path, "x_final/body/inner_if/then_branch");
  EXPECT_EQ(model.tensors[1].name, "else_out");
  EXPECT_EQ(model.tensors[1].location.kind, LocationKind::kConstantNode);
  EXPECT_EQ(model.tensors[1].location.graph_path, "x_final/body/inner_if/else_branch");
  EXPECT_FALSE(model.tensors[1].location.raw_data);
  EXPECT_EQ(model.tensors[1].values, (std::vector<float>{-1.0f, -2.0f}));
  // Graph inputs exclude initializers; subgraphs are reachable through Attribute::graph.
  ASSERT_EQ(model.graph.inputs.size(), 3u);
  const Attribute* body = model.graph.nodes[0].attr("body");
  ASSERT_TRUE(body && body->graph);
  ASSERT_EQ(body->graph->nodes.size(), 3u);
  const Attribute* then_b = body->graph->nodes[1].attr("then_branch");
  ASSERT_TRUE(then_b && then_b->graph);
  EXPECT_EQ(then_b->graph->initializers, std::vector<std::string>{"then_w"});
}

// A model whose two initializers live in weights.bin, the second at a nonzero offset.
std::string write_external_model(const std::string& dir) {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  const std::vector<float> b = {-1, -2, -3};
  std::string data = le_bytes(a) + std::string(8, '\x7f') + le_bytes(b);
  deepcomp::testing::write_text(dir + "/weights.bin", data);
  auto m = make_model();
  auto add = [&](const std::string& name, std::vector<int64_t> dims, int64_t off, int64_t len) {
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto kv = [t](const std::string& k, const std::string& v) {
      auto* e = t->add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    kv("location", "weights.bin");
    kv("offset", std::to_string(off));
    kv("length", std::to_string(len));
  };
  add("a", {2, 3}, 0, 24);
  add("b", {3}, 32, 12);
  add_node(m.mutable_graph(), "Add", {"b", "b"}, {"y"});
  add_value(m.mutable_graph()->mutable_output(), "y", onnx::TensorProto::FLOAT, {3});
  const std::string path = dir + "/model.onnx";
  deepcomp::testing::write_text(path, serialize(m));
  return path;
}

TEST(OnnxExternalData, LoadsTensorsAtTheirOffsetsAndSavesThemExternallyAgain) {
  const std::string dir = deepcomp::testing::temp_dir();
  const std::string path = write_external_model(dir);
  auto model = load_model(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_EQ(model->tensors.size(), 2u);
  EXPECT_EQ(model->tensors[0].values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(model->tensors[1].values, (std::vector<float>{-1, -2, -3}));
  EXPECT_EQ(model->tensors[1].location.external_file, "weights.bin");
  EXPECT_EQ(model->tensors[1].location.external_offset, 32);
  EXPECT_EQ(model->tensors[1].location.external_length, 12);

  // Saved elsewhere: the tensors that were external go to out.onnx.data.
  const std::string out = dir + "/out.onnx";
  ASSERT_TRUE(save_model(*model, out).ok());
  EXPECT_TRUE(fs::exists(out + ".data"));
  EXPECT_TRUE(check_model_file(out).ok()) << check_model_file(out).message();
  auto back = load_model(out);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->skeleton, model->skeleton);
  EXPECT_EQ(back->tensors[0].values, model->tensors[0].values);
  EXPECT_EQ(back->tensors[1].values, model->tensors[1].values);
  EXPECT_EQ(back->tensors[1].location.external_file, "out.onnx.data");
  EXPECT_EQ(back->tensors[1].location.external_offset % 4096, 0);

  // Without a folder to resolve against, external data is refused.
  auto bytes = read_file(path);
  EXPECT_FALSE(parse_model(*bytes, "m", "").ok());
}

TEST(OnnxExternalData, ForcedExternalSaveMovesOnlyLargeTensorsOut) {
  std::vector<float> big(1000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = 0.001f * static_cast<float>(i) - 0.3f;
  auto m = make_model();
  *m.mutable_graph()->add_initializer() = float_tensor("big", {10, 100}, big);
  *m.mutable_graph()->add_initializer() = float_tensor("small", {3}, {1, 2, 3}, false);
  add_value(m.mutable_graph()->mutable_input(), "x", onnx::TensorProto::FLOAT, {1, 10});
  add_node(m.mutable_graph(), "MatMul", {"x", "big"}, {"y"});
  add_value(m.mutable_graph()->mutable_output(), "y", onnx::TensorProto::FLOAT, {1, 100});
  auto model = parse_model(serialize(m), "fixture", "");
  ASSERT_TRUE(model.ok());

  const std::string dir = deepcomp::testing::temp_dir();
  SaveOptions opts;
  opts.external_data = true;
  ASSERT_TRUE(save_model(*model, dir + "/ext.onnx", opts).ok());
  ASSERT_TRUE(fs::exists(dir + "/ext.onnx.data"));
  EXPECT_EQ(fs::file_size(dir + "/ext.onnx.data"), 4000u);
  EXPECT_LT(fs::file_size(dir + "/ext.onnx"), 1000u);
  EXPECT_TRUE(check_model_file(dir + "/ext.onnx").ok());
  auto back = load_model(dir + "/ext.onnx");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->tensors[0].values, big);
  EXPECT_EQ(back->tensors[0].location.external_file, "ext.onnx.data");
  EXPECT_TRUE(back->tensors[1].location.external_file.empty());
  EXPECT_FALSE(back->tensors[1].location.raw_data);
  EXPECT_EQ(back->skeleton, model->skeleton);

  // Saving again refuses to overwrite unless forced.
  EXPECT_FALSE(save_model(*model, dir + "/ext.onnx", opts).ok());
  opts.write.force = true;
  EXPECT_TRUE(save_model(*model, dir + "/ext.onnx", opts).ok());
  // ... and never writes over its input.
  opts.write.inputs = {dir + "/ext.onnx"};
  EXPECT_FALSE(save_model(*model, dir + "/ext.onnx", opts).ok());
}

TEST(OnnxSkeleton, RebuildsFromSkeletonAndTensorsToTheSameBytes) {
  const std::string bytes = serialize(if_inside_loop_model());
  auto model = parse_model(bytes, "fixture", "");
  ASSERT_TRUE(model.ok());
  auto rebuilt = model_from_skeleton(model->skeleton, model->tensors, "fixture.dcz");
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().message();
  auto out = serialize_model(*rebuilt);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, bytes);
  EXPECT_EQ(rebuilt->graph.nodes.size(), model->graph.nodes.size());

  std::vector<Tensor> missing = {model->tensors[0]};
  auto r1 = model_from_skeleton(model->skeleton, missing, "fixture.dcz");
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.status().message().find("'else_out' is missing"), std::string::npos);
  std::vector<Tensor> extra = model->tensors;
  extra.push_back(model->tensors[0]);
  extra.back().name = "stray";
  auto r2 = model_from_skeleton(model->skeleton, extra, "fixture.dcz");
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("'stray'"), std::string::npos);
}

TEST(OnnxLocations, SparseInitializersAndOtherTensorAttributesPassThroughInTheSkeleton) {
  auto m = make_model();
  auto* g = m.mutable_graph();
  auto* sp = g->add_sparse_initializer();
  *sp->mutable_values() = float_tensor("sp", {2}, {1.0f, 2.0f});
  auto* idx = sp->mutable_indices();
  idx->set_name("sp_idx");
  idx->set_data_type(onnx::TensorProto::INT64);
  idx->add_dims(2);
  idx->add_int64_data(0);
  idx->add_int64_data(3);
  sp->add_dims(4);
  auto* cos = add_node(g, "ConstantOfShape", {"shape"}, {"filled"});
  auto* v = cos->add_attribute();
  v->set_name("value");
  v->set_type(onnx::AttributeProto::TENSOR);
  *v->mutable_t() = float_tensor("", {1}, {0.75f});
  Model model = load_and_round_trip(serialize(m));  // byte-identical: nothing was lost
  EXPECT_TRUE(model.tensors.empty());
  ASSERT_EQ(model.graph.nodes.size(), 1u);
  const Attribute* a = model.graph.nodes[0].attr("value");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->type, Attribute::Type::kTensor);
  EXPECT_TRUE(a->tensor.empty());
  ASSERT_NE(a->value, nullptr);
  EXPECT_EQ(a->value->dtype, DType::kFloat32);
  EXPECT_EQ(a->value->values, std::vector<float>{0.75f});
}

TEST(OnnxTensorFile, ReadsATensorProtoFile) {
  const std::string dir = deepcomp::testing::temp_dir();
  onnx::TensorProto t = float_tensor("input_0", {1, 3}, {0.5f, 1.5f, -2.0f});
  std::string s;
  t.SerializeToString(&s);
  deepcomp::testing::write_text(dir + "/input_0.pb", s);
  auto r = read_tensor_file(dir + "/input_0.pb");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->name, "input_0");
  EXPECT_EQ(r->shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(r->values, (std::vector<float>{0.5f, 1.5f, -2.0f}));

  const std::string real =
      "/usr/share/libonnx-testdata/data/node/test_relu/test_data_set_0/input_0.pb";
  if (fs::exists(real)) {
    auto x = read_tensor_file(real);
    ASSERT_TRUE(x.ok()) << x.status().message();
    EXPECT_EQ(x->dtype, DType::kFloat32);
    EXPECT_EQ(static_cast<size_t>(x->numel()), x->values.size());
    EXPECT_GT(x->numel(), 0);
  }
  deepcomp::testing::write_text(dir + "/junk.pb", std::string("\xff\xff\xff", 3));
  EXPECT_FALSE(read_tensor_file(dir + "/junk.pb").ok());
}

}  // namespace
}  // namespace deepcomp::onnx_io
