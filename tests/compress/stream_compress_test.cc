// The streaming compress path against the in-memory one: the same bytes (serialize_container of
// compress_model), tensors loaded lazily and at most `threads` of them at a time, the data freed
// again, and on any error (a failing read, bad settings) no file left behind.
#include "compress/stream_compress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "compress/container.h"
#include "compress/container_writer.h"
#include "core/tensor_bytes.h"
#include "tests/test_util.h"

namespace deepcomp::compress {
namespace {

namespace fs = std::filesystem;

Tensor make_tensor(const std::string& name, std::vector<int64_t> shape, TensorRole role,
                   DType dtype, uint32_t seed) {
  Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.role = role;
  t.dtype = dtype;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  t.values.resize(static_cast<size_t>(t.numel()));
  for (float& v : t.values) v = round_to_dtype(normal(rng), dtype);
  return t;
}

Model test_model() {
  Model m;
  m.skeleton = "skeleton bytes";
  m.tensors.push_back(
      make_tensor("fc1.weight", {64, 100}, TensorRole::kFcWeight, DType::kFloat32, 1));
  m.tensors.push_back(make_tensor("fc1.bias", {64}, TensorRole::kBias, DType::kFloat32, 2));
  m.tensors.push_back(
      make_tensor("conv.weight", {8, 3, 3, 3}, TensorRole::kConvWeight, DType::kFloat32, 3));
  m.tensors.push_back(
      make_tensor("fc2.weight", {10, 64}, TensorRole::kFcWeight, DType::kFloat16, 4));
  m.tensors.push_back(make_tensor("emb", {50, 16}, TensorRole::kEmbedding, DType::kBFloat16, 5));
  Tensor shape;
  shape.name = "shape";
  shape.dtype = DType::kInt64;
  shape.shape = {2};
  shape.raw = std::string("\x01\0\0\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff", 16);
  m.tensors.push_back(shape);
  m.tensors.push_back(
      make_tensor("fc3.weight", {32, 64}, TensorRole::kFcWeight, DType::kFloat32, 6));
  for (Tensor& t : m.tensors) {
    t.location.external_file = "m.data";
    t.location.external_offset = 4096;
  }
  return m;
}

// Defers every tensor of `m` (data moved to `stash`) and returns a loader that counts how many
// are loaded at once.
struct CountingLoader {
  std::map<std::string, Tensor> stash;
  std::atomic<int> loaded{0}, peak{0}, loads{0}, releases{0};
  std::string fail_on;

