// The per-machine kernel profile (toolkit/kernel_profile.h): reading, writing and measuring it.
#include "toolkit/kernel_profile.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "core/file_io.h"
#include "kernels/conv.h"
#include "kernels/dense.h"
#include "kernels/sparse_matrix.h"
#include "kernels/spmm.h"

namespace deepcomp::cli {
namespace {

constexpr const char* kFormat = "deepcomp-kernel-profile";

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

template <typename Run>
double median_ms(int repeat, Run run) {
  run();  // warm-up: caches, page faults, the SIMD dispatch
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return median(ms);
}

// Random weights at `density`, every nonzero one of 32 shared values (a 5-bit .dcz layer).
kernels::CodebookCsrMatrix random_codebook_weights(int64_t rows, int64_t cols, double density,
                                                   std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::uniform_int_distribution<uint32_t> pick(0, 31);
  std::vector<float> codebook(32);
  for (int c = 0; c < 32; ++c) codebook[c] = (c - 15.5f) / 100.0f;
  std::vector<int64_t> positions;
  std::vector<uint32_t> clusters;
  for (int64_t i = 0; i < rows * cols; ++i) {
    if (uniform(rng) < density) {
      positions.push_back(i);
      clusters.push_back(pick(rng));
    }
  }
  kernels::CodebookCsrMatrix m;
  std::string error;
  kernels::codebook_csr_from(rows, cols, positions, clusters, codebook, &m, &error);
  return m;
}

Status bad(const std::string& path, const std::string& what) {
  return Status::Error("kernel profile " + path + ": " + what);
}

Result<std::vector<KernelProfile::Point>> read_points(const std::string& path,
                                                      const nlohmann::json& s) {
  std::vector<KernelProfile::Point> points;
  if (s.contains("points") && s["points"].is_array()) {
    for (const auto& q : s["points"]) {
      if (!q.is_object()) return bad(path, "a point is not an object");
      points.push_back(
          {q.value("density", 0.0), q.value("dense_ms", 0.0), q.value("sparse_ms", 0.0)});
    }
  }
  return points;
}

nlohmann::ordered_json points_json(const std::vector<KernelProfile::Point>& points) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const auto& q : points) {
    j.push_back({{"density", q.density}, {"dense_ms", q.dense_ms}, {"sparse_ms", q.sparse_ms}});
  }
  return j;
}

// The Conv layers calibrated: a 1x1 and a 3x3 of ocr_det's (PaddleOCR's detector) and a 1x1 with
// many channels on a small map, where the weight is the bigger stream; "same" pads, one image.
struct CalibrationConv {
  int64_t C, H, W, M, k;
};
constexpr CalibrationConv kConvShapes[] = {
    {48, 48, 96, 48, 1}, {96, 48, 96, 24, 3}, {384, 6, 12, 384, 1}};

std::string conv_name(const CalibrationConv& c) {
  return std::to_string(c.k) + "x" + std::to_string(c.k) + " " + std::to_string(c.C) + "->" +
         std::to_string(c.M) + " " + std::to_string(c.H) + "x" + std::to_string(c.W);
}

}  // namespace

std::string default_kernel_profile_path() {
  if (const char* env = std::getenv("DEEPCOMP_KERNEL_PROFILE")) {
    const std::string v = env;
    return v == "none" ? "" : v;
  }
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg) return std::string(xdg) + "/deepcomp/kernel-profile.json";
  const char* home = std::getenv("HOME");
  if (home && *home) return std::string(home) + "/.cache/deepcomp/kernel-profile.json";
  return "";
}

