#!/usr/bin/env bash
# Mask IoU of the real uint8 IS-Net (scripts/fetch-large-models.sh: isnet_quint8.onnx, ConvInteger +
# DynamicQuantizeLinear) after `deepcomp compress` + `decompress`, against the original's mask, on
# two real photographs (scikit-learn's flower.jpg and matplotlib's grace_hopper.jpg, from the
# Debian packages python3-sklearn and python3-matplotlib), both run by ONNX Runtime (node, 1
# thread). Each image is resized to 1024x1024 (bilinear), x/255 - 0.5, NCHW; a mask is output
# > 0.5. Each argument is one set of compress options (quoted; "" = the defaults). Prints a
# Markdown table: paper-accounting bytes (compress report), ratio, .dcz, IoU per image.
# Usage: bench/isnet_iou.sh [BUILD_DIR] [MODEL] -- "OPTIONS" ...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
build=$root/build
model=$root/third_party/real-models/imgly/isnet_quint8.onnx
[ $# -gt 0 ] && [ "$1" != -- ] && { build=$1; shift; }
[ $# -gt 0 ] && [ "$1" != -- ] && { model=$1; shift; }
[ $# -gt 0 ] && [ "$1" = -- ] && shift
[ $# -gt 0 ] || set -- ""
[ -f "$model" ] || { echo "isnet_iou.sh: $model is missing (scripts/fetch-large-models.sh)"; exit 0; }
py=/usr/bin/python3
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
export NODE_PATH=$here/node_modules
images=(/usr/lib/python3/dist-packages/sklearn/datasets/images/flower.jpg
        /usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg)
for img in "${images[@]}"; do
  name=$(basename "$img" .jpg)
  [ -f "$work/$name.npy" ] || $py - "$img" "$work/$name.npy" <<'PY'
import sys, numpy as np
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB").resize((1024, 1024), Image.BILINEAR)
x = (np.asarray(im, dtype=np.float32) / 255.0 - 0.5).transpose(2, 0, 1)[None]
np.save(sys.argv[2], np.ascontiguousarray(x[None]))  # sample axis for ort_run.js
PY
  [ -f "$work/$name.orig.npy" ] || node "$here/ort_run.js" "$model" "$work/$name.npy" "$work/$name.orig.npy" 2>/dev/null
done
echo "| compress options | paper accounting | ratio | .dcz | IoU flower | IoU grace_hopper | fg flower | fg grace_hopper |"
echo "|---|---|---|---|---|---|---|---|"
n=0
for opts in "$@"; do
  n=$((n + 1))
  # shellcheck disable=SC2086
  "$build/deepcomp" compress "$model" -o "$work/c$n.dcz" --report-json "$work/c$n.json" -q --force $opts
  "$build/deepcomp" decompress "$work/c$n.dcz" -o "$work/c$n.onnx" --force
  for img in "${images[@]}"; do
    name=$(basename "$img" .jpg)
    node "$here/ort_run.js" "$work/c$n.onnx" "$work/$name.npy" "$work/$name.c$n.npy" 2>/dev/null
  done
  $py - "$work" "$n" "${opts:-(defaults)}" <<'PY'
import json, os, sys, numpy as np
work, n, label = sys.argv[1], sys.argv[2], sys.argv[3]
t = json.load(open(f"{work}/c{n}.json"))["total"]
ious, fgs = [], []
for name in ("flower", "grace_hopper"):
    a = np.load(f"{work}/{name}.orig.npy") > 0.5
    b = np.load(f"{work}/{name}.c{n}.npy") > 0.5
    u = np.logical_or(a, b).sum()
    ious.append(np.logical_and(a, b).sum() / u if u else 1.0)
    fgs.append(a.mean())
o, h = t["original_bytes"], t["huffman_bytes"]
print(f"| {label} | {h/1e6:.2f} MB | {o/h:.2f}x | {os.path.getsize(f'{work}/c{n}.dcz')/1e6:.2f} MB | "
      f"{ious[0]:.4f} | {ious[1]:.4f} | {100*fgs[0]:.1f}% | {100*fgs[1]:.1f}% |")
PY
  rm -f "$work/c$n.onnx"
done
