// Decompression bombs through the CLI (docs/ROBUSTNESS.md): a .dcz whose tensor header claims a
// far larger shape than the model declares, with every checksum recomputed so that only the claim
// is wrong; the same with the skeleton patched to agree. `inspect`, `decompress` and `run` must
// each refuse it with a one-line error naming the file and tensor, exit 1, nothing written, and
// stay under 300 MB (peak RSS of the deepcomp process, from wait4). The files are re-framed by
// the test's own writer (tests/compress/container_test_util.h), not by the code under test.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "data/idx.h"
#include "tests/compress/container_test_util.h"
#include "tests/measured_run.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using compress::container_test::build_file;
using compress::container_test::put_varint;
using testing::read_text;
using testing::temp_dir;
using testing::write_text;

constexpr int64_t kRows = 256, kCols = 784;  // the layer: fc.weight [256, 784]

onnx::ModelProto gemm_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("g");
  auto* w = g->add_initializer();
  w->set_name("fc.weight");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(kRows);
  w->add_dims(kCols);
  for (int64_t i = 0; i < kRows * kCols; ++i)
    w->add_float_data(0.001f * static_cast<float>((i * 7919) % 1001) - 0.5f);
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
  tt->mutable_shape()->add_dim()->set_dim_value(kCols);
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return m;
}

using Sections = std::vector<std::pair<uint8_t, std::string>>;

uint64_t get_varint(const std::string& b, size_t* pos) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(b.at((*pos)++));
    v |= uint64_t{byte & 0x7Fu} << shift;
    if (!(byte & 0x80)) return v;
  }
}

// The (kind, payload) of every section before the end marker (FORMAT.md framing).
Sections split_sections(const std::string& file) {
  Sections out;
  size_t pos = 6;
  for (;;) {
    const uint8_t kind = static_cast<uint8_t>(file.at(pos++));
    const uint64_t len = get_varint(file, &pos);
    if (kind == 'E') return out;
    out.emplace_back(kind, file.substr(pos, len));
    pos += len + 4;
  }
}

// Replaces the dims of the tensor payload `p` (name, dtype, role, rank, dims, rest...).
std::string with_dims(const std::string& p, const std::vector<uint64_t>& dims) {
  size_t pos = 0;
  const uint64_t name_len = get_varint(p, &pos);
  pos += name_len;
  get_varint(p, &pos);  // dtype
  pos += 1;             // role
  const size_t rank_at = pos;
  const uint64_t rank = get_varint(p, &pos);
  for (uint64_t i = 0; i < rank; ++i) get_varint(p, &pos);
  std::string out = p.substr(0, rank_at);
  put_varint(out, dims.size());
  for (uint64_t d : dims) put_varint(out, d);
  return out + p.substr(pos);
}

// A stored (uncompressed) skeleton blob whose fc.weight initializer declares `dims`.
std::string skeleton_with_dims(const std::string& skeleton_payload,
                               const std::vector<uint64_t>& dims) {
  size_t pos = 0;
  const uint8_t method = static_cast<uint8_t>(skeleton_payload.at(pos++));
  const uint64_t raw_size = get_varint(skeleton_payload, &pos);
  EXPECT_EQ(method, 0) << "the test model's skeleton is small enough to be stored";
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(skeleton_payload.substr(pos, raw_size)));
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_dims();
  for (uint64_t d : dims) w->add_dims(static_cast<int64_t>(d));
  const std::string bytes = m.SerializeAsString();
  std::string out(1, '\0');
  put_varint(out, bytes.size());
  return out + bytes;
}

using Measured = testing::MeasuredRun;

// Runs deepcomp ARGS in a child and reads its own peak RSS from wait4.
Measured run_measured(const std::vector<std::string>& args) {
  return testing::run_deepcomp_measured(args);
}