Result<std::optional<KernelProfile>> read_kernel_profile(const std::string& path) {
  if (path.empty()) return std::optional<KernelProfile>();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<KernelProfile>();
  DEEPCOMP_ASSIGN_OR_RETURN(std::string text, read_file(path));
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad(path, "not a JSON object");
  if (j.value("format", "") != kFormat) return bad(path, std::string("format is not ") + kFormat);
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"] != 1) {
    return bad(path, "unsupported version (this deepcomp reads version 1)");
  }
  const auto it = j.find("dense_above_density");
  if (it == j.end() || !it->is_number()) return bad(path, "dense_above_density is missing");
  KernelProfile p;
  p.dense_above_density = it->get<double>();
  if (!(p.dense_above_density >= 0.0 && p.dense_above_density <= 1.0)) {
    return bad(path, "dense_above_density must be in [0, 1]");
  }
  if (const auto conv = j.find("conv_dense_above_density"); conv != j.end()) {
    if (!conv->is_number()) return bad(path, "conv_dense_above_density is not a number");
    p.conv_dense_above_density = conv->get<double>();
    if (!(p.conv_dense_above_density >= 0.0 && p.conv_dense_above_density <= 1.0)) {
      return bad(path, "conv_dense_above_density must be in [0, 1]");
    }
  }
  if (j.contains("simd_path") && j["simd_path"].is_string()) p.simd_path = j["simd_path"];
  if (j.contains("repeat") && j["repeat"].is_number_integer()) p.repeat = j["repeat"];
  if (j.contains("shapes") && j["shapes"].is_array()) {
    for (const auto& s : j["shapes"]) {
      if (!s.is_object() || !s.value("rows", nlohmann::json()).is_number_integer() ||
          !s.value("cols", nlohmann::json()).is_number_integer() ||
          !s.value("crossover", nlohmann::json()).is_number()) {
        return bad(path, "a shape needs integer rows, cols and a number crossover");
      }
      KernelProfile::Shape shape;
      shape.rows = s["rows"];
      shape.cols = s["cols"];
      shape.crossover = s["crossover"];
      DEEPCOMP_ASSIGN_OR_RETURN(shape.points, read_points(path, s));
      p.shapes.push_back(std::move(shape));
    }
  }
  if (j.contains("conv_shapes") && j["conv_shapes"].is_array()) {
    for (const auto& s : j["conv_shapes"]) {
      if (!s.is_object() || !s.value("name", nlohmann::json()).is_string() ||
          !s.value("crossover", nlohmann::json()).is_number()) {
        return bad(path, "a conv shape needs a name and a number crossover");
      }
      KernelProfile::ConvShape shape;
      shape.name = s["name"];
      shape.crossover = s["crossover"];
      DEEPCOMP_ASSIGN_OR_RETURN(shape.points, read_points(path, s));
      p.conv_shapes.push_back(std::move(shape));
    }
  }
  return std::optional<KernelProfile>(std::move(p));
}

Status write_kernel_profile(const std::string& path, const KernelProfile& profile) {
  if (path.empty()) return Status::Error("no kernel profile path (set --profile or HOME)");
  nlohmann::ordered_json j;
  j["format"] = kFormat;
  j["version"] = 1;
  j["dense_above_density"] = profile.dense_above_density;
  j["conv_dense_above_density"] = profile.conv_dense_above_density;
  j["simd_path"] = profile.simd_path;
  j["threads"] = 1;
  j["repeat"] = profile.repeat;
  j["shapes"] = nlohmann::ordered_json::array();
  for (const auto& s : profile.shapes) {
    nlohmann::ordered_json js;
    js["rows"] = s.rows;
    js["cols"] = s.cols;
    js["crossover"] = s.crossover;
    js["points"] = points_json(s.points);
    j["shapes"].push_back(js);
  }
  j["conv_shapes"] = nlohmann::ordered_json::array();
  for (const auto& s : profile.conv_shapes) {
    nlohmann::ordered_json js;
    js["name"] = s.name;
    js["crossover"] = s.crossover;
    js["points"] = points_json(s.points);
    j["conv_shapes"].push_back(js);
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return Status::Error("cannot create folder " + parent.string() + ": " + ec.message());
  }
  WriteOptions options;
  options.force = true;  // a new calibration replaces the old profile
  return write_file_atomic(path, j.dump(2) + "\n", options);
}

