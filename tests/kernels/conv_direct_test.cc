// The direct convolution kernels (kernels/conv_direct.h through kernels/conv.h) on random shapes
// against the plain 7-loop reference (kernels/reference.h): ragged widths, pads, strides,
// dilations, groups, depthwise, 1x1; fused activations against the activation applied after;
// row scales; and bit-for-bit agreement between dense (6- and 4-row tiles) and sparse forms,
// across thread counts and across instruction sets.
#include <gtest/gtest.h>
#include <omp.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/conv.h"
#include "kernels/isa.h"
#include "kernels/reference.h"
#include "tests/kernels/kernel_test_util.h"

namespace deepcomp::kernels {
namespace {

using testing::absolute;
using testing::expect_close;
using testing::random_vector;
using testing::random_weights;
using testing::RandomWeights;
using testing::to_codebook_csr;

std::string describe(const ConvParams& p) {
  auto s = [](int64_t v) { return std::to_string(v); };
  return "N" + s(p.N) + " C" + s(p.C) + " " + s(p.D) + "x" + s(p.H) + "x" + s(p.W) + " M" + s(p.M) +
         " k" + s(p.kd) + "x" + s(p.kh) + "x" + s(p.kw) + " s" + s(p.stride_d) + s(p.stride_h) +
         s(p.stride_w) + " pads" + s(p.pad_front) + s(p.pad_top) + s(p.pad_left) + s(p.pad_back) +
         s(p.pad_bottom) + s(p.pad_right) + " d" + s(p.dil_d) + s(p.dil_h) + s(p.dil_w) + " g" +
         s(p.group);
}

// A random valid convolution: 1-D to 3-D, a quarter depthwise, a quarter 1x1.
ConvParams random_params(std::mt19937& rng) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (;;) {
    ConvParams p;
    const int64_t rank = pick(1, 3) == 3 && pick(0, 2) == 0 ? 3 : pick(1, 2);
    const int64_t kind = pick(0, 3);  // 0: depthwise, 1: 1x1, else general
    p.group = kind == 0 ? pick(1, 12) : pick(1, 3);
    p.C = p.group * (kind == 0 ? 1 : pick(1, 5));
    p.M = p.group * (kind == 0 ? pick(1, 2) : pick(1, 9));
    p.N = pick(1, 2);
    p.W = pick(1, 41);
    p.H = rank >= 2 ? pick(1, 19) : 1;
    p.D = rank == 3 ? pick(1, 5) : 1;
    auto spatial = [&](int64_t extent, int64_t* k, int64_t* s, int64_t* d, int64_t* b, int64_t* e) {
      *k = kind == 1 ? 1 : pick(1, std::min<int64_t>(5, extent + 2));
      *s = pick(1, 3) == 3 ? pick(2, 3) : 1;
      *d = kind != 1 && pick(0, 3) == 0 ? 2 : 1;
      *b = kind == 1 && pick(0, 1) ? 0 : pick(0, 2);
      *e = kind == 1 && pick(0, 1) ? 0 : pick(0, 2);
      (void)extent;
    };
    spatial(p.W, &p.kw, &p.stride_w, &p.dil_w, &p.pad_left, &p.pad_right);
    if (rank >= 2) spatial(p.H, &p.kh, &p.stride_h, &p.dil_h, &p.pad_top, &p.pad_bottom);
    if (rank == 3) spatial(p.D, &p.kd, &p.stride_d, &p.dil_d, &p.pad_front, &p.pad_back);
    if (p.check().empty()) return p;
  }
}

struct Case {
  ConvParams p;
  RandomWeights w;
  std::vector<float> x, bias;
};

Case random_case(std::mt19937& rng, const ConvParams& p, double density) {
  Case c{p, random_weights(rng, p.M, p.patch_size(), density, 16, 5),
         random_vector(rng, p.N * p.C * p.in_spatial()), random_vector(rng, p.M)};
  return c;
}

std::vector<float> run_dense(const Case& c, const Epilogue& e = {}) {
  std::vector<float> y(c.p.N * c.p.M * c.p.out_spatial(), 77.0f);
  conv_dense(c.p, c.x.data(), c.w.dense.data(), c.bias.data(), y.data(), e);
  return y;
}

// Random shapes: dense against the reference, packed and sparse forms bit for bit against dense.
void check_random_shapes(uint32_t seed, int trials) {
  std::mt19937 rng(seed);
  for (int trial = 0; trial < trials; ++trial) {
    const ConvParams p = random_params(rng);
    const double density = trial % 3 == 0 ? 1.0 : 0.3;
    const Case c = random_case(rng, p, density);
    const std::string what = describe(p) + " density " + std::to_string(density);
    const auto want = reference::conv(p, c.x.data(), c.w.dense.data(), c.bias.data());
    const auto ax = absolute(c.x), aw = absolute(c.w.dense), ab = absolute(c.bias);
    const auto scale = reference::conv(p, ax.data(), aw.data(), ab.data());
    const std::vector<float> dense = run_dense(c);
    expect_close(dense, want, scale, "dense " + what);
    if (p.M > p.group) {
      // Panels packed once give the bits of packing per call.
      const PackedConvWeight packed =
          pack_conv_weight(c.w.dense.data(), p.M, p.group, p.patch_size());
      ASSERT_TRUE(packed.matches(p));
      std::vector<float> y(dense.size(), 77.0f);
      conv_dense(p, c.x.data(), packed, c.bias.data(), y.data());
      ASSERT_EQ(y, dense) << "packed " << what;
    }
    // The sparse kernels skip the zero terms the dense one adds: the same sums, bit for bit.
    std::vector<float> y(dense.size(), 77.0f);
    conv_csr(p, c.x.data(), CsrMatrix::from_dense(c.w.dense.data(), p.M, p.patch_size()),
             c.bias.data(), y.data());
    ASSERT_EQ(y, dense) << "csr " << what;
    std::fill(y.begin(), y.end(), 77.0f);
    conv_codebook_csr(p, c.x.data(), to_codebook_csr(c.w, p.M, p.patch_size()), c.bias.data(),
                      y.data());
    ASSERT_EQ(y, dense) << "codebook-csr " << what;
  }
}

TEST(ConvDirect, RandomShapesMatchReference) { check_random_shapes(2026, 300); }

// A weight of more than 128 columns read by 32 or more channels is read in chunks of 128
// columns. Its chunk starts made once (as a session does) are where each row's columns cross
// each multiple of 128, counted here one by one, and give the bits of finding them per call,
// on one thread and two; made from a weight of another shape, they are not used.
TEST(ConvDirect, ChunkStartsMadeOnceGiveTheBitsOfFindingThemPerCall) {
  std::mt19937 rng(128);
  ConvParams shapes[3];
  shapes[0].C = 64, shapes[0].M = 48, shapes[0].H = shapes[0].W = 13;
  shapes[0].kh = shapes[0].kw = 3, shapes[0].pad_top = shapes[0].pad_left = 1;
  shapes[0].pad_bottom = shapes[0].pad_right = 1;
  shapes[1] = shapes[0], shapes[1].C = 40, shapes[1].M = 64, shapes[1].H = shapes[1].W = 26;
  shapes[1].stride_h = shapes[1].stride_w = 2;
  shapes[2] = shapes[0], shapes[2].C = 80, shapes[2].M = 96, shapes[2].group = 2;
  const int before = omp_get_max_threads();
  for (const ConvParams& p : shapes) {
    ASSERT_EQ(p.check(), "") << describe(p);
    const int64_t k = p.patch_size(), chunks = (k + 127) / 128;
    const Case c = random_case(rng, p, 0.3);
    const CodebookCsrMatrix cb = to_codebook_csr(c.w, p.M, k);
    const SparseChunkStarts starts = sparse_chunk_starts(cb.row_ptr, cb.col_idx, k);
    ASSERT_TRUE(starts.matches(p.M, k, cb.nnz())) << describe(p);
    ASSERT_EQ(starts.starts.size(), static_cast<size_t>(p.M * (chunks + 1))) << describe(p);
    for (int64_t m = 0; m < p.M; ++m) {
      for (int64_t q = 0; q <= chunks; ++q) {
        int64_t below = 0;
        for (int64_t j = cb.row_ptr[m]; j < cb.row_ptr[m + 1]; ++j)
          below += cb.col_idx[j] < q * 128;
        ASSERT_EQ(starts.starts[m * (chunks + 1) + q], cb.row_ptr[m] + below)
            << describe(p) << " row " << m << " chunk " << q;
      }
    }
    const std::vector<float> dense = run_dense(c);
    ConvParams other = p;
    other.M = p.M / 2;
    const CodebookCsrMatrix other_cb = to_codebook_csr(random_case(rng, other, 0.3).w, other.M, k);
    const SparseChunkStarts foreign = sparse_chunk_starts(other_cb.row_ptr, other_cb.col_idx, k);
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      std::vector<float> per_call(dense.size(), 77.0f), once(dense.size(), 77.0f),
          ignored(dense.size(), 77.0f);
      conv_codebook_csr(p, c.x.data(), cb, c.bias.data(), per_call.data());
      conv_codebook_csr(p, c.x.data(), cb, c.bias.data(), once.data(), {}, nullptr, &starts);
      conv_codebook_csr(p, c.x.data(), cb, c.bias.data(), ignored.data(), {}, nullptr, &foreign);
      EXPECT_EQ(per_call, dense) << describe(p) << " threads " << threads;
      EXPECT_EQ(once, dense) << describe(p) << " threads " << threads;
      EXPECT_EQ(ignored, dense) << describe(p) << " threads " << threads;
      const CsrMatrix csr = CsrMatrix::from_dense(c.w.dense.data(), p.M, k);
      std::vector<float> csr_once(dense.size(), 77.0f);
      const SparseChunkStarts csr_starts = sparse_chunk_starts(csr.row_ptr, csr.col_idx, k);
      conv_csr(p, c.x.data(), csr, c.bias.data(), csr_once.data(), {}, nullptr, &csr_starts);
      EXPECT_EQ(csr_once, dense) << describe(p) << " threads " << threads;
    }
  }
  omp_set_num_threads(before);
}