class DecompressionBomb : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(temp_dir());
    const std::string onnx_path = *dir_ + "/m.onnx";
    write_text(onnx_path, gemm_model().SerializeAsString());
    auto r =
        testing::run_deepcomp("compress -q --prune 0.9 " + onnx_path + " -o " + *dir_ + "/m.dcz");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    write_text(*dir_ + "/x.npy", data::npy_bytes({1, kCols}, std::vector<float>(kCols, 0.5f)));
  }
  static void TearDownTestSuite() { delete dir_; }

  // Writes the patched file and checks that each command refuses it.
  void expect_every_command_refuses(const Sections& sections, const std::string& name,
                                    const std::string& expect) {
    const std::string path = *dir_ + "/" + name;
    write_text(path, build_file(sections));
    const std::string out = *dir_ + "/out_" + name;
    const std::vector<std::vector<std::string>> commands = {
        {"inspect", path},
        {"decompress", path, "-o", out + ".onnx"},
        // The streaming reader (one section at a time) applies the same guard.
        {"decompress", path, "-o", out + ".onnx", "--external-data"},
        {"run", path, "--input", *dir_ + "/x.npy", "-o", out + ".npy"},
    };
    for (const auto& cmd : commands) {
      const Measured m = run_measured(cmd);
      std::printf("[ bomb ] %-10s %-16s exit %d, %.2f s, peak RSS %ld MB\n", cmd[0].c_str(),
                  name.c_str(), m.exit_code, m.seconds, m.max_rss_kb / 1024);
      EXPECT_EQ(m.exit_code, 1) << cmd[0] << ": " << m.err;
      EXPECT_LE(std::count(m.err.begin(), m.err.end(), '\n'), 1) << m.err;
      EXPECT_EQ(m.err.rfind("deepcomp: " + path + ": ", 0), 0u) << "must name the file: " << m.err;
      EXPECT_NE(m.err.find("'fc.weight'"), std::string::npos) << "must name the tensor: " << m.err;
      EXPECT_NE(m.err.find(expect), std::string::npos) << m.err;
      EXPECT_LT(m.max_rss_kb, 300 * 1024) << cmd[0] << " peaked at " << m.max_rss_kb << " KB";
    }
    EXPECT_FALSE(fs::exists(out + ".onnx"));
    EXPECT_FALSE(fs::exists(out + ".onnx.data"));
    EXPECT_FALSE(fs::exists(out + ".npy"));
  }

  // The sections of m.dcz with fc.weight's header claiming `dims` (and, if `skeleton_agrees`,
  // the skeleton declaring the same).
  Sections patched(const std::vector<uint64_t>& dims, bool skeleton_agrees) {
    Sections s = split_sections(read_text(*dir_ + "/m.dcz"));
    bool found = false;
    for (auto& [kind, payload] : s) {
      if (kind == 'G' && skeleton_agrees) payload = skeleton_with_dims(payload, dims);
      if (kind == 'T' && payload.find("fc.weight") == 1) {
        payload = with_dims(payload, dims);
        found = true;
      }
    }
    EXPECT_TRUE(found);
    return s;
  }

  static std::string* dir_;
};
std::string* DecompressionBomb::dir_ = nullptr;

TEST_F(DecompressionBomb, UnpatchedFileIsAcceptedByEveryCommand) {
  // The re-framing itself is sound: the file rebuilt with the real dims works everywhere.
  const std::string path = *dir_ + "/same.dcz";
  write_text(path, build_file(patched({kRows, kCols}, false)));
  EXPECT_EQ(run_measured({"inspect", path}).exit_code, 0);
  const Measured d = run_measured({"decompress", path, "-o", *dir_ + "/same.onnx"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  const Measured r =
      run_measured({"run", path, "--input", *dir_ + "/x.npy", "-o", *dir_ + "/same.npy"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(DecompressionBomb, HeaderClaiming16384x65536IsRefusedAgainstTheSkeleton) {
  expect_every_command_refuses(patched({16384, 65536}, false), "big.dcz",
                               "float32 [16384, 65536] but the model declares float32 [256, 784]");
}

TEST_F(DecompressionBomb, HeaderClaiming2To58ElementsIsRefusedAgainstTheSkeleton) {
  expect_every_command_refuses(patched({uint64_t{1} << 29, uint64_t{1} << 29}, false), "huge.dcz",
                               "but the model declares float32 [256, 784]");
}

TEST_F(DecompressionBomb, SkeletonPatchedToAgreeHitsTheDecompressionCap) {
  expect_every_command_refuses(patched({16384, 65536}, true), "agree.dcz",
                               "over the decompression cap");
}

TEST_F(DecompressionBomb, SkeletonPatchedToAgreeOn2To58ElementsHitsTheCap) {
  expect_every_command_refuses(patched({uint64_t{1} << 29, uint64_t{1} << 29}, true),
                               "agree_huge.dcz", "over the decompression cap");
}

}  // namespace
}  // namespace deepcomp
