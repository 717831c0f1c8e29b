// A codebook weight of Gemm and MatMul runs in the cluster-grouped layout (kernels/sparse_matrix.h
// GroupedCodebookCsr) when its runs are long enough (pays_off), else in the compact layout: the
// Session's outputs are that kernel's bits, at batch 1 and 3, and the dense product's values
// within rounding.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>

#include "kernels/spmm.h"
#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using testing::attr_i;
using testing::GraphBuilder;

// out x in codebook-CSR with 5 shared values, `used` of them in use, about 60% of entries kept.
std::shared_ptr<kernels::CodebookCsrMatrix> codebook_weight(int64_t out, int64_t in,
                                                            uint32_t used) {
  std::mt19937 rng(17);
  std::uniform_int_distribution<uint32_t> pick(0, used - 1);
  std::uniform_real_distribution<float> keep(0.0f, 1.0f);
  std::vector<int64_t> positions;
  std::vector<uint32_t> clusters;
  for (int64_t i = 0; i < out * in; ++i) {
    if (keep(rng) < 0.6f) {
      positions.push_back(i);
      clusters.push_back(pick(rng));
    }
  }
  auto cb = std::make_shared<kernels::CodebookCsrMatrix>();
  std::string error;
  EXPECT_TRUE(kernels::codebook_csr_from(out, in, positions, clusters,
                                         std::vector<float>{-0.7f, -0.2f, 0.1f, 0.4f, 0.9f},
                                         cb.get(), &error))
      << error;
  return cb;
}

std::vector<float> random_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// Runs `cb` as the weight of a Gemm (transB=1, bias) and of a MatMul through the Session, and
// checks the outputs against `kernel` (bits) and the dense product (values).
template <typename Kernel>
void check_runs(const std::shared_ptr<kernels::CodebookCsrMatrix>& cb, Kernel kernel) {
  const int64_t out = cb->rows, in = cb->cols;
  std::vector<float> dense(out * in);
  cb->to_dense(dense.data());
  const std::vector<float> bias = random_values(out, 3);
  // Gemm transB=1 holds W itself (out x in); MatMul holds W^T (in x out): both take the
  // out x in sparse form.
  GraphBuilder gemm;
  gemm.input("x", DType::kFloat32, {-1, in});
  gemm.weight("w", {out, in}, std::vector<float>(out * in, 0.0f)).weight("b", {out}, bias);
  gemm.node("Gemm", {"x", "w", "b"}, {"y"}, {attr_i("transB", 1)}, "fc").output("y");
  GraphBuilder matmul;
  matmul.input("x", DType::kFloat32, {-1, in});
  matmul.weight("w", {in, out}, std::vector<float>(in * out, 0.0f));
  matmul.node("MatMul", {"x", "w"}, {"y"}, {}, "fc").output("y");
  for (bool is_gemm : {true, false}) {
    SessionOptions options;
    options.codebook_weights["w"] = cb;
    auto session = Session::create(is_gemm ? gemm.model() : matmul.model(), options);
    ASSERT_TRUE(session.ok()) << session.status().message();
    for (int64_t batch : {1, 3}) {
      const std::vector<float> x = random_values(batch * in, 5 + batch);
      auto got = session->run({Value::floats({batch, in}, x)});
      ASSERT_TRUE(got.ok()) << got.status().message();
      const float* b = is_gemm ? bias.data() : nullptr;
      std::vector<float> want(batch * out);
      kernel(x.data(), batch, b, want.data());
      ASSERT_EQ((*got)[0].f.size(), want.size());
      EXPECT_EQ(std::memcmp((*got)[0].f.data(), want.data(), want.size() * sizeof(float)), 0)
          << (is_gemm ? "Gemm" : "MatMul") << " batch " << batch;
      for (int64_t r = 0; r < batch; ++r) {
        for (int64_t o = 0; o < out; ++o) {
          double sum = b ? b[o] : 0.0;
          for (int64_t i = 0; i < in; ++i) sum += double{x[r * in + i]} * dense[o * in + i];
          EXPECT_NEAR((*got)[0].f[r * out + o], sum, 1e-4);
        }
      }
    }
  }
}

TEST(GroupedFc, LongRunsRunTheGroupedKernel) {
  // 2 clusters in use, ~120 nonzeros per row: runs of ~60.
  const auto cb = codebook_weight(11, 200, 2);
  ASSERT_TRUE(kernels::GroupedCodebookCsr::pays_off(*cb));
  const kernels::GroupedCodebookCsr grouped = kernels::GroupedCodebookCsr::from(*cb);
  check_runs(cb, [&](const float* x, int64_t batch, const float* b, float* y) {
    kernels::gemm_codebook_csr(x, batch, grouped, b, y);
  });
}

TEST(GroupedFc, ShortRunsRunTheCompactKernel) {
  // 5 clusters, ~22 nonzeros per row: runs of ~4.4.
  const auto cb = codebook_weight(11, 37, 5);
  ASSERT_FALSE(kernels::GroupedCodebookCsr::pays_off(*cb));
  const kernels::CompactCodebookCsr compact = kernels::CompactCodebookCsr::from(*cb);
  check_runs(cb, [&](const float* x, int64_t batch, const float* b, float* y) {
    kernels::gemm_codebook_csr(x, batch, compact, b, y);
  });
}

}  // namespace
}  // namespace deepcomp::runtime
