// Outputs are written to a temp file in the destination folder and renamed (core/file_io.h), so
// SIGKILL at any moment during `deepcomp decompress` leaves the destination either as it was
// before (here: an older file, replaced with --force) or complete, never partial.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A Gemm chain with `layers` weights of rows x cols float32 (raw_data), patterned values.
std::string big_model_bytes(int layers, int64_t rows, int64_t cols) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("big");
  std::string prev = "x";
  for (int l = 0; l < layers; ++l) {
    auto* w = g->add_initializer();
    w->set_name("fc" + std::to_string(l) + ".weight");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(rows);
    w->add_dims(cols);
    std::string raw(static_cast<size_t>(rows * cols) * 4, '\0');
    for (size_t i = 0; i < raw.size() / 4; ++i) {
      // 16 values in hashed (not periodic) order: zstd gets ~8x, not the ~5000x of a short
      // period, which is over the .dcz decompression cap (max(64 MiB, 1024x the file)).
      uint64_t h = (static_cast<uint64_t>(i) + 1) * 0x9E3779B97F4A7C15ull;  // splitmix64
      h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
      h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
      h ^= h >> 31;
      const float v = 0.01f * static_cast<float>((h + static_cast<uint64_t>(l)) % 16) - 0.08f;
      std::memcpy(&raw[i * 4], &v, 4);
    }
    w->set_raw_data(std::move(raw));
    auto* n = g->add_node();
    n->set_name("fc" + std::to_string(l));
    n->set_op_type("MatMul");
    n->add_input(prev);
    n->add_input(w->name());
    prev = "h" + std::to_string(l);
    n->add_output(prev);
  }
  auto* in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto* out = g->add_output();
  out->set_name(prev);
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return m.SerializeAsString();
}

pid_t spawn(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

TEST(KillDuringWrite, DecompressKilledAtAnyMomentLeavesOldOrCompleteFile) {
  const std::string dir = testing::temp_dir();
  const std::string onnx_path = dir + "/big.onnx";
  testing::write_text(onnx_path, big_model_bytes(6, 2048, 4096));  // ~200 MB of weights
  const std::string dcz = dir + "/big.dcz";
  auto c = testing::run_deepcomp("compress -q " + onnx_path + " -o " + dcz + " --layer '*=skip'");
  ASSERT_EQ(c.exit_code, 0) << c.err;

  const std::string bin = testing::deepcomp_binary();
  const std::string target = dir + "/out.onnx";
  // The complete output, and how long writing it takes.
  const auto t0 = Clock::now();
  auto full = testing::run_deepcomp("decompress " + dcz + " -o " + dir + "/full.onnx");
  const double full_s = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const auto complete_size = fs::file_size(dir + "/full.onnx");
  const std::string complete = testing::read_text(dir + "/full.onnx");
  const std::string old = "an older model file that --force replaces";

  int saw_old = 0, saw_new = 0;
  for (int k = 0; k < 10; ++k) {
    testing::write_text(target, old);
    const pid_t pid = spawn({bin, "decompress", dcz, "-o", target, "--force"});
    ASSERT_GT(pid, 0);
    // Delays spread over the whole run (the last ones may land after it finished).
    std::this_thread::sleep_for(std::chrono::duration<double>(full_s * (0.05 + 0.1 * k)));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(fs::exists(target)) << "kill " << k << " removed the old file";
    const auto size = fs::file_size(target);
    if (size == old.size()) {
      EXPECT_EQ(testing::read_text(target), old) << "kill " << k;
      ++saw_old;
    } else {
      ASSERT_EQ(size, complete_size) << "kill " << k << " left a partial file";
      EXPECT_TRUE(testing::read_text(target) == complete) << "kill " << k;
      ++saw_new;
    }
    // Temp files a killed writer leaves sit beside the output under another name; remove them.
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name != "big.onnx" && name != "big.dcz" && name != "full.onnx" && name != "out.onnx")
        fs::remove(e.path());
    }
  }
  EXPECT_GT(saw_old, 0) << "no kill landed during the write; the delays are too long";
  RecordProperty("killed_before_rename", saw_old);
  RecordProperty("finished_before_kill", saw_new);
}

}  // namespace
}  // namespace deepcomp
