// Hostile and damaged inputs through the CLI (docs/ROBUSTNESS.md has one row per test here): each
// must fail with exit code 1 and a one-line error, leave no output file behind and leave the input
// byte-for-byte untouched. Inputs are made here: tiny ONNX models built with onnx's protobuf
// classes and .dcz files written by `deepcomp compress`.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "compress/container.h"
#include "onnx_io/onnx_io.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_deepcomp;
using testing::temp_dir;
using testing::write_text;

// y = Gemm(x, W[rows x cols], b) (+ Relu), W filled with small distinct values.
onnx::ModelProto gemm_model(int64_t rows, int64_t cols) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("g");
  auto* w = g->add_initializer();
  w->set_name("fc.weight");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(rows);
  w->add_dims(cols);
  for (int64_t i = 0; i < rows * cols; ++i) w->add_float_data(0.01f * static_cast<float>(i % 97) - 0.4f);
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
  in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(1);
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(cols);
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return m;
}

std::string write_model(const onnx::ModelProto& m, const std::string& name) {
  const std::string path = temp_dir() + "/" + name;
  write_text(path, m.SerializeAsString());
  return path;
}

// Runs `deepcomp ARGS` on `input` writing `output`; expects exit 1, a single-line error containing
// `expect`, no output (nor temp files) left and the input unchanged.
void expect_refused(const std::string& args, const std::string& input, const std::string& output,
                    const std::string& expect) {
  const std::string before = read_text(input);
  const auto mtime = fs::last_write_time(input);
  const auto folder_before = std::distance(fs::directory_iterator(fs::path(output).parent_path()),
                                           fs::directory_iterator{});
  auto r = run_deepcomp(args);
  EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
  EXPECT_NE(r.err.find(expect), std::string::npos) << args << "\nstderr: " << r.err;
  EXPECT_LE(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
  EXPECT_FALSE(fs::exists(output)) << output;
  EXPECT_EQ(std::distance(fs::directory_iterator(fs::path(output).parent_path()),
                          fs::directory_iterator{}),
            folder_before)
      << "a temp file was left beside " << output;
  EXPECT_EQ(read_text(input), before);
  EXPECT_EQ(fs::last_write_time(input), mtime);
}

std::string make_dcz(const std::string& name) {
  const std::string onnx_path = write_model(gemm_model(16, 12), name + ".onnx");
  const std::string dcz = temp_dir() + "/" + name + ".dcz";
  auto r = run_deepcomp("compress -q --prune 0.5 " + onnx_path + " -o " + dcz);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dcz;
}

TEST(HostileDcz, TruncatedAtEverySectionBoundaryIsRefused) {
  const std::string dcz = make_dcz("trunc");
  const std::string bytes = read_text(dcz);
  auto sections = compress::list_sections(bytes, dcz);
  ASSERT_TRUE(sections.ok()) << sections.status().message();
  const std::string out_dir = temp_dir();
  for (const auto& s : *sections) {
    for (uint64_t cut : {s.offset, s.offset + 1, s.offset + s.length - 1}) {
      if (cut >= bytes.size()) continue;
      const std::string in = out_dir + "/cut.dcz";
      write_text(in, bytes.substr(0, cut));
      expect_refused("decompress " + in + " -o " + out_dir + "/o.onnx", in, out_dir + "/o.onnx",
                     "cut.dcz");
    }
  }
}

TEST(HostileDcz, FlippedBitInEverySectionIsRefused) {
  const std::string dcz = make_dcz("flip");
  const std::string bytes = read_text(dcz);
  auto sections = compress::list_sections(bytes, dcz);
  ASSERT_TRUE(sections.ok());
  const std::string out_dir = temp_dir();
  for (const auto& s : *sections) {
    for (uint64_t at : {s.offset, s.offset + s.length / 2, s.offset + s.length - 1}) {
      std::string damaged = bytes;
      damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
      const std::string in = out_dir + "/flip.dcz";
      write_text(in, damaged);
      expect_refused("decompress " + in + " -o " + out_dir + "/o.onnx", in, out_dir + "/o.onnx",
                     "flip.dcz");
    }
  }
}

TEST(HostileOnnx, TruncatedModelIsRefused) {
  const std::string bytes = gemm_model(8, 8).SerializeAsString();
  const std::string dir = temp_dir();
  for (size_t cut : {size_t{1}, size_t{7}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string in = dir + "/t.onnx";
    write_text(in, bytes.substr(0, cut));
    expect_refused("compress " + in + " -o " + dir + "/o.dcz", in, dir + "/o.dcz", "t.onnx");
  }
}

TEST(HostileOnnx, HugeDeclaredDimensionsFailFastWithoutAllocating) {
  onnx::ModelProto m = gemm_model(2, 2);
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_dims(0, 1000000);
  w->set_dims(1, 1000000);  // 1e12 floats claimed, no data
  const std::string in = write_model(m, "huge.onnx");
  ASSERT_LT(fs::file_size(in), 1024u);
  expect_refused("compress " + in + " -o " + temp_dir() + "/o.dcz", in, temp_dir() + "/o.dcz",
                 "fc.weight");
}

TEST(HostileOnnx, NegativeAndOverflowingDimensionsAreRefused) {
  for (auto dims : {std::pair<int64_t, int64_t>{-4, -4}, {int64_t{1} << 62, 8}}) {
    onnx::ModelProto m = gemm_model(4, 4);
    m.mutable_graph()->mutable_initializer(0)->set_dims(0, dims.first);
    m.mutable_graph()->mutable_initializer(0)->set_dims(1, dims.second);
    const std::string in = write_model(m, "dims.onnx");
    expect_refused("compress " + in + " -o " + temp_dir() + "/o.dcz", in, temp_dir() + "/o.dcz",
                   "fc.weight");
  }
}

TEST(HostileOnnx, DuplicateTensorNamesAreRefused) {
  onnx::ModelProto m = gemm_model(4, 4);
  *m.mutable_graph()->add_initializer() = m.graph().initializer(0);
  const std::string in = write_model(m, "dup.onnx");
  expect_refused("compress " + in + " -o " + temp_dir() + "/o.dcz", in, temp_dir() + "/o.dcz",
                 "fc.weight");
}

TEST(HostileOnnx, ExternalDataOutsideTheModelFolderIsRefused) {
  for (const std::string location : {"../../etc/passwd", "/etc/passwd"}) {
    onnx::ModelProto m = gemm_model(4, 4);
    auto* w = m.mutable_graph()->mutable_initializer(0);
    w->clear_float_data();
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* e = w->add_external_data();
    e->set_key("location");
    e->set_value(location);
    const std::string in = write_model(m, "escape.onnx");
    expect_refused("compress " + in + " -o " + temp_dir() + "/o.dcz", in, temp_dir() + "/o.dcz",
                   "fc.weight");
  }
}

TEST(HostileOnnx, NanOrInfWeightsAreRefusedByCompressNamingTheTensor) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    onnx::ModelProto m = gemm_model(4, 4);
    m.mutable_graph()->mutable_initializer(0)->set_float_data(5, bad);
    const std::string in = write_model(m, "nan.onnx");
    expect_refused("compress " + in + " -o " + temp_dir() + "/o.dcz", in, temp_dir() + "/o.dcz",
                   "fc.weight");
  }
}

