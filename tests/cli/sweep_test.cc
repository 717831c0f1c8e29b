// `deepcomp sweep` end to end through the binary on LeNet-300-100 and Fashion-MNIST: the grid's
// rows, the size columns against `deepcomp compress`, accuracies against runs of the runtime
// made here independently (uncompressed model, and the decompressed .dcz of one setting), the
// energy column by hand, thread-count independence, and bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/idx.h"
#include "onnx_io/onnx_io.h"
#include "runtime/batch.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_deepcomp;
using testing::temp_dir;

const char* kImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const char* kLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
constexpr int kLimit = 500;

std::string lenet300() { return testing::source_dir() + "/models/lenet-300-100.onnx"; }

bool have_data() { return fs::exists(kImages) && fs::exists(kLabels) && fs::exists(lenet300()); }

std::string data_args() {
  return std::string(" --images ") + kImages + " --labels " + kLabels + " --limit " +
         std::to_string(kLimit);
}

using Row = std::map<std::string, std::string>;

std::vector<Row> parse_csv(const std::string& text,
                           std::vector<std::string>* header_out = nullptr) {
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> header;
  std::vector<Row> rows;
  auto split = [](const std::string& l) {
    std::vector<std::string> cells;
    std::stringstream ss(l);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    return cells;
  };
  if (std::getline(in, line)) header = split(line);
  while (std::getline(in, line)) {
    auto cells = split(line);
    EXPECT_EQ(cells.size(), header.size()) << line;
    Row row;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(row);
  }
  if (header_out) *header_out = header;
  return rows;
}

// Top-1 hits of `model` on the first kLimit test images, computed here with the runtime directly.
int64_t count_correct(const Model& model) {
  auto images = data::read_idx(kImages);
  auto labels = data::read_idx(kLabels);
  EXPECT_TRUE(images.ok() && labels.ok());
  std::vector<float> x(images->values.begin(), images->values.begin() + kLimit * 784);
  for (float& v : x) v /= 255.0f;
  auto session = runtime::Session::create(model);
  EXPECT_TRUE(session.ok()) << session.status().message();
  auto run = runtime::run_batch(*session, runtime::Value::floats({kLimit, 1, 28, 28}, x));
  EXPECT_TRUE(run.ok()) << run.status().message();
  const runtime::Value& logits = run->outputs[0];
  int64_t correct = 0;
  for (int k = 0; k < kLimit; ++k) {
    int best = 0;
    for (int j = 1; j < 10; ++j)
      if (logits.f[k * 10 + j] > logits.f[k * 10 + best]) best = j;
    correct += best == static_cast<int>(labels->values[k]);
  }
  return correct;
}

class SweepGrid : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_data()) return;
    dir_ = new std::string(temp_dir());
    auto r =
        run_deepcomp("sweep " + lenet300() + " --prune 0.5,0.9 --bits 5,3 --init linear,density" +
                     data_args() + " -o " + *dir_ + "/s.csv --json -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void SetUp() override {
    if (!have_data()) GTEST_SKIP() << "Fashion-MNIST or models/lenet-300-100.onnx absent";
    rows_ = parse_csv(read_text(*dir_ + "/s.csv"), &header_);
  }
  static std::string* dir_;
  std::vector<std::string> header_;
  std::vector<Row> rows_;
};
std::string* SweepGrid::dir_ = nullptr;

const Row* find_row(const std::vector<Row>& rows, const std::string& prune, const std::string& bits,
                    const std::string& init) {
  for (const Row& r : rows)
    if (r.at("prune") == prune && r.at("bits") == bits && r.at("init") == init) return &r;
  return nullptr;
}

TEST_F(SweepGrid, HasHeaderBaselineAndOneRowPerSetting) {
  EXPECT_EQ(header_, (std::vector<std::string>{"prune",
                                               "bits",
                                               "init",
                                               "params",
                                               "nonzero",
                                               "original_bytes",
                                               "pruned_bytes",
                                               "quantized_bytes",
                                               "huffman_bytes",
                                               "file_bytes",
                                               "ratio",
                                               "top1",
                                               "top5",
                                               "correct",
                                               "correct5",
                                               "count",
                                               "weight_energy_uj",
                                               "setting",
                                               "settings",
                                               "model",
                                               "sweep_id"}));
  ASSERT_EQ(rows_.size(), 9u);
  EXPECT_EQ(rows_[0].at("prune"), "0");
  EXPECT_EQ(rows_[0].at("bits"), "32");
  EXPECT_EQ(rows_[0].at("init"), "none");
  for (const char* p : {"0.5", "0.9"})
    for (const char* b : {"5", "3"})
      for (const char* i : {"linear", "density"})
        EXPECT_NE(find_row(rows_, p, b, i), nullptr) << p << b << i;
  for (const Row& r : rows_) EXPECT_EQ(r.at("count"), std::to_string(kLimit));
}

