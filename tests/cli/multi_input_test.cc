// `deepcomp run` on a model with three inputs (float32 batch, int64 scalar, bool vector) and three
// outputs: --input NAME=FILE.npy in every dtype, the plain batched form beside named inputs,
// .npz and typed .npy outputs checked against hand-worked values (and np.load when numpy is
// available), and the one-line errors of bad inputs, with nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "data/npy.h"
#include "data/npz.h"
#include "tests/cli/multi_io_models.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::run_deepcomp;
using testing::temp_dir;
using testing::write_text;

data::TypedArray floats(std::vector<int64_t> shape, std::vector<float> f,
                        DType dtype = DType::kFloat32) {
  data::TypedArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.f = std::move(f);
  return a;
}

data::TypedArray ints(DType dtype, std::vector<int64_t> shape, std::vector<int64_t> i) {
  data::TypedArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.i = std::move(i);
  return a;
}

void save(const std::string& path, const data::TypedArray& a) {
  auto bytes = data::npy_bytes_typed(a);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  write_text(path, *bytes);
}

// The model and its inputs: x = [[0,1,2],[3,4,5]], n = 3, m = [true,false,true].
struct Fixture {
  std::string dir = temp_dir();
  std::string model = dir + "/multi.onnx";
  Fixture() {
    write_text(model, testing::three_input_model());
    write_text(dir + "/int_first.onnx", testing::three_input_model(/*int_first=*/true));
    save(dir + "/x.npy", floats({2, 3}, {0, 1, 2, 3, 4, 5}));
    save(dir + "/n.npy", ints(DType::kInt64, {}, {3}));
    save(dir + "/m.npy", ints(DType::kBool, {3}, {1, 0, 1}));
  }
  std::string named() const {
    return " --input x=" + dir + "/x.npy --input n=" + dir + "/n.npy --input m=" + dir + "/m.npy";
  }
};

std::map<std::string, data::TypedArray> read_npz(const std::string& path) {
  std::map<std::string, data::TypedArray> out;
  auto members = data::read_stored_zip(testing::read_text(path));
  EXPECT_TRUE(members.ok()) << members.status().message();
  if (!members.ok()) return out;
  const std::string tmp = temp_dir() + "/member.npy";
  for (const auto& [name, bytes] : *members) {
    write_text(tmp, bytes);
    auto a = data::read_npy_typed(tmp);
    EXPECT_TRUE(a.ok()) << a.status().message();
    if (a.ok()) out[name] = *a;
  }
  return out;
}

