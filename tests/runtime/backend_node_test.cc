// Runs ONNX's backend node tests (/usr/share/libonnx-testdata: node, pytorch-converted,
// pytorch-operator) through the runtime: one test per case folder. A case whose model uses an
// operator, attribute value or dtype the runtime does not support is skipped with the reason
// (docs/OPERATORS.md lists them); every other case must reproduce the expected outputs within
// ONNX's default backend-test tolerances (rtol 1e-3, atol 1e-7).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "onnx_io/onnx_io.h"
#include "runtime/session.h"

namespace deepcomp::runtime {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTestData = "/usr/share/libonnx-testdata/data";
constexpr double kRtol = 1e-3, kAtol = 1e-7;

struct Case {
  std::string name;  // test name: source prefix + folder name
  std::string dir;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.dir; }

std::vector<Case> list_cases() {
  std::vector<Case> cases;
  const std::pair<const char*, const char*> sources[] = {
      {"node", "node_"}, {"pytorch-converted", "pyconv_"}, {"pytorch-operator", "pyop_"}};
  for (const auto& [folder, prefix] : sources) {
    const fs::path root = fs::path(kTestData) / folder;
    std::error_code ec;
    if (!fs::is_directory(root, ec)) continue;
    std::vector<Case> part;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
      if (!fs::exists(entry.path() / "model.onnx")) continue;
      std::string name = prefix + entry.path().filename().string();
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      part.push_back({name, entry.path().string()});
    }
    std::sort(part.begin(), part.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
    cases.insert(cases.end(), part.begin(), part.end());
  }
  return cases;
}

// Tallies over the whole run, printed at exit.
struct Tally {
  int passed = 0, failed = 0, skipped = 0;
  ~Tally() {
    if (passed + failed + skipped > 0) {
      std::printf("backend node tests: %d passed, %d failed, %d skipped (out of scope)\n", passed, failed, skipped);
    }
  }
};
Tally tally;

// In-scope cases excluded on purpose, with the reason (mirrored in docs/OPERATORS.md).
std::string excluded(const std::string& name) {
  if (name.find("_FLOAT_to_BFLOAT16") != std::string::npos) {
    return "the expected outputs (ONNX <= 1.13 test data) truncate float32 to bfloat16; the "
           "runtime rounds to nearest even, as the ONNX 1.14+ reference and PyTorch do";
  }
  return "";
}

// Every numeric dtype and bool, as the runtime's Value holds them; string and complex tensors
// are out of scope (the runtime is numeric only and has no complex arithmetic).
bool supported_dtype(DType d) { return is_runtime_dtype(d); }

// Reads a .pb tensor as a Value; empty result (with *skip set) for a dtype out of scope. `declared`
// is the graph's dtype for it: ONNX stores bfloat16 test tensors as their uint16 bits (numpy has
// no bfloat16), so a uint16 tensor declared bfloat16 is read back as bfloat16.
Result<Value> read_value(const std::string& path, DType declared, std::string* skip) {
  DEEPCOMP_ASSIGN_OR_RETURN(Tensor t, onnx_io::read_tensor_file(path));
  if (!supported_dtype(t.dtype)) {
    *skip = "dtype " + dtype_name(t.dtype) + " (runtime handles numeric dtypes and bool)";
    return Value{};
  }
  DEEPCOMP_ASSIGN_OR_RETURN(Value v, value_from_tensor(t));
  if (declared == DType::kBFloat16 && v.dtype == DType::kUInt16) {
    Value b = zeros_like_dtype(DType::kBFloat16, v.shape);
    for (size_t k = 0; k < b.f.size(); ++k) b.f[k] = bfloat16_to_float(static_cast<uint16_t>(v.i[k]));
    return b;
  }
  return v;
}

// Why a case is out of scope before it runs ("" when in scope).
std::string scope_of(const Model& model) {
  for (const Node& n : model.graph.nodes) {
    if (!n.domain.empty() && n.domain != "ai.onnx") return "operator " + n.domain + "." + n.op_type;
    if (!Session::supports_op(n.op_type)) return "operator " + n.op_type + " not supported";
  }
  for (const ValueInfo& vi : model.graph.inputs) {
    if (vi.dtype != DType::kUndefined && !supported_dtype(vi.dtype)) return "input dtype " + dtype_name(vi.dtype);
  }
  for (const ValueInfo& vi : model.graph.outputs) {
    if (vi.dtype != DType::kUndefined && !supported_dtype(vi.dtype)) return "output dtype " + dtype_name(vi.dtype);
  }
  return "";
}

bool close(double got, double want) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= kAtol + kRtol * std::fabs(want);
}

