// Hostile output paths through the CLI (docs/ROBUSTNESS.md): special files are never replaced,
// even with --force; a dangling symlink counts as existing; two deepcomp processes racing to one
// new output without --force: exactly one succeeds and the file is whole.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/stat.h>

#include <filesystem>

#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_command;
using testing::run_deepcomp;
using testing::temp_dir;
using testing::write_text;

// A 1-layer MLP y = Gemm(x, W[8x6]) written to `dir`/m.onnx.
std::string small_model(const std::string& dir) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("g");
  auto* w = g->add_initializer();
  w->set_name("fc.weight");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(8);
  w->add_dims(6);
  for (int i = 0; i < 48; ++i) w->add_float_data(0.02f * static_cast<float>(i % 13) - 0.1f);
  auto* n = g->add_node();
  n->set_name("fc");
  n->set_op_type("Gemm");
  n->add_input("x");
  n->add_input("fc.weight");
  n->add_output("y");
  auto* tb = n->add_attribute();
  tb->set_name("transB");
  tb->set_type(onnx::AttributeProto::INT);
  tb->set_i(1);
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_value(1);
  tt->mutable_shape()->add_dim()->set_dim_value(6);
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  const std::string path = dir + "/m.onnx";
  write_text(path, m.SerializeAsString());
  return path;
}

bool one_line(const std::string& err) { return std::count(err.begin(), err.end(), '\n') <= 1; }

TEST(HostileOutput, DevNullWithForceIsRefusedAndUntouched) {
  const std::string model = small_model(temp_dir());
  struct stat before {};
  ASSERT_EQ(::stat("/dev/null", &before), 0);
  auto r = run_deepcomp("compress -q " + model + " -o /dev/null --force");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("/dev/null: is a character device"), std::string::npos) << r.err;
  EXPECT_TRUE(one_line(r.err)) << r.err;
  struct stat after {};
  ASSERT_EQ(::stat("/dev/null", &after), 0);
  EXPECT_TRUE(S_ISCHR(after.st_mode));
  EXPECT_EQ(after.st_ino, before.st_ino);
}

TEST(HostileOutput, FifoOutputIsRefusedWithForceByEveryWriter) {
  const std::string dir = temp_dir();
  const std::string model = small_model(dir);
  ASSERT_EQ(run_deepcomp("compress -q " + model + " -o " + dir + "/m.dcz").exit_code, 0);
  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& cmd : {"compress -q " + model + " -o " + fifo + " --force",
                                 "decompress " + dir + "/m.dcz -o " + fifo + " --force"}) {
    auto r = run_deepcomp(cmd);
    EXPECT_EQ(r.exit_code, 1) << cmd << "\n" << r.err;
    EXPECT_NE(r.err.find(fifo + ": is a FIFO"), std::string::npos) << r.err;
    EXPECT_TRUE(one_line(r.err)) << r.err;
    EXPECT_TRUE(fs::is_fifo(fifo));
  }
}

TEST(HostileOutput, DanglingSymlinkOutputIsRefusedWithoutForce) {
  const std::string dir = temp_dir();
  const std::string model = small_model(dir);
  const std::string link = dir + "/out.dcz";
  fs::create_symlink(dir + "/nowhere.dcz", link);
  auto r = run_deepcomp("compress -q " + model + " -o " + link);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(link + ": is a dangling symbolic link"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_FALSE(fs::exists(dir + "/nowhere.dcz"));
}

// Two `deepcomp compress` processes started together by one shell, 10 times: exactly one exit 0,
// the other exit 1 naming the path, the output a valid .dcz (decompress accepts it).
TEST(HostileOutput, TwoCompressProcessesRacingToOneNewOutputExactlyOneSucceeds) {
  const std::string dir = temp_dir();
  const std::string model = small_model(dir);
  const std::string bin = testing::deepcomp_binary();
  for (int round = 0; round < 10; ++round) {
    const std::string out = dir + "/race" + std::to_string(round) + ".dcz";
    const std::string one = "'" + bin + "' compress -q " + model + " -o " + out;
    auto r = run_command("(" + one + " 2>" + dir + "/e1; echo $? >" + dir + "/rc1) & (" + one +
                         " 2>" + dir + "/e2; echo $? >" + dir + "/rc2) & wait");
    ASSERT_EQ(r.exit_code, 0);
    const int rc1 = std::stoi(read_text(dir + "/rc1"));
    const int rc2 = std::stoi(read_text(dir + "/rc2"));
    ASSERT_EQ((rc1 == 0) + (rc2 == 0), 1) << "round " << round << ": " << rc1 << ", " << rc2;
    const std::string loser_err = read_text(dir + (rc1 == 0 ? "/e2" : "/e1"));
    EXPECT_NE(loser_err.find(out + ": exists"), std::string::npos) << loser_err;
    auto d = run_deepcomp("decompress " + out + " -o " + out + ".onnx");
    EXPECT_EQ(d.exit_code, 0) << d.err;
  }
  // Nothing temporary left: the model, e1/e2/rc1/rc2, and 10 pairs of outputs.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1 + 4 + 20);
}

}  // namespace
}  // namespace deepcomp
