// The SVG pictures of `deepcomp sweep --svg` and `deepcomp inspect FILE.dcz --plot DIR`:
// well-formed XML (a small checker here, and xmllint when installed), rendered by rsvg-convert when
// installed, text escaped, one series per init, and per-layer histograms whose counts agree with
// the model that `deepcomp decompress` restores.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "onnx_io/onnx_io.h"
#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_command;
using testing::run_deepcomp;
using testing::temp_dir;

const char* kImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const char* kLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

std::string model_path(const std::string& name) {
  return testing::source_dir() + "/models/" + name;
}

// A small well-formedness check: one root element, balanced and properly nested tags, quoted
// attributes without '<', and '&' only as a predefined or numeric entity. "" when fine, else why.
std::string xml_problem(const std::string& doc) {
  static const std::regex entity("^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);");
  auto bad_amp = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i)
      if (doc[i] == '&' && !std::regex_search(doc.begin() + i, doc.begin() + to, entity))
        return true;
    return false;
  };
  std::vector<std::string> stack;
  int roots = 0;
  size_t i = 0;
  while (i < doc.size()) {
    if (doc[i] != '<') {
      const size_t next = doc.find('<', i);
      const size_t end = next == std::string::npos ? doc.size() : next;
      if (bad_amp(i, end)) return "bare & in text near " + std::to_string(i);
      if (stack.empty() && doc.find_first_not_of(" \t\r\n", i) < end)
        return "text outside the root";
      i = end;
      continue;
    }
    if (doc.compare(i, 5, "<?xml") == 0) {
      if (i != 0) return "XML declaration not at the start";
      i = doc.find("?>", i);
      if (i == std::string::npos) return "unterminated declaration";
      i += 2;
      continue;
    }
    if (doc.compare(i, 4, "<!--") == 0) {
      i = doc.find("-->", i);
      if (i == std::string::npos) return "unterminated comment";
      i += 3;
      continue;
    }
    // A tag: scan to its '>' outside quoted values.
    size_t j = i + 1;
    char quote = 0;
    for (; j < doc.size(); ++j) {
      if (quote) {
        if (doc[j] == quote)
          quote = 0;
        else if (doc[j] == '<')
          return "'<' in an attribute value near " + std::to_string(j);
      } else if (doc[j] == '"' || doc[j] == '\'') {
        quote = doc[j];
      } else if (doc[j] == '>') {
        break;
      } else if (doc[j] == '<') {
        return "'<' inside a tag near " + std::to_string(j);
      }
    }
    if (j >= doc.size()) return "unterminated tag at " + std::to_string(i);
    if (bad_amp(i, j)) return "bare & in a tag near " + std::to_string(i);
    std::string tag = doc.substr(i + 1, j - i - 1);
    i = j + 1;
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1, tag.find_first_of(" \t\r\n", 1) - 1);
      if (stack.empty() || stack.back() != name)
        return "</" + name + "> does not close an open tag";
      stack.pop_back();
      continue;
    }
    const bool self_closing = !tag.empty() && tag.back() == '/';
    const std::string name = tag.substr(0, tag.find_first_of(" \t\r\n/"));
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0])))
      return "bad tag name '" + name + "'";
    if (stack.empty() && ++roots > 1) return "more than one root element";
    if (!self_closing) stack.push_back(name);
  }
  if (!stack.empty()) return "<" + stack.back() + "> never closed";
  if (roots != 1) return "no root element";
  return "";
}

bool have_tool(const std::string& tool) {
  return run_command("command -v " + tool + " >/dev/null 2>&1").exit_code == 0;
}

