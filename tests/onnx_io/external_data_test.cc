// Deferred external data (LoadOptions::defer_external_data): the load checks every range without
// reading it, read_external_data then gives exactly the values an ordinary load gives (float32,
// float16 and bfloat16 from hand-written bytes), release_tensor_data frees them, and a data file
// that shrinks after loading is one clear error. StreamingModelWriter writes what save_model
// writes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "tests/onnx_io/fixture_util.h"
#include "tests/test_util.h"

namespace deepcomp::onnx_io {
namespace {
using namespace testing;
namespace fs = std::filesystem;

void add_external(onnx::GraphProto* g, const std::string& name, int type, std::vector<int64_t> dims,
                  uint64_t offset, uint64_t length) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  for (auto [k, v] : {std::pair<std::string, std::string>{"location", "w.bin"},
                      {"offset", std::to_string(offset)},
                      {"length", std::to_string(length)}}) {
    auto* e = t->add_external_data();
    e->set_key(k);
    e->set_value(v);
  }
}

// A model with three external tensors in w.bin: float32 [2,3] at 0, float16 [4] at 24, bfloat16
// [2] at 32, and one inline tensor.
std::string write_fixture(const std::string& dir) {
  const std::vector<float> f32 = {1.5f, -2.0f, 0.25f, 3.0f, -0.125f, 7.0f};
  // float16 1.0, -2.0, 2^-24, 65504; bfloat16 1.0 (0x3F80), -3.0 (0xC040).
  const std::vector<uint16_t> f16 = {0x3C00, 0xC000, 0x0001, 0x7BFF}, bf16 = {0x3F80, 0xC040};
  std::ofstream(dir + "/w.bin", std::ios::binary)
      << le_bytes(f32) << le_bytes(f16) << le_bytes(bf16);
  auto m = make_model();
  auto* g = m.mutable_graph();
  add_external(g, "a", onnx::TensorProto::FLOAT, {2, 3}, 0, 24);
  add_external(g, "h", onnx::TensorProto::FLOAT16, {4}, 24, 8);
  add_external(g, "b", onnx::TensorProto::BFLOAT16, {2}, 32, 4);
  *g->add_initializer() = float_tensor("inline", {2}, {4.0f, 5.0f});
  std::ofstream(dir + "/m.onnx", std::ios::binary) << serialize(m);
  return dir + "/m.onnx";
}

TEST(ExternalData, DeferredLoadReadsTheSameValuesOneTensorAtATime) {
  const std::string dir = ::deepcomp::testing::temp_dir();
  const std::string path = write_fixture(dir);
  auto eager = load_model(path);
  ASSERT_TRUE(eager.ok()) << eager.status().message();
  LoadOptions defer;
  defer.defer_external_data = true;
  auto lazy = load_model(path, defer);
  ASSERT_TRUE(lazy.ok()) << lazy.status().message();
  EXPECT_EQ(lazy->skeleton, eager->skeleton);
  ASSERT_EQ(lazy->tensors.size(), 4u);
  const std::vector<std::vector<float>> expected = {{1.5f, -2.0f, 0.25f, 3.0f, -0.125f, 7.0f},
                                                    {1.0f, -2.0f, std::ldexp(1.0f, -24), 65504.0f},
                                                    {1.0f, -3.0f},
                                                    {4.0f, 5.0f}};
  for (size_t i = 0; i < 4; ++i) {
    Tensor& t = lazy->tensors[i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(is_deferred(t), i < 3);
    EXPECT_EQ(t.values.empty(), i < 3);
    // The location is recorded as written (the .dcz stores it).
    EXPECT_EQ(t.location.external_offset, eager->tensors[i].location.external_offset);
    EXPECT_EQ(t.location.external_length, eager->tensors[i].location.external_length);
    ASSERT_TRUE(read_external_data(*lazy, &t).ok());
    EXPECT_FALSE(is_deferred(t));
    EXPECT_EQ(t.values, expected[i]);
    EXPECT_EQ(t.values, eager->tensors[i].values);
    release_tensor_data(&t);
    EXPECT_EQ(t.values.empty(), i < 3);  // an inline tensor has nothing to be read back from
    EXPECT_EQ(is_deferred(t), i < 3);
  }
}

TEST(ExternalData, ShortFileIsAnErrorAtLoadAndAtRead) {
  const std::string dir = ::deepcomp::testing::temp_dir();
  const std::string path = write_fixture(dir);
  LoadOptions defer;
  defer.defer_external_data = true;
  auto lazy = load_model(path, defer);
  ASSERT_TRUE(lazy.ok());
  fs::resize_file(dir + "/w.bin", 30);  // shrinks after loading: "h" now ends past the file
  Status s = read_external_data(*lazy, &lazy->tensors[1]);
  EXPECT_EQ(s.message(), "tensor 'h': external data file '" + dir +
                             "/w.bin': the file ends 2 byte(s) before the tensor's data does "
                             "(shorter than its tensors)");
  EXPECT_TRUE(is_deferred(lazy->tensors[1]));
  EXPECT_TRUE(lazy->tensors[1].values.empty());
  auto again = load_model(path, defer);  // the up-front check, before anything is read
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("too short for offset 24 + length 8"), std::string::npos)
      << again.status().message();
}

TEST(ExternalData, StreamingWriterWritesWhatSaveModelWrites) {
  const std::string dir = ::deepcomp::testing::temp_dir();
  auto model = load_model(write_fixture(dir));
  ASSERT_TRUE(model.ok());
  SaveOptions save;
  save.external_data = true;
  // "a" (24 bytes) goes external by size, "h" and "b" because they were external, "inline" (8
  // bytes) stays in the model.
  save.external_min_bytes = 16;
  fs::create_directory(dir + "/one");
  fs::create_directory(dir + "/two");
  ASSERT_TRUE(save_model(*model, dir + "/one/out.onnx", save).ok());
  StreamingModelWriter writer;
  ASSERT_TRUE(writer.open(model->skeleton, dir + "/two/out.onnx", save).ok());
  for (const Tensor& t : model->tensors) ASSERT_TRUE(writer.add(t).ok()) << t.name;
  EXPECT_FALSE(fs::exists(dir + "/two/out.onnx"));
  ASSERT_TRUE(writer.finish().ok());
  auto read = [](const std::string& p) { return ::deepcomp::testing::read_text(p); };
  EXPECT_EQ(read(dir + "/one/out.onnx"), read(dir + "/two/out.onnx"));
  EXPECT_EQ(read(dir + "/one/out.onnx.data"), read(dir + "/two/out.onnx.data"));
}

TEST(ExternalData, StreamingWriterRefusesMismatchesAndMissingTensorsLeavingNothing) {
  const std::string dir = ::deepcomp::testing::temp_dir();
  auto model = load_model(write_fixture(dir));
  ASSERT_TRUE(model.ok());
  fs::create_directory(dir + "/out");
  {
    StreamingModelWriter writer;
    ASSERT_TRUE(writer.open(model->skeleton, dir + "/out/m.onnx", {}).ok());
    Tensor wrong = model->tensors[0];
    wrong.shape = {3, 2};
    EXPECT_EQ(
        writer.add(wrong).message(),
        dir + "/out/m.onnx: tensor 'a' is float32 [3,2] but the model declares float32 [2,3]");
    ASSERT_TRUE(writer.add(model->tensors[1]).ok());
    EXPECT_EQ(writer.finish().message(), dir + "/out/m.onnx: tensor 'a' is missing");
  }
  EXPECT_TRUE(fs::is_empty(dir + "/out"));
}

}  // namespace
}  // namespace deepcomp::onnx_io
