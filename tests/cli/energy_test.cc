// `deepcomp energy` end to end through the binary on the project's LeNet models: the JSON fields,
// layer work counted from a real run (checked against the architecture by hand), flag overrides
// showing up in the assumptions, the deployment arithmetic, --compressed, and bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::run_deepcomp;

std::string lenet(const char* name) { return testing::source_dir() + "/models/" + name; }

nlohmann::json energy_json(const std::string& args) {
  auto r = run_deepcomp("energy " + args + " --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return {};
  return nlohmann::json::parse(r.out);
}

constexpr const char* kFixedLatency =
    " --watts 50 --latency-ms-dense 1 --latency-ms-compressed 0.5";

TEST(EnergyCli, Lenet300ReportsEveryFieldAndCompressedIsCheaper) {
  auto j = energy_json(lenet("lenet-300-100.onnx") + kFixedLatency);
  ASSERT_FALSE(j.is_null());
  const auto& p = j["per_inference"];
  for (const char* k : {"dense_pj", "compressed_pj", "ratio", "batch", "layers"})
    EXPECT_TRUE(p.contains(k)) << k;
  EXPECT_GT(p["ratio"].get<double>(), 1.0);
  EXPECT_EQ(p["batch"].get<int>(), 1);
  const auto& d = j["deployment"];
  for (const char* k :
       {"dense_kwh", "compressed_kwh", "dense_kg_co2e", "compressed_kg_co2e", "saving_kwh",
        "saving_kg_co2e", "latency_ms_dense", "latency_ms_compressed", "power_source", "watts"})
    EXPECT_TRUE(d.contains(k)) << k;
  EXPECT_EQ(d["power_source"], "flag");
  EXPECT_EQ(d["watts"].get<double>(), 50.0);
  // 1 ms x 50 W = 0.05 J; x 1e6 inferences x PUE 1.58 = 79,000 J = 0.0219444 kWh.
  EXPECT_NEAR(d["dense_kwh"].get<double>(), 79000.0 / 3.6e6, 1e-12);
  EXPECT_NEAR(d["compressed_kwh"].get<double>(), 39500.0 / 3.6e6, 1e-12);
  EXPECT_NEAR(d["dense_kg_co2e"].get<double>(), 79000.0 / 3.6e6 * 0.4327, 1e-12);
  const auto& dl = j["download"];
  EXPECT_EQ(dl["dense_file_bytes"].get<double>(),
            static_cast<double>(fs::file_size(lenet("lenet-300-100.onnx"))));
  EXPECT_NEAR(dl["dense_kwh"].get<double>(),
              dl["dense_file_bytes"].get<double>() / 1e9 * 0.06 * 1e6, 1e-9);
  EXPECT_LT(dl["compressed_kwh"].get<double>(), dl["dense_kwh"].get<double>());
  for (const char* k :
       {"dram_pj", "sram_pj", "fmul_pj", "fadd_pj", "int_add_pj", "int8_add_pj", "codebook_pj",
        "on_chip_mb", "watts", "pue", "carbon", "kwh_per_gb", "inferences", "downloads"})
    EXPECT_TRUE(j["assumptions"].contains(k)) << k;
}

// 784 -> 300 -> 100 -> 10 fully connected: MACs are the weight counts, activations in + out.
TEST(EnergyCli, Lenet300LayerWorkMatchesTheArchitecture) {
  auto j = energy_json(lenet("lenet-300-100.onnx") + kFixedLatency);
  ASSERT_FALSE(j.is_null());
  const auto& layers = j["per_inference"]["layers"];
  ASSERT_EQ(layers.size(), 3u);
  const double macs[] = {784.0 * 300, 300.0 * 100, 100.0 * 10};
  const double act[] = {784 + 300, 300 + 100, 100 + 10};
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(layers[k]["kind"], "fc");
    EXPECT_EQ(layers[k]["macs"].get<double>(), macs[k]);
    EXPECT_DOUBLE_EQ(layers[k]["activation_pj"].get<double>(), act[k] * 5.0);
    EXPECT_LT(layers[k]["compressed_macs"].get<double>(), macs[k]);
  }
  // 266,610 fp32 parameters = 1,066,440 bytes: on chip under the 8 MiB default, so each weight
  // and bias word is one 5 pJ SRAM read. fc1 reads 235,200 weights + 300 biases.
  EXPECT_TRUE(j["per_inference"]["dense_on_chip"].get<bool>());
  EXPECT_DOUBLE_EQ(layers[0]["dense_weight_pj"].get<double>(), 235500 * 5.0);
}