// Every check a picture must pass: ours, xmllint's and rsvg-convert's when they are installed.
void expect_good_svg(const std::string& path) {
  SCOPED_TRACE(path);
  const std::string doc = read_text(path);
  EXPECT_EQ(xml_problem(doc), "");
  EXPECT_NE(doc.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  if (have_tool("xmllint")) {
    auto r = run_command("xmllint --noout '" + path + "'");
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  if (have_tool("rsvg-convert")) {
    const std::string png = path + ".png";
    auto r = run_command("rsvg-convert -o '" + png + "' '" + path + "'");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    ASSERT_TRUE(fs::exists(png));
    EXPECT_GT(fs::file_size(png), 1000u);
    EXPECT_EQ(read_text(png).substr(1, 3), "PNG");
  }
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(XmlChecker, RejectsMalformedDocuments) {
  EXPECT_EQ(
      xml_problem(
          "<?xml version=\"1.0\"?>\n<svg a=\"1\"><g><text>a &amp; b</text></g><rect/></svg>\n"),
      "");
  EXPECT_NE(xml_problem("<svg><g></svg>"), "");
  EXPECT_NE(xml_problem("<svg><text>a & b</text></svg>"), "");
  EXPECT_NE(xml_problem("<svg><text>a < b</text></svg>"), "");
  EXPECT_NE(xml_problem("<svg a=\"<\"/>"), "");
  EXPECT_NE(xml_problem("<svg/><svg/>"), "");
  EXPECT_NE(xml_problem("<svg>"), "");
}

// The model's file name (in the title) carries XML's special characters: they come out escaped.
TEST(SweepSvg, IsWellFormedRendersAndHasOneSeriesPerInit) {
  if (!fs::exists(kImages) || !fs::exists(kLabels)) GTEST_SKIP() << "Fashion-MNIST absent";
  const std::string dir = temp_dir();
  const std::string model = dir + "/le<net>&'x'.onnx";
  fs::copy_file(model_path("lenet-300-100.onnx"), model);
  auto r = run_deepcomp(
      "sweep \"" + model +
      "\" --prune 0.6,0.9 --bits 6,4 --init linear,density,random --limit 200 -q" + " --images " +
      kImages + " --labels " + kLabels + " -o " + dir + "/s.csv --svg " + dir + "/s.svg");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_good_svg(dir + "/s.svg");
  const std::string doc = read_text(dir + "/s.svg");
  EXPECT_NE(doc.find("le&lt;net&gt;&amp;&apos;x&apos;.onnx"), std::string::npos);
  for (const char* init :
       {"init linear", "init density", "init random", "Pareto front", "uncompressed"})
    EXPECT_NE(doc.find(init), std::string::npos) << init;
  // Four settings per init: four markers each, plus one in the legend (circle, square, triangle).
  EXPECT_EQ(count_of(doc, "<circle "), 5u);
  EXPECT_EQ(count_of(doc, "<polygon "), 5u);
  EXPECT_NE(doc.find("stroke-dasharray"), std::string::npos);  // the baseline line
}

struct Plotted {
  std::string dir;
  std::string dcz;
};

Plotted compress_lenet5(const std::string& extra = "") {
  Plotted p{temp_dir(), ""};
  p.dcz = p.dir + "/l5.dcz";
  auto r = run_deepcomp("compress " + model_path("lenet-5.onnx") + " -o " + p.dcz +
                        " -q --prune-conv 0.6 --prune-fc 0.9 --bits-conv 4 --bits-fc 3 " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return p;
}

// Per layer: the "after" title's kept count and the number of shared values shown equal the
// nonzeros and the distinct nonzero values of that tensor in the decompressed model.
TEST(InspectPlot, OneHistogramPerCompressedLayerMatchingTheRestoredWeights) {
  if (!fs::exists(model_path("lenet-5.onnx"))) GTEST_SKIP() << "models/lenet-5.onnx absent";
  const Plotted p = compress_lenet5();
  auto r = run_deepcomp("decompress " + p.dcz + " -o " + p.dir + "/r.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_deepcomp("inspect " + p.dcz + " --json --plot " + p.dir + "/plots/new --original " +
                   model_path("lenet-5.onnx"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(nlohmann::json::parse(r.out, nullptr, false)
                   .is_discarded());  // stdout stays the JSON document
  auto restored = onnx_io::load_model(p.dir + "/r.onnx");
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  std::set<std::string> expected, found;
  for (const Tensor& t : restored->tensors)
    if (t.role == TensorRole::kConvWeight || t.role == TensorRole::kFcWeight)
      expected.insert(t.name + ".svg");
  for (const auto& e : fs::directory_iterator(p.dir + "/plots/new"))
    if (e.path().extension() == ".svg") found.insert(e.path().filename().string());
  EXPECT_EQ(found, expected);
  for (const Tensor& t : restored->tensors) {
    if (!expected.count(t.name + ".svg")) continue;
    SCOPED_TRACE(t.name);
    const std::string path = p.dir + "/plots/new/" + t.name + ".svg";
    expect_good_svg(path);
    const std::string doc = read_text(path);
    std::set<float> distinct;
    int64_t nonzero = 0;
    for (float v : t.values)
      if (v != 0) {
        distinct.insert(v);
        ++nonzero;
      }
    EXPECT_NE(
        doc.find(std::to_string(nonzero) + " of " + std::to_string(t.numel()) + " weights kept"),
        std::string::npos);
    EXPECT_NE(doc.find("shared values (" + std::to_string(distinct.size()) + ")"),
              std::string::npos);
    EXPECT_NE(doc.find("before: " + std::to_string(t.numel()) + " original weights"),
              std::string::npos);
    EXPECT_LE(distinct.size(), t.role == TensorRole::kConvWeight ? 16u : 8u);
  }
}

TEST(InspectPlot, WithoutTheOriginalOnlyTheCompressedPanel) {
  if (!fs::exists(model_path("lenet-5.onnx"))) GTEST_SKIP() << "models/lenet-5.onnx absent";
  const Plotted p = compress_lenet5();
  auto r = run_deepcomp("inspect " + p.dcz + " --plot " + p.dir + "/plots");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string doc = read_text(p.dir + "/plots/fc1.weight.svg");
  expect_good_svg(p.dir + "/plots/fc1.weight.svg");
  EXPECT_EQ(doc.find("before:"), std::string::npos);
  EXPECT_NE(doc.find("after (pruned and shared)"), std::string::npos);
  EXPECT_EQ(count_of(doc, "class=\"panel\""), 1u);
}

TEST(InspectPlot, BadInputIsAClearErrorAndWritesNoPlot) {
  if (!fs::exists(model_path("lenet-5.onnx"))) GTEST_SKIP() << "models/lenet-5.onnx absent";
  const Plotted p = compress_lenet5();
  // An original that is not the compressed model: the tensor is named, nothing written.
  auto r = run_deepcomp("inspect " + p.dcz + " --plot " + p.dir + "/a --original " +
                        model_path("lenet-300-100.onnx"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("conv1.weight"), std::string::npos) << r.err;
  EXPECT_TRUE(!fs::exists(p.dir + "/a") || fs::is_empty(p.dir + "/a"));
  // --plot on an .onnx, and a plot folder that is a file.
  r = run_deepcomp("inspect " + model_path("lenet-5.onnx") + " --plot " + p.dir + "/b");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(".dcz"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(p.dir + "/b"));
  testing::write_text(p.dir + "/file", "x");
  r = run_deepcomp("inspect " + p.dcz + " --plot " + p.dir + "/file");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace deepcomp
