#!/usr/bin/env bash
# Per-layer convolution: deepcomp's kernels (bench/conv_bench: the old im2col + Eigen path, the
# direct dense kernel, codebook-CSR at 30% density) beside ONNX Runtime on a one-Conv model of
# the same shape (bias, "same" pads), batch 1, one thread, in the same run. The shapes are
# kShapes of bench/conv_bench.cc (read from the source, so the two stay the same).
# Prints a Markdown table on stdout; progress on stderr.
# Usage: bench/conv_layers_ort.sh [BUILD_DIR] [ORT_REPEAT]   (defaults: build, 200)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
repeat="${2:-200}"
py=/usr/bin/python3
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

[ -x "$build/bench/conv_bench" ] || {
  echo "conv_layers_ort.sh: no $build/bench/conv_bench (configure with -DDEEPCOMP_BUILD_BENCH=ON)" >&2; exit 1; }

# One-Conv ONNX models and inputs for every shape.
"$py" - "$root/bench/conv_bench.cc" "$tmp" <<'PYEOF'
import re, sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
src, out = sys.argv[1], sys.argv[2]
rows = re.findall(r'\{"(\w+)", (\d+), (\d+), (\d+), (\d+), (\d+), (\d+), (\d+)\}', open(src).read())
rng = np.random.default_rng(1)
for name, C, H, W, M, k, s, g in rows:
    C, H, W, M, k, s, g = map(int, (C, H, W, M, k, s, g))
    w = rng.uniform(-1, 1, (M, C // g, k, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (M,)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[k, k], strides=[s, s],
                            pads=[k // 2] * 4, group=g)
    graph = helper.make_graph([node], name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C, H, W])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.save(model, f"{out}/{name}.onnx")
    np.save(f"{out}/{name}.npy", rng.uniform(-1, 1, (1, C, H, W)).astype(np.float32))
    print(name)
PYEOF
echo "conv_layers_ort.sh: deepcomp kernels" >&2
"$build/bench/conv_bench" --benchmark_format=json --benchmark_min_time=0.3 > "$tmp/deepcomp.json" 2> /dev/null
for model in "$tmp"/*.onnx; do
  name="$(basename "$model" .onnx)"
  echo "conv_layers_ort.sh: ORT $name" >&2
  node "$root/bench/ort_run.js" "$model" "$tmp/$name.npy" "$tmp/$name.out.npy" --threads 1 \
    --repeat "$repeat" 2>&1 >/dev/null | sed -n 's/.*median \([0-9.]*\) ms\/sample.*/\1/p' > "$tmp/$name.ort"
done
"$py" - "$tmp" <<'PYEOF'
import json, sys, glob, os
tmp = sys.argv[1]
runs = {b["name"]: b for b in json.load(open(f"{tmp}/deepcomp.json"))["benchmarks"]}
def ms(kind, name):
    b = runs[f"{kind}/{name}"]
    return b["real_time"], b["MAC/s"] / 1e9
print("| layer | ORT ms | im2col+Eigen ms | direct dense ms | dense / ORT | dense GMAC/s | codebook-CSR 30% ms | sparse 30% / ORT | sparse / dense |")
print("|---|---|---|---|---|---|---|---|---|")
for path in sorted(glob.glob(f"{tmp}/*.ort")):
    name = os.path.basename(path)[:-4]
    ort = float(open(path).read())
    old, _ = ms("Im2colEigen", name)
    dense, rate = ms("Dense", name)
    sparse, _ = ms("Codebook30", name)
    print(f"| {name} | {ort:.3f} | {old:.3f} | {dense:.3f} | {dense / ort:.2f} | {rate:.1f} | "
          f"{sparse:.3f} | {sparse / ort:.2f} | {sparse / dense:.2f} |")
PYEOF
