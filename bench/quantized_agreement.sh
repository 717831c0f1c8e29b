#!/usr/bin/env bash
# Top-1 agreement of Deep Compression of 8-bit classifiers with the 8-bit model itself (issue 19,
# choosing the defaults for layers that are already quantized). For each model (the LeNets of
# models/ on the 10,000 Fashion-MNIST test images; the MNIST models of ../shared/models on the
# 10,000 digits of ../shared/data/mnist) and each 8-bit form of scripts/quantize_onnx.py, every
# argument (one quoted set of `compress` options, "" = the defaults) is applied, the .dcz
# decompressed, and ONNX Runtime (bench/ort_eval.js) predicts every image with the 8-bit model
# and with the decompressed one. Prints a Markdown table: weight bytes in the paper accounting
# (compress report), ratio against the 8-bit model's own bytes, top-1 of both, agreement.
# FORMS (default "qdq.sym qdq.asym integer.asym") and MODELS (default: all) narrow the run.
# Usage: bench/quantized_agreement.sh [BUILD_DIR] -- "OPTIONS" ...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
build=$root/build
[ $# -gt 0 ] && [ "$1" != -- ] && { build=$1; shift; }
[ $# -gt 0 ] && [ "$1" = -- ] && shift
[ $# -gt 0 ] || set -- ""
py=/usr/bin/python3
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
export NODE_PATH=$here/node_modules
fashion=/usr/share/datasets/fashion-mnist
mnist=$root/../shared/data/mnist
shared=$root/../shared/models
forms=${FORMS:-"qdq.sym qdq.asym integer.asym"}
models=${MODELS:-"lenet-300-100 lenet-5 mnist-net_256x2 mnist-net_256x4 mnist_relu_9_200 Convnet_maxpool Convnet_avgpool"}

predict() {  # model images labels out -> prints top-1
  node "$here/ort_eval.js" "$1" --images "$2" --labels "$3" --predictions "$4" --json |
    $py -c 'import json,sys; print(json.load(sys.stdin)["top1"])'
}

echo "| model | 8-bit form | compress options | 8-bit weights | Deep Compression | of its own | top-1 8-bit | top-1 after | agreement |"
echo "|---|---|---|---|---|---|---|---|---|"
for m in $models; do
  if [ -f "$root/models/$m.onnx" ]; then
    src=$root/models/$m.onnx images=$fashion/t10k-images-idx3-ubyte.gz labels=$fashion/t10k-labels-idx1-ubyte.gz
  elif [ -f "$shared/$m.onnx" ] && [ -f "$mnist/images-idx3-ubyte.gz" ]; then
    src=$shared/$m.onnx images=$mnist/images-idx3-ubyte.gz labels=$mnist/labels-idx1-ubyte.gz
  else
    echo "quantized_agreement.sh: $m or its data is missing; skipped" >&2
    continue
  fi
  for f in $forms; do
    q=$work/$m.$f.onnx
    [ -f "$q" ] || $py "$root/scripts/quantize_onnx.py" "$src" "$q" --form "${f%.*}" --scheme "${f#*.}" >/dev/null
    [ -f "$q.pred" ] || predict "$q" "$images" "$labels" "$q.pred" > "$q.top1"
    n=0
    for opts in "$@"; do
      n=$((n + 1))
      c=$work/$m.$f.c$n
      # shellcheck disable=SC2086
      "$build/deepcomp" compress "$q" -o "$c.dcz" --report-json "$c.json" -q --force $opts
      "$build/deepcomp" decompress "$c.dcz" -o "$c.onnx" --force
      predict "$c.onnx" "$images" "$labels" "$c.pred" > "$c.top1"
      $py - "$c.json" "$m" "$f" "${opts:-(defaults)}" "$q.top1" "$c.top1" "$q.pred" "$c.pred" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["total"]
m, f, opts = sys.argv[2:5]
b, a = (float(open(p).read()) for p in sys.argv[5:7])
p, q = (open(x).read().split() for x in sys.argv[7:9])
agree = sum(x == y for x, y in zip(p, q)) / len(p)
o, h = t["original_bytes"], t["huffman_bytes"]
print(f"| {m} | {f.replace('.', ' ')} | {opts} | {o/1e3:.1f} KB | {h/1e3:.1f} KB | {o/h:.2f}x | "
      f"{100*b:.2f}% | {100*a:.2f}% | {100*agree:.2f}% |")
PY
      rm -f "$c.onnx"
    done
  done
done
