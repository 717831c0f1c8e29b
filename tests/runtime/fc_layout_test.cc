// A codebook weight of Gemm and MatMul runs in cluster blocks of 8 (kernels/sparse_matrix.h
// ClusterBlockCsr) when its padding stays small (pays_off), else in the compact layout: the
// Session's outputs are that kernel's bits, at batch 1 and 3, and the dense product's values
// within rounding, and Session::layer_kernels() names the layout.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <tuple>

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
void check_runs(const std::shared_ptr<kernels::CodebookCsrMatrix>& cb, const std::string& layout,
                Kernel kernel) {
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
    ASSERT_EQ(session->layer_kernels().size(), 1u);
    EXPECT_TRUE(session->layer_kernels()[0].sparse);
    EXPECT_EQ(session->layer_kernels()[0].layout, layout);
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

TEST(FcLayout, LongGroupsRunClusterBlocksAtBatchOneAndGroupedRowsAbove) {
  // 2 clusters in use, ~120 nonzeros per row: groups of ~60, so both forms pay.
  const auto cb = codebook_weight(11, 200, 2);
  ASSERT_TRUE(kernels::ClusterBlockCsr::pays_off(*cb));
  ASSERT_TRUE(kernels::GroupedCodebookCsr::pays_off(*cb));
  const kernels::ClusterBlockCsr blocks = kernels::ClusterBlockCsr::from(*cb);
  const kernels::GroupedCodebookCsr grouped = kernels::GroupedCodebookCsr::from(*cb);
  check_runs(cb, "cluster-blocks+grouped",
             [&](const float* x, int64_t batch, const float* b, float* y) {
               if (batch == 1) {
                 kernels::gemm_codebook_csr(x, batch, blocks, b, y);
               } else {
                 kernels::gemm_codebook_csr(x, batch, grouped, b, y);
               }
             });
}

TEST(FcLayout, MidLengthGroupsRunClusterBlocksAtEveryBatch) {
  // 5 clusters, ~22 nonzeros per row: groups of ~4.4 (grouped rows do not pay, blocks do).
  const auto cb = codebook_weight(11, 37, 5);
  ASSERT_TRUE(kernels::ClusterBlockCsr::pays_off(*cb));
  ASSERT_FALSE(kernels::GroupedCodebookCsr::pays_off(*cb));
  const kernels::ClusterBlockCsr blocks = kernels::ClusterBlockCsr::from(*cb);
  check_runs(cb, "cluster-blocks", [&](const float* x, int64_t batch, const float* b, float* y) {
    kernels::gemm_codebook_csr(x, batch, blocks, b, y);
  });
}

TEST(FcLayout, ShortGroupsRunTheCompactKernel) {
  // 5 clusters, ~4.4 nonzeros per row: groups of ~1, padded to 8 entries each (7x the nonzeros).
  const auto cb = codebook_weight(11, 7, 5);
  ASSERT_FALSE(kernels::ClusterBlockCsr::pays_off(*cb));
  const kernels::CompactCodebookCsr compact = kernels::CompactCodebookCsr::from(*cb);
  check_runs(cb, "compact-codebook-csr",
             [&](const float* x, int64_t batch, const float* b, float* y) {
               kernels::gemm_codebook_csr(x, batch, compact, b, y);
             });
}

TEST(FcLayout, PaysOffWhileBlockEntriesAreAtMostTwiceTheNonzeros) {
  // One row, 2 clusters, so 2 blocks (16 entries): 16 nonzeros (8 + 8) and 9 (5 + 4, 16 <= 18)
  // pay; 7 (4 + 3, 16 > 14) do not.
  for (const auto& [n, first, pays] :
       {std::tuple{16, 8, true}, std::tuple{9, 5, true}, std::tuple{7, 4, false}}) {
    kernels::CodebookCsrMatrix m;
    m.rows = 1;
    m.cols = 50;
    m.row_ptr = {0, n};
    for (int c = 0; c < n; ++c) {
      m.col_idx.push_back(c);
      m.cluster.push_back(c < first ? 0 : 1);
    }
    m.codebook = {1.0f, 2.0f};
    ASSERT_EQ(m.check_structure(), "");
    EXPECT_EQ(kernels::ClusterBlockCsr::count_blocks(m), 2);
    EXPECT_EQ(kernels::ClusterBlockCsr::pays_off(m), pays) << n << " nonzeros";
  }
}

}  // namespace
}  // namespace deepcomp::runtime
