// A model with every newer compressible layer kind (embedding Gather, LSTM W and R, PyTorch-style
// MatMul(x, Transpose(W)), Gemm through Reshape, ConvTranspose) through the binary: compress
// reports them as layers, inspect shows their roles, the .dcz opens with all of them in sparse
// form, and `run` on the .dcz (compressed kernels) matches `run` on its decompressed .onnx.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <fstream>
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

onnx::TensorProto float_init(const std::string& name, std::vector<int64_t> dims, uint32_t seed) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  int64_t n = 1;
  for (int64_t d : dims) {
    t.add_dims(d);
    n *= d;
  }
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.3f);
  for (int64_t k = 0; k < n; ++k) t.add_float_data(dist(rng));
  return t;
}

onnx::TensorProto int_init(const std::string& name, std::vector<int64_t> values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::INT64);
  t.add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t.add_int64_data(v);
  return t;
}

onnx::NodeProto* node(onnx::GraphProto* g, const std::string& op, std::vector<std::string> in,
                      std::vector<std::string> out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(out[0] + "_node");
  for (auto& s : in) n->add_input(s);
  for (auto& s : out) n->add_output(s);
  return n;
}

void attr_ints(onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void attr_int(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name,
           int type, std::vector<int64_t> dims) {
  auto* v = list->Add();
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(type);
  for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

// ids [2, 5] (constant) -> Gather(emb [40, 12]) -> [T=5, N=2, 12] -> LSTM (H 16, W =
// Unsqueeze(lstm.W [64, 12]) as PyTorch exports an LSTMCell) -> [5, 2, 16] ->
// MatMul(Transpose(fc.weight [10, 16])) -> [2, 50];  img [2, 6, 4, 4] -> ConvTranspose(up.weight
// [6, 3, 3, 3], stride 2) -> [2, 243];  Flatten(img) [2, 96] -> Gemm(Reshape(flat.w [480]) to
// [96, 5]) -> [2, 5];  y = Concat of the three, [2, 298].
std::string layers_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("layers");
  value(g->mutable_input(), "img", onnx::TensorProto::FLOAT, {2, 6, 4, 4});
  value(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {2, 298});
  *g->add_initializer() = float_init("emb", {40, 12}, 1);
  *g->add_initializer() = float_init("lstm.W", {64, 12}, 2);  // LSTMCell-style, unsqueezed
  *g->add_initializer() = float_init("lstm.R", {1, 64, 16}, 3);
  *g->add_initializer() = float_init("lstm.B", {1, 128}, 4);
  *g->add_initializer() = float_init("fc.weight", {10, 16}, 5);
  *g->add_initializer() = float_init("up.weight", {6, 3, 3, 3}, 6);
  *g->add_initializer() = float_init("flat.w", {480}, 7);
  *g->add_initializer() = int_init("shape_96x5", {96, 5});
  *g->add_initializer() = int_init("axis1", {1});
  *g->add_initializer() = int_init("axis0", {0});
  // Constant token ids (bench feeds float inputs only); a Gather reading a sparse table is not
  // folded away, so the lookup still runs on the compressed form.
  auto ids = int_init("ids", {0, 39, 7, 7, 12, 3, 21, 0, 38, 5});
  ids.clear_dims();
  ids.add_dims(2);
  ids.add_dims(5);
  *g->add_initializer() = ids;
  node(g, "Gather", {"emb", "ids"}, {"e"});
  attr_ints(node(g, "Transpose", {"e"}, {"e_t"}), "perm", {1, 0, 2});
  node(g, "Unsqueeze", {"lstm.W", "axis0"}, {"lstm.W3"});
  attr_int(node(g, "LSTM", {"e_t", "lstm.W3", "lstm.R", "lstm.B"}, {"seq"}), "hidden_size", 16);
  node(g, "Squeeze", {"seq", "axis1"}, {"seq3"});
  attr_ints(node(g, "Transpose", {"fc.weight"}, {"fc.weight_t"}), "perm", {1, 0});
  node(g, "MatMul", {"seq3", "fc.weight_t"}, {"logits"});
  attr_ints(node(g, "Transpose", {"logits"}, {"logits_n"}), "perm", {1, 0, 2});
  node(g, "Flatten", {"logits_n"}, {"y1"});
  attr_ints(node(g, "ConvTranspose", {"img", "up.weight"}, {"up"}), "strides", {2, 2});
  node(g, "Flatten", {"up"}, {"y2"});
  node(g, "Flatten", {"img"}, {"img_flat"});
  node(g, "Reshape", {"flat.w", "shape_96x5"}, {"w96x5"});
  node(g, "Gemm", {"img_flat", "w96x5"}, {"y3"});
  attr_int(node(g, "Concat", {"y1", "y2", "y3"}, {"y"}), "axis", 1);
  std::string bytes;
  m.SerializeToString(&bytes);
  return bytes;
}

void write_input(const std::string& dir) {
  data::TypedArray img;
  img.shape = {2, 6, 4, 4};
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int k = 0; k < 192; ++k) img.f.push_back(u(rng));
  auto bytes = data::npy_bytes_typed(img);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  write_text(dir + "/img.npy", *bytes);
}