// 1x1 convolutions whose image is a whole number of tiles run on the image itself (no padded
// copy): plain, grouped, depthwise, and a long row split between threads.
TEST(ConvDirect, UnpaddedOneByOneMatchesReference) {
  std::mt19937 rng(64);
  ConvParams shapes[4];
  shapes[0].C = 8, shapes[0].M = 12, shapes[0].H = 8, shapes[0].W = 16;
  shapes[1].C = 6, shapes[1].M = 9, shapes[1].H = 4, shapes[1].W = 32, shapes[1].group = 3;
  shapes[2].C = shapes[2].M = shapes[2].group = 5, shapes[2].H = 2, shapes[2].W = 64;
  shapes[3].N = 2, shapes[3].C = 7, shapes[3].M = 5, shapes[3].H = 64, shapes[3].W = 40;
  for (const ConvParams& p : shapes) {
    ASSERT_EQ(p.check(), "");
    const Case c = random_case(rng, p, 0.4);
    const auto want = reference::conv(p, c.x.data(), c.w.dense.data(), c.bias.data());
    const auto ax = absolute(c.x), aw = absolute(c.w.dense), ab = absolute(c.bias);
    const auto scale = reference::conv(p, ax.data(), aw.data(), ab.data());
    const std::vector<float> dense = run_dense(c);
    expect_close(dense, want, scale, describe(p));
    std::vector<float> y(dense.size());
    conv_codebook_csr(p, c.x.data(), to_codebook_csr(c.w, p.M, p.patch_size()), c.bias.data(),
                      y.data());
    ASSERT_EQ(y, dense) << describe(p);
  }
}

