// The public C++ API (include/deepcomp/deepcomp.h) against the `deepcomp` command, which is the
// independent reference here: the same settings must give the same report, the same bytes on
// disk, the same inspect document and the same outputs; and bad input must give the errors the
// header promises.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/npy.h"
#include "deepcomp/deepcomp.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_deepcomp;
using testing::temp_dir;

std::string model_path(const std::string& name) {
  return testing::source_dir() + "/models/" + name;
}

TEST(PublicApi, CompressFileGivesTheCommandsReportAndFile) {
  const std::string dir = temp_dir();
  auto cli = run_deepcomp("compress " + model_path("lenet-300-100.onnx") + " -o " + dir +
                          "/cli.dcz --prune-fc 0.9 --bits-fc 4 --no-energy -q "
                          "--report-json " +
                          dir + "/cli.json");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const nlohmann::json want = nlohmann::json::parse(read_text(dir + "/cli.json"));

  CompressOptions options;
  options.prune_fc = 0.9;
  options.bits_fc = 4;
  auto report = compress_file(model_path("lenet-300-100.onnx"), dir + "/api.dcz", options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_GT(report->ratio(), 5.0);
  EXPECT_EQ(report->ratio(), want["total"]["ratio"].get<double>());
  EXPECT_EQ(report->params, want["total"]["params"].get<int64_t>());
  EXPECT_EQ(report->nonzero, want["total"]["nonzero"].get<int64_t>());
  // The same container, byte for byte.
  EXPECT_EQ(read_text(dir + "/api.dcz"), read_text(dir + "/cli.dcz"));

  // The JSON form has the --report-json keys and values (seconds aside).
  options.energy = false;
  options.overwrite = true;
  auto json = compress_file_json(model_path("lenet-300-100.onnx"), dir + "/api.dcz", options);
  ASSERT_TRUE(json.ok()) << json.status().message();
  nlohmann::json got = nlohmann::json::parse(*json);
  nlohmann::json expected = want;
  for (auto* doc : {&got, &expected}) {
    (*doc)["total"].erase("seconds");
    for (auto& layer : (*doc)["layers"]) layer.erase("seconds");
  }
  EXPECT_EQ(got, expected);
}

TEST(PublicApi, CompressFileRefusesToReplaceWithoutOverwriteAndChecksOptions) {
  const std::string dir = temp_dir();
  testing::write_text(dir + "/exists.dcz", "keep me");
  auto r = compress_file(model_path("lenet-300-100.onnx"), dir + "/exists.dcz");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exists"), std::string::npos) << r.status().message();
  EXPECT_EQ(read_text(dir + "/exists.dcz"), "keep me");

  CompressOptions bad;
  bad.bits_fc = 17;
  Status s = validate_compress_options(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("bits"), std::string::npos) << s.message();
  bad = {};
  bad.init = "nonsense";
  EXPECT_FALSE(compress_file(model_path("lenet-300-100.onnx"), dir + "/x.dcz", bad).ok());
  EXPECT_FALSE(fs::exists(dir + "/x.dcz"));
  EXPECT_FALSE(compress_file(dir + "/missing.onnx", dir + "/x.dcz").ok());
}

TEST(PublicApi, DecompressAndInspectMatchTheCommand) {
  const std::string dir = temp_dir();
  ASSERT_TRUE(compress_file(model_path("lenet-5.onnx"), dir + "/m.dcz").ok());
  ASSERT_TRUE(decompress_file(dir + "/m.dcz", dir + "/api.onnx").ok());
  auto cli = run_deepcomp("decompress " + dir + "/m.dcz -o " + dir + "/cli.onnx");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(read_text(dir + "/api.onnx"), read_text(dir + "/cli.onnx"));
  EXPECT_FALSE(decompress_file(dir + "/m.dcz", dir + "/api.onnx").ok());  // exists
  DecompressOptions replace;
  replace.overwrite = true;
  EXPECT_TRUE(decompress_file(dir + "/m.dcz", dir + "/api.onnx", replace).ok());

  for (const std::string& path : {dir + "/m.dcz", model_path("lenet-5.onnx")}) {
    SCOPED_TRACE(path);
    auto doc = inspect(path);
    ASSERT_TRUE(doc.ok()) << doc.status().message();
    auto cmd = run_deepcomp("inspect " + path + " --json");
    ASSERT_EQ(cmd.exit_code, 0) << cmd.err;
    EXPECT_EQ(*doc + "\n", cmd.out);
  }
  EXPECT_FALSE(inspect(dir + "/missing.onnx").ok());
}

TEST(PublicApi, EnergyMatchesTheCommandWithoutTiming) {
  const std::string dir = temp_dir();
  ASSERT_TRUE(compress_file(model_path("lenet-300-100.onnx"), dir + "/m.dcz").ok());
  EnergyOptions options;
  options.compressed = dir + "/m.dcz";
  options.measure_latency = false;
  auto doc = energy(model_path("lenet-300-100.onnx"), options);
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  const nlohmann::json got = nlohmann::json::parse(*doc);
  // The command always times; the per-inference energy does not depend on timing.
  auto cmd = run_deepcomp("energy " + model_path("lenet-300-100.onnx") + " --compressed " + dir +
                          "/m.dcz --json --runs 1 --max-seconds 0.01");
  ASSERT_EQ(cmd.exit_code, 0) << cmd.err;
  const nlohmann::json want = nlohmann::json::parse(cmd.out);
  ASSERT_TRUE(got.contains("per_inference")) << got.dump();
  EXPECT_EQ(got["per_inference"], want["per_inference"]);
  EXPECT_EQ(got["model"], want["model"]);
}

// Deterministic inputs in [0, 1) for every input of `session`, free dimensions set to 1.
std::vector<std::pair<std::string, Array>> sample_inputs(const Session& session) {
  std::vector<std::pair<std::string, Array>> feeds;
  uint32_t state = 12345;
  for (const TensorInfo& in : session.inputs()) {
    Array a;
    a.dtype = "float32";
    int64_t n = 1;
    for (int64_t d : in.shape) {
      a.shape.push_back(d < 0 ? 1 : d);
      n *= a.shape.back();
    }
    for (int64_t k = 0; k < n; ++k) {
      state = state * 1664525u + 1013904223u;
      a.f.push_back(static_cast<float>(state >> 8) / 16777216.0f);
    }
    feeds.emplace_back(in.name, std::move(a));
  }
  return feeds;
}

TEST(PublicApi, SessionRunGivesTheCommandsOutputsForOnnxAndDcz) {
  const std::string dir = temp_dir();
  ASSERT_TRUE(compress_file(model_path("lenet-5.onnx"), dir + "/m.dcz").ok());
  for (const std::string& path : {model_path("lenet-5.onnx"), dir + "/m.dcz"}) {
    SCOPED_TRACE(path);
    auto session = Session::open(path);
    ASSERT_TRUE(session.ok()) << session.status().message();
    ASSERT_EQ(session->input_names().size(), 1u);
    auto feeds = sample_inputs(*session);
    data::TypedArray npy;
    npy.dtype = DType::kFloat32;
    npy.shape = feeds[0].second.shape;
    npy.f = feeds[0].second.f;
    testing::write_text(dir + "/in.npy", *data::npy_bytes_typed(npy));
    auto cmd = run_deepcomp("run " + path + " --input " + feeds[0].first + "=" + dir +
                            "/in.npy -o " + dir + "/out.npy --force");
    ASSERT_EQ(cmd.exit_code, 0) << cmd.err;
    auto want = data::read_npy_typed(dir + "/out.npy");
    ASSERT_TRUE(want.ok());

    for (int repeat = 0; repeat < 3; ++repeat) {  // the Session is reusable
      auto outs = session->run(feeds);
      ASSERT_TRUE(outs.ok()) << outs.status().message();
      ASSERT_EQ(outs->size(), session->output_names().size());
      EXPECT_EQ((*outs)[0].first, session->output_names()[0]);
      const Array& got = (*outs)[0].second;
      EXPECT_EQ(got.dtype, "float32");
      ASSERT_EQ(got.shape, want->shape);
      ASSERT_EQ(got.f.size(), want->f.size());
      for (size_t k = 0; k < got.f.size(); ++k) EXPECT_EQ(got.f[k], want->f[k]) << k;
    }
  }
}

TEST(PublicApi, SessionRunNamesTheInputAtFault) {
  auto session = Session::open(model_path("lenet-300-100.onnx"));
  ASSERT_TRUE(session.ok()) << session.status().message();
  const std::string name = session->input_names()[0];
  auto expect_error = [&](std::vector<std::pair<std::string, Array>> feeds,
                          const std::string& needle) {
    auto r = session->run(std::move(feeds));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  expect_error({}, "input '" + name + "'");              // missing
  expect_error({{"nope", Array{}}}, "no input 'nope'");  // unknown
  auto good = sample_inputs(*session);
  Array wrong_dtype = good[0].second;
  wrong_dtype.dtype = "int64";
  wrong_dtype.i.assign(wrong_dtype.f.size(), 0);
  wrong_dtype.f.clear();
  expect_error({{name, wrong_dtype}}, "int64");
  Array short_data = good[0].second;
  short_data.f.pop_back();
  expect_error({{name, short_data}}, "elements");
  Array wrong_shape = good[0].second;
  wrong_shape.shape = {static_cast<int64_t>(wrong_shape.f.size())};
  expect_error({{name, wrong_shape}}, "takes");
  expect_error({good[0], good[0]}, "twice");
  EXPECT_TRUE(session->run(good).ok());  // still usable after errors

  EXPECT_FALSE(Session::open(model_path("lenet-300-100.onnx"), {"bogus", 1}).ok());
  EXPECT_FALSE(Session::open(temp_dir() + "/missing.onnx").ok());
}

}  // namespace
}  // namespace deepcomp
