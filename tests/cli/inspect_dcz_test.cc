// `deepcomp inspect FILE.dcz`: agrees with the compress report that wrote the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace deepcomp {
namespace {

TEST(InspectDcz, AgreesWithTheCompressReport) {
  const std::string model = testing::source_dir() + "/models/lenet-5.onnx";
  if (!std::filesystem::exists(model)) GTEST_SKIP() << "models/lenet-5.onnx absent";
  const std::string dir = testing::temp_dir();
  auto r = testing::run_deepcomp("compress " + model + " -o " + dir + "/m.dcz -q --report-json " +
                                 dir + "/r.json --prune-fc 0.9 --prune-conv 0.5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = testing::run_deepcomp("inspect " + dir + "/m.dcz --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto inspect = nlohmann::json::parse(r.out);
  const auto report = nlohmann::json::parse(testing::read_text(dir + "/r.json"));
  EXPECT_EQ(inspect["total"]["params"], 431080);
  EXPECT_EQ(inspect["total"]["nonzero"], report["total"]["nonzero"]);
  EXPECT_EQ(inspect["file_bytes"].get<double>(), report["total"]["file_bytes"].get<double>());
  ASSERT_EQ(inspect["tensors"].size(), report["layers"].size());
  uint64_t sections = 0;
  for (size_t i = 0; i < inspect["tensors"].size(); ++i) {
    const auto& t = inspect["tensors"][i];
    const auto& l = report["layers"][i];
    EXPECT_EQ(t["name"], l["name"]);
    EXPECT_EQ(t["nonzero"], l["nonzero"]);
    EXPECT_EQ(t["encoding"], l["compressed"].get<bool>() ? "sparse+shared" : "lossless");
    if (l["compressed"].get<bool>()) {
      EXPECT_EQ(t["clusters"], l["clusters"]);
      EXPECT_EQ(t["index_bits"], l["index_bits"]);
    }
    sections += t["section_bytes"].get<uint64_t>();
  }
  EXPECT_LT(sections, inspect["file_bytes"].get<uint64_t>());
  EXPECT_EQ(inspect["model"]["inputs"][0]["name"], "input");

  r = testing::run_deepcomp("inspect " + dir + "/m.dcz");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sparse+shared"), std::string::npos);
  EXPECT_NE(r.out.find("fc1.weight"), std::string::npos);
}

TEST(InspectDcz, DamagedFileIsAOneLineError) {
  const std::string dir = testing::temp_dir();
  testing::write_text(dir + "/bad.dcz", std::string("DCZ\x1a\x01\x00garbage", 13));
  auto r = testing::run_deepcomp("inspect " + dir + "/bad.dcz");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.dcz"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace deepcomp