  TensorLoader make() {
    TensorLoader l;
    l.load = [this](Tensor* t) -> Status {
      if (t->name == fail_on) return Status::Error("tensor '" + t->name + "': read failed");
      const Tensor& s = stash.at(t->name);
      if (!t->values.empty() || !t->raw.empty()) return Status::Error("loaded twice");
      t->values = s.values;
      t->raw = s.raw;
      ++loads;
      const int now = ++loaded;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      return Status::Ok();
    };
    l.release = [this](Tensor* t) {
      std::vector<float>().swap(t->values);
      std::string().swap(t->raw);
      --loaded;
      ++releases;
    };
    return l;
  }
};

Model deferred_copy(const Model& m, CountingLoader* loader) {
  Model d = m;
  for (Tensor& t : d.tensors) {
    loader->stash[t.name] = t;
    t.values.clear();
    t.raw.clear();
  }
  return d;
}

std::string in_memory_bytes(const Model& m, const CompressOptions& options,
                            const std::vector<std::pair<std::string, std::string>>& extra) {
  auto out = compress_model(m, options);
  EXPECT_TRUE(out.ok()) << out.status().message();
  for (const auto& kv : extra) out->container.header.metadata.push_back(kv);
  auto bytes = serialize_container(out->container);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return *bytes;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(StreamCompress, SameBytesAsInMemoryForEverySettingAndThreadCount) {
  const Model m = test_model();
  std::vector<CompressOptions> settings(5);
  settings[1].prune = 0.8;
  settings[1].bits_fc = 3;
  settings[2].prune_std = 0.7;
  settings[2].huffman = false;
  settings[3].share = false;
  settings[3].include_biases = true;
  settings[4].no_prune = true;
  settings[4].init = KMeansInit::kDensity;
  settings[4].layers.push_back({"fc3*", 0.5, 2, 3, std::nullopt});
  settings.resize(8);
  settings[5].prune_global = 0.7;  // one threshold over every layer, from extra reads
  settings[6].prune_global = 0.9;
  settings[6].layers.push_back({"fc1*", 0.2, std::nullopt, std::nullopt, std::nullopt});
  settings[7].prune_global = 0.0;
  const std::vector<std::pair<std::string, std::string>> extra = {{"source", "m.onnx"}};
  for (size_t s = 0; s < settings.size(); ++s) {
    const std::string expected = in_memory_bytes(m, settings[s], extra);
    for (int threads : {1, 2, 3, 8}) {
      SCOPED_TRACE("setting " + std::to_string(s) + ", threads " + std::to_string(threads));
      CountingLoader loader;
      Model d = deferred_copy(m, &loader);
      const std::string path = testing::temp_dir() + "/m.dcz";
      auto report =
          compress_model_streaming(d, settings[s], loader.make(), extra, path, {}, threads);
      ASSERT_TRUE(report.ok()) << report.status().message();
      EXPECT_EQ(slurp(path), expected);
      EXPECT_EQ(report->file_bytes, static_cast<double>(expected.size()));
      EXPECT_EQ(report->layers.size(), m.tensors.size());
      // Every tensor read once and freed again; never more than `threads` held at once.
      // (--prune-global reads the layers it covers two more times, one at a time.)
      if (!settings[s].prune_global || *settings[s].prune_global == 0)
        EXPECT_EQ(loader.loads.load(), static_cast<int>(m.tensors.size()));
      EXPECT_GE(loader.loads.load(), static_cast<int>(m.tensors.size()));
      EXPECT_EQ(loader.releases.load(), loader.loads.load());
      EXPECT_LE(loader.peak.load(), threads);
      for (const Tensor& t : d.tensors) EXPECT_TRUE(t.values.empty() && t.raw.empty()) << t.name;
    }
  }
}

TEST(StreamCompress, ReportEqualsInMemoryReport) {
  const Model m = test_model();
  CompressOptions options;
  options.prune = 0.6;
  auto memory = compress_model(m, options);
  ASSERT_TRUE(memory.ok());
  CountingLoader loader;
  Model d = deferred_copy(m, &loader);
  auto streamed = compress_model_streaming(d, options, loader.make(), {},
                                           testing::temp_dir() + "/m.dcz", {}, 2);
  ASSERT_TRUE(streamed.ok()) << streamed.status().message();
  EXPECT_EQ(streamed->params, memory->report.params);
  EXPECT_EQ(streamed->nonzero, memory->report.nonzero);
  EXPECT_EQ(streamed->bytes.huffman, memory->report.bytes.huffman);
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    EXPECT_EQ(streamed->layers[i].name, memory->report.layers[i].name);
    EXPECT_EQ(streamed->layers[i].sse, memory->report.layers[i].sse);
    EXPECT_EQ(streamed->layers[i].threshold, memory->report.layers[i].threshold);
  }
}

TEST(StreamCompress, AFailingReadLeavesNoFile) {
  const Model m = test_model();
  CountingLoader loader;
  loader.fail_on = "fc3.weight";  // the last group: earlier sections are already on disk
  Model d = deferred_copy(m, &loader);
  const std::string dir = testing::temp_dir();
  auto report = compress_model_streaming(d, {}, loader.make(), {}, dir + "/m.dcz", {}, 2);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().message(), "tensor 'fc3.weight': read failed");
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(StreamCompress, NonFiniteWeightAndRetrainingAreRefusedWithoutAFile) {
  Model m = test_model();
  m.tensors[0].values[7] = std::nanf("");
  CountingLoader loader;
  Model d = deferred_copy(m, &loader);
  const std::string dir = testing::temp_dir();
  auto report = compress_model_streaming(d, {}, loader.make(), {}, dir + "/m.dcz", {}, 1);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("fc1.weight"), std::string::npos);
  CompressOptions global;
  global.prune_global = 0.5;
  EXPECT_EQ(streaming_unsupported_reason(global), "");
  global.tuner = reinterpret_cast<FineTuner*>(&global);  // never called: refused first
  EXPECT_EQ(streaming_unsupported_reason(global), "retraining needs every weight in memory at once");
  EXPECT_TRUE(fs::is_empty(dir));
}

// The writer alone: the FORMAT.md example file, section by section.
TEST(ContainerWriter, WritesTheBytesOfSerializeContainer) {
  Container c;
  c.header.producer = "dc";
  c.header.metadata = {{"k", "v"}};
  EncodedTensor t;
  t.name = "w";
  t.shape = {3};
  t.role = TensorRole::kFcWeight;
  t.encoding = Encoding::kLossless;
  t.raw = std::string(12, '\x01');
  c.tensors.push_back(t);
  t.name = "v";
  c.tensors.push_back(t);
  auto expected = serialize_container(c);
  ASSERT_TRUE(expected.ok());
  const std::string path = testing::temp_dir() + "/c.dcz";
  ContainerWriter w;
  ASSERT_TRUE(w.open(path, {}, c.header, c.skeleton).ok());
  for (const EncodedTensor& e : c.tensors) ASSERT_TRUE(w.add(e).ok());
  EXPECT_FALSE(fs::exists(path));  // only the temporary file until finish()
  ASSERT_TRUE(w.finish().ok());
  EXPECT_EQ(slurp(path), *expected);
  EXPECT_EQ(w.size(), expected->size());
  auto parsed = read_container(path);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->tensors.size(), 2u);
}

TEST(ContainerWriter, DuplicateNameIsAnErrorAndNoFileRemains) {
  const std::string dir = testing::temp_dir();
  {
    ContainerWriter w;
    ASSERT_TRUE(w.open(dir + "/c.dcz", {}, {}, "").ok());
    EncodedTensor t;
    t.name = "w";
    t.shape = {1};
    t.raw = std::string(4, '\0');
    ASSERT_TRUE(w.add(t).ok());
    const Status s = w.add(t);
    EXPECT_EQ(s.message(), dir + "/c.dcz: tensor 'w': duplicate tensor name");
  }
  EXPECT_TRUE(fs::is_empty(dir));
}

}  // namespace
}  // namespace deepcomp::compress
