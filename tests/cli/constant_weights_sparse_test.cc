// A model whose layer weights live in Constant nodes, as paddle2onnx exports them (PaddleOCR):
// compressed, its .dcz runs those layers on their sparse forms (none expanded) with the outputs
// of the decompressed model; a Constant that is also a graph output keeps its node and runs; and
// the .dcz itself still writes the weights back into Constant nodes; Constant weights inside If
// branches run sparse too.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "data/idx.h"
#include "data/npy.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

using testing::read_text;
using testing::run_deepcomp;
using testing::temp_dir;
using testing::write_text;

// A Constant node with a random float tensor `name` of `dims`.
void constant(onnx::GraphProto* g, const std::string& name, std::vector<int64_t> dims,
              uint32_t seed) {
  auto* n = g->add_node();
  n->set_op_type("Constant");
  n->set_name(name + "_const");
  n->add_output(name);
  auto* a = n->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  onnx::TensorProto* t = a->mutable_t();
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t numel = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    numel *= d;
  }
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.3f);
  for (int64_t k = 0; k < numel; ++k) t->add_float_data(dist(rng));
}

void value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name,
           std::vector<int64_t> dims) {
  auto* v = list->Add();
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

onnx::ModelProto opset13_model(const std::string& graph_name) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  m.mutable_graph()->set_name(graph_name);
  return m;
}

// PREFIXc = Conv(x, PREFIXconv.w, pads 1) -> PREFIXr = Relu -> PREFIXf = Flatten ->
// PREFIXg = Gemm(PREFIXf, PREFIXfc.w), the weights' Constant nodes made by the caller.
void add_conv_fc(onnx::GraphProto* g, const std::string& prefix) {
  auto add = [&](const std::string& type, std::vector<std::string> in, const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(type);
    n->set_name(prefix + out + "_node");
    for (auto& s : in) n->add_input(s);
    n->add_output(prefix + out);
    return n;
  };
  auto* conv = add("Conv", {"x", prefix + "conv.w"}, "c");
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int k = 0; k < 4; ++k) pads->add_ints(1);
  add("Relu", {prefix + "c"}, "r");
  add("Flatten", {prefix + "r"}, "f");
  add("Gemm", {prefix + "f", prefix + "fc.w"}, "g");
}

// x [1, 4, 8, 8] -> Conv(conv.w [8, 4, 3, 3], pads 1) -> Relu -> Flatten [1, 512]
// -> Gemm(fc.w [512, 10]) -> y [1, 10]; a third Constant, scale [10], is also a graph output.
std::string constant_weights_model() {
  onnx::ModelProto m = opset13_model("paddle_like");
  auto* g = m.mutable_graph();
  value(g->mutable_input(), "x", {1, 4, 8, 8});
  value(g->mutable_output(), "y", {1, 10});
  value(g->mutable_output(), "scale", {10});
  constant(g, "conv.w", {8, 4, 3, 3}, 1);
  constant(g, "fc.w", {512, 10}, 2);
  constant(g, "scale", {10}, 3);
  add_conv_fc(g, "");
  auto* mul = g->add_node();
  mul->set_op_type("Mul");
  mul->set_name("y_node");
  mul->add_input("g");
  mul->add_input("scale");
  mul->add_output("y");
  std::string bytes;
  m.SerializeToString(&bytes);
  return bytes;
}

// The same Conv -> Relu -> Flatten -> Gemm net inlined into both branches of an If, each with its
// own Constant weights (as Silero VAD v5/v6 inline their modules): x [1, 4, 8, 8], c bool.
std::string if_branches_model() {
  onnx::ModelProto m = opset13_model("inlined");
  auto* g = m.mutable_graph();
  value(g->mutable_input(), "x", {1, 4, 8, 8});
  auto* c = g->add_input();
  c->set_name("c");
  c->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::BOOL);
  c->mutable_type()->mutable_tensor_type()->mutable_shape();
  value(g->mutable_output(), "y", {1, 10});
  auto* node = g->add_node();
  node->set_op_type("If");
  node->set_name("branch");
  node->add_input("c");
  node->add_output("y");
  uint32_t seed = 10;
  for (const std::string b : {"then", "else"}) {
    auto* a = node->add_attribute();
    a->set_name(b + "_branch");
    a->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto* sub = a->mutable_g();
    sub->set_name(b);
    constant(sub, b + ".conv.w", {8, 4, 3, 3}, seed++);
    constant(sub, b + ".fc.w", {512, 10}, seed++);
    add_conv_fc(sub, b + ".");
    value(sub->mutable_output(), b + ".g", {1, 10});
  }
  std::string bytes;
  m.SerializeToString(&bytes);
  return bytes;
}

void write_npy(const std::string& path, const data::TypedArray& a) {
  auto npy = data::npy_bytes_typed(a);
  ASSERT_TRUE(npy.ok());
  write_text(path, *npy);
}

// x [1, 4, 8, 8], uniform in [-1, 1) from `seed`, as PATH.npy.
void write_random_x(const std::string& path, uint32_t seed) {
  data::TypedArray x;
  x.shape = {1, 4, 8, 8};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int k = 0; k < 256; ++k) x.f.push_back(u(rng));
  write_npy(path, x);
}