TEST_F(SweepGrid, RatioGrowsWithPruningAndShrinksWithBits) {
  for (const char* init : {"linear", "density"}) {
    for (const char* bits : {"5", "3"})
      EXPECT_LT(std::stod(find_row(rows_, "0.5", bits, init)->at("ratio")),
                std::stod(find_row(rows_, "0.9", bits, init)->at("ratio")))
          << init << bits;
    for (const char* prune : {"0.5", "0.9"})
      EXPECT_GT(std::stod(find_row(rows_, prune, "3", init)->at("ratio")),
                std::stod(find_row(rows_, prune, "5", init)->at("ratio")))
          << init << prune;
  }
  // The sparsity asked for is what the nonzero count shows (every weight layer, not the biases).
  const Row* r = find_row(rows_, "0.9", "3", "linear");
  EXPECT_LT(std::stod(r->at("nonzero")), 0.11 * std::stod(r->at("params")));
}

TEST_F(SweepGrid, BaselineAccuracyMatchesTheRuntimeOnTheUncompressedModel) {
  auto model = onnx_io::load_model(lenet300());
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(rows_[0].at("correct"), std::to_string(count_correct(*model)));
  EXPECT_EQ(rows_[0].at("file_bytes"), std::to_string(fs::file_size(lenet300())));
  EXPECT_EQ(rows_[0].at("ratio"), "1");  // shortest round-trip form
}

// file_bytes is the size of the .dcz `deepcomp compress` writes for the same setting, and the
// row's accuracy is that of the model `deepcomp decompress` restores from it.
TEST_F(SweepGrid, SizeAndAccuracyMatchCompressThenDecompress) {
  const std::string dir = temp_dir();
  auto r = run_deepcomp("compress " + lenet300() + " -o " + dir +
                        "/m.dcz -q --prune 0.9 --bits-conv 3 --bits-fc 3 --init density");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_deepcomp("decompress " + dir + "/m.dcz -o " + dir + "/m.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Row* row = find_row(rows_, "0.9", "3", "density");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->at("file_bytes"), std::to_string(fs::file_size(dir + "/m.dcz")));
  auto restored = onnx_io::load_model(dir + "/m.onnx");
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  EXPECT_EQ(row->at("correct"), std::to_string(count_correct(*restored)));
}

TEST_F(SweepGrid, EnergyColumnFollowsHorowitzFigures) {
  const Row& base = rows_[0];
  EXPECT_NEAR(std::stod(base.at("weight_energy_uj")), std::stod(base.at("params")) * 640e-6, 1e-3);
  for (size_t i = 1; i < rows_.size(); ++i) {
    const Row& r = rows_[i];
    const double expected =
        std::stod(r.at("huffman_bytes")) / 4 * 640e-6 + std::stod(r.at("nonzero")) * 4.6e-6;
    EXPECT_NEAR(std::stod(r.at("weight_energy_uj")), expected, 1e-3);
  }
}

TEST_F(SweepGrid, JsonHoldsTheSameRows) {
  const auto doc = nlohmann::json::parse(read_text(*dir_ + "/s.json"));
  ASSERT_EQ(doc.size(), rows_.size());
  for (size_t i = 0; i < rows_.size(); ++i) {
    EXPECT_EQ(doc[i]["init"], rows_[i].at("init"));
    EXPECT_EQ(std::to_string(doc[i]["correct"].get<int64_t>()), rows_[i].at("correct"));
    EXPECT_EQ(std::to_string(doc[i]["file_bytes"].get<int64_t>()), rows_[i].at("file_bytes"));
    EXPECT_NEAR(doc[i]["top1"].get<double>(), std::stod(rows_[i].at("top1")), 5e-5);
  }
}

TEST(Sweep, RowsDoNotDependOnTheThreadCount) {
  if (!have_data()) GTEST_SKIP() << "Fashion-MNIST or models/lenet-300-100.onnx absent";
  const std::string dir = temp_dir();
  for (const char* t : {"1", "2"}) {
    auto r = run_deepcomp("sweep " + lenet300() +
                          " --prune 0.7,0.8 --bits 4 --init random,linear --seed 3" + data_args() +
                          " --threads " + t + " -q -o " + dir + "/t" + t + ".csv");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_EQ(read_text(dir + "/t1.csv"), read_text(dir + "/t2.csv"));
}

TEST(Sweep, BadInputIsAClearErrorAndWritesNothing) {
  const std::string dir = temp_dir();
  const std::string model = lenet300();
  const std::string data = std::string(" --images ") + kImages + " --labels " + kLabels;
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"--prune ''" + data, "--prune"},
      {"--prune 0.5,,0.7" + data, "--prune"},
      {"--prune 1.5" + data, "--prune"},
      {"--bits 0" + data, "--bits"},
      {"--bits 17" + data, "--bits"},
      {"--bits 4.5" + data, "--bits"},
      {"--init linear,sideways" + data, "sideways"},
      {std::string(" --images ") + dir + "/missing.gz --labels " + kLabels, "missing.gz"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    auto r = run_deepcomp("sweep " + model + " " + c.args + " -o " + dir +
                          "/out.csv --json --svg " + dir + "/out.svg");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir + "/out.csv"));
    EXPECT_FALSE(fs::exists(dir + "/out.json"));
    EXPECT_FALSE(fs::exists(dir + "/out.svg"));
  }
}

}  // namespace
}  // namespace deepcomp
