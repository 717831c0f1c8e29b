// `run` on a .dcz opened sparse holds no dense copy of a layer that runs sparse (issue 18): its
// peak RSS (wait4 on the deepcomp process) stays more than one dense copy of the big layer below
// `run --dense` on the same file, where the old path (zero-filled placeholders, copied into the
// Session) held two. A layer that the kernel choice runs dense is expanded from the sparse form
// and gives exactly the bits of the dense decode (`--dense`).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>

#include "data/idx.h"
#include "tests/measured_run.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

using testing::read_text;
using testing::run_deepcomp_measured;
using testing::temp_dir;
using testing::write_text;

constexpr int64_t kIn = 4096, kHidden = 1024, kOut = 10;
constexpr long kLayerKb = kIn * kHidden * 4 / 1024;  // fc1 dense: 16 MiB

// splitmix64 of the index, mapped to [-0.5, 0.5): weights that neither repeat nor compress away.
float hashed(uint64_t i) {
  uint64_t z = i + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) / static_cast<float>(1 << 24) - 0.5f;
}

void add_weight(onnx::GraphProto* g, const std::string& name, int64_t rows, int64_t cols,
                uint64_t seed) {
  auto* w = g->add_initializer();
  w->set_name(name);
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(rows);
  w->add_dims(cols);
  std::vector<float> v(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < v.size(); ++i) v[i] = hashed(seed + i);
  w->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
}

void add_gemm(onnx::GraphProto* g, const std::string& name, const std::string& x,
              const std::string& w, const std::string& y) {
  auto* n = g->add_node();
  n->set_name(name);
  n->set_op_type("Gemm");
  n->add_input(x);
  n->add_input(w);
  n->add_output(y);
  auto* tb = n->add_attribute();
  tb->set_name("transB");
  tb->set_type(onnx::AttributeProto::INT);
  tb->set_i(1);
}

// x [1, 4096] -> Gemm fc1 (1024 x 4096) -> Relu -> Gemm fc2 (10 x 1024) -> y.
std::string two_layer_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("g");
  add_weight(g, "fc1.weight", kHidden, kIn, 1);
  add_weight(g, "fc2.weight", kOut, kHidden, 1u << 30);
  add_gemm(g, "fc1", "x", "fc1.weight", "h");
  auto* relu = g->add_node();
  relu->set_op_type("Relu");
  relu->add_input("h");
  relu->add_output("a");
  add_gemm(g, "fc2", "a", "fc2.weight", "y");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_value(1);
  tt->mutable_shape()->add_dim()->set_dim_value(kIn);
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return m.SerializeAsString();
}

class DczSparseMemory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(temp_dir());
    write_text(*dir_ + "/m.onnx", two_layer_model());
    std::vector<float> x(kIn);
    for (int64_t i = 0; i < kIn; ++i) x[i] = hashed(7 * i + 3);
    write_text(*dir_ + "/x.npy", data::npy_bytes({1, kIn}, x));
    const auto r = run_deepcomp_measured(
        {"compress", *dir_ + "/m.onnx", "-o", *dir_ + "/m.dcz", "-q", "--prune", "0.9"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }

  static testing::MeasuredRun run(const std::string& out, std::vector<std::string> flags,
                                  const std::vector<std::string>& env = {}) {
    std::vector<std::string> args = {"run", *dir_ + "/m.dcz", "--input", *dir_ + "/x.npy", "-o",
                                     *dir_ + "/" + out};
    args.insert(args.end(), flags.begin(), flags.end());
    auto m = run_deepcomp_measured(args, env);
    EXPECT_EQ(m.exit_code, 0) << m.err;
    return m;
  }

  static std::string* dir_;
};
std::string* DczSparseMemory::dir_ = nullptr;

TEST_F(DczSparseMemory, SparseRunPeaksMoreThanOneDenseLayerBelowTheDenseRun) {
  const auto sparse = run("sparse.npy", {"--sparse"});
  const auto dense = run("dense.npy", {"--dense"});
  std::printf("[ memory ] run --sparse %ld KB, run --dense %ld KB, fc1 dense %ld KB\n",
              sparse.max_rss_kb, dense.max_rss_kb, kLayerKb);
  EXPECT_GT(dense.max_rss_kb - sparse.max_rss_kb, kLayerKb)
      << "the sparse run holds a dense copy of fc1";
  // The two kernels sum in different orders: close, not equal.
  auto s = data::read_npy(*dir_ + "/sparse.npy");
  auto d = data::read_npy(*dir_ + "/dense.npy");
  ASSERT_TRUE(s.ok() && d.ok());
  ASSERT_EQ(s->values.size(), static_cast<size_t>(kOut));
  ASSERT_EQ(s->values.size(), d->values.size());
  for (size_t k = 0; k < s->values.size(); ++k) EXPECT_NEAR(s->values[k], d->values[k], 1e-4) << k;
}

TEST_F(DczSparseMemory, LayersAutoRunsDenseAreExpandedFromTheSparseFormToTheDenseDecodesBits) {
  // A kernel profile whose crossover is 0: under --kernel auto every layer runs dense, expanded
  // from the sparse form the .dcz was opened in.
  const std::string profile = *dir_ + "/profile.json";
  write_text(profile,
             R"({"format": "deepcomp-kernel-profile", "version": 1, "dense_above_density": 0})");
  run("auto.npy", {"--kernel", "auto"}, {"DEEPCOMP_KERNEL_PROFILE=" + profile});
  run("dense2.npy", {"--dense"});
  const auto b = testing::run_command(
      "DEEPCOMP_KERNEL_PROFILE='" + profile + "' '" + testing::deepcomp_binary() + "' bench '" +
      *dir_ + "/m.dcz' --kernel auto --json --batch 1 --threads 1 --repeat 1 --warmup 0");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.out.find("0 layers sparse, 2 dense"), std::string::npos) << b.out;
  EXPECT_NE(b.out.find("2 weights sparse)"), std::string::npos) << b.out;
  const std::string got = read_text(*dir_ + "/auto.npy");
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got, read_text(*dir_ + "/dense2.npy"));
}

}  // namespace
}  // namespace deepcomp
