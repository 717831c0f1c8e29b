#!/usr/bin/env bash
# `deepcomp compress --onnx-compact` checked with ONNX Runtime, the independent reference: for
# every model in SHARED/models and models/, compress with default settings, then
#   - MNIST / Fashion-MNIST classifiers: ort_eval.js top-1 counts on the first 1000 test images
#     of the compact model and of the decompressed (.dcz -> dense .onnx) model must be equal;
#   - CIFAR models (no image data here): ort_run.js outputs on SHARED/models/reference inputs of
#     the two models must agree within 1e-5.
# Prints a markdown size table (original .onnx, .dcz, compact .onnx, compact gzip -9 and zstd -19).
# Usage: [COMPRESS_ARGS='--prune 0.9'] tests/scripts/compact_ort_check.sh [DEEPCOMP_BINARY] [SHARED_DIR]
# (COMPRESS_ARGS: extra `deepcomp compress` settings, default none.)
# Exit 0 = all equal, 1 = a mismatch or failure, 77 = skipped (node, node_modules or binary absent).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$here/build/deepcomp}
shared=${2:-$here/../shared}
if ! command -v node >/dev/null || [ ! -d "$here/bench/node_modules/onnxruntime-node" ]; then
  echo "skipped: node or bench/node_modules/onnxruntime-node is absent"; exit 77
fi
[ -x "$bin" ] || { echo "skipped: no deepcomp binary at $bin"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fmnist=/usr/share/datasets/fashion-mnist
limit=1000
fail=0

models=()
[ -d "$shared/models" ] && for f in "$shared"/models/*.onnx; do models+=("$f"); done
for f in "$here"/models/*.onnx; do models+=("$f"); done

echo "| model | original .onnx | .dcz | compact .onnx | compact .onnx gzip -9 | compact .onnx zstd -19 | forms | check |"
echo "|---|---:|---:|---:|---:|---:|---|---|"
for model in "${models[@]}"; do
  name=$(basename "$model" .onnx)
  # shellcheck disable=SC2086
  out=$("$bin" compress "$model" ${COMPRESS_ARGS:-} -o "$tmp/$name.dcz" --onnx-compact "$tmp/$name.c.onnx" --force)
  "$bin" decompress "$tmp/$name.dcz" -o "$tmp/$name.d.onnx" --force >/dev/null
  forms=$(printf '%s\n' "$out" | sed -n 's/.*weights rebuilt: \(.*\))$/\1/p')
  case "$model" in
    "$here"/models/*) images=$fmnist/t10k-images-idx3-ubyte.gz; labels=$fmnist/t10k-labels-idx1-ubyte.gz ;;
    *) images=$shared/data/mnist/images-idx3-ubyte.gz; labels=$shared/data/mnist/labels-idx1-ubyte.gz ;;
  esac
  if [ -f "$shared/models/reference/$name.inputs.npy" ] && [[ "$name" == *cifar* || "$name" == resnet* ]]; then
    node "$here/bench/ort_run.js" "$tmp/$name.c.onnx" "$shared/models/reference/$name.inputs.npy" "$tmp/c.npy" 2>/dev/null
    node "$here/bench/ort_run.js" "$tmp/$name.d.onnx" "$shared/models/reference/$name.inputs.npy" "$tmp/d.npy" 2>/dev/null
    check=$(node -e '
      const {readNpy} = require(process.argv[1]);
      const a = readNpy(process.argv[2]).data, b = readNpy(process.argv[3]).data;
      let m = a.length === b.length ? 0 : Infinity;
      for (let i = 0; i < a.length && m !== Infinity; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
      console.log(`max |compact - decompressed| = ${m.toExponential(2)} over ${a.length} outputs`);
      process.exit(m <= 1e-5 ? 0 : 1);' "$here/bench/npy.js" "$tmp/c.npy" "$tmp/d.npy") || fail=1
  else
    c=$(node "$here/bench/ort_eval.js" "$tmp/$name.c.onnx" --images "$images" --labels "$labels" --limit $limit --json)
    d=$(node "$here/bench/ort_eval.js" "$tmp/$name.d.onnx" --images "$images" --labels "$labels" --limit $limit --json)
    ct=$(node -e 'console.log(JSON.parse(process.argv[1]).top1_correct)' "$c")
    dt=$(node -e 'console.log(JSON.parse(process.argv[1]).top1_correct)' "$d")
    check="top-1 $ct/$limit compact, $dt/$limit decompressed"
    [ "$ct" = "$dt" ] || { check="$check MISMATCH"; fail=1; }
  fi
  size() { stat -c %s "$1"; }
  gz=$(gzip -9 -c "$tmp/$name.c.onnx" | wc -c)
  zs=$(zstd -19 -q -c "$tmp/$name.c.onnx" | wc -c)
  echo "| $name | $(size "$model") | $(size "$tmp/$name.dcz") | $(size "$tmp/$name.c.onnx") | $gz | $zs | $forms | $check |"
done
exit $fail