TEST(RolesCli, NewLayerKindsCompressInspectAndRunSparseFromTheDcz) {
  const std::string dir = temp_dir();
  write_text(dir + "/m.onnx", layers_model());
  write_input(dir);
  auto r = run_deepcomp("compress " + dir + "/m.onnx -o " + dir +
                        "/m.dcz --prune 0.7 --report-json " + dir + "/report.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(read_text(dir + "/report.json"));
  std::map<std::string, std::string> kind;
  std::map<std::string, bool> compressed;
  for (const auto& l : report["layers"]) {
    kind[l["name"]] = l["kind"];
    compressed[l["name"]] = l["compressed"];
  }
  const std::map<std::string, std::string> want = {
      {"emb", "embedding"}, {"lstm.W", "fc"},        {"lstm.R", "fc"},
      {"fc.weight", "fc"},  {"up.weight", "conv"},   {"flat.w", "fc"},
      {"lstm.B", "bias"},   {"shape_96x5", "other"}, {"axis0", "other"}};
  for (const auto& [name, k] : want) {
    EXPECT_EQ(kind[name], k) << name;
    EXPECT_EQ(compressed[name], k != "bias" && k != "other") << name;
  }

  r = run_deepcomp("inspect " + dir + "/m.dcz --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto listing = nlohmann::json::parse(r.out);  // not a temporary: the range-for would dangle
  for (const auto& t : listing["tensors"]) {
    if (want.count(t["name"])) EXPECT_EQ(t["role"], want.at(t["name"])) << t["name"];
  }

  // Every compressed weight goes to the runtime in compressed form (none expanded).
  r = run_deepcomp("bench " + dir + "/m.dcz --json --batch 2 --threads 1 --repeat 1 --warmup 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto bench = nlohmann::json::parse(r.out);
  EXPECT_NE(bench["sparse"].get<std::string>().find("6 weights sparse)"), std::string::npos)
      << bench["sparse"];
  EXPECT_NE(bench["sparse_kernels"].get<std::string>().find("6 layers sparse, 0 dense"),
            std::string::npos)
      << bench["sparse_kernels"];

  r = run_deepcomp("decompress " + dir + "/m.dcz -o " + dir + "/d.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string inputs = " --input img=" + dir + "/img.npy";
  r = run_deepcomp("run " + dir + "/m.dcz --sparse" + inputs + " -o " + dir + "/sparse.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_deepcomp("run " + dir + "/d.onnx" + inputs + " -o " + dir + "/dense.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_deepcomp("run " + dir + "/d.onnx --sparse" + inputs + " -o " + dir + "/csr.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto sparse = data::read_npy(dir + "/sparse.npy");
  auto dense = data::read_npy(dir + "/dense.npy");
  auto csr = data::read_npy(dir + "/csr.npy");
  ASSERT_TRUE(sparse.ok() && dense.ok() && csr.ok());
  ASSERT_EQ(dense->shape, (std::vector<int64_t>{2, 298}));
  ASSERT_EQ(sparse->shape, dense->shape);
  double nonzero = 0;
  for (size_t k = 0; k < dense->values.size(); ++k) {
    EXPECT_NEAR(sparse->values[k], dense->values[k], 1e-5) << "element " << k;
    EXPECT_NEAR(csr->values[k], dense->values[k], 1e-5) << "element " << k;
    nonzero += dense->values[k] != 0;
  }
  EXPECT_GT(nonzero, 250);  // the comparison is not between two zero vectors
}

}  // namespace
}  // namespace deepcomp
