// `deepcomp inspect` end to end: totals against the shared models' PROVENANCE.tsv, statistics of a
// hand-built model against hand-worked values, and one-line errors (exit 1) on bad files.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/onnx_io/fixture_util.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {
using nlohmann::json;
using onnx_io::testing::add_node;
using onnx_io::testing::add_value;
using onnx_io::testing::float_tensor;
using onnx_io::testing::make_model;
using onnx_io::testing::serialize;
using testing::run_deepcomp;
using testing::temp_dir;
using testing::write_text;

std::vector<std::map<std::string, std::string>> read_provenance(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string cell;
    while (std::getline(ss, cell, '\t')) out.push_back(cell);
    return out;
  };
  if (std::getline(in, line)) header = split(line);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto cells = split(line);
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(row);
  }
  return rows;
}

TEST(InspectCli, SharedModelTotalsMatchProvenance) {
  DEEPCOMP_REQUIRE_SHARED();
  const std::string models = testing::shared_dir() + "/models";
  auto rows = read_provenance(models + "/PROVENANCE.tsv");
  ASSERT_EQ(rows.size(), 8u);
  for (const auto& row : rows) {
    SCOPED_TRACE(row.at("file"));
    auto r = run_deepcomp("inspect --json '" + models + "/" + row.at("file") + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json doc = json::parse(r.out);
    EXPECT_EQ(doc["total"]["params"].get<int64_t>(), std::stoll(row.at("params_total")));
    EXPECT_EQ(doc["total"]["initializer_params"].get<int64_t>(),
              std::stoll(row.at("params_initializers")));
    EXPECT_EQ(doc["total"]["constant_node_params"].get<int64_t>(),
              std::stoll(row.at("params_constant_nodes")));
    EXPECT_EQ(doc["producer"].get<std::string>(), row.at("producer"));
    EXPECT_EQ(doc["opsets"][0]["version"].get<int64_t>(), std::stoll(row.at("opset")));
    EXPECT_EQ(doc["inputs"][0]["name"].get<std::string>(), row.at("input"));
    // The text report of the same model names every tensor and the same total.
    auto text = run_deepcomp("inspect '" + models + "/" + row.at("file") + "'");
    ASSERT_EQ(text.exit_code, 0);
    for (const json& t : doc["tensors"])
      EXPECT_NE(text.out.find(t["name"].get<std::string>()), std::string::npos);
    EXPECT_NE(text.out.find(row.at("params_total") + " params"), std::string::npos);
  }
}

TEST(InspectCli, StatisticsShapesAndLocationsOfAHandBuiltModel) {
  auto m = make_model();
  auto* g = m.mutable_graph();
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("batch");
  tt->mutable_shape()->add_dim()->set_dim_value(2);
  *g->add_initializer() = float_tensor("w", {2, 2}, {0.0f, 1.0f, 2.0f, -3.0f});
  *g->add_initializer() = float_tensor("empty", {0}, {});
  auto* ids = g->add_initializer();
  ids->set_name("ids");
  ids->set_data_type(onnx::TensorProto::INT64);
  ids->add_dims(2);
  ids->add_int64_data(4);
  ids->add_int64_data(10);
  auto* c = add_node(g, "Constant", {}, {"k"}, "const_k");
  auto* a = c->add_attribute();
  a->set_name("value_floats");
  a->set_type(onnx::AttributeProto::FLOATS);
  a->add_floats(5.0f);
  add_node(g, "MatMul", {"x", "w"}, {"y"});
  add_value(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {});
  const std::string path = temp_dir() + "/hand.onnx";
  write_text(path, serialize(m));

  auto r = run_deepcomp("inspect --json '" + path + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["inputs"][0]["shape"], json::parse(R"(["batch", 2])"));
  ASSERT_EQ(doc["tensors"].size(), 4u);
  const json& w = doc["tensors"][0];
  EXPECT_EQ(w["role"], "fc");
  EXPECT_EQ(w["location"], "initializer");
  EXPECT_EQ(w["params"], 4);
  EXPECT_EQ(w["bytes"], 16);
  EXPECT_DOUBLE_EQ(w["min"].get<double>(), -3.0);
  EXPECT_DOUBLE_EQ(w["max"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(w["mean"].get<double>(), 0.0);
  EXPECT_NEAR(w["std"].get<double>(), std::sqrt(14.0 / 4.0), 1e-12);
  EXPECT_DOUBLE_EQ(w["zeros"].get<double>(), 0.25);
  EXPECT_TRUE(doc["tensors"][1]["min"].is_null());  // empty tensor
  const json& i64 = doc["tensors"][2];
  EXPECT_EQ(i64["dtype"], "int64");
  EXPECT_DOUBLE_EQ(i64["mean"].get<double>(), 7.0);
  EXPECT_EQ(doc["tensors"][3]["location"], "Constant node const_k");
  EXPECT_EQ(doc["total"]["params"], 7);
  EXPECT_EQ(doc["total"]["initializer_params"], 6);
  EXPECT_EQ(doc["total"]["constant_node_params"], 1);
  EXPECT_EQ(doc["by_role"]["fc"]["params"], 4);
  EXPECT_EQ(doc["by_role"]["other"]["tensors"], 3);

  auto text = run_deepcomp("inspect '" + path + "'");
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("x float32 [batch,2]"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("0.250"), std::string::npos);
}

// Runs inspect on `path`; expects exit 1 and one stderr line naming the file and `problem`.
void expect_one_line_error(const std::string& path, const std::string& problem) {
  SCOPED_TRACE(path);
  auto r = run_deepcomp("inspect '" + path + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty());
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  EXPECT_EQ(r.err.rfind("deepcomp: " + path + ": ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(problem), std::string::npos) << r.err;
}

onnx::ModelProto external_model(const std::string& location, int64_t offset, int64_t length) {
  auto m = make_model();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("w_ext");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(4);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  for (auto [k, v] : {std::pair<std::string, std::string>{"location", location},
                      {"offset", std::to_string(offset)},
                      {"length", std::to_string(length)}}) {
    auto* e = t->add_external_data();
    e->set_key(k);
    e->set_value(v);
  }
  return m;
}

TEST(InspectCli, BadFilesGiveOneLineErrorsNamingFileAndProblem) {
  const std::string dir = temp_dir();
  expect_one_line_error(dir + "/missing.onnx", "No such file");
  expect_one_line_error(dir, "is a directory");
  write_text(dir + "/empty.onnx", "");
  expect_one_line_error(dir + "/empty.onnx", "not a valid ONNX model (empty file)");
  std::string noise(4096, '\0');
  uint32_t x = 12345;
  for (char& ch : noise) {
    x = x * 1664525u + 1013904223u;
    ch = static_cast<char>(x >> 24);
  }
  write_text(dir + "/random.onnx", noise);
  expect_one_line_error(dir + "/random.onnx", "not a valid ONNX model (protobuf parse failed)");

  // A real model cut in half.
  auto m = make_model();
  std::vector<float> big(5000, 0.25f);
  *m.mutable_graph()->add_initializer() = float_tensor("big", {50, 100}, big);
  const std::string whole = serialize(m);
  write_text(dir + "/truncated.onnx", whole.substr(0, whole.size() / 2));
  expect_one_line_error(dir + "/truncated.onnx", "not a valid ONNX model (protobuf parse failed)");

  write_text(dir + "/ext_missing.onnx", serialize(external_model("gone.bin", 0, 16)));
  expect_one_line_error(dir + "/ext_missing.onnx", "tensor 'w_ext': external data file");
  expect_one_line_error(dir + "/ext_missing.onnx", "gone.bin' is missing");
  write_text(dir + "/short.bin", std::string(20, '\0'));
  write_text(dir + "/ext_short.onnx", serialize(external_model("short.bin", 8, 16)));
  expect_one_line_error(dir + "/ext_short.onnx", "short.bin' is 20 bytes, too short for offset 8");
  write_text(dir + "/ext_escape.onnx", serialize(external_model("../../etc/passwd", 0, 16)));
  expect_one_line_error(dir + "/ext_escape.onnx", "'../../etc/passwd' escapes the model's folder");
  write_text(dir + "/ext_abs.onnx", serialize(external_model("/etc/passwd", 0, 16)));
  expect_one_line_error(dir + "/ext_abs.onnx", "'/etc/passwd' is absolute");

  auto bad_dtype = make_model();
  auto t = float_tensor("odd", {1}, {1.0f});
  t.set_data_type(99);
  *bad_dtype.mutable_graph()->add_initializer() = t;
  write_text(dir + "/dtype.onnx", serialize(bad_dtype));
  expect_one_line_error(dir + "/dtype.onnx", "tensor 'odd': unknown data type code 99");

  auto bad_len = make_model();
  *bad_len.mutable_graph()->add_initializer() =
      float_tensor("fc1.weight", {300, 784}, std::vector<float>(300, 1.0f));
  write_text(dir + "/length.onnx", serialize(bad_len));
  expect_one_line_error(dir + "/length.onnx",
                        "tensor 'fc1.weight': data is 1200 bytes, shape [300,784] float32 needs "
                        "940800");

  auto huge = make_model();
  *huge.mutable_graph()->add_initializer() =
      float_tensor("huge", {1000000, 1000000, 1000}, std::vector<float>(256, 1.0f));
  write_text(dir + "/huge.onnx", serialize(huge));
  expect_one_line_error(dir + "/huge.onnx", "tensor 'huge': data is 1024 bytes");
}

}  // namespace
}  // namespace deepcomp
