#!/usr/bin/env bash
# Builds the inputs and ONNX Runtime reference outputs that tests/runtime/real_models_test.cc
# checks deepcomp against, for every real model that scripts/fetch-real-models.sh fetched (and the
# project's own models/*.onnx):
#   cases/<case>/in_K.npy          real inputs (models/real/make_inputs.py), graph input order
#   cases/<case>/ort_K.npy         ONNX Runtime's outputs on the original model
#   cases/<case>/model.dcz         `deepcomp compress` at its defaults
#   cases/<case>/model.dcz.onnx    `deepcomp decompress` of it (every weight its shared value)
#   cases/<case>/ort_dcz_K.npy     ONNX Runtime's outputs on that decompressed model
#   cases/<case>/compress.err      instead of the three above when deepcomp cannot compress it
# openWakeWord is a pipeline: the embedding model's inputs are ORT's melspectrogram outputs and the
# wake-word classifiers' inputs ORT's embeddings, hence three stages.
#
# Usage: scripts/make-real-references.sh [DEEPCOMP_BINARY] [DIR] [CASE,...]
#   defaults: build/deepcomp, third_party/real-models, every case (a list remakes only those cases
#   and leaves the other folders untouched). Needs node with bench/node_modules
#   (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install), Debian's python3 with numpy, onnx and
#   PIL; espeak-ng and sox for real speech (synthetic stand-ins otherwise).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$root/build/deepcomp}"
dir="${2:-$root/third_party/real-models}"
only="${3:-}"
py=/usr/bin/python3

[ -d "$dir" ] || { echo "make-real-references.sh: $dir is absent (run scripts/fetch-real-models.sh)"; exit 0; }
[ -d "$root/bench/node_modules/onnxruntime-node" ] || {
  echo "make-real-references.sh: bench/node_modules missing (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install)" >&2
  exit 1; }
[ -x "$bin" ] || { echo "make-real-references.sh: $bin is not an executable (build deepcomp)" >&2; exit 1; }

reference() {  # case name: ORT on the original, then compress / decompress / ORT on the result
  local case="$1" d="$dir/cases/$1" model
  model="$(cat "$d/model.txt")"
  node "$root/bench/ort_reference.js" "$model" "$d"
  rm -f "$d"/model.dcz "$d"/model.dcz.onnx "$d"/ort_dcz_*.npy "$d"/compress.err
  if "$bin" compress "$model" -o "$d/model.dcz" --force > "$d/compress.log" 2> "$d/compress.err" &&
     "$bin" decompress "$d/model.dcz" -o "$d/model.dcz.onnx" --force > /dev/null 2>> "$d/compress.err"; then
    rm -f "$d/compress.err"
    node "$root/bench/ort_reference.js" "$d/model.dcz.onnx" "$d" --prefix ort_dcz_
  else
    rm -f "$d/model.dcz" "$d/model.dcz.onnx"
    echo "make-real-references.sh: $case: deepcomp cannot compress it: $(head -c 300 "$d/compress.err")" >&2
  fi
}

for stage in 1 2 3; do
  for case in $("$py" "$root/models/real/make_inputs.py" "$dir" --stage "$stage" --only "$only"); do
    echo "make-real-references.sh: $case" >&2
    reference "$case"
  done
done
echo "make-real-references.sh: $(ls "$dir/cases" | wc -l) cases in $dir/cases"