// Conv layers: MACs = weights x output positions, read from the run's shapes.
TEST(EnergyCli, Lenet5ConvMacsAreWeightsTimesOutputPositions) {
  auto j = energy_json(lenet("lenet-5.onnx") + kFixedLatency);
  ASSERT_FALSE(j.is_null());
  const auto& layers = j["per_inference"]["layers"];
  ASSERT_GE(layers.size(), 2u);
  // Caffe LeNet-5: conv1 20x1x5x5 on 28x28 -> 24x24, conv2 50x20x5x5 on 12x12 -> 8x8.
  EXPECT_EQ(layers[0]["kind"], "conv");
  EXPECT_EQ(layers[0]["macs"].get<double>(), 500.0 * 24 * 24);
  EXPECT_EQ(layers[1]["kind"], "conv");
  EXPECT_EQ(layers[1]["macs"].get<double>(), 25000.0 * 8 * 8);
  EXPECT_GT(j["per_inference"]["ratio"].get<double>(), 1.0);
}

TEST(EnergyCli, FlagsOverrideAssumptionsAndShowUpInThem) {
  auto j = energy_json(lenet("lenet-300-100.onnx") + kFixedLatency +
                       " --dram-pj 1000 --on-chip-mb 0.5 --pue 1.2 --carbon 0.1 --batch 4"
                       " --inferences 2000 --downloads 10 --kwh-per-gb 0.5 --codebook-pj 0");
  ASSERT_FALSE(j.is_null());
  const auto& a = j["assumptions"];
  EXPECT_EQ(a["dram_pj"]["value"].get<double>(), 1000.0);
  EXPECT_NE(a["dram_pj"]["source"].get<std::string>().find("--dram-pj"), std::string::npos);
  EXPECT_NE(a["watts"]["source"].get<std::string>().find("--watts"), std::string::npos);
  EXPECT_NE(a["carbon"]["source"].get<std::string>().find("--carbon"), std::string::npos);
  EXPECT_EQ(a["pue"]["value"].get<double>(), 1.2);
  // 1,066,440 B > 0.5 MiB: the dense weights now stream from DRAM at 1000 pJ, once per batch of 4.
  const auto& p = j["per_inference"];
  EXPECT_FALSE(p["dense_on_chip"].get<bool>());
  EXPECT_EQ(p["batch"].get<int>(), 4);
  EXPECT_DOUBLE_EQ(p["layers"][0]["dense_weight_pj"].get<double>(), 235500 * 1000.0 / 4);
  EXPECT_EQ(p["layers"][0]["codebook_pj"].get<double>(), 0.0);
  // 0.05 J x 2000 x 1.2 = 120 J.
  EXPECT_NEAR(j["deployment"]["dense_kwh"].get<double>(), 120.0 / 3.6e6, 1e-15);
  EXPECT_NEAR(j["deployment"]["dense_kg_co2e"].get<double>(), 120.0 / 3.6e6 * 0.1, 1e-15);
  EXPECT_NEAR(j["download"]["dense_kwh"].get<double>(),
              j["download"]["dense_file_bytes"].get<double>() / 1e9 * 0.5 * 10, 1e-12);
}

TEST(EnergyCli, RegionPresetSetsCarbonAndUnknownRegionIsAnError) {
  auto j = energy_json(lenet("lenet-300-100.onnx") + kFixedLatency + " --region fr");
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["deployment"]["kg_co2e_per_kwh"].get<double>(), 0.056);
  EXPECT_NE(j["assumptions"]["carbon"]["source"].get<std::string>().find("France"),
            std::string::npos);
  auto bad = run_deepcomp("energy " + lenet("lenet-300-100.onnx") + " --region atlantis");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("atlantis"), std::string::npos) << bad.err;
  auto both = run_deepcomp("energy " + lenet("lenet-300-100.onnx") + " --region fr --carbon 0.2");
  EXPECT_NE(both.exit_code, 0);
}

