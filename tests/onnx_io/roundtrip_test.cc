// Round trips on real models: load -> serialize -> load must give the same skeleton, metadata and
// bit-identical tensors, the saved bytes must pass the ONNX checker, and an unmodified model must
// serialize back to the very bytes of its file. Runs on the shared models and on every model.onnx
// of Debian's ONNX backend test data (each skipped when absent).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "core/file_io.h"
#include "core/tensor_bytes.h"
#include "onnx_io/onnx_io.h"
#include "tests/test_util.h"

namespace deepcomp::onnx_io {
namespace {
namespace fs = std::filesystem;

std::string bytes_of(const Tensor& t) {
  // Empty tensors: core's conversion would memcpy from a null buffer.
  return t.dtype == DType::kString || t.numel() == 0 ? t.raw : tensor_element_bytes(t);
}

// Compares two loads of the same model; returns a description of the first difference.
std::string difference(const Model& a, const Model& b) {
  if (a.skeleton != b.skeleton) return "skeletons differ";
  if (a.ir_version != b.ir_version || a.producer_name != b.producer_name ||
      a.producer_version != b.producer_version)
    return "metadata differs";
  if (a.opsets.size() != b.opsets.size()) return "opsets differ";
  for (size_t i = 0; i < a.opsets.size(); ++i)
    if (a.opsets[i].domain != b.opsets[i].domain || a.opsets[i].version != b.opsets[i].version)
      return "opsets differ";
  if (a.tensors.size() != b.tensors.size()) return "tensor counts differ";
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const Tensor& x = a.tensors[i];
    const Tensor& y = b.tensors[i];
    if (x.name != y.name || x.dtype != y.dtype || x.shape != y.shape || x.role != y.role)
      return "tensor " + x.name + ": header differs";
    if (x.location.kind != y.location.kind || x.location.graph_path != y.location.graph_path ||
        x.location.raw_data != y.location.raw_data || x.location.attribute != y.location.attribute)
      return "tensor " + x.name + ": location differs";
    if (bytes_of(x) != bytes_of(y)) return "tensor " + x.name + ": data differs";
  }
  return "";
}

struct RoundTripStats {
  int models = 0;
  int byte_identical = 0;
  int checker_passed = 0;
  std::vector<std::string> not_identical;
};

void round_trip(const std::string& path, RoundTripStats* stats) {
  SCOPED_TRACE(path);
  auto file = read_file(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  auto first = load_model(path);
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto bytes = serialize_model(*first);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  auto second = parse_model(*bytes, path + " (saved)", first->base_dir);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(difference(*first, *second), "");
  ++stats->models;
  if (*bytes == *file)
    ++stats->byte_identical;
  else
    stats->not_identical.push_back(path);
  // The saved model must pass the checker whenever the original does (a few backend test models
  // use features the checker of this ONNX release rejects).
  if (check_model_bytes(*file, path).ok()) {
    Status st = check_model_bytes(*bytes, path + " (saved)");
    EXPECT_TRUE(st.ok()) << st.message();
    ++stats->checker_passed;
  }
}

TEST(OnnxRoundTrip, SharedModelsRoundTripBitExactAndByteIdentical) {
  DEEPCOMP_REQUIRE_SHARED();
  RoundTripStats stats;
  for (const auto& entry : fs::directory_iterator(testing::shared_dir() + "/models")) {
    if (entry.path().extension() != ".onnx") continue;
    round_trip(entry.path().string(), &stats);
  }
  EXPECT_EQ(stats.models, 8);
  EXPECT_EQ(stats.checker_passed, stats.models);
  // Unmodified models written by protobuf serialize back to their exact bytes.
  EXPECT_EQ(stats.byte_identical, stats.models)
      << "first not identical: " << (stats.not_identical.empty() ? "" : stats.not_identical[0]);
}

TEST(OnnxRoundTrip, BackendTestModelsRoundTripBitExact) {
  const fs::path root = "/usr/share/libonnx-testdata/data";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) GTEST_SKIP() << root << " is absent (package libonnx-testdata)";
  std::vector<std::string> paths;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() == "model.onnx") paths.push_back(it->path().string());
  }
  std::sort(paths.begin(), paths.end());
  ASSERT_FALSE(paths.empty());
  RoundTripStats stats;
  for (const std::string& p : paths) round_trip(p, &stats);
  EXPECT_EQ(stats.models, static_cast<int>(paths.size()));
  std::cout << "backend test models: " << stats.models << ", byte-identical "
            << stats.byte_identical << ", checker passed " << stats.checker_passed << "\n";
  for (size_t i = 0; i < stats.not_identical.size() && i < 5; ++i)
    std::cout << "  not byte-identical: " << stats.not_identical[i] << "\n";
}

}  // namespace
}  // namespace deepcomp::onnx_io
