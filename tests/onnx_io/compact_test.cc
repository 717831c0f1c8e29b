// Compact ONNX export (onnx_io/compact.h): on hand-built Gemm models, each form must remove the
// dense float weight, pass the ONNX checker, and rebuild the weight exactly: through deepcomp's
// runtime for the dense-indices form, by decoding the stored arrays, and (when node and
// bench/node_modules are present) through ONNX Runtime for every form.
#include "onnx_io/compact.h"

#include <gtest/gtest.h>

#include <bit>
#include <filesystem>
#include <numeric>

#include "data/idx.h"
#include "runtime/session.h"
#include "tests/onnx_io/fixture_util.h"
#include "tests/test_util.h"

namespace deepcomp::onnx_io {
namespace {

using testing::add_node;
using testing::add_value;
using testing::float_tensor;
using testing::make_model;

constexpr int kBatch = 2;

struct GemmSpec {
  int opset = 13;
  int out = 3, in = 4;
  bool pad_first = false;  // a Pad-2 node (attribute pads): blocks raising opset 9 -> 11
  bool weight_as_constant = false;
  bool weight_as_input = false;  // also list the weight initializer as a graph input (IR 3 style)
};

// The weight W[p] = codebook[clusters[i]] at positions[i], 0 elsewhere, computed directly.
std::vector<float> dense_of(const CompactWeight& w, int64_t numel) {
  std::vector<float> v(static_cast<size_t>(numel), 0.0f);
  for (size_t i = 0; i < w.clusters.size(); ++i) {
    const size_t p = w.positions.empty() ? i : static_cast<size_t>(w.positions[i]);
    v[p] = w.codebook[w.clusters[i]];
  }
  return v;
}

// Y = Relu(Gemm(X, W, B, transB=1)), X [2, in], W [out, in].
Model gemm_model(const GemmSpec& s, const std::vector<float>& w) {
  onnx::ModelProto m = make_model();
  m.set_ir_version(s.weight_as_input ? 3 : 7);
  m.mutable_opset_import(0)->set_version(s.opset);
  auto* g = m.mutable_graph();
  add_value(g->mutable_input(), "X", onnx::TensorProto::FLOAT, {kBatch, s.in});
  add_value(g->mutable_output(), "Y", onnx::TensorProto::FLOAT, {kBatch, s.out});
  // A symbolic batch, so that bench/ort_run.js feeds the whole batch at once.
  g->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(0)
      ->set_dim_param("N");
  g->mutable_output(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(0)
      ->set_dim_param("N");
  std::vector<float> bias(static_cast<size_t>(s.out));
  for (int i = 0; i < s.out; ++i)
    bias[static_cast<size_t>(i)] = 0.1f * static_cast<float>(i % 5) - 0.2f;
  *g->add_initializer() = float_tensor("B", {s.out}, bias);
  if (s.weight_as_input)
    add_value(g->mutable_input(), "W", onnx::TensorProto::FLOAT, {s.out, s.in});
  if (s.weight_as_constant) {
    auto* c = add_node(g, "Constant", {}, {"W"}, "w_const");
    auto* a = c->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    *a->mutable_t() = float_tensor("", {s.out, s.in}, w);
  } else {
    *g->add_initializer() = float_tensor("W", {s.out, s.in}, w);
  }
  std::string x = "X";
  if (s.pad_first) {
    auto* p = add_node(g, "Pad", {"X"}, {"Xp"}, "pad0");
    auto* a = p->add_attribute();
    a->set_name("pads");
    a->set_type(onnx::AttributeProto::INTS);
    for (int k = 0; k < 4; ++k) a->add_ints(0);
    x = "Xp";
  }
  auto* gemm = add_node(g, "Gemm", {x, "W", "B"}, {"G"}, "fc");
  auto* t = gemm->add_attribute();
  t->set_name("transB");
  t->set_type(onnx::AttributeProto::INT);
  t->set_i(1);
  add_node(g, "Relu", {"G"}, {"Y"}, "relu");
  auto model = parse_model(testing::serialize(m), "gemm.onnx", "");
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? std::move(*model) : Model{};
}

// A shared weight: 4 nonzero codebook entries (no 0.0); `keep_every` > 1 prunes all positions
// but every keep_every-th (from 3 % keep_every).
CompactWeight make_weight(int out, int in, int keep_every) {
  CompactWeight w;
  w.name = "W";
  w.shape = {out, in};
  w.codebook = {-0.5f, -0.25f, 0.125f, 0.75f};
  const int64_t numel = int64_t{out} * in;
  for (int64_t p = 0; p < numel; ++p) {
    if (keep_every > 1 && p % keep_every != 3 % keep_every) continue;
    if (keep_every > 1) w.positions.push_back(p);
    w.clusters.push_back(static_cast<uint32_t>((p * 7 + 3) % 4));
  }
  return w;
}

std::vector<float> input_values(int in) {
  std::vector<float> x(static_cast<size_t>(kBatch * in));
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.25f * static_cast<float>(i % 7) - 0.5f;
  return x;
}

std::vector<float> run_deepcomp(const Model& model, int in) {
  auto session = runtime::Session::create(model);
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return {};
  auto out = session->run({runtime::Value::floats({kBatch, in}, input_values(in))});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? (*out)[0].f : std::vector<float>{};
}

const Tensor* find_float_of_size(const Model& m, int64_t numel) {
  for (const Tensor& t : m.tensors)
    if (t.dtype == DType::kFloat32 && t.numel() == numel) return &t;
  return nullptr;
}

Model parse_compact(const std::string& bytes) {
  EXPECT_TRUE(check_model_bytes(bytes, "compact").ok());
  auto m = parse_model(bytes, "compact.onnx", "");
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? std::move(*m) : Model{};
}

std::vector<std::string> op_types(const Model& m) {
  std::vector<std::string> ops;
  for (const Node& n : m.graph.nodes) ops.push_back(n.op_type);
  return ops;
}

bool has_op(const Model& m, const std::string& op) {
  auto ops = op_types(m);
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

int64_t opset_of(const Model& m) {
  for (const OpsetImport& o : m.opsets)
    if (o.domain.empty()) return o.version;
  return -1;
}

TEST(CompactTest, DenseIndicesRebuildsUnprunedWeightBitExactInRuntime) {
  GemmSpec s;
  CompactWeight w = make_weight(s.out, s.in, 1);
  Model dense = gemm_model(s, dense_of(w, 12));
  auto r = compact_model(dense, {w});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->layers.size(), 1u);
  EXPECT_EQ(r->layers[0].form, CompactForm::kDenseIndices);
  EXPECT_EQ(r->layers[0].compact_bytes, 12 + 4 * 4);  // one uint8 per weight + the codebook
  Model compact = parse_compact(r->bytes);
  EXPECT_EQ(find_float_of_size(compact, 12), nullptr) << "the dense weight is still stored";
  const Tensor* idx = nullptr;
  for (const Tensor& t : compact.tensors)
    if (t.dtype == DType::kUInt8) idx = &t;
  ASSERT_NE(idx, nullptr);
  EXPECT_EQ(idx->shape, w.shape);
  for (size_t i = 0; i < w.clusters.size(); ++i)
    EXPECT_EQ(static_cast<uint8_t>(idx->raw[i]), w.clusters[i]) << i;
  EXPECT_EQ(run_deepcomp(compact, s.in), run_deepcomp(dense, s.in));
}

TEST(CompactTest, PrunedDenseIndicesPointAtAnAppendedZeroEntry) {
  GemmSpec s;
  CompactWeight w = make_weight(s.out, s.in, 5);  // positions 3 and 8
  ASSERT_EQ(w.positions, (std::vector<int64_t>{3, 8}));
  Model dense = gemm_model(s, dense_of(w, 12));
  CompactOptions o;
  o.form = CompactForm::kDenseIndices;
  auto r = compact_model(dense, {w}, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  Model compact = parse_compact(r->bytes);
  const Tensor* codebook = find_float_of_size(compact, 5);
  ASSERT_NE(codebook, nullptr);
  EXPECT_EQ(codebook->values, (std::vector<float>{-0.5f, -0.25f, 0.125f, 0.75f, 0.0f}));
  EXPECT_EQ(run_deepcomp(compact, s.in), run_deepcomp(dense, s.in));

  // A codebook that already holds +0.0 is reused instead of growing.
  CompactWeight z = w;
  z.codebook[1] = 0.0f;
  Model dense_z = gemm_model(s, dense_of(z, 12));
  auto rz = compact_model(dense_z, {z}, o);
  ASSERT_TRUE(rz.ok()) << rz.status().message();
  Model compact_z = parse_compact(rz->bytes);
  EXPECT_NE(find_float_of_size(compact_z, 4), nullptr);
  EXPECT_EQ(find_float_of_size(compact_z, 5), nullptr);
  EXPECT_EQ(run_deepcomp(compact_z, s.in), run_deepcomp(dense_z, s.in));
}

// Decodes the sparse-delta arrays of a compact model: cumulative gaps must give the positions.
TEST(CompactTest, AutoPicksSparseDeltaForAHeavilyPrunedWeight) {
  GemmSpec s;
  s.out = 32;
  s.in = 100;
  CompactWeight w = make_weight(s.out, s.in, 20);  // 160 of 3200 kept, gaps of 20
  Model dense = gemm_model(s, dense_of(w, 3200));
  auto r = compact_model(dense, {w});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->layers[0].form, CompactForm::kSparseDelta);
  // 160 uint8 clusters + 160 uint8 gaps + codebook + numel + shape + axis.
  EXPECT_EQ(r->layers[0].compact_bytes, 160 * 2 + 16 + 8 + 16 + 8);
  Model compact = parse_compact(r->bytes);
  EXPECT_EQ(find_float_of_size(compact, 3200), nullptr);
  EXPECT_TRUE(has_op(compact, "CumSum"));
  EXPECT_TRUE(has_op(compact, "ScatterElements"));
  const Tensor* gaps = compact.find_tensor("W__dc_gaps");
  ASSERT_NE(gaps, nullptr);
  ASSERT_EQ(gaps->dtype, DType::kUInt8);
  ASSERT_EQ(gaps->raw.size(), 160u);
  int64_t pos = 0;
  for (size_t i = 0; i < 160; ++i) {
    pos += static_cast<uint8_t>(gaps->raw[i]);
    EXPECT_EQ(pos, w.positions[i]);
  }
  EXPECT_EQ(r->opset_before, 13);
  EXPECT_EQ(r->opset_after, 13);
}

TEST(CompactTest, Opset9IsRaisedTo11OnlyWhenEveryOpKeepsItsMeaning) {
  GemmSpec s;
  s.opset = 9;
  s.out = 32;
  s.in = 100;
  CompactWeight w = make_weight(s.out, s.in, 20);
  Model dense = gemm_model(s, dense_of(w, 3200));
  EXPECT_EQ(opset_raise_blocker(dense, 11), "");
  auto r = compact_model(dense, {w});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->opset_after, 11);
  EXPECT_EQ(r->layers[0].form, CompactForm::kSparseDelta);
  EXPECT_EQ(opset_of(parse_compact(r->bytes)), 11);

  // Pad-2 takes pads as an attribute; Pad-11 as an input: no raise, Scatter-9 instead.
  s.pad_first = true;
  Model padded = gemm_model(s, dense_of(w, 3200));
  EXPECT_EQ(opset_raise_blocker(padded, 11), "node 'pad0' (Pad): changes at opset 11");
  auto rp = compact_model(padded, {w});
  ASSERT_TRUE(rp.ok()) << rp.status().message();
  EXPECT_EQ(rp->opset_after, 9);
  EXPECT_EQ(rp->layers[0].form, CompactForm::kSparseAbsolute);
  Model compact = parse_compact(rp->bytes);
  EXPECT_EQ(opset_of(compact), 9);
  EXPECT_TRUE(has_op(compact, "Scatter"));
  EXPECT_FALSE(has_op(compact, "CumSum"));

  CompactOptions delta;
  delta.form = CompactForm::kSparseDelta;
  auto forced = compact_model(padded, {w}, delta);
  ASSERT_FALSE(forced.ok());
  EXPECT_NE(forced.status().message().find("pad0"), std::string::npos) << forced.status().message();
  CompactOptions no_raise;
  no_raise.allow_opset_raise = false;
  auto kept = compact_model(dense, {w}, no_raise);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->opset_after, 9);
}

TEST(CompactTest, RaiseBlockerSeesSoftmaxSemanticsChangeAt13) {
  onnx::ModelProto m = make_model();
  m.mutable_opset_import(0)->set_version(9);
  auto* g = m.mutable_graph();
  add_value(g->mutable_input(), "X", onnx::TensorProto::FLOAT, {1, 4});
  add_value(g->mutable_output(), "Y", onnx::TensorProto::FLOAT, {1, 4});
  add_node(g, "Softmax", {"X"}, {"Y"}, "sm");
  auto model = parse_model(testing::serialize(m), "sm.onnx", "");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(opset_raise_blocker(*model, 11), "");  // Softmax-11 only allows negative axes
  EXPECT_EQ(opset_raise_blocker(*model, 13), "node 'sm' (Softmax): changes at opset 13");
}

TEST(CompactTest, ConstantNodeWeightIsReplacedInPlace) {
  GemmSpec s;
  s.weight_as_constant = true;
  CompactWeight w = make_weight(s.out, s.in, 1);
  Model dense = gemm_model(s, dense_of(w, 12));
  auto r = compact_model(dense, {w});
  ASSERT_TRUE(r.ok()) << r.status().message();
  Model compact = parse_compact(r->bytes);
  EXPECT_FALSE(has_op(compact, "Constant"));
  EXPECT_EQ(op_types(compact), (std::vector<std::string>{"Cast", "Gather", "Gemm", "Relu"}));
  EXPECT_EQ(run_deepcomp(compact, s.in), run_deepcomp(dense, s.in));
}

TEST(CompactTest, WeightListedAsGraphInputIsNoLongerAnInput) {
  GemmSpec s;
  s.weight_as_input = true;
  CompactWeight w = make_weight(s.out, s.in, 1);
  Model dense = gemm_model(s, dense_of(w, 12));
  auto r = compact_model(dense, {w});
  ASSERT_TRUE(r.ok()) << r.status().message();
  Model compact = parse_compact(r->bytes);
  ASSERT_EQ(compact.graph.inputs.size(), 1u);
  EXPECT_EQ(compact.graph.inputs[0].name, "X");
  EXPECT_EQ(run_deepcomp(compact, s.in), run_deepcomp(dense, s.in));
}

TEST(CompactTest, BadWeightsAreErrorsNamingTheWeight) {
  GemmSpec s;
  CompactWeight good = make_weight(s.out, s.in, 5);
  Model dense = gemm_model(s, dense_of(good, 12));
  auto expect_error = [&](CompactWeight w, const std::string& part) {
    auto r = compact_model(dense, {w});
    ASSERT_FALSE(r.ok()) << part;
    EXPECT_NE(r.status().message().find("'" + w.name + "'"), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status().message();
  };
  CompactWeight w = good;
  w.name = "nope";
  expect_error(w, "no such tensor");
  w = good;
  w.shape = {4, 3};
  expect_error(w, "shape [4,3]");
  w = good;
  w.clusters[0] = 4;
  expect_error(w, "outside the codebook");
  w = good;
  w.positions = {8, 3};
  expect_error(w, "not ascending");
  w = good;
  w.positions = {3, 12};
  expect_error(w, "not ascending within [0, 12)");
  w = good;
  w.codebook[w.clusters[0]] += 1.0f;
  expect_error(w, "element 3 rebuilds as");
  w = good;
  w.clusters.pop_back();
  expect_error(w, "1 clusters for 2 positions");
  w = good;
  w.name = "B";
  w.shape = {3};
  w.positions.clear();
  w.clusters = {0, 1, 2};
  expect_error(w, "element 0 rebuilds as -0.5");  // B holds other values
}

// ONNX Runtime, the independent reference, runs every form at opsets 9 and 13.
bool ort_available() {
  const std::string mod = deepcomp::testing::source_dir() + "/bench/node_modules/onnxruntime-node";
  return std::filesystem::exists(mod) &&
         deepcomp::testing::run_command("command -v node >/dev/null").exit_code == 0;
}

std::vector<float> run_ort(const std::string& model_bytes, int in, const std::string& tag) {
  const std::string dir = deepcomp::testing::temp_dir();
  deepcomp::testing::write_text(dir + "/m.onnx", model_bytes);
  deepcomp::testing::write_text(dir + "/x.npy", data::npy_bytes({kBatch, in}, input_values(in)));
  auto r = deepcomp::testing::run_command("node " + deepcomp::testing::source_dir() +
                                          "/bench/ort_run.js " + dir + "/m.onnx " + dir +
                                          "/x.npy " + dir + "/y.npy");
  EXPECT_EQ(r.exit_code, 0) << tag << ": " << r.err;
  auto y = data::read_npy(dir + "/y.npy");
  EXPECT_TRUE(y.ok()) << tag;
  return y.ok() ? y->values : std::vector<float>{};
}

TEST(CompactTest, OnnxRuntimeRunsEveryFormWithTheDenseModelsOutputs) {
  if (!ort_available()) GTEST_SKIP() << "node or bench/node_modules/onnxruntime-node is absent";
  for (int opset : {9, 13}) {
    GemmSpec s;
    s.opset = opset;
    s.out = 8;
    s.in = 40;
    CompactWeight w = make_weight(s.out, s.in, 3);
    Model dense = gemm_model(s, dense_of(w, 320));
    auto dense_bytes = serialize_model(dense);
    ASSERT_TRUE(dense_bytes.ok());
    const std::vector<float> want = run_ort(*dense_bytes, s.in, "dense");
    ASSERT_EQ(want.size(), static_cast<size_t>(kBatch * s.out));
    for (CompactForm f :
         {CompactForm::kDenseIndices, CompactForm::kSparseAbsolute, CompactForm::kSparseDelta}) {
      CompactOptions o;
      o.form = f;
      auto r = compact_model(dense, {w}, o);
      ASSERT_TRUE(r.ok()) << r.status().message();
      const std::string tag = std::string(compact_form_name(f)) + " opset " + std::to_string(opset);
      EXPECT_EQ(run_ort(r->bytes, s.in, tag), want) << tag;
    }
  }
}

}  // namespace
}  // namespace deepcomp::onnx_io
