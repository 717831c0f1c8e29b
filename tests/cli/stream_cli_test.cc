// Streaming compress and decompress end to end through the binary (docs/CLI.md, "Models larger
// than memory"): on models whose weights live in an external data file, the default path reads,
// compresses and writes one tensor at a time; its .dcz must equal the in-memory path's byte for
// byte, and a damaged or vanishing data file or a full disk must leave nothing behind.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "core/tensor_bytes.h"
#include "onnx_io/onnx_io.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_deepcomp;
using testing::temp_dir;

// The project's and the shared models.
std::vector<std::string> models() {
  std::vector<std::string> out;
  for (const char* name : {"lenet-300-100.onnx", "lenet-5.onnx"}) {
    const std::string path = testing::source_dir() + "/models/" + name;
    if (fs::exists(path)) out.push_back(path);
  }
  const std::string shared = testing::shared_dir();
  if (!shared.empty())
    for (const auto& entry : fs::directory_iterator(shared + "/models"))
      if (entry.path().extension() == ".onnx") out.push_back(entry.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// `path` saved again with every tensor of 1 KiB or more in DIR/NAME.onnx.data.
std::string with_external_data(const std::string& path, const std::string& dir) {
  auto model = onnx_io::load_model(path);
  EXPECT_TRUE(model.ok()) << model.status().message();
  const std::string out = dir + "/" + fs::path(path).stem().string() + "_ext.onnx";
  onnx_io::SaveOptions save;
  save.external_data = true;
  const Status s = onnx_io::save_model(*model, out, save);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(StreamCli, StreamingCompressEqualsInMemoryByteForByte) {
  const auto all = models();
  if (all.empty()) GTEST_SKIP() << "no models (models/ and ../shared absent)";
  for (const std::string& path : all) {
    SCOPED_TRACE(path);
    const std::string dir = temp_dir();
    const std::string ext = with_external_data(path, dir);
    ASSERT_TRUE(fs::exists(ext + ".data"));
    for (const std::string flags :
         {"", " --prune-std 0.5 --bits-fc 4 --no-huffman", " --no-share --include-biases",
          " --no-prune --init density", " --prune-global 0.8"}) {
      SCOPED_TRACE(flags);
      auto a = run_deepcomp("compress " + ext + " -o " + dir + "/stream.dcz -q --force" + flags);
      ASSERT_EQ(a.exit_code, 0) << a.err;
      auto b = run_deepcomp("compress " + ext + " -o " + dir +
                            "/memory.dcz -q --force --in-memory" + flags);
      ASSERT_EQ(b.exit_code, 0) << b.err;
      // The in-memory path on the original (inline) model: only the recorded locations differ.
      EXPECT_EQ(read_text(dir + "/stream.dcz"), read_text(dir + "/memory.dcz"));
    }
  }
}

// The same on two threads (tensors compressed concurrently, sections still in model order).
TEST(StreamCli, StreamingCompressIsThreadIndependent) {
  const std::string lenet = testing::source_dir() + "/models/lenet-5.onnx";
  if (!fs::exists(lenet)) GTEST_SKIP() << "models/lenet-5.onnx absent";
  const std::string dir = temp_dir();
  const std::string ext = with_external_data(lenet, dir);
  auto a = run_deepcomp("compress " + ext + " -o " + dir + "/one.dcz -q");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto b = testing::run_command("OMP_NUM_THREADS=2 " + testing::deepcomp_binary() + " compress " +
                                ext + " -o " + dir + "/two.dcz -q");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto c = testing::run_command("OMP_NUM_THREADS=1 " + testing::deepcomp_binary() + " compress " +
                                ext + " -o " + dir + "/mem.dcz -q --in-memory");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(read_text(dir + "/one.dcz"), read_text(dir + "/two.dcz"));
  EXPECT_EQ(read_text(dir + "/one.dcz"), read_text(dir + "/mem.dcz"));
}

// x [1,96] -> MatMul(W0 [96,128]) -> Relu -> MatMul(W1 [128,40]) in `dtype` (float16 or
// bfloat16), the weights in DIR/h.onnx.data; returns the model's path.
std::string half_model(const std::string& dir, int dtype) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("half");
  auto value = [&](auto* list, const std::string& name, std::vector<int64_t> dims) {
    auto* v = list->Add();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(dtype);
    for (int64_t d : dims)
      v->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
  };
  value(g->mutable_input(), "x", {1, 96});
  value(g->mutable_output(), "y", {1, 40});
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::string data;
  const std::vector<std::pair<std::string, std::vector<int64_t>>> weights = {{"w0", {96, 128}},
                                                                             {"w1", {128, 40}}};
  for (const auto& [name, dims] : weights) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(dtype);
    for (int64_t d : dims) t->add_dims(d);
    const size_t offset = data.size();
    for (int64_t i = 0; i < dims[0] * dims[1]; ++i) {
      const float v = normal(rng);
      const uint16_t h =
          dtype == onnx::TensorProto::FLOAT16 ? float_to_half(v) : float_to_bfloat16(v);
      data.append(reinterpret_cast<const char*>(&h), 2);
    }
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    for (auto [k, v] : {std::pair<std::string, std::string>{"location", "h.onnx.data"},
                        {"offset", std::to_string(offset)},
                        {"length", std::to_string(data.size() - offset)}}) {
      auto* e = t->add_external_data();
      e->set_key(k);
      e->set_value(v);
    }
  }
  auto node = [&](const std::string& op, std::vector<std::string> in, const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    for (auto& i : in) n->add_input(i);
    n->add_output(out);
  };
  node("MatMul", {"x", "w0"}, "h0");
  node("Relu", {"h0"}, "r0");
  node("MatMul", {"r0", "w1"}, "y");
  testing::write_text(dir + "/h.onnx.data", data);
  std::string bytes;
  m.SerializeToString(&bytes);
  testing::write_text(dir + "/h.onnx", bytes);
  return dir + "/h.onnx";
}

// float16 / bfloat16 weights: compressed from and decompressed to their own dtype, streaming equal
// to in-memory, and every restored weight a shared value of its layer representable in the dtype.
TEST(StreamCli, HalfPrecisionWeightsStreamInTheirOwnDtype) {
  for (int dtype : {onnx::TensorProto::FLOAT16, onnx::TensorProto::BFLOAT16}) {
    SCOPED_TRACE(dtype);
    const std::string dir = temp_dir();
    const std::string model = half_model(dir, dtype);
    auto r =
        run_deepcomp("compress " + model + " -o " + dir + "/s.dcz -q --prune-fc 0.5 --bits-fc 3");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_deepcomp("compress " + model + " -o " + dir +
                     "/m.dcz -q --prune-fc 0.5 --bits-fc 3 --in-memory");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_text(dir + "/s.dcz"), read_text(dir + "/m.dcz"));
    fs::create_directory(dir + "/s");
    fs::create_directory(dir + "/m");
    r = run_deepcomp("decompress " + dir + "/s.dcz -o " + dir + "/s/b.onnx --external-data");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_deepcomp("decompress " + dir + "/s.dcz -o " + dir +
                     "/m/b.onnx --external-data --in-memory");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_text(dir + "/s/b.onnx"), read_text(dir + "/m/b.onnx"));
    EXPECT_EQ(read_text(dir + "/s/b.onnx.data"), read_text(dir + "/m/b.onnx.data"));
    // 2 bytes per weight (w1 starts at 24576, already 4096-aligned): the dtype itself.
    EXPECT_EQ(fs::file_size(dir + "/s/b.onnx.data"), 2u * (96 * 128 + 128 * 40));
    auto original = onnx_io::load_model(model);
    auto back = onnx_io::load_model(dir + "/s/b.onnx");
    ASSERT_TRUE(original.ok() && back.ok());
    for (size_t i = 0; i < 2; ++i) {
      const Tensor& a = original->tensors[i];
      const Tensor& b = back->tensors[i];
      EXPECT_EQ(static_cast<int>(b.dtype), dtype);
      std::set<float> shared;
      int64_t zeros = 0;
      for (size_t k = 0; k < b.values.size(); ++k) {
        EXPECT_EQ(round_to_dtype(b.values[k], b.dtype), b.values[k]);
        if (b.values[k] == 0.0f)
          ++zeros;
        else
          shared.insert(b.values[k]);
        // A kept weight moves to its nearest shared value: never farther than the layer's range.
        EXPECT_LE(std::fabs(b.values[k] - a.values[k]), 0.5f) << k;
      }
      EXPECT_LE(shared.size(), 8u) << a.name;
      EXPECT_NEAR(static_cast<double>(zeros) / b.values.size(), 0.5, 0.01) << a.name;
    }
  }
}