TEST(ConvDirect, FusedActivationsEqualTheActivationAfterwards) {
  std::mt19937 rng(7);
  const Epilogue epilogues[] = {
      {Activation::kRelu, 0, 0},         {Activation::kLeakyRelu, 0.1f, 0},
      {Activation::kClip, -0.25f, 0.5f}, {Activation::kHardSigmoid, 0.2f, 0.5f},
      {Activation::kHardSwish, 0, 0},    {Activation::kSigmoid, 0, 0},
  };
  for (int trial = 0; trial < 40; ++trial) {
    const ConvParams p = random_params(rng);
    const Case c = random_case(rng, p, 0.5);
    const std::vector<float> plain = run_dense(c);
    for (const Epilogue& e : epilogues) {
      std::vector<float> want = plain;
      for (float& v : want) v = activate(e, v);
      ASSERT_EQ(run_dense(c, e), want) << describe(p) << " act " << int(e.act);
      std::vector<float> y(plain.size());
      conv_codebook_csr(p, c.x.data(), to_codebook_csr(c.w, p.M, p.patch_size()), c.bias.data(),
                        y.data(), e);
      ASSERT_EQ(y, want) << "codebook " << describe(p) << " act " << int(e.act);
    }
  }
}

// Scale, shift, residual and post-activation scale / shift steps with every activation, dense
// and sparse: the same bits as the steps applied one after the other to the plain convolution
// (what the unfused graph computes).
void check_fused_chain(uint32_t seed, int trials) {
  std::mt19937 rng(seed);
  for (int trial = 0; trial < trials; ++trial) {
    const ConvParams p = random_params(rng);
    const Case c = random_case(rng, p, 0.5);
    const std::vector<float> plain = run_dense(c);
    const std::vector<float> scale = random_vector(rng, p.M), shift = random_vector(rng, p.M),
                             residual = random_vector(rng, static_cast<int64_t>(plain.size())),
                             post_scale = random_vector(rng, p.M),
                             post_shift = random_vector(rng, p.M);
    Epilogue e;
    e.act = static_cast<Activation>(trial % 8);
    e.alpha = 3.0f, e.beta = trial % 8 == 7 ? 0.0f : -0.5f, e.gamma = 6.0f, e.delta = 6.0f;
    if (trial % 2 == 0) e.scale = scale.data();
    if (trial % 3 != 0) e.shift = shift.data();
    if (trial % 4 != 3) e.residual = residual.data();
    if (trial % 5 < 3) e.post_scale = post_scale.data();
    if (trial % 5 > 1) e.post_shift = post_shift.data();
    std::vector<float> want = plain;
    const int64_t sp = p.out_spatial();
    for (size_t i = 0; i < want.size(); ++i) {
      const int64_t m = static_cast<int64_t>(i) / sp % p.M;
      float v = want[i];
      if (e.scale) v = v * scale[m];
      if (e.shift) v = v + shift[m];
      if (e.residual) v = v + residual[i];
      v = activate(e, v);
      if (e.post_scale) v = v * post_scale[m];
      if (e.post_shift) v = v + post_shift[m];
      want[i] = v;
    }
    ASSERT_EQ(run_dense(c, e), want) << describe(p) << " act " << int(e.act);
    std::vector<float> y(plain.size());
    conv_codebook_csr(p, c.x.data(), to_codebook_csr(c.w, p.M, p.patch_size()), c.bias.data(),
                      y.data(), e);
    ASSERT_EQ(y, want) << "codebook " << describe(p) << " act " << int(e.act);
  }
}

