#!/usr/bin/env bash
# Deep Compression against 8-bit quantization, and both (issue 19), on the project's LeNets
# (Fashion-MNIST test set, 10,000 images) and the MNIST classifiers of ../shared/models (the
# 10,000 digits of ../shared/data/mnist; CIFAR-10 data is not available): the float model, its
# 8-bit forms from
# scripts/quantize_onnx.py, Deep Compression of the float model, and Deep Compression of each 8-bit
# model, all at deepcomp's defaults. Weight bytes in the paper's accounting (`compress` report:
# original = as stored, 4 bytes per float / 1 per 8-bit weight; huffman = after the pipeline),
# the files, and top-1 measured by ONNX Runtime (bench/ort_eval.js) on each model, decompressed
# where compressed, with the top-1 agreement of the compressed model with its own uncompressed
# form. Prints a Markdown table. MODELS narrows the models (default: all).
# Usage: bench/quantized_compare.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
build=${1:-$root/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fashion=/usr/share/datasets/fashion-mnist
images=$fashion/t10k-images-idx3-ubyte.gz
labels=$fashion/t10k-labels-idx1-ubyte.gz
export NODE_PATH=$here/node_modules

top1() {  # model predictions-file
  node "$here/ort_eval.js" "$1" --images "$images" --labels "$labels" --predictions "$2" --json |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["top1"])'; }

row() {  # label onnx
  local label=$1 model=$2 name
  name=$(basename "$model" .onnx)
  "$build/deepcomp" compress "$model" -o "$work/$name.dcz" --report-json "$work/$name.json" -q --force
  "$build/deepcomp" decompress "$work/$name.dcz" -o "$work/$name.dc.onnx" --force
  local before after
  before=$(top1 "$model" "$work/before.pred")
  after=$(top1 "$work/$name.dc.onnx" "$work/after.pred")
  /usr/bin/python3 - "$work/$name.json" "$label" "$before" "$after" "$base_bytes" "$work" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["total"]
label, before, after, base = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
p, q = (open(f"{sys.argv[6]}/{x}.pred").read().split() for x in ("before", "after"))
agree = sum(a == b for a, b in zip(p, q)) / len(p)
o, h = r["original_bytes"], r["huffman_bytes"]
print(f"| {label} | {o/1e3:.1f} KB ({base/o:.1f}x) | {100*before:.2f}% | {r['model_bytes']/1e3:.1f} KB | "
      f"{h/1e3:.1f} KB ({base/h:.1f}x; {o/h:.2f}x of its own) | {r['file_bytes']/1e3:.1f} KB | "
      f"{100*after:.2f}% | {100*agree:.2f}% |")
PY
}

mnist=$root/../shared/data/mnist
echo "| model | weights as stored (vs float) | top-1 | .onnx | Deep Compression, defaults (vs float) | .dcz | top-1 after | agreement |"
echo "|---|---|---|---|---|---|---|---|"
for m in ${MODELS:-lenet-300-100 lenet-5 mnist-net_256x2 mnist-net_256x4 mnist_relu_9_200 Convnet_maxpool Convnet_avgpool}; do
  if [ -f "$root/models/$m.onnx" ]; then
    src=$root/models/$m.onnx images=$fashion/t10k-images-idx3-ubyte.gz labels=$fashion/t10k-labels-idx1-ubyte.gz
  elif [ -f "$root/../shared/models/$m.onnx" ] && [ -f "$mnist/images-idx3-ubyte.gz" ]; then
    src=$root/../shared/models/$m.onnx images=$mnist/images-idx3-ubyte.gz labels=$mnist/labels-idx1-ubyte.gz
  else
    echo "quantized_compare.sh: $m or its data is missing; skipped" >&2
    continue
  fi
  "$build/deepcomp" compress "$src" -o "$work/base.dcz" --report-json "$work/base.json" -q --force
  base_bytes=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["original_bytes"])' "$work/base.json")
  row "$m float32" "$src"
  for v in "qdq sym" "qdq asym" "integer asym" "integer sym"; do
    set -- $v
    /usr/bin/python3 "$root/scripts/quantize_onnx.py" "$src" "$work/$m.$1.$2.onnx" \
      --form "$1" --scheme "$2" >/dev/null
    row "$m 8-bit $1 $2" "$work/$m.$1.$2.onnx"
  done
done