// Constant weights inside If branches: the .dcz runs all four sparse (before: "0 weights sparse,
// 4 expanded"), and either branch gives the decompressed model's outputs.
TEST(ConstantWeightsCli, ConstantWeightsInsideIfBranchesRunSparse) {
  const std::string dir = temp_dir();
  write_text(dir + "/m.onnx", if_branches_model());
  write_random_x(dir + "/x.npy", 5);
  auto r = run_deepcomp("compress " + dir + "/m.onnx -o " + dir + "/m.dcz -q --prune 0.7");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_deepcomp("decompress " + dir + "/m.dcz -o " + dir + "/d.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (int cond : {1, 0}) {
    data::TypedArray c;
    c.dtype = DType::kBool;
    c.i = {cond};
    write_npy(dir + "/c.npy", c);
    const std::string in = " --input x=" + dir + "/x.npy --input c=" + dir + "/c.npy";
    r = run_deepcomp("bench " + dir + "/m.dcz --json --kernel sparse --threads 1 --repeat 1 " +
                     "--warmup 0" + in);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto bench = nlohmann::json::parse(r.out);
    EXPECT_NE(bench["sparse"].get<std::string>().find("4 weights sparse)"), std::string::npos)
        << bench["sparse"];
    EXPECT_NE(bench["sparse_kernels"].get<std::string>().find("4 layers sparse, 0 dense"),
              std::string::npos)
        << bench["sparse_kernels"];
    r = run_deepcomp("run " + dir + "/m.dcz --sparse" + in + " -o " + dir + "/s.npy --force");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_deepcomp("run " + dir + "/d.onnx" + in + " -o " + dir + "/d.npy --force");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto s = data::read_npy(dir + "/s.npy"), d = data::read_npy(dir + "/d.npy");
    ASSERT_TRUE(s.ok() && d.ok());
    ASSERT_EQ(s->shape, (std::vector<int64_t>{1, 10}));
    ASSERT_EQ(s->shape, d->shape);
    for (size_t k = 0; k < d->values.size(); ++k) {
      EXPECT_NEAR(s->values[k], d->values[k], 1e-4 * (1 + std::fabs(d->values[k])))
          << "branch " << cond << " output " << k;
    }
  }
}

TEST(ConstantWeightsCli, ConstantNodeWeightsOfADczRunSparseWithTheDecompressedOutputs) {
  const std::string dir = temp_dir();
  write_text(dir + "/m.onnx", constant_weights_model());
  write_random_x(dir + "/x.npy", 4);

  auto r = run_deepcomp("compress " + dir + "/m.onnx -o " + dir + "/m.dcz -q --prune 0.7");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_deepcomp("bench " + dir + "/m.dcz --json --kernel sparse --threads 1 --repeat 1 " +
                   "--warmup 0 --input x=" + dir + "/x.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto bench = nlohmann::json::parse(r.out);
  // Both layer weights in sparse form, none expanded (before: "0 weights sparse, 2 expanded").
  EXPECT_NE(bench["sparse"].get<std::string>().find("2 weights sparse)"), std::string::npos)
      << bench["sparse"];
  EXPECT_NE(bench["sparse_kernels"].get<std::string>().find("2 layers sparse, 0 dense"),
            std::string::npos)
      << bench["sparse_kernels"];

  r = run_deepcomp("decompress " + dir + "/m.dcz -o " + dir + "/d.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // y (the first output; `scale`, a Constant that is also an output, keeps its node and runs).
  const std::string in = " --input x=" + dir + "/x.npy";
  r = run_deepcomp("run " + dir + "/m.dcz --sparse" + in + " -o " + dir + "/s.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_deepcomp("run " + dir + "/d.onnx" + in + " -o " + dir + "/d.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto s = data::read_npy(dir + "/s.npy"), d = data::read_npy(dir + "/d.npy");
  ASSERT_TRUE(s.ok() && d.ok());
  ASSERT_EQ(d->shape, (std::vector<int64_t>{1, 10}));
  ASSERT_EQ(s->shape, d->shape);
  double nonzero = 0;
  for (size_t k = 0; k < d->values.size(); ++k) {
    EXPECT_NEAR(s->values[k], d->values[k], 1e-4 * (1 + std::fabs(d->values[k]))) << k;
    nonzero += d->values[k] != 0;
  }
  EXPECT_GT(nonzero, 0);
  r = run_deepcomp("run " + dir + "/m.dcz --sparse" + in + " -o " + dir + "/all.npz");
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // The decompressed model still holds the weights in its three Constant nodes.
  onnx::ModelProto back;
  ASSERT_TRUE(back.ParseFromString(read_text(dir + "/d.onnx")));
  int constants = 0;
  for (const auto& n : back.graph().node()) constants += n.op_type() == "Constant";
  EXPECT_EQ(constants, 3);
  EXPECT_EQ(back.graph().initializer_size(), 0);
}

}  // namespace
}  // namespace deepcomp