TEST(EnergyCli, MeasuresLatencyWhenNotGiven) {
  auto j = energy_json(lenet("lenet-300-100.onnx") + " --runs 3");
  ASSERT_FALSE(j.is_null());
  const auto& d = j["deployment"];
  EXPECT_EQ(d["latency_source"], "measured");
  EXPECT_GT(d["latency_ms_dense"].get<double>(), 0.0);
  EXPECT_GT(d["latency_ms_compressed"].get<double>(), 0.0);
  EXPECT_NE(d["power_source"], "flag");
}

TEST(EnergyCli, MaxSecondsStopsTimingAfterOneRun) {
  // A budget shorter than any run: one timed run per model (after the warm-up), and the
  // assumptions say how many were made; without it, all --runs.
  auto j = energy_json(lenet("lenet-300-100.onnx") + " --runs 4 --max-seconds 1e-9");
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["assumptions"]["latency_ms_dense"]["source"],
            "median of 1 runs, batch 1, 1 thread(s), dense kernels");
  EXPECT_GT(j["deployment"]["latency_ms_compressed"].get<double>(), 0.0);
  j = energy_json(lenet("lenet-300-100.onnx") + " --runs 4");
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["assumptions"]["latency_ms_dense"]["source"],
            "median of 4 runs, batch 1, 1 thread(s), dense kernels");
  auto bad = run_deepcomp("energy " + lenet("lenet-300-100.onnx") + " --max-seconds 0");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--max-seconds must be > 0"), std::string::npos) << bad.err;
}

TEST(EnergyCli, UsesAGivenDczAndItsFileSize) {
  const std::string dir = testing::temp_dir();
  const std::string dcz = dir + "/l.dcz";
  auto c =
      run_deepcomp("compress " + lenet("lenet-300-100.onnx") + " -o " + dcz + " -q --prune-fc 0.9");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto j = energy_json(lenet("lenet-300-100.onnx") + " --compressed " + dcz + kFixedLatency);
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["download"]["compressed_file_bytes"].get<double>(),
            static_cast<double>(fs::file_size(dcz)));
  // 10% of fc1's weights survive.
  EXPECT_NEAR(j["per_inference"]["layers"][0]["compressed_macs"].get<double>(), 23520.0, 1.0);
  EXPECT_GT(j["per_inference"]["ratio"].get<double>(), 1.0);
}

TEST(EnergyCli, TextReportListsAssumptionsAndBadModelIsAnError) {
  auto r = run_deepcomp("energy " + lenet("lenet-300-100.onnx") + kFixedLatency);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"energy per inference", "deployment", "download", "assumptions", "Horowitz",
                        "Strubell", "Aslan"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
  const std::string dir = testing::temp_dir();
  testing::write_text(dir + "/bad.onnx", "not a model");
  auto bad = run_deepcomp("energy " + dir + "/bad.onnx");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("bad.onnx"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace deepcomp

namespace deepcomp {
namespace {

// `deepcomp compress` prints the energy section after the size report and adds it to
// --report-json; --no-energy leaves it out.
TEST(EnergyCli, CompressReportCarriesTheEnergySection) {
  const std::string dir = testing::temp_dir();
  auto r = run_deepcomp("compress " + lenet("lenet-300-100.onnx") + " -o " + dir +
                        "/a.dcz --report-json " + dir + "/a.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("energy per inference"), std::string::npos);
  auto j = nlohmann::json::parse(testing::read_text(dir + "/a.json"));
  ASSERT_TRUE(j.contains("energy"));
  EXPECT_GT(j["energy"]["per_inference"]["ratio"].get<double>(), 1.0);
  EXPECT_EQ(j["energy"]["download"]["compressed_file_bytes"].get<double>(),
            static_cast<double>(fs::file_size(dir + "/a.dcz")));
  EXPECT_TRUE(j["energy"]["deployment"].contains("skipped"));

  auto quiet = run_deepcomp("compress " + lenet("lenet-300-100.onnx") + " -o " + dir +
                            "/b.dcz --no-energy --report-json " + dir + "/b.json");
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.out.find("energy per inference"), std::string::npos);
  EXPECT_FALSE(nlohmann::json::parse(testing::read_text(dir + "/b.json")).contains("energy"));
}

}  // namespace
}  // namespace deepcomp
