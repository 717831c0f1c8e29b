// Recycled output storage (runtime/buffer_pool.h, SessionOptions::recycle_buffers): the pool's
// best fit and size limit, and sessions that recycle giving the bits of sessions that do not,
// run after run (a built graph of Conv, broadcasting Add/Mul, Relu, GlobalAveragePool; and the
// real CNN cases when third_party/real-models is present).
#include "runtime/buffer_pool.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "data/npy.h"
#include "onnx_io/onnx_io.h"
#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"
#include "tests/test_util.h"

namespace deepcomp::runtime {
namespace {

namespace fs = std::filesystem;
using testing::attr_ints;
using testing::GraphBuilder;

std::vector<float> with_capacity(size_t n) {
  std::vector<float> v;
  v.reserve(n);
  return v;
}

TEST(FloatBufferPool, TakesTheSmallestBufferThatFitsWithinTwiceTheSize) {
  FloatBufferPool pool;
  pool.give(with_capacity(10000));
  pool.give(with_capacity(3000));
  pool.give(with_capacity(5000));
  pool.give(std::vector<float>{});  // no storage: not kept
  EXPECT_EQ(pool.held(), 3u);
  std::vector<float> a = pool.take(2800);
  EXPECT_EQ(a.capacity(), 3000u);
  EXPECT_TRUE(a.empty());
  // 5000 and 10000 both exceed 2 * 1000 + 1024: a small tensor gets fresh storage.
  EXPECT_EQ(pool.take(1000).capacity(), 0u);
  EXPECT_EQ(pool.take(4000).capacity(), 5000u);
  EXPECT_EQ(pool.take(20000).capacity(), 0u);
  EXPECT_EQ(pool.held(), 1u);
}

// Storage handed back by operators that did not take it from the pool must not pile up from
// run to run: what a whole run left untaken is dropped at its end.
TEST(FloatBufferPool, EndOfRunDropsWhatTheRunDidNotTake) {
  FloatBufferPool pool;
  pool.give(with_capacity(100));
  pool.give(with_capacity(200));
  pool.give(with_capacity(300));
  pool.end_run();  // all three were given during this run: kept
  EXPECT_EQ(pool.held(), 3u);
  std::vector<float> a = pool.take(190);
  EXPECT_EQ(a.capacity(), 200u);
  pool.give(with_capacity(400));  // storage made outside the pool, released into it
  pool.give(std::move(a));
  pool.end_run();  // 100 and 300 sat through the run untaken
  EXPECT_EQ(pool.held(), 2u);
  EXPECT_EQ(pool.take(150).capacity(), 200u);
  EXPECT_EQ(pool.take(350).capacity(), 400u);
  EXPECT_EQ(pool.take(90).capacity(), 0u);
  pool.end_run();
  EXPECT_EQ(pool.held(), 0u);
}

TEST(FloatBufferPool, ForOverwriteKeepsOldValuesAndZeroesOnlyWhatIsNew) {
  FloatBufferPool pool;
  std::vector<float> old(3000, 7.0f);
  old.reserve(4000);
  pool.give(std::move(old));
  std::vector<float> smaller = pool.take_for_overwrite(2000);
  ASSERT_EQ(smaller.size(), 2000u);
  EXPECT_EQ(smaller.capacity(), 4000u);
  EXPECT_EQ(smaller.front(), 7.0f);  // not zeroed
  EXPECT_EQ(smaller.back(), 7.0f);
  pool.give(std::move(smaller));
  std::vector<float> larger = pool.take_for_overwrite(3500);
  ASSERT_EQ(larger.size(), 3500u);
  EXPECT_EQ(larger[1999], 7.0f);
  EXPECT_EQ(larger[2000], 0.0f);  // beyond the old size: zero
  EXPECT_EQ(larger[3499], 0.0f);
  EXPECT_EQ(pool.take_for_overwrite(100).size(), 0u);  // nothing held
}

TEST(FloatBufferPool, SeedsOnlyStepsThatKeptWhatTheyWereOffered) {
  FloatBufferPool pool;
  int keeper = 0, builder = 0;  // two steps, identified by address
  // First run: nothing known, nothing offered.
  EXPECT_EQ(pool.seed(&keeper, 0).capacity(), 0u);
  pool.settle(&keeper, 0, nullptr, std::vector<float>(600));
  pool.settle(&builder, 0, nullptr, std::vector<float>(600));
  pool.give(with_capacity(600));
  pool.give(with_capacity(600));
  // Second run: both are offered 600 floats; the builder replaces its output.
  std::vector<float> k = pool.seed(&keeper, 0), b = pool.seed(&builder, 0);
  ASSERT_EQ(k.capacity(), 600u);
  ASSERT_EQ(b.capacity(), 600u);
  const float* offered_k = k.data();
  const float* offered_b = b.data();
  k.resize(600);
  pool.settle(&keeper, 0, offered_k, k);
  pool.settle(&builder, 0, offered_b, std::vector<float>(600));
  pool.give(std::move(k));
  pool.give(with_capacity(600));
  EXPECT_EQ(pool.seed(&keeper, 0).capacity(), 600u);
  EXPECT_EQ(pool.seed(&builder, 0).capacity(), 0u);
}

TEST(FloatPoolScope, NestsAndRestores) {
  FloatBufferPool a, b;
  EXPECT_EQ(active_float_pool(), nullptr);
  {
    const FloatPoolScope outer(&a);
    EXPECT_EQ(active_float_pool(), &a);
    {
      const FloatPoolScope inner(&b);
      EXPECT_EQ(active_float_pool(), &b);
    }
    EXPECT_EQ(active_float_pool(), &a);
  }
  EXPECT_EQ(active_float_pool(), nullptr);
}

bool same_bits(const std::vector<Value>& a, const std::vector<Value>& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k) {
    if (a[k].shape != b[k].shape || a[k].dtype != b[k].dtype || a[k].f.size() != b[k].f.size() ||
        a[k].i != b[k].i ||
        std::memcmp(a[k].f.data(), b[k].f.data(), a[k].f.size() * sizeof(float)) != 0) {
      return false;
    }
  }
  return true;
}

// Runs `model` three times on each input set with and without recycling: every run the same bits.
void expect_recycling_changes_nothing(const Model& model,
                                      const std::vector<std::vector<Value>>& feeds,
                                      bool sparse = false) {
  SessionOptions plain, recycle;
  plain.sparse_from_dense = recycle.sparse_from_dense = sparse;
  plain.threads = recycle.threads = 1;
  plain.recycle_buffers = false;
  recycle.recycle_buffers = true;
  auto a = Session::create(model, plain);
  auto b = Session::create(model, recycle);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  for (int round = 0; round < 3; ++round) {
    for (const auto& feed : feeds) {
      auto want = a->run(feed);
      auto got = b->run(feed);
      ASSERT_TRUE(want.ok()) << want.status().message();
      ASSERT_TRUE(got.ok()) << got.status().message();
      EXPECT_TRUE(same_bits(*want, *got)) << "round " << round;
    }
  }
}

TEST(RecycleBuffers, BuiltGraphGivesTheSameBitsRunAfterRun) {
  // y = GAP(Relu(Conv(x) * s + x)) with x's shape varying between feeds (the pool sees other
  // sizes), plus the Conv output as a second graph output (moved out to the caller each run).
  GraphBuilder b;
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> w(4 * 4 * 3 * 3), s(4);
  for (float& v : w) v = u(rng);
  for (float& v : s) v = u(rng);
  b.input("x", DType::kFloat32)
      .weight("w", {4, 4, 3, 3}, w)
      .weight("s", {1, 4, 1, 1}, s)
      .node("Conv", {"x", "w"}, {"c"}, {attr_ints("pads", {1, 1, 1, 1})})
      .node("Mul", {"c", "s"}, {"m"})
      .node("Add", {"m", "x"}, {"a"})
      .node("Relu", {"a"}, {"r"})
      .node("GlobalAveragePool", {"r"}, {"y"})
      .output("y")
      .output("c");
  std::vector<std::vector<Value>> feeds;
  for (auto [h, wd] : {std::pair{9, 13}, std::pair{20, 31}, std::pair{5, 4}}) {
    Value x = Value::floats({1, 4, h, wd}, {});
    for (int64_t k = 0; k < 4 * h * wd; ++k) x.f.push_back(u(rng));
    feeds.push_back({x});
  }
  expect_recycling_changes_nothing(b.model(), feeds);
}

TEST(RecycleBuffers, EveryConvKindWritesEveryOutputOverStaleStorage) {
  // Conv outputs take recycled storage without zeroing it (for_overwrite_like_dtype): an output
  // element a kernel missed would keep the previous run's value. Dense 3x3, strided depthwise,
  // grouped 1x1, dilated, 5x5 unpadded (narrow maps, run through im2col), and a 1-D Conv, dense
  // and on the sparse kernels, fed inputs whose sizes change between runs.
  GraphBuilder b;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  auto weight = [&](const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> w(n);
    for (float& v : w) v = u(rng) < 0 ? 0.0f : u(rng);  // about half zero: sparse forms
    b.weight(name, shape, w);
  };
  weight("w3", {8, 6, 3, 3});
  weight("wd", {6, 1, 3, 3});
  weight("wg", {4, 3, 1, 1});
  weight("wl", {5, 6, 3, 3});
  weight("w5", {7, 6, 5, 5});
  weight("w1d", {3, 6, 3});
  b.input("x", DType::kFloat32).input("s", DType::kFloat32);
  b.node("Conv", {"x", "w3"}, {"a"}, {attr_ints("pads", {1, 1, 1, 1})});
  b.node("Conv", {"x", "wd"}, {"d"},
         {attr_ints("pads", {1, 1, 1, 1}), attr_ints("strides", {2, 2}), testing::attr_i("group", 6)});
  b.node("Conv", {"x", "wg"}, {"g"}, {testing::attr_i("group", 2)});
  b.node("Conv", {"x", "wl"}, {"l"}, {attr_ints("pads", {2, 2, 2, 2}), attr_ints("dilations", {2, 2})});
  b.node("Conv", {"x", "w5"}, {"f"}, {});
  b.node("Conv", {"s", "w1d"}, {"o"}, {attr_ints("pads", {1, 1})});
  // Each read by a Neg, so that the conv outputs are intermediates whose storage is recycled
  // (graph outputs are moved out to the caller).
  for (const char* out : {"a", "d", "g", "l", "f", "o"}) {
    b.node("Neg", {out}, {std::string(out) + "_neg"}).output(std::string(out) + "_neg");
  }
  std::vector<std::vector<Value>> feeds;
  for (auto [h, w] : {std::pair{9, 13}, std::pair{20, 31}, std::pair{6, 6}, std::pair{12, 40}}) {
    Value x = Value::floats({1, 6, h, w}, {}), s = Value::floats({2, 6, w}, {});
    for (int64_t k = 0; k < 6 * h * w; ++k) x.f.push_back(u(rng));
    for (int64_t k = 0; k < 12 * w; ++k) s.f.push_back(u(rng));
    feeds.push_back({x, s});
  }
  for (bool sparse : {false, true}) {
    SCOPED_TRACE(sparse ? "sparse" : "dense");
    expect_recycling_changes_nothing(b.model(), feeds, sparse);
  }
}

TEST(RecycleBuffers, RealCnnCasesGiveTheSameBitsRunAfterRun) {
  const std::string dir = deepcomp::testing::source_dir() + "/third_party/real-models/cases";
  int ran = 0;
  for (const char* name : {"ocr_cls", "blazeface_front", "lenet-5"}) {
    const std::string c = dir + "/" + name;
    if (!fs::exists(c + "/model.txt") || !fs::exists(c + "/in_0.npy")) continue;
    std::string path;
    std::ifstream(c + "/model.txt") >> path;
    if (!fs::exists(path)) continue;
    auto model = onnx_io::load_model(path);
    ASSERT_TRUE(model.ok()) << model.status().message();
    auto array = data::read_npy_typed(c + "/in_0.npy");
    ASSERT_TRUE(array.ok()) << array.status().message();
    Value x;
    x.dtype = array->dtype;
    x.shape = array->shape;
    x.f = array->f;
    x.i = array->i;
    SCOPED_TRACE(name);
    expect_recycling_changes_nothing(*model, {{x}});
    ++ran;
  }
  if (ran == 0) GTEST_SKIP() << dir << " is absent: run scripts/fetch-real-models.sh";
}

}  // namespace
}  // namespace deepcomp::runtime
