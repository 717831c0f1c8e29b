// The CNN operators against PyTorch on the cases the ONNX backend node tests do not cover (Conv
// 3-D, ConvTranspose 1-D/3-D with groups and dilations, GroupNormalization-21, InstanceNorm 3-D,
// LRN, Resize vs interpolate incl. axes, GridSample in every mode/padding). Expected outputs were
// written by tests/runtime/data/make_cnn_torch_cases.py into cnn_torch_cases.json.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/session.h"
#include "tests/runtime/graph_builder.h"

namespace deepcomp::runtime {
namespace {

using nlohmann::json;
using testing::GraphBuilder;

const char* kCases = DEEPCOMP_SOURCE_DIR "/tests/runtime/data/cnn_torch_cases.json";

Value value_of(const json& t) {
  std::vector<int64_t> shape = t["shape"].get<std::vector<int64_t>>();
  if (t["dtype"] == "int64") return Value::ints(shape, t["data"].get<std::vector<int64_t>>());
  return Value::floats(shape, t["data"].get<std::vector<float>>());
}

Attribute attribute_of(const std::string& name, const json& a) {
  Attribute out;
  out.name = name;
  if (a.contains("i")) {
    out.type = Attribute::Type::kInt;
    out.i = a["i"].get<int64_t>();
  } else if (a.contains("f")) {
    out.type = Attribute::Type::kFloat;
    out.f = a["f"].get<float>();
  } else if (a.contains("s")) {
    out.type = Attribute::Type::kString;
    out.s = a["s"].get<std::string>();
  } else if (a.contains("ints")) {
    out.type = Attribute::Type::kInts;
    out.ints = a["ints"].get<std::vector<int64_t>>();
  } else {
    out.type = Attribute::Type::kFloats;
    out.floats = a["floats"].get<std::vector<float>>();
  }
  return out;
}

TEST(CnnTorchCases, MatchPyTorch) {
  std::ifstream in(kCases);
  ASSERT_TRUE(in) << "missing " << kCases;
  const json doc = json::parse(in);
  ASSERT_GE(doc["cases"].size(), 30u);
  for (const json& c : doc["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    GraphBuilder b(c["opset"].get<int64_t>());
    std::vector<std::string> names;
    std::vector<Value> inputs;
    for (size_t k = 0; k < c["inputs"].size(); ++k) {
      const json& t = c["inputs"][k];
      if (t.is_null()) {
        names.push_back("");
        continue;
      }
      names.push_back("x" + std::to_string(k));
      inputs.push_back(value_of(t));
      b.input(names.back(), inputs.back().dtype);
    }
    std::vector<Attribute> attrs;
    for (const auto& [key, a] : c["attrs"].items()) attrs.push_back(attribute_of(key, a));
    b.node(c["op"], names, {"y"}, attrs).output("y");
    auto session = Session::create(b.model());
    ASSERT_TRUE(session.ok()) << session.status().message();
    auto out = session->run(inputs);
    ASSERT_TRUE(out.ok()) << out.status().message();
    const Value want = value_of(c["outputs"][0]);
    const Value& got = (*out)[0];
    ASSERT_EQ(got.shape, want.shape);
    ASSERT_EQ(got.dtype, want.dtype);
    const double tol = c["tol"].get<double>();
    int bad = 0;
    for (int64_t e = 0; e < want.numel(); ++e) {
      const double g = got.as_double(e), w = want.as_double(e);
      if (std::fabs(g - w) > tol * (1 + std::fabs(w)) && ++bad <= 5) {
        ADD_FAILURE() << name << "[" << e << "]: got " << g << ", want " << w;
      }
    }
  }
}

}  // namespace
}  // namespace deepcomp::runtime
