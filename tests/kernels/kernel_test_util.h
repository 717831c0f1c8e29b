// Helpers for the kernels tests: random sparse matrices of a chosen density (with forced empty
// rows), codebook forms of them, closeness checks against the double-precision references, and
// running a check on every SIMD target or a given OpenMP thread count.
#pragma once

#include <gtest/gtest.h>
#include <hwy/targets.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/sparse_matrix.h"
#include "kernels/spmm.h"

namespace deepcomp::kernels::testing {

// A rows x cols matrix whose nonzeros are codebook entries (so the same weights exist as dense,
// CSR and codebook-CSR). Each entry is kept with probability `density`; every `empty_every`-th
// row (if > 0) is left empty. Codebook entries are nonzero.
struct RandomWeights {
  std::vector<float> dense;
  std::vector<int64_t> positions;
  std::vector<uint32_t> clusters;
  std::vector<float> codebook;
};

inline RandomWeights random_weights(std::mt19937& rng, int64_t rows, int64_t cols, double density,
                                    int64_t codebook_size, int64_t empty_every = 0) {
  RandomWeights w;
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (int64_t c = 0; c < codebook_size; ++c) {
    const float magnitude = 0.05f + uniform(rng);
    w.codebook.push_back(uniform(rng) < 0.5f ? -magnitude : magnitude);
  }
  std::uniform_int_distribution<uint32_t> pick(0, static_cast<uint32_t>(codebook_size - 1));
  w.dense.assign(rows * cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    if (empty_every > 0 && r % empty_every == 0) continue;
    for (int64_t c = 0; c < cols; ++c) {
      if (uniform(rng) < density) {
        const uint32_t cluster = pick(rng);
        w.positions.push_back(r * cols + c);
        w.clusters.push_back(cluster);
        w.dense[r * cols + c] = w.codebook[cluster];
      }
    }
  }
  return w;
}

inline CodebookCsrMatrix to_codebook_csr(const RandomWeights& w, int64_t rows, int64_t cols) {
  CodebookCsrMatrix m;
  std::string error;
  EXPECT_TRUE(codebook_csr_from(rows, cols, w.positions, w.clusters, w.codebook, &m, &error))
      << error;
  return m;
}

inline std::vector<float> random_vector(std::mt19937& rng, int64_t n) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = uniform(rng);
  return v;
}

inline std::vector<float> absolute(const std::vector<float>& v) {
  std::vector<float> a(v.size());
  for (size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
  return a;
}

// |got - want| <= 1e-5 * scale, where scale[i] is the sum of |terms| of output i (the reference
// run on absolute values), so cancellation does not make the bound meaningless.
inline void expect_close(const std::vector<float>& got, const std::vector<double>& want,
                         const std::vector<double>& scale, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_LE(std::fabs(got[i] - want[i]), 1e-5 * scale[i] + 1e-30)
        << what << " at " << i << ": got " << got[i] << " want " << want[i];
  }
}

// True when both vectors hold the same floats bit for bit (the kernels' fixed summation orders).
inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Runs `check` once with each Highway target this CPU has and the build generated forced, so the
// dispatched kernels (spmv_simd.cc) are exercised on SSE4, AVX2, AVX-512, ... in turn.
template <typename Check>
void on_every_target(Check check) {
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  ASSERT_FALSE(targets.empty());
  for (int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    EXPECT_STREQ(simd_path_name(), hwy::TargetName(target));
    check();
  }
  hwy::SetSupportedTargetsForTest(0);
}

// Sets the OpenMP thread count for the lifetime of the object.
class ThreadCount {
 public:
  explicit ThreadCount(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ThreadCount() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

}  // namespace deepcomp::kernels::testing