// y = where(m, x, 0) * n = [[0,0,6],[9,0,15]]; z = n + 1 = 4; nm = not m = [false,true,false].
void expect_hand_worked_outputs(const std::map<std::string, data::TypedArray>& npz) {
  ASSERT_EQ(npz.size(), 3u);
  const data::TypedArray& y = npz.at("y.npy");
  EXPECT_EQ(y.dtype, DType::kFloat32);
  EXPECT_EQ(y.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(y.f, (std::vector<float>{0, 0, 6, 9, 0, 15}));
  const data::TypedArray& z = npz.at("z.npy");
  EXPECT_EQ(z.dtype, DType::kInt64);
  EXPECT_TRUE(z.shape.empty());
  EXPECT_EQ(z.i, (std::vector<int64_t>{4}));
  const data::TypedArray& nm = npz.at("nm.npy");
  EXPECT_EQ(nm.dtype, DType::kBool);
  EXPECT_EQ(nm.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(nm.i, (std::vector<int64_t>{0, 1, 0}));
}

TEST(RunInputs, NamedInputsOfThreeDtypesGiveEveryOutputInTheNpz) {
  Fixture f;
  auto r = run_deepcomp("run " + f.model + f.named() + " -o " + f.dir + "/out.npz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_hand_worked_outputs(read_npz(f.dir + "/out.npz"));
}

TEST(RunInputs, PlainBatchedFormMixesWithNamedInputs) {
  Fixture f;
  auto r = run_deepcomp("run " + f.model + " --input " + f.dir + "/x.npy --input n=" + f.dir +
                        "/n.npy --input m=" + f.dir + "/m.npy -o " + f.dir + "/out.npz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_hand_worked_outputs(read_npz(f.dir + "/out.npz"));
  // The plain form keeps converting any numeric array for a float input (here float64).
  save(f.dir + "/x64.npy", floats({2, 3}, {0, 1, 2, 3, 4, 5}, DType::kFloat64));
  r = run_deepcomp("run " + f.model + " --input " + f.dir + "/x64.npy --input n=" + f.dir +
                   "/n.npy --input m=" + f.dir + "/m.npy -o " + f.dir + "/y.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto y = data::read_npy_typed(f.dir + "/y.npy");
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->dtype, DType::kFloat32);
  EXPECT_EQ(y->f, (std::vector<float>{0, 0, 6, 9, 0, 15}));
}

TEST(RunInputs, NpyOutputOfAnIntegerFirstOutputKeepsItsDtype) {
  Fixture f;
  auto r = run_deepcomp("run " + f.dir + "/int_first.onnx" + f.named() + " -o " + f.dir + "/z.npy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto z = data::read_npy_typed(f.dir + "/z.npy");
  ASSERT_TRUE(z.ok()) << z.status().message();
  EXPECT_EQ(z->dtype, DType::kInt64);
  EXPECT_TRUE(z->shape.empty());
  EXPECT_EQ(z->i, (std::vector<int64_t>{4}));
}

// x float16[2] -> Cast to float32 -> y, and x itself as a second output (float16).
std::string half_model() {
  using onnx::TensorProto;
  onnx::ModelProto m = onnx_io::testing::make_model();
  auto* g = m.mutable_graph();
  testing::add_typed_value(g->mutable_input(), "x", TensorProto::FLOAT16, {2});
  testing::add_typed_value(g->mutable_output(), "y", TensorProto::FLOAT, {2});
  testing::add_typed_value(g->mutable_output(), "x_out", TensorProto::FLOAT16, {2});
  auto* cast = onnx_io::testing::add_node(g, "Cast", {"x"}, {"y"}, "cast");
  auto* to = cast->add_attribute();
  to->set_name("to");
  to->set_type(onnx::AttributeProto::INT);
  to->set_i(TensorProto::FLOAT);
  onnx_io::testing::add_node(g, "Identity", {"x"}, {"x_out"}, "id");
  return onnx_io::testing::serialize(m);
}

TEST(RunInputs, Float16InputTakesAFloat16ArrayAndTheNpzKeepsFloat16) {
  const std::string dir = temp_dir();
  write_text(dir + "/h.onnx", half_model());
  save(dir + "/h.npy", floats({2}, {0.5f, -3.0f}, DType::kFloat16));
  auto r = run_deepcomp("run " + dir + "/h.onnx --input x=" + dir + "/h.npy -o " + dir + "/o.npz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto npz = read_npz(dir + "/o.npz");
  ASSERT_EQ(npz.size(), 2u);
  EXPECT_EQ(npz.at("y.npy").dtype, DType::kFloat32);
  EXPECT_EQ(npz.at("y.npy").f, (std::vector<float>{0.5f, -3.0f}));
  EXPECT_EQ(npz.at("x_out.npy").dtype, DType::kFloat16);
  EXPECT_EQ(npz.at("x_out.npy").f, (std::vector<float>{0.5f, -3.0f}));
  // A float32 array for the float16 input is refused, naming both dtypes.
  save(dir + "/f.npy", floats({2}, {0.5f, -3.0f}));
  r = run_deepcomp("run " + dir + "/h.onnx --input x=" + dir + "/f.npy -o " + dir + "/p.npz");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("input 'x' is float16"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("float32"), std::string::npos) << r.err;
  // The plain form converts (and rounds to half precision): 0.1 becomes the nearest half.
  save(dir + "/p.npy", floats({2}, {0.1f, 1.0f}));
  r = run_deepcomp("run " + dir + "/h.onnx --input " + dir + "/p.npy -o " + dir + "/q.npz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  npz = read_npz(dir + "/q.npz");
  EXPECT_EQ(npz.at("y.npy").f[0], 0.0999755859375f);  // half(0.1) = 1638/16384
}

TEST(RunInputs, NumPyLoadsTheNpz) {
  const char* env = std::getenv("PYTHON");
  // Debian's python3 (where install-deps.sh puts numpy) before whatever python3 PATH finds.
  const std::string python = env && *env                                   ? env
                             : std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3"
                                                                           : "python3";
  if (testing::run_command(python + " -c 'import numpy'").exit_code != 0)
    GTEST_SKIP() << "python3 with numpy is not available (set $PYTHON)";
  Fixture f;
  auto r = run_deepcomp("run " + f.model + f.named() + " -o " + f.dir + "/out.npz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  write_text(f.dir + "/check.py",
             "import numpy as np, sys\n"
             "z = np.load(sys.argv[1])\n"
             "assert sorted(z.files) == ['nm', 'y', 'z'], z.files\n"
             "assert z['y'].dtype == np.float32\n"
             "assert (z['y'] == np.array([[0, 0, 6], [9, 0, 15]], np.float32)).all()\n"
             "assert z['z'].dtype == np.int64 and z['z'].shape == () and int(z['z']) == 4\n"
             "assert z['nm'].dtype == np.bool_ and list(z['nm']) == [False, True, False]\n");
  r = testing::run_command(python + " " + f.dir + "/check.py " + f.dir + "/out.npz");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Each bad invocation: exit 1, one line on stderr holding every `expected` piece, no output.
void expect_input_error(const std::string& args, const std::vector<std::string>& expected,
                        const std::string& out) {
  auto r = run_deepcomp(args + " -o " + out);
  EXPECT_EQ(r.exit_code, 1) << args;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const std::string& piece : expected) {
    EXPECT_NE(r.err.find(piece), std::string::npos) << "missing '" << piece << "' in " << r.err;
  }
  EXPECT_FALSE(fs::exists(out)) << args;
}

TEST(RunInputs, BadInputsAreOneLineErrorsAndWriteNothing) {
  Fixture f;
  const std::string out = f.dir + "/out.npz";
  const std::string run = "run " + f.model;
  const std::string n = " --input n=" + f.dir + "/n.npy", m = " --input m=" + f.dir + "/m.npy";
  const std::string x = " --input x=" + f.dir + "/x.npy";
  // Unknown name: the model's inputs are listed.
  expect_input_error(run + x + n + m + " --input k=" + f.dir + "/n.npy",
                     {"no input 'k'", "x float32[N,3]", "n int64[]", "m bool[3]"}, out);
  // A required input missing: named with its dtype and shape.
  expect_input_error(run + x + n, {"input 'm'", "bool[3]", "not given"}, out);
  // The same name twice.
  expect_input_error(run + x + n + m + n, {"'n' given twice"}, out);
  // dtype mismatch: int32 for an int64 input, float64 for a float32 one.
  save(f.dir + "/n32.npy", ints(DType::kInt32, {}, {3}));
  expect_input_error(run + x + m + " --input n=" + f.dir + "/n32.npy",
                     {"input 'n'", "int64", "int32"}, out);
  save(f.dir + "/x64.npy", floats({2, 3}, {0, 1, 2, 3, 4, 5}, DType::kFloat64));
  expect_input_error(run + n + m + " --input x=" + f.dir + "/x64.npy",
                     {"input 'x'", "float32", "float64"}, out);
  // Shape mismatch against the static dims: m is [3], the array [4]; x's column count is 3.
  save(f.dir + "/m4.npy", ints(DType::kBool, {4}, {1, 0, 1, 1}));
  expect_input_error(run + x + n + " --input m=" + f.dir + "/m4.npy", {"input 'm'", "[3]", "[4]"},
                     out);
  save(f.dir + "/x24.npy", floats({2, 4}, std::vector<float>(8, 1.0f)));
  expect_input_error(run + n + m + " --input x=" + f.dir + "/x24.npy",
                     {"input 'x'", "[N,3]", "[2,4]"}, out);
  // A scalar input given a 1-element vector is a shape mismatch too.
  save(f.dir + "/n1.npy", ints(DType::kInt64, {1}, {3}));
  expect_input_error(run + x + m + " --input n=" + f.dir + "/n1.npy", {"input 'n'", "[]", "[1]"},
                     out);
  // Two plain inputs, and the plain form colliding with x=.
  expect_input_error(run + " --input " + f.dir + "/x.npy --input " + f.dir + "/x.npy" + n + m,
                     {"only one --input without NAME="}, out);
  expect_input_error(run + " --input " + f.dir + "/x.npy" + x + n + m, {"first input 'x'"}, out);
}

}  // namespace
}  // namespace deepcomp