TEST(ConvDirect, FusedChainEqualsTheStepsAfterwards) { check_fused_chain(17, 60); }

TEST(ConvDirect, HandWorkedActivations) {
  EXPECT_EQ(activate({Activation::kHardSwishParts, 3.0f, 0.0f, 6.0f, 6.0f}, 1.5f), 1.125f);
  EXPECT_EQ(activate({Activation::kHardSwishParts, 3.0f, 0.0f, 6.0f, 6.0f}, -4.0f), 0.0f);
  // Hand-worked values of each activation (ONNX definitions).
  EXPECT_EQ(activate({Activation::kRelu, 0, 0}, -2.0f), 0.0f);
  EXPECT_EQ(activate({Activation::kLeakyRelu, 0.1f, 0}, -2.0f), -0.2f);
  EXPECT_EQ(activate({Activation::kClip, 0.0f, 6.0f}, 7.5f), 6.0f);
  EXPECT_EQ(activate({Activation::kHardSigmoid, 0.2f, 0.5f}, 1.0f), 0.7f);
  EXPECT_EQ(activate({Activation::kHardSwish, 0, 0}, 3.0f), 3.0f);
  EXPECT_EQ(activate({Activation::kHardSwish, 0, 0}, -1.5f), -0.375f);
  EXPECT_EQ(activate({Activation::kSigmoid, 0, 0}, 0.0f), 0.5f);
}

