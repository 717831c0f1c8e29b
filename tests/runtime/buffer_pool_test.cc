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
                                      const std::vector<std::vector<Value>>& feeds) {
  SessionOptions plain, recycle;
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