class BackendNodeTest : public ::testing::TestWithParam<Case> {};

TEST_P(BackendNodeTest, MatchesExpectedOutputs) {
  const Case& c = GetParam();
  if (const std::string why = excluded(c.name); !why.empty()) {
    ++tally.skipped;
    GTEST_SKIP() << "excluded: " << why;
  }
  auto model = onnx_io::load_model(c.dir + "/model.onnx");
  if (!model.ok()) {
    ++tally.skipped;
    GTEST_SKIP() << "onnx_io cannot load the model: " << model.status().message();
  }
  const std::string scope = scope_of(*model);
  if (!scope.empty()) {
    ++tally.skipped;
    GTEST_SKIP() << "out of scope: " << scope;
  }
  auto session = Session::create(*model);
  if (!session.ok() && session.status().message().find("not supported") != std::string::npos) {
    ++tally.skipped;
    GTEST_SKIP() << "out of scope: " << session.status().message();
  }
  ASSERT_TRUE(session.ok()) << session.status().message();
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(c.dir)) {
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  }
  std::sort(sets.begin(), sets.end());
  ASSERT_FALSE(sets.empty()) << "no test_data_set_* in " << c.dir;
  const size_t num_inputs = session->inputs().size();
  for (const fs::path& set : sets) {
    std::vector<Value> inputs, expected;
    std::string skip;
    for (size_t k = 0;; ++k) {
      const fs::path p = set / ("input_" + std::to_string(k) + ".pb");
      if (!fs::exists(p)) break;
      const DType declared = k < model->graph.inputs.size() ? model->graph.inputs[k].dtype : DType::kUndefined;
      auto v = read_value(p.string(), declared, &skip);
      if (!v.ok()) {
        // Sequence and optional inputs are not TensorProtos; tensors only are in scope.
        ++tally.skipped;
        GTEST_SKIP() << "out of scope: input is not a plain tensor (" << v.status().message() << ")";
      }
      inputs.push_back(std::move(v).value());
    }
    for (size_t k = 0;; ++k) {
      const fs::path p = set / ("output_" + std::to_string(k) + ".pb");
      if (!fs::exists(p)) break;
      const DType declared = k < model->graph.outputs.size() ? model->graph.outputs[k].dtype : DType::kUndefined;
      auto v = read_value(p.string(), declared, &skip);
      if (!v.ok()) {
        ++tally.skipped;
        GTEST_SKIP() << "out of scope: output is not a plain tensor (" << v.status().message() << ")";
      }
      expected.push_back(std::move(v).value());
    }
    if (!skip.empty()) {
      ++tally.skipped;
      GTEST_SKIP() << "out of scope: " << skip;
    }
    // Inputs given for initializers (old-style models) are not graph inputs of the Session.
    inputs.resize(std::min(inputs.size(), num_inputs));
    auto out = session->run(inputs);
    if (!out.ok() && out.status().message().find("not supported") != std::string::npos) {
      ++tally.skipped;
      GTEST_SKIP() << "out of scope: " << out.status().message();
    }
    if (!out.ok()) ++tally.failed;
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ(out->size(), expected.size());
    for (size_t k = 0; k < expected.size(); ++k) {
      const Value& got = (*out)[k];
      const Value& want = expected[k];
      const bool same_kind = got.dtype == want.dtype && got.shape == want.shape;
      if (!same_kind) ++tally.failed;
      ASSERT_TRUE(same_kind) << set << " output " << k << ": got " << describe(got) << ", want " << describe(want);
      int bad = 0;
      for (int64_t e = 0; e < want.numel(); ++e) {
        if (!close(got.as_double(e), want.as_double(e))) {
          if (++bad <= 5) ADD_FAILURE() << set << " output " << k << "[" << e << "]: got " << got.as_double(e) << ", want " << want.as_double(e);
        }
      }
      if (bad) {
        ++tally.failed;
        FAIL() << bad << " of " << want.numel() << " elements differ";
      }
    }
  }
  ++tally.passed;
}

INSTANTIATE_TEST_SUITE_P(Onnx, BackendNodeTest, ::testing::ValuesIn(list_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendNodeTest);

}  // namespace
}  // namespace deepcomp::runtime