TEST(ConvDirect, RowScaleScalesEachOutputChannel) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 40; ++trial) {
    const ConvParams p = random_params(rng);
    const Case c = random_case(rng, p, 0.4);
    const int64_t k = p.patch_size();
    std::vector<float> scale = random_vector(rng, p.M), scaled = c.w.dense;
    for (int64_t m = 0; m < p.M; ++m) {
      for (int64_t j = 0; j < k; ++j) scaled[m * k + j] = c.w.dense[m * k + j] * scale[m];
    }
    // Scaling the values as they are read is scaling the weights first: the same bits.
    std::vector<float> want(p.N * p.M * p.out_spatial()), y(want.size());
    conv_dense(p, c.x.data(), scaled.data(), c.bias.data(), want.data());
    conv_codebook_csr(p, c.x.data(), to_codebook_csr(c.w, p.M, k), c.bias.data(), y.data(), {},
                      scale.data());
    ASSERT_EQ(y, want) << describe(p);
    conv_csr(p, c.x.data(), CsrMatrix::from_dense(c.w.dense.data(), p.M, k), c.bias.data(),
             y.data(), {}, scale.data());
    ASSERT_EQ(y, want) << describe(p);
  }
}

TEST(ConvDirect, BitIdenticalWithOneAndTwoThreads) {
  std::mt19937 rng(5);
  ConvParams shapes[4];
  // General 3x3, depthwise 3x3 stride 2, 1x1 on a long row, grouped 5x5: each big enough to
  // run threaded.
  shapes[0].C = 16, shapes[0].M = 24, shapes[0].H = 37, shapes[0].W = 45;
  shapes[0].kh = shapes[0].kw = 3, shapes[0].pad_top = shapes[0].pad_left = 1;
  shapes[0].pad_bottom = shapes[0].pad_right = 1;
  shapes[1] = shapes[0], shapes[1].C = shapes[1].M = shapes[1].group = 32;
  shapes[1].stride_h = shapes[1].stride_w = 2;
  shapes[2].C = 24, shapes[2].M = 40, shapes[2].H = 50, shapes[2].W = 61;
  shapes[3] = shapes[0], shapes[3].group = 4, shapes[3].kh = shapes[3].kw = 5;
  const int before = omp_get_max_threads();
  for (const ConvParams& p : shapes) {
    ASSERT_EQ(p.check(), "") << describe(p);
    const Case c = random_case(rng, p, 0.3);
    const CodebookCsrMatrix cb = to_codebook_csr(c.w, p.M, p.patch_size());
    std::vector<float> one(p.M * p.out_spatial()), two(one.size()), s1(one.size()), s2(one.size());
    omp_set_num_threads(1);
    conv_dense(p, c.x.data(), c.w.dense.data(), c.bias.data(), one.data());
    conv_codebook_csr(p, c.x.data(), cb, c.bias.data(), s1.data());
    omp_set_num_threads(2);
    conv_dense(p, c.x.data(), c.w.dense.data(), c.bias.data(), two.data());
    conv_codebook_csr(p, c.x.data(), cb, c.bias.data(), s2.data());
    EXPECT_EQ(one, two) << describe(p);
    EXPECT_EQ(s1, s2) << describe(p);
    EXPECT_EQ(s1, one) << describe(p);
  }
  omp_set_num_threads(before);
}