KernelProfile calibrate_kernels(int repeat) {
  // The layer shapes --kernel auto meets most: MNIST-MLP/LeNet-300-100 layers (784 wide), a
  // square mid-size layer and an fc8-like one.
  constexpr int64_t kShapes[][2] = {{256, 784}, {300, 784}, {1024, 1024}, {1000, 4096}};
  constexpr double kDensities[] = {0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7};
  const int saved_threads = omp_get_max_threads();
  omp_set_num_threads(1);
  KernelProfile profile;
  profile.simd_path = kernels::simd_path_name();
  profile.repeat = repeat;
  std::mt19937 rng(2026);
  std::vector<double> crossovers;
  for (const auto& [rows, cols] : kShapes) {
    KernelProfile::Shape shape{rows, cols, 0.0, {}};
    std::vector<float> x(cols), y(rows), dense(rows * cols);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (float& v : x) v = uniform(rng);
    for (double density : kDensities) {
      const kernels::CodebookCsrMatrix cb = random_codebook_weights(rows, cols, density, rng);
      cb.to_dense(dense.data());
      // The layout the runtime runs this weight on (runtime/ops_nn.cc): blocks when they pay.
      const bool blocked = kernels::ClusterBlockCsr::pays_off(cb);
      const kernels::ClusterBlockCsr blocks =
          blocked ? kernels::ClusterBlockCsr::from(cb) : kernels::ClusterBlockCsr{};
      const kernels::CompactCodebookCsr compact =
          blocked ? kernels::CompactCodebookCsr{} : kernels::CompactCodebookCsr::from(cb);
      KernelProfile::Point point{density, 0, 0};
      point.dense_ms = median_ms(repeat, [&] {
        kernels::gemm_dense(x.data(), 1, cols, dense.data(), rows, nullptr, y.data());
      });
      point.sparse_ms = median_ms(repeat, [&] {
        if (blocked) {
          kernels::gemm_codebook_csr(x.data(), 1, blocks, nullptr, y.data());
        } else {
          kernels::gemm_codebook_csr(x.data(), 1, compact, nullptr, y.data());
        }
      });
      if (point.sparse_ms < point.dense_ms) shape.crossover = std::max(shape.crossover, density);
      shape.points.push_back(point);
    }
    crossovers.push_back(shape.crossover);
    profile.shapes.push_back(std::move(shape));
  }
  profile.dense_above_density = median(crossovers);

  // Conv: the direct dense kernel on the weight packed once (as the Session runs it) against the
  // codebook-CSR conv on the same weights pruned to each density.
  constexpr double kConvDensities[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
  std::vector<double> conv_crossovers;
  for (const CalibrationConv& c : kConvShapes) {
    kernels::ConvParams p;
    p.C = c.C, p.H = c.H, p.W = c.W, p.M = c.M, p.kh = p.kw = c.k;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = c.k / 2;
    KernelProfile::ConvShape shape{conv_name(c), 0.0, {}};
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> x(c.C * c.H * c.W), y(c.M * p.out_spatial()),
        dense(c.M * p.patch_size());
    for (float& v : x) v = uniform(rng);
    for (double density : kConvDensities) {
      const kernels::CodebookCsrMatrix cb =
          random_codebook_weights(c.M, p.patch_size(), density, rng);
      cb.to_dense(dense.data());
      const kernels::PackedConvWeight packed =
          kernels::pack_conv_weight(dense.data(), p.M, p.group, p.patch_size());
      KernelProfile::Point point{density, 0, 0};
      point.dense_ms = median_ms(repeat, [&] {
        kernels::conv_dense(p, x.data(), packed, nullptr, y.data());
      });
      point.sparse_ms = median_ms(repeat, [&] {
        kernels::conv_codebook_csr(p, x.data(), cb, nullptr, y.data());
      });
      if (point.sparse_ms < point.dense_ms) shape.crossover = std::max(shape.crossover, density);
      shape.points.push_back(point);
    }
    conv_crossovers.push_back(shape.crossover);
    profile.conv_shapes.push_back(std::move(shape));
  }
  profile.conv_dense_above_density = median(conv_crossovers);
  omp_set_num_threads(saved_threads);
  return profile;
}

}  // namespace deepcomp::cli