TEST(HostileOnnx, ZeroSizeTensorRoundTripsThroughCompressAndDecompress) {
  onnx::ModelProto m = gemm_model(4, 4);
  auto* z = m.mutable_graph()->add_initializer();
  z->set_name("empty");
  z->set_data_type(onnx::TensorProto::FLOAT);
  z->add_dims(0);
  z->add_dims(4);
  const std::string in = write_model(m, "zero.onnx");
  const std::string dir = temp_dir();
  auto c = run_deepcomp("compress -q " + in + " -o " + dir + "/z.dcz");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto d = run_deepcomp("decompress " + dir + "/z.dcz -o " + dir + "/z.onnx");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  auto back = onnx_io::load_model(dir + "/z.onnx");
  ASSERT_TRUE(back.ok()) << back.status().message();
  const Tensor* t = back->find_tensor("empty");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(t->numel(), 0);
}

// What the .dcz reader would refuse, compress refuses first (compress::check_storable, the code
// the reader runs), blaming the input file, not the output path.
TEST(HostileOnnx, ZeroSizeTensorWithAHugeDimensionIsRefusedByCompress) {
  onnx::ModelProto m = gemm_model(4, 4);
  auto* z = m.mutable_graph()->add_initializer();
  z->set_name("Z");
  z->set_data_type(onnx::TensorProto::FLOAT);
  z->add_dims(0);
  z->add_dims(int64_t{1} << 59);
  const std::string in = write_model(m, "zero_huge.onnx");
  const std::string out = temp_dir() + "/zh.dcz";
  expect_refused("compress -q " + in + " -o " + out, in, out, "tensor 'Z': dimension");
  auto r = run_deepcomp("compress -q " + in + " -o " + out);
  EXPECT_EQ(r.err.rfind("deepcomp: " + in + ": tensor 'Z'", 0), 0u) << r.err;
}

TEST(HostileOnnx, Rank1000TensorIsReportedAgainstTheInputNotTheOutput) {
  onnx::ModelProto m = gemm_model(4, 4);
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("R");
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int i = 0; i < 1000; ++i) t->add_dims(1);
  t->add_float_data(1.0f);
  const std::string in = write_model(m, "rank1000.onnx");
  const std::string out = temp_dir() + "/r.dcz";
  expect_refused("compress -q " + in + " -o " + out, in, out, "rank 1000 is over 64");
  auto r = run_deepcomp("compress -q " + in + " -o " + out);
  EXPECT_EQ(r.err, "deepcomp: " + in + ": tensor 'R': rank 1000 is over 64\n");
}

TEST(HostileGraph, CyclicGraphIsRejectedBySessionNamingANode) {
  onnx::ModelProto m = gemm_model(4, 4);
  auto* g = m.mutable_graph();
  // fc reads x2 (instead of x), relu reads y and writes x2: fc -> relu -> fc.
  g->mutable_node(0)->set_input(0, "x2");
  auto* relu = g->add_node();
  relu->set_name("loop_relu");
  relu->set_op_type("Relu");
  relu->add_input("y");
  relu->add_output("x2");
  auto model = onnx_io::parse_model(m.SerializeAsString(), "cycle.onnx", "");
  if (!model.ok()) {  // refusing it at load time is fine too, if it names a node
    EXPECT_TRUE(model.status().message().find("fc") != std::string::npos ||
                model.status().message().find("loop_relu") != std::string::npos)
        << model.status().message();
    return;
  }
  auto session = runtime::Session::create(*model);
  ASSERT_FALSE(session.ok());
  const std::string msg = session.status().message();
  EXPECT_TRUE(msg.find("'fc'") != std::string::npos || msg.find("'loop_relu'") != std::string::npos)
      << msg;
}

}  // namespace
}  // namespace deepcomp
