// `deepcomp bench --calibrate` and the kernel profile --kernel auto reads
// (toolkit/kernel_profile.h): the written file's contents, its use by bench/eval (a crossover from
// the profile changes which layers run sparse, exactly as the density rule says), the env var and
// "none", and broken profiles as one-line errors. LeNet-300-100 compressed with fc1 at 5% density
// and fc2/fc3 at 60%.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "kernels/conv.h"
#include "kernels/isa.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

using testing::deepcomp_binary;
using testing::run_command;
using testing::run_deepcomp;
using testing::temp_dir;

std::string compressed_lenet(const std::string& dir) {
  auto r = run_deepcomp("compress " + testing::source_dir() + "/models/lenet-300-100.onnx -o " +
                        dir + "/m.dcz -q --prune 0.4 --layer 'fc1.weight=prune:0.95'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir + "/m.dcz";
}

void write_profile(const std::string& path, double dense_above) {
  nlohmann::json j = {
      {"format", "deepcomp-kernel-profile"}, {"version", 1}, {"dense_above_density", dense_above}};
  testing::write_text(path, j.dump());
}

// Number of layers the bench's sparse side runs sparse under --kernel auto.
int auto_sparse_layers(const std::string& env, const std::string& dcz, const std::string& extra) {
  auto r = run_command(env + " " + testing::deepcomp_binary() + " bench " + dcz +
                       " --batch 1 --threads 1 --repeat 1 --warmup 0 --json --kernel auto" + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return -1;
  const auto j = nlohmann::json::parse(r.out);
  int sparse = 0;
  for (const auto& l : j["runs"][0]["layers"]) sparse += l["runs_sparse"].get<bool>();
  return sparse;
}

TEST(KernelProfile, CalibrateWritesAProfileOfMeasuredCrossovers) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/sub/profile.json";  // the folder is created
  auto r = run_deepcomp("bench --calibrate --repeat 1 --profile " + path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--kernel auto: dense above "), std::string::npos) << r.out;
  ASSERT_TRUE(std::filesystem::exists(path));
  const auto j = nlohmann::json::parse(testing::read_text(path));
  EXPECT_EQ(j["format"], "deepcomp-kernel-profile");
  EXPECT_EQ(j["version"], 1);
  EXPECT_FALSE(j["simd_path"].get<std::string>().empty());
  // Each shape's crossover is the largest density at which sparse was faster (0 when never);
  // returns them, sorted.
  auto crossovers_of = [](const nlohmann::json& shapes, size_t points) {
    std::vector<double> found;
    for (const auto& s : shapes) {
      EXPECT_EQ(s["points"].size(), points);
      double want = 0;
      for (const auto& q : s["points"]) {
        EXPECT_GT(q["dense_ms"].get<double>(), 0.0);
        EXPECT_GT(q["sparse_ms"].get<double>(), 0.0);
        if (q["sparse_ms"].get<double>() < q["dense_ms"].get<double>()) {
          want = std::max(want, q["density"].get<double>());
        }
      }
      EXPECT_EQ(s["crossover"].get<double>(), want);
      found.push_back(want);
    }
    std::sort(found.begin(), found.end());
    return found;
  };
  ASSERT_EQ(j["shapes"].size(), 4u);
  const std::vector<double> fc = crossovers_of(j["shapes"], 9);
  EXPECT_EQ(j["dense_above_density"].get<double>(), (fc[1] + fc[2]) / 2);
  // Conv layers: three shapes, 10% to 80%, the same rule; the Conv crossover is their median.
  ASSERT_EQ(j["conv_shapes"].size(), 3u);
  for (const auto& s : j["conv_shapes"]) EXPECT_FALSE(s["name"].get<std::string>().empty());
  const std::vector<double> conv = crossovers_of(j["conv_shapes"], 8);
  EXPECT_EQ(j["conv_dense_above_density"].get<double>(), conv[1]);
  // --json prints the profile itself.
  r = run_deepcomp("bench --calibrate --repeat 1 --json --profile " + path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["format"], "deepcomp-kernel-profile");
}

TEST(KernelProfile, AutoUsesTheProfileCrossoverWhenPresent) {
  const std::string dir = temp_dir();
  const std::string dcz = compressed_lenet(dir);
  // Built-in 10%: only fc1 (5%) is sparse.
  EXPECT_EQ(auto_sparse_layers("DEEPCOMP_KERNEL_PROFILE=none", dcz, ""), 1);
  EXPECT_EQ(auto_sparse_layers("DEEPCOMP_KERNEL_PROFILE=" + dir + "/absent.json", dcz, ""), 1);
  // A profile saying 70%: all three (5%, 60%, 60%); saying 1%: none.
  write_profile(dir + "/high.json", 0.7);
  write_profile(dir + "/low.json", 0.01);
  EXPECT_EQ(auto_sparse_layers("DEEPCOMP_KERNEL_PROFILE=" + dir + "/high.json", dcz, ""), 3);
  EXPECT_EQ(auto_sparse_layers("DEEPCOMP_KERNEL_PROFILE=" + dir + "/low.json", dcz, ""), 0);
  // --profile beats the environment; XDG_CACHE_HOME is the default location.
  EXPECT_EQ(auto_sparse_layers("DEEPCOMP_KERNEL_PROFILE=" + dir + "/low.json", dcz,
                               " --profile " + dir + "/high.json"),
            3);
  std::filesystem::create_directories(dir + "/cache/deepcomp");
  write_profile(dir + "/cache/deepcomp/kernel-profile.json", 0.7);
  EXPECT_EQ(auto_sparse_layers("unset DEEPCOMP_KERNEL_PROFILE; XDG_CACHE_HOME=" + dir + "/cache",
                               dcz, ""),
            3);
  // The report names the crossover in use; eval (auto by default) follows the profile too.
  auto r =
      run_command("DEEPCOMP_KERNEL_PROFILE=" + dir + "/high.json " + testing::deepcomp_binary() +
                  " bench " + dcz + " --batch 1 --threads 1 --repeat 1 --warmup 0 --kernel auto");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A profile without a Conv crossover (older) keeps the built-in one.
  EXPECT_NE(r.out.find("kernel auto (dense above 70% density, Conv above 40%): 3 layers sparse"),
            std::string::npos)
      << r.out;
}

TEST(KernelProfile, ConvLayersFollowTheProfilesConvCrossover) {
  const std::string dir = temp_dir();
  // LeNet-5 with every layer at 50% density: its two Conv layers and two fc layers.
  auto r = run_deepcomp("compress " + testing::source_dir() + "/models/lenet-5.onnx -o " + dir +
                        "/m.dcz -q --prune 0.5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string dcz = dir + "/m.dcz";
  auto profile = [&](const std::string& name, double fc, double conv) {
    nlohmann::json j = {{"format", "deepcomp-kernel-profile"},
                        {"version", 1},
                        {"dense_above_density", fc},
                        {"conv_dense_above_density", conv}};
    testing::write_text(dir + "/" + name, j.dump());
    return "DEEPCOMP_KERNEL_PROFILE=" + dir + "/" + name;
  };
  EXPECT_EQ(auto_sparse_layers(profile("conv.json", 0.01, 0.6), dcz, ""), 2);
  EXPECT_EQ(auto_sparse_layers(profile("fc.json", 0.6, 0.4), dcz, ""), 2);
  EXPECT_EQ(auto_sparse_layers(profile("both.json", 0.6, 0.6), dcz, ""), 4);
  // Without a profile: the built-in crossovers (fc 10%, Conv 40%) leave every layer dense.
  EXPECT_EQ(auto_sparse_layers("DEEPCOMP_KERNEL_PROFILE=none", dcz, ""), 0);
}

TEST(KernelProfile, BenchNamesTheSimdPathInTextAndJson) {
  const std::string dir = temp_dir();
  const std::string dcz = compressed_lenet(dir);
  auto r = run_deepcomp("bench " + dcz + " --batch 1 --threads 1 --repeat 1 --warmup 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string simd = nlohmann::json::parse(r.out)["simd_path"];
  const std::string conv = nlohmann::json::parse(r.out)["conv_simd_path"];
  EXPECT_FALSE(simd.empty());
  // (Against a binary of another build, DEEPCOMP_TEST_BINARY, the paths may differ.)
  if (!std::getenv("DEEPCOMP_TEST_BINARY")) {
    EXPECT_EQ(conv, kernels::conv_simd_path_name());
  }
  r = run_deepcomp("bench " + dcz + " --batch 1 --threads 1 --repeat 1 --warmup 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("simd:   " + simd + " (fc kernels), " + conv + " (convolutions)\n"),
            std::string::npos)
      << r.out;
}

TEST(KernelProfile, BrokenProfilesAreOneLineErrorsNamingTheFile) {
  const std::string dir = temp_dir();
  const std::string dcz = compressed_lenet(dir);
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "not a JSON object"},
      {R"({"format": "other", "version": 1, "dense_above_density": 0.2})", "format"},
      {R"({"format": "deepcomp-kernel-profile", "version": 9, "dense_above_density": 0.2})",
       "version"},
      {R"({"format": "deepcomp-kernel-profile", "version": 1})", "dense_above_density"},
      {R"({"format": "deepcomp-kernel-profile", "version": 1, "dense_above_density": 1.5})",
       "[0, 1]"},
      {R"({"format": "deepcomp-kernel-profile", "version": 1, "dense_above_density": 0.2,
           "shapes": [{"rows": "x"}]})",
       "shape"},
      {R"({"format": "deepcomp-kernel-profile", "version": 1, "dense_above_density": 0.2,
           "conv_dense_above_density": 2})",
       "conv_dense_above_density must be in [0, 1]"},
      {R"({"format": "deepcomp-kernel-profile", "version": 1, "dense_above_density": 0.2,
           "conv_dense_above_density": "high"})",
       "conv_dense_above_density is not a number"},
      {R"({"format": "deepcomp-kernel-profile", "version": 1, "dense_above_density": 0.2,
           "conv_shapes": [{"name": 3}]})",
       "conv shape"}};
  for (const auto& [text, what] : cases) {
    testing::write_text(dir + "/bad.json", text);
    auto r =
        run_command("DEEPCOMP_KERNEL_PROFILE=" + dir + "/bad.json " + testing::deepcomp_binary() +
                    " bench " + dcz + " --batch 1 --threads 1 --repeat 1 --kernel auto");
    EXPECT_EQ(r.exit_code, 1) << text;
    EXPECT_NE(r.err.find("kernel profile " + dir + "/bad.json"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    // --kernel sparse never reads the profile.
    r = run_command("DEEPCOMP_KERNEL_PROFILE=" + dir + "/bad.json " + testing::deepcomp_binary() +
                    " bench " + dcz + " --batch 1 --threads 1 --repeat 1 --kernel sparse");
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  auto r = run_deepcomp("bench --threads 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("give a model"), std::string::npos) << r.err;
}

// DEEPCOMP_MAX_CPU_ISA=sse2 runs the baseline code (4-float conv tiles, Highway's portable
// target) and says so; the CPU's own level is still reported; a bad value is a one-line error
// naming the variable, exit 2.
TEST(KernelProfile, MaxCpuIsaCapsTheCodePathsAndBadValuesAreErrors) {
  const std::string dir = temp_dir();
  const std::string dcz = compressed_lenet(dir);
  const std::string args = " bench " + dcz + " --batch 1 --threads 1 --repeat 1 --warmup 0";
  auto r = run_command("DEEPCOMP_MAX_CPU_ISA=SSE2 '" + deepcomp_binary() + "'" + args + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["isa"], "sse2");
  EXPECT_EQ(j["cpu_isa"], kernels::isa_name(kernels::cpu_isa()));
  EXPECT_NE(j["conv_simd_path"].get<std::string>().find("4 floats"), std::string::npos);
  EXPECT_FALSE(j["cpu"].get<std::string>().empty());
  r = run_command("DEEPCOMP_MAX_CPU_ISA=avx3 '" + deepcomp_binary() + "'" + args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "deepcomp: DEEPCOMP_MAX_CPU_ISA=avx3: expected avx512, avx2, sse4 or sse2\n");
}

}  // namespace
}  // namespace deepcomp