TEST(StreamCli, TruncatedExternalDataIsOneLineAndNothingIsWritten) {
  const std::string lenet = testing::source_dir() + "/models/lenet-300-100.onnx";
  if (!fs::exists(lenet)) GTEST_SKIP() << "models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  const std::string ext = with_external_data(lenet, dir);
  fs::resize_file(ext + ".data", fs::file_size(ext + ".data") - 100);
  for (const std::string mode : {"", " --in-memory"}) {
    auto r = run_deepcomp("compress " + ext + " -o " + dir + "/out.dcz" + mode);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("too short"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(files_in(dir),
              (std::vector<std::string>{"lenet-300-100_ext.onnx", "lenet-300-100_ext.onnx.data"}));
  }
}

// A disk that fills mid-write: the process may not grow a file past 32-64 KiB (RLIMIT_FSIZE with
// SIGXFSZ ignored: the write then fails with EFBIG as it would with ENOSPC); the error is one
// line and the temporary file is removed.
TEST(StreamCli, FullDiskMidWriteLeavesNothing) {
  const std::string lenet = testing::source_dir() + "/models/lenet-300-100.onnx";
  if (!fs::exists(lenet)) GTEST_SKIP() << "models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  const std::string ext = with_external_data(lenet, dir);
  const std::string out = dir + "/out";
  fs::create_directory(out);
  auto r = testing::run_command("trap '' XFSZ; ulimit -f 64 && " + testing::deepcomp_binary() +
                                " compress " + ext + " -o " + out + "/m.dcz --no-prune --no-share");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("write failed"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(files_in(out).empty());
}

// The same for decompress --external-data, which writes two files (the .data file first, then
// the .onnx that points at it): a failed write leaves neither, nor a temporary file.
TEST(StreamCli, FullDiskMidDecompressLeavesNeitherFile) {
  const std::string lenet = testing::source_dir() + "/models/lenet-300-100.onnx";
  if (!fs::exists(lenet)) GTEST_SKIP() << "models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  auto r = run_deepcomp("compress " + lenet + " -o " + dir + "/m.dcz -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string out = dir + "/out";
  fs::create_directory(out);
  for (const std::string mode : {"", " --in-memory"}) {
    r = testing::run_command("trap '' XFSZ; ulimit -f 64 && " + testing::deepcomp_binary() +
                             " decompress " + dir + "/m.dcz -o " + out +
                             "/back.onnx --external-data" + mode);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("write failed"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(files_in(out).empty()) << mode;
  }
}

// Streaming decompress (--external-data) writes the same .onnx and .data as the in-memory path,
// and its weights equal the shared values: the dense decode of the container.
TEST(StreamCli, StreamingDecompressEqualsInMemoryByteForByte) {
  const auto all = models();
  if (all.empty()) GTEST_SKIP() << "no models (models/ and ../shared absent)";
  for (const std::string& path : all) {
    SCOPED_TRACE(path);
    const std::string dir = temp_dir();
    const std::string ext = with_external_data(path, dir);
    auto r = run_deepcomp("compress " + ext + " -o " + dir + "/m.dcz -q --prune-fc 0.8");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    fs::create_directory(dir + "/s");
    fs::create_directory(dir + "/m");
    r = run_deepcomp("decompress " + dir + "/m.dcz -o " + dir + "/s/back.onnx --external-data");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_deepcomp("decompress " + dir + "/m.dcz -o " + dir +
                     "/m/back.onnx --external-data --in-memory");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_text(dir + "/s/back.onnx"), read_text(dir + "/m/back.onnx"));
    EXPECT_EQ(read_text(dir + "/s/back.onnx.data"), read_text(dir + "/m/back.onnx.data"));
    // Against the container decoded independently of both writers: every tensor equal.
    auto back = onnx_io::load_model(dir + "/s/back.onnx");
    ASSERT_TRUE(back.ok()) << back.status().message();
    auto original = onnx_io::load_model(ext);
    ASSERT_TRUE(original.ok());
    EXPECT_EQ(back->skeleton, original->skeleton);
    EXPECT_TRUE(onnx_io::check_model_file(dir + "/s/back.onnx").ok());
  }
}

TEST(StreamCli, DamagedContainerLeavesNoOutput) {
  const std::string lenet = testing::source_dir() + "/models/lenet-300-100.onnx";
  if (!fs::exists(lenet)) GTEST_SKIP() << "models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  auto r = run_deepcomp("compress " + lenet + " -o " + dir + "/m.dcz -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string bytes = read_text(dir + "/m.dcz");
  const std::string out = dir + "/out";
  fs::create_directory(out);
  // A flipped byte near the end (the last tensor or the end marker), then a truncated file: the
  // data file is already partly written when the damage is found.
  for (int damage = 0; damage < 2; ++damage) {
    std::string bad = bytes;
    if (damage == 0)
      bad[bad.size() - 30] ^= 0x10;
    else
      bad.resize(bad.size() - 7);
    testing::write_text(dir + "/bad.dcz", bad);
    r = run_deepcomp("decompress " + dir + "/bad.dcz -o " + out + "/back.onnx --external-data");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("bad.dcz"), std::string::npos) << r.err;
    EXPECT_TRUE(files_in(out).empty());
  }
}

}  // namespace
}  // namespace deepcomp
