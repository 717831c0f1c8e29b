#!/usr/bin/env bash
# Deep Compression's LeNet settings (Han et al. 2016, Tables 2-3: per-layer pruning rates, 6-bit
# weights for LeNet-300-100, 8-bit conv / 5-bit fc for LeNet-5, 5-bit fc / 8-bit conv indices) on
# the project's models and the closest shared ones, WITHOUT retraining: compression per stage and
# top-1 before/after, measured with ONNX Runtime (bench/ort_eval.js) on the decompressed model.
# Usage: bench/paper_settings.sh [BUILD_DIR] [SHARED_DIR]   (prints a Markdown table)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
shared=${2:-$here/../../shared}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fashion=/usr/share/datasets/fashion-mnist
mnist=$shared/data/mnist

row() {  # name model images labels compress-args...
  local name=$1 model=$2 images=$3 labels=$4
  shift 4
  "$build/deepcomp" compress "$model" -o "$work/$name.dcz" --report-json "$work/$name.json" -q --force "$@"
  "$build/deepcomp" decompress "$work/$name.dcz" -o "$work/$name.onnx" --force
  local before after
  before=$(node "$here/ort_eval.js" "$model" --images "$images" --labels "$labels" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["top1"])')
  after=$(node "$here/ort_eval.js" "$work/$name.onnx" --images "$images" --labels "$labels" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["top1"])')
  /usr/bin/python3 - "$work/$name.json" "$name" "$before" "$after" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["total"]
name, before, after = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
o = r["original_bytes"]
print(f"| {name} | {o/1e3:.0f} KB | {o/r['pruned_bytes']:.1f}x | {o/r['quantized_bytes']:.1f}x | "
      f"{o/r['huffman_bytes']:.1f}x ({r['huffman_bytes']/1e3:.1f} KB) | {r['model_bytes']/r['file_bytes']:.1f}x | "
      f"{100*r['nonzero']/r['params']:.1f}% | {100*before:.2f}% | {100*after:.2f}% |")
PY
}

echo "| model | original | pruned | quantized | huffman (paper accounting) | .onnx/.dcz | weights kept | top-1 before | top-1 after |"
echo "|---|---|---|---|---|---|---|---|---|"
lenet300=(--layer 'fc1.weight=prune:0.92' --layer 'fc2.weight=prune:0.91' --layer 'fc3.weight=prune:0.74'
          --bits-fc 6 --index-bits-fc 5)
lenet5=(--layer 'conv1.weight=prune:0.34' --layer 'conv2.weight=prune:0.88'
        --layer 'fc1.weight=prune:0.92' --layer 'fc2.weight=prune:0.81'
        --bits-conv 8 --bits-fc 5 --index-bits-conv 8 --index-bits-fc 5)
if [ -d "$fashion" ]; then
  row "lenet-300-100 (Fashion-MNIST)" "$here/../models/lenet-300-100.onnx" \
    "$fashion/t10k-images-idx3-ubyte.gz" "$fashion/t10k-labels-idx1-ubyte.gz" "${lenet300[@]}"
  row "lenet-5 (Fashion-MNIST)" "$here/../models/lenet-5.onnx" \
    "$fashion/t10k-images-idx3-ubyte.gz" "$fashion/t10k-labels-idx1-ubyte.gz" "${lenet5[@]}"
fi
if [ -d "$mnist" ]; then
  row "mnist-net_256x2 (MNIST)" "$shared/models/mnist-net_256x2.onnx" \
    "$mnist/images-idx3-ubyte.gz" "$mnist/labels-idx1-ubyte.gz" --prune-fc 0.92 --bits-fc 6
  row "Convnet_maxpool (MNIST)" "$shared/models/Convnet_maxpool.onnx" \
    "$mnist/images-idx3-ubyte.gz" "$mnist/labels-idx1-ubyte.gz" --prune-conv 0.5 --prune-fc 0.9
fi