// Output-channel counts that take the 6-row dense tile (24, 30, 45, 96: full and partial last
// blocks) and the 4-row one (16, 32), 1x1 and 3x3, one and two threads: bit for bit equal to
// the CSR kernel, which sums the same terms in the same order one channel at a time.
TEST(ConvDirect, SixAndFourRowTilesGiveTheSparseKernelsBits) {
  std::mt19937 rng(11);
  const int before = omp_get_max_threads();
  for (int64_t M : {24, 30, 45, 96, 16, 32}) {
    for (int64_t k : {1, 3}) {
      ConvParams p;
      p.C = 20, p.M = M, p.H = 13, p.W = 27, p.kh = p.kw = k;
      p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = k / 2;
      const Case c = random_case(rng, p, 1.0);
      const CsrMatrix csr = CsrMatrix::from_dense(c.w.dense.data(), p.M, p.patch_size());
      std::vector<float> sparse(p.M * p.out_spatial());
      conv_csr(p, c.x.data(), csr, c.bias.data(), sparse.data());
      for (int threads : {1, 2}) {
        omp_set_num_threads(threads);
        EXPECT_EQ(run_dense(c), sparse) << describe(p) << " threads " << threads;
      }
    }
  }
  omp_set_num_threads(before);
}

// Every instruction set this CPU has (4-float SSE2 tiles, 8-float AVX2, 16-float AVX-512, as
// DEEPCOMP_MAX_CPU_ISA would choose): the checks above, and shapes that take the long-row and
// depthwise paths with fused steps, each bit for bit equal to the baseline's output.
TEST(ConvDirect, EveryInstructionSetGivesTheSameBits) {
  std::vector<ConvParams> shapes(5);
  // YOLOX-like stride-1 3x3 on a 26x26 map (long rows), 13x13 stride 2, 1x1 on 52x52, a
  // depthwise 3x3 on ocr_det's 12x24 (long rows) and one on an odd 33x17.
  shapes[0].C = 12, shapes[0].M = 20, shapes[0].H = shapes[0].W = 26,
  shapes[0].kh = shapes[0].kw = 3;
  shapes[0].pad_top = shapes[0].pad_left = shapes[0].pad_bottom = shapes[0].pad_right = 1;
  shapes[1] = shapes[0], shapes[1].H = shapes[1].W = 13,
  shapes[1].stride_h = shapes[1].stride_w = 2;
  shapes[2].C = 16, shapes[2].M = 30, shapes[2].H = shapes[2].W = 52;
  shapes[3] = shapes[0], shapes[3].C = shapes[3].M = shapes[3].group = 24;
  shapes[3].H = 12, shapes[3].W = 24;
  shapes[4] = shapes[3], shapes[4].H = 33, shapes[4].W = 17;
  std::mt19937 rng(99);
  std::vector<Case> cases;
  std::vector<std::vector<float>> post;
  for (const ConvParams& p : shapes) {
    ASSERT_EQ(p.check(), "") << describe(p);
    cases.push_back(random_case(rng, p, 0.3));
    post.push_back(random_vector(rng, p.M));
  }
  auto outputs = [&] {
    std::vector<std::vector<float>> out;
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      Epilogue e;
      e.act = i % 2 ? Activation::kSilu : Activation::kHardSwish;
      e.post_scale = post[i].data();
      out.push_back(run_dense(c, e));
      std::vector<float> y(out.back().size(), 77.0f);
      conv_codebook_csr(c.p, c.x.data(), to_codebook_csr(c.w, c.p.M, c.p.patch_size()),
                        c.bias.data(), y.data(), e);
      out.push_back(y);
    }
    return out;
  };
  ASSERT_EQ(set_isa_for_test(Isa::kSse2), Isa::kSse2);
  const std::vector<std::vector<float>> baseline = outputs();
  for (const Isa level : {Isa::kSse2, Isa::kAvx2, Isa::kAvx512}) {
    if (set_isa_for_test(level) != level) continue;  // this CPU lacks it
    SCOPED_TRACE(std::string("isa ") + isa_name(level) + ", conv path " + conv_simd_path_name());
    check_random_shapes(2027, 120);
    check_fused_chain(18, 40);
    const std::vector<std::vector<float>> got = outputs();
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i], baseline[i]) << describe(cases[i / 2].p) << (i % 2 ? " sparse" : " dense");
    }
  }
  set_isa_for_test(std::nullopt);
}

}  // namespace
}  // namespace deepcomp::kernels
