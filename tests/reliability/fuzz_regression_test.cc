// Replays every input under tests/fuzz/regressions/<target>/ (inputs that once crashed a fuzz
// target or broke one of its invariants) and the committed seed corpus tests/fuzz/corpus/<target>/
// through the same target functions libFuzzer runs (tests/fuzz/targets.h), so that the ordinary
// build and ctest catch a regression without clang. Under DEEPCOMP_SANITIZE the replays run with
// ASan/UBSan as the fuzzers did.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/fuzz/targets.h"
#include "tests/test_util.h"

namespace deepcomp::fuzz {
namespace {

namespace fs = std::filesystem;
using TargetFn = std::string (*)(const uint8_t*, size_t);

struct Target {
  const char* name;
  TargetFn fn;
};
const Target kTargets[] = {
    {"onnx_parse", onnx_parse_target},         {"container", container_target},
    {"symbol_stream", symbol_stream_target},   {"relative_index", relative_index_target},
    {"array", array_target},                   {"roundtrip", roundtrip_target},
    {"dcz_writer_reader", dcz_writer_reader_target},
};

// Feeds every file of `folder` to `fn`; returns how many it fed.
int replay(const Target& target, const fs::path& folder) {
  int count = 0;
  if (!fs::is_directory(folder)) return 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string bytes = buf.str();
    const std::string problem =
        target.fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    EXPECT_EQ(problem, "") << target.name << " on " << entry.path();
    ++count;
  }
  return count;
}

class FuzzReplay : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzReplay, RegressionInputsAndSeedCorpusKeepEveryInvariant) {
  const fs::path root = fs::path(testing::source_dir()) / "tests" / "fuzz";
  const int regressions = replay(GetParam(), root / "regressions" / GetParam().name);
  const int seeds = replay(GetParam(), root / "corpus" / GetParam().name);
  EXPECT_GT(seeds, 0) << "no committed seed corpus for " << GetParam().name;
  RecordProperty("regressions", regressions);
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay, ::testing::ValuesIn(kTargets),
                         [](const auto& info) { return std::string(info.param.name); });

// The findings, pinned one by one with the error the fixed code gives.
TEST(FuzzFindings, NpyWithUnknownByteOrderCharacterIsRefusedNotReadPastTheEnd) {
  const std::string path = testing::temp_dir() + "/bad.npy";
  std::string header = "{'descr': 'Pi4', 'fortran_order': False, 'shape': (5,), }";
  header.resize(118, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + '\0' + header;
  testing::write_text(path, bytes);  // no data bytes at all: an element size of 0 hid that
  auto array = data::read_npy(path);
  ASSERT_FALSE(array.ok());
  EXPECT_NE(array.status().message().find("unsupported .npy dtype 'Pi4'"), std::string::npos)
      << array.status().message();
}

TEST(FuzzFindings, EveryWeightPrunedWithoutSharingRoundTripsToZeros) {
  Tensor t;
  t.name = "w";
  t.role = TensorRole::kFcWeight;
  t.shape = {2, 2};
  t.values = {0.0f, 0.0f, 0.0f, 0.0f};
  Model model;
  model.tensors.push_back(t);
  compress::CompressOptions options;
  options.prune = 0.99;
  options.share = false;
  auto out = compress::compress_model(model, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  auto decoded = compress::decode_tensor(out->container.tensors[0]);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->values, t.values);
}

}  // namespace
}  // namespace deepcomp::fuzz
