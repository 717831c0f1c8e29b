// One large layer split across threads (compress/parallel_blocks.h): the .dcz bytes are the same
// on 1, 2, 4 and 8 threads, and the split stages (bit packing, the radix sort with its duplicate
// counts, the pruning scan, the first-error searches) agree with plain sequential references on
// inputs of several blocks.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "compress/bitstream.h"
#include "compress/container.h"
#include "compress/huffman.h"
#include "compress/kmeans_1d.h"
#include "compress/parallel_blocks.h"
#include "compress/pipeline.h"
#include "compress/prune.h"
#include "compress/relative_index.h"
#include "compress/stream_compress.h"
#include "tests/test_util.h"

namespace deepcomp::compress {
namespace {

// Restores OpenMP's thread count after a test changes it.
struct ThreadCount {
  int saved = omp_get_max_threads();
  ~ThreadCount() { omp_set_num_threads(saved); }
};

// 700 x 1000 = 700,000 weights: three blocks, the last one partial. Weights are N(0, 0.05)
// rounded to multiples of 2^-14 (many duplicates), with runs of zeros longer than a 5-bit gap.
Model big_layer_model() {
  Model m;
  m.skeleton = "skeleton";
  Tensor t;
  t.name = "fc.weight";
  t.shape = {700, 1000};
  t.role = TensorRole::kFcWeight;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  t.values.resize(700000);
  for (float& v : t.values) v = std::round(normal(rng) * 16384.0f) / 16384.0f;
  for (size_t i = 262000; i < 262300; ++i) t.values[i] = 0.0f;  // across the first block end
  t.values[5] = -0.0f;
  m.tensors.push_back(t);
  Tensor b;
  b.name = "fc.bias";
  b.shape = {700};
  b.role = TensorRole::kBias;
  b.values.assign(700, 0.25f);
  m.tensors.push_back(b);
  return m;
}

std::vector<CompressOptions> settings() {
  std::vector<CompressOptions> all(7);
  all[1].prune = 0.9;
  all[1].index_bits_fc = 3;  // many fillers
  all[2].no_prune = true;
  all[3].share = false;
  all[3].prune = 0.5;
  all[4].huffman = false;
  all[4].init = KMeansInit::kDensity;
  all[5].bits_fc = 8;
  all[5].init = KMeansInit::kKMeansPlusPlus;
  all[5].seed = 3;
  all[6].prune_global = 0.6;
  return all;
}

TEST(LayerThreads, SameBytesOnOneTwoFourAndEightThreads) {
  ThreadCount restore;
  const Model model = big_layer_model();
  const std::vector<CompressOptions> all = settings();
  for (size_t s = 0; s < all.size(); ++s) {
    std::string first;
    for (int threads : {1, 2, 4, 8}) {
      omp_set_num_threads(threads);
      auto out = compress_model(model, all[s]);
      ASSERT_TRUE(out.ok()) << out.status().message();
      auto bytes = serialize_container(out->container);
      ASSERT_TRUE(bytes.ok());
      if (threads == 1)
        first = *bytes;
      else
        EXPECT_TRUE(*bytes == first) << "setting " << s << ", " << threads << " threads";
    }
  }
}

// The streaming path, one tensor at a time (threads = 1: groups of one tensor, whose loops then
// use OpenMP's threads), writes the in-memory path's bytes on 1, 2, 4 and 8 OpenMP threads.
TEST(LayerThreads, StreamingLayerAloneSplitsAcrossThreadsWithTheSameBytes) {
  ThreadCount restore;
  const Model model = big_layer_model();
  const std::vector<CompressOptions> all = settings();
  const std::string dir = testing::temp_dir();
  for (size_t s = 0; s < all.size(); ++s) {
    omp_set_num_threads(1);
    auto memory = compress_model(model, all[s]);
    ASSERT_TRUE(memory.ok()) << memory.status().message();
    auto expected = serialize_container(memory->container);
    ASSERT_TRUE(expected.ok());
    for (int threads : {1, 2, 4, 8}) {
      omp_set_num_threads(threads);
      Model deferred = model;
      for (Tensor& t : deferred.tensors) t.values.clear();
      TensorLoader loader;
      loader.load = [&model](Tensor* t) {
        for (const Tensor& o : model.tensors)
          if (o.name == t->name) t->values = o.values;
        return Status::Ok();
      };
      loader.release = [](Tensor* t) { std::vector<float>().swap(t->values); };
      const std::string path = dir + "/s" + std::to_string(s) + "_" + std::to_string(threads);
      auto report = compress_model_streaming(deferred, all[s], loader, {}, path, {}, 1);
      ASSERT_TRUE(report.ok()) << report.status().message();
      EXPECT_TRUE(testing::read_text(path) == *expected) << "setting " << s << ", " << threads;
    }
  }
}

// The decoded layer against independent truth: the survivors are exactly the weights at or above
// the reported threshold (and the 90% quantile of the magnitudes), each decoded to its nearest
// codebook entry (Lloyd run to convergence).
TEST(LayerThreads, DecodedLayerKeepsTheLargestWeightsAtTheirNearestCentroids) {
  ThreadCount restore;
  omp_set_num_threads(4);
  const Model model = big_layer_model();
  CompressOptions options;
  options.prune = 0.9;
  options.index_bits_fc = 3;
  options.iters = 1000;
  auto out = compress_model(model, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const EncodedTensor& e = out->container.tensors[0];
  auto d = decode_tensor(e);
  ASSERT_TRUE(d.ok()) << d.status().message();
  const std::vector<float>& w = model.tensors[0].values;
  std::vector<float> mags;
  for (float v : w) mags.push_back(std::fabs(v));
  std::sort(mags.begin(), mags.end());
  const float t = static_cast<float>(out->report.layers[0].threshold);
  const size_t below =
      static_cast<size_t>(std::lower_bound(mags.begin(), mags.end(), t) - mags.begin());
  EXPECT_NEAR(static_cast<double>(below) / w.size(), 0.9, 1e-3);
  int64_t kept = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (!(std::fabs(w[i]) >= t && w[i] != 0.0f)) {
      ASSERT_EQ(d->values[i], 0.0f) << i;
      continue;
    }
    ++kept;
    float best = e.codebook[0];
    for (float c : e.codebook)
      if (std::fabs(c - w[i]) < std::fabs(best - w[i])) best = c;
    ASSERT_EQ(std::fabs(d->values[i] - w[i]), std::fabs(best - w[i])) << i;
  }
  EXPECT_EQ(kept, out->report.layers[0].nonzero);
}

// A reference encoder: one BitWriter, symbol after symbol.
std::string sequential_pack(const std::vector<uint16_t>& symbols, const std::vector<uint32_t>& code,
                            const std::vector<uint8_t>& length) {
  BitWriter w;
  for (uint16_t s : symbols) w.write(code[s], length[s]);
  return w.finish();
}

uint32_t reversed(uint32_t code, int len) {
  uint32_t r = 0;
  for (int i = 0; i < len; ++i) r |= ((code >> i) & 1u) << (len - 1 - i);
  return r;
}

TEST(LayerThreads, HuffmanAndFixedPackingEqualOneBitWriter) {
  ThreadCount restore;
  std::mt19937 rng(11);
  std::geometric_distribution<int> geo(0.3);
  // 3 blocks and a bit: block boundaries fall inside bytes.
  std::vector<uint16_t> symbols(3 * parallel::kBlock + 12345);
  for (uint16_t& s : symbols) s = static_cast<uint16_t>(std::min(geo(rng), 31));
  auto freqs = symbol_frequencies(symbols, 32);
  ASSERT_TRUE(freqs.ok());
  auto lengths = huffman_code_lengths(*freqs);
  ASSERT_TRUE(lengths.ok());
  auto codes = canonical_codes(*lengths);
  ASSERT_TRUE(codes.ok());
  std::vector<uint32_t> rev(32);
  for (uint32_t s = 0; s < 32; ++s) rev[s] = reversed((*codes)[s], (*lengths)[s]);
  const std::string expect_huffman = sequential_pack(symbols, rev, *lengths);
  std::vector<uint32_t> ident(32);
  for (uint32_t s = 0; s < 32; ++s) ident[s] = s;
  const std::string expect_fixed = sequential_pack(symbols, ident, std::vector<uint8_t>(32, 5));
  for (int threads : {1, 2, 3, 8}) {
    omp_set_num_threads(threads);
    auto h = huffman_encode_with_lengths(symbols, *lengths);
    ASSERT_TRUE(h.ok()) << h.status().message();
    EXPECT_TRUE(h->bits == expect_huffman) << threads << " threads";
    auto f = fixed_encode(symbols, 32, 5);
    ASSERT_TRUE(f.ok()) << f.status().message();
    EXPECT_TRUE(f->bits == expect_fixed) << threads << " threads";
    std::vector<uint32_t> back;
    ASSERT_TRUE(decode_stream(*h, &back).ok());
    EXPECT_TRUE(std::equal(back.begin(), back.end(), symbols.begin(), symbols.end()));
  }
}

TEST(LayerThreads, FirstBadElementIsNamedOnAnyThreadCount) {
  ThreadCount restore;
  std::vector<uint16_t> symbols(3 * parallel::kBlock, 1);
  symbols[2 * parallel::kBlock + 5] = 40;  // later block
  symbols[parallel::kBlock + 9] = 33;      // the first bad one
  std::vector<float> w(3 * parallel::kBlock, 0.5f);
  w[2 * parallel::kBlock + 1] = std::numeric_limits<float>::quiet_NaN();
  w[parallel::kBlock + 2] = std::numeric_limits<float>::infinity();
  for (int threads : {1, 2, 4}) {
    omp_set_num_threads(threads);
    auto f = fixed_encode(symbols, 32, 5);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(
        f.status().message().find("symbol 33 at position " + std::to_string(parallel::kBlock + 9)),
        std::string::npos)
        << f.status().message();
    auto h = symbol_frequencies(symbols, 32);
    ASSERT_FALSE(h.ok());
    EXPECT_NE(h.status().message().find("position " + std::to_string(parallel::kBlock + 9)),
              std::string::npos);
    const Status s = check_finite(w, "t");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("element " + std::to_string(parallel::kBlock + 2) + " is infinite"),
              std::string::npos)
        << s.message();
  }
}

// The fast Lloyd (radix sort, duplicate counts and prefix sums split in blocks) against the
// textbook O(nk) Lloyd on 600,000 values with many duplicates and both zeros.
TEST(LayerThreads, SortedLloydEqualsNaiveLloydOnSeveralBlocks) {
  ThreadCount restore;
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(600000);
  for (float& x : v) x = std::round(normal(rng) * 512.0f) / 512.0f;
  v[10] = -0.0f;
  v[300000] = -0.0f;
  const std::vector<float> init = {-3, -2, -1, -0.5f, 0, 0.5f, 1, 2, 3};
  auto naive = kmeans_1d_naive_lloyd(v, init, 50);
  ASSERT_TRUE(naive.ok());
  for (int threads : {1, 2, 4}) {
    omp_set_num_threads(threads);
    auto fast = kmeans_1d_lloyd(v, init, 50);
    ASSERT_TRUE(fast.ok());
    EXPECT_EQ(fast->centroids, naive->centroids) << threads;
    EXPECT_TRUE(fast->labels == naive->labels) << threads;
    EXPECT_EQ(fast->iterations, naive->iterations);
  }
}

}  // namespace
}  // namespace deepcomp::compress
