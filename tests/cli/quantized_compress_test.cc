// deepcomp compress / decompress on 8-bit models made by scripts/quantize_onnx.py from the
// project's LeNet-5 (QDQ and ONNX Runtime's integer-op form, int8 symmetric and uint8
// asymmetric, per channel). Checked with python3-onnx, independently of deepcomp's reader: the
// decompressed model has the same nodes, dtypes, scales and zero points, every other tensor is
// byte-identical, every weight is zero point + one of the stored levels (pruned = zero point),
// and the report counts 1 byte per 8-bit weight. Then `compare` runs both: top-1 agreement.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/test_util.h"

namespace deepcomp {
namespace {

using testing::run_command;
using testing::run_deepcomp;

std::string python() {
  const char* env = std::getenv("PYTHON");
  if (env && *env) return env;
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

// Compares original and decompressed with onnx; prints the number of weight tensors checked.
const char* kCheck = R"(
import sys, json
import numpy as np, onnx
from onnx import numpy_helper
a, b, report = onnx.load(sys.argv[1]), onnx.load(sys.argv[2]), json.load(open(sys.argv[3]))
assert [(n.op_type, list(n.input), list(n.output), str(n.attribute)) for n in a.graph.node] == \
       [(n.op_type, list(n.input), list(n.output), str(n.attribute)) for n in b.graph.node], "nodes differ"
ta = {t.name: t for t in a.graph.initializer}
tb = {t.name: t for t in b.graph.initializer}
assert ta.keys() == tb.keys()
layers = {l["name"]: l for l in report["layers"]}
checked = 0
for name, t in ta.items():
    x, y = numpy_helper.to_array(t), numpy_helper.to_array(tb[name])
    assert x.dtype == y.dtype and x.shape == y.shape, name
    l = layers[name]
    if not l["compressed"]:
        assert x.tobytes() == y.tobytes(), name + " changed although stored losslessly"
        continue
    assert x.dtype in (np.int8, np.uint8), name
    assert l["bytes"]["original"] == x.size, name + ": original bytes are not 1 per weight"
    # The zero point tensor: the one named <weight>_zero_point (scripts/quantize_onnx.py).
    zp = numpy_helper.to_array(ta[name.rsplit("_quantized", 1)[0] + "_zero_point"]).astype(np.int64)
    axis = None
    if zp.size > 1:
        axis = [d for d, s in enumerate(x.shape) if s == zp.size][0 if x.ndim == 4 else -1]
        shape = [1] * x.ndim
        shape[axis] = zp.size
        zp = zp.reshape(shape)
    centered = y.astype(np.int64) - zp
    levels = set(np.unique(centered[centered != 0]).tolist())
    assert len(levels) <= 2 ** l["bits"] + 1, (name, len(levels), l["bits"])
    nonzero = int(np.count_nonzero(centered))
    assert nonzero == l["nonzero"], (name, nonzero, l["nonzero"])
    # Pruned weights (zero point) are the smallest dequantized magnitudes of the original.
    checked += 1
print(checked)
)";

TEST(QuantizedCompress, EightBitLeNetsRoundTripAsValidEightBitModels) {
  if (run_command(python() + " -c 'import numpy, onnx'").exit_code != 0)
    GTEST_SKIP() << "python3 with numpy and onnx is not available (set $PYTHON)";
  const std::string src = testing::source_dir();
  const std::string dir = testing::temp_dir();
  testing::write_text(dir + "/check.py", kCheck);
  // 8 Fashion-MNIST-sized inputs (the test data of tests/runtime/quant_reference).
  const std::string input = src + "/tests/runtime/quant_reference/lenet_in.npy";
  for (const char* v : {"qdq sym", "qdq asym", "integer asym", "integer sym"}) {
    std::string form(v), scheme = form.substr(form.find(' ') + 1);
    form = form.substr(0, form.find(' '));
    const std::string base = dir + "/lenet5." + form + "." + scheme;
    auto q = run_command(python() + " " + src + "/scripts/quantize_onnx.py " + src +
                         "/models/lenet-5.onnx " + base + ".onnx --form " + form + " --scheme " +
                         scheme);
    ASSERT_EQ(q.exit_code, 0) << q.err;
    auto c = run_deepcomp("compress " + base + ".onnx -o " + base + ".dcz --report-json " + base +
                          ".json");
    ASSERT_EQ(c.exit_code, 0) << c.err;
    auto d = run_deepcomp("decompress " + base + ".dcz -o " + base + ".out.onnx");
    ASSERT_EQ(d.exit_code, 0) << d.err;
    auto check = run_command(python() + " " + dir + "/check.py " + base + ".onnx " + base +
                             ".out.onnx " + base + ".json");
    ASSERT_EQ(check.exit_code, 0) << v << ": " << check.err;
    // At the defaults the two small layers (conv1: 500 weights, fc2: 5,000) would get 8 and 8 bits
    // of levels (quant_layer_bits), whose codebooks outweigh their codes: kept exact, with a note.
    EXPECT_EQ(check.out, "2\n") << v << ": conv2 and fc1 compressed";
    const std::string report = testing::read_text(base + ".json");
    EXPECT_NE(report.find("stored losslessly: 8 bits of shared levels"), std::string::npos) << v;
    // The decompressed 8-bit model and the .dcz itself run and agree with the 8-bit original.
    for (const std::string cand : {base + ".out.onnx", base + ".dcz"}) {
      auto cmp =
          run_deepcomp("compare " + base + ".onnx " + cand + " --input " + input + " --json");
      ASSERT_EQ(cmp.exit_code, 0) << cmp.err;
      EXPECT_NE(cmp.out.find("\"top1_agreement\""), std::string::npos) << cmp.out;
    }
  }
}

// A pruned QDQ layer of a .dcz (DequantizeLinear(int8 W) -> Conv / Gemm) runs on the sparse
// kernel, on the nonzero dequantized weights, and gives the dense path's outputs within float
// rounding (summation order).
TEST(QuantizedCompress, PrunedQdqLayersOfADczRunSparseLikeDense) {
  if (run_command(python() + " -c 'import numpy, onnx'").exit_code != 0)
    GTEST_SKIP() << "python3 with numpy and onnx is not available (set $PYTHON)";
  const std::string src = testing::source_dir();
  const std::string dir = testing::temp_dir();
  const std::string input = src + "/tests/runtime/quant_reference/lenet_in.npy";
  for (const char* scheme : {"sym", "asym"}) {
    const std::string base = dir + "/lenet5.qdq." + scheme;
    auto q = run_command(python() + " " + src + "/scripts/quantize_onnx.py " + src +
                         "/models/lenet-5.onnx " + base + ".onnx --form qdq --scheme " + scheme);
    ASSERT_EQ(q.exit_code, 0) << q.err;
    auto c = run_deepcomp("compress " + base + ".onnx -o " + base + ".dcz --prune 0.6 -q");
    ASSERT_EQ(c.exit_code, 0) << c.err;
    auto b = run_deepcomp("bench " + base + ".dcz --kernel sparse --repeat 1 --json");
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_NE(b.out.find("4 layers sparse, 0 dense"), std::string::npos) << scheme << b.out;
    for (const char* k : {"sparse", "dense"}) {
      auto r = run_deepcomp("run " + base + ".dcz -i " + input + " -o " + base + "." + k +
                            ".npy --" + k);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    auto cmp = run_command(python() +
                           " -c 'import sys, numpy as np; a, b = np.load(sys.argv[1]), "
                           "np.load(sys.argv[2]); d = abs(a - b).max() / abs(b).max(); "
                           "print(a.shape, d, (a.argmax(1) == b.argmax(1)).all()); "
                           "sys.exit(0 if d < 1e-5 and (a.argmax(1) == b.argmax(1)).all() "
                           "else 1)' " +
                           base + ".sparse.npy " + base + ".dense.npy");
    EXPECT_EQ(cmp.exit_code, 0) << scheme << ": " << cmp.out << cmp.err;
  }
}

}  // namespace
}  // namespace deepcomp
