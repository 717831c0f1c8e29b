#!/bin/sh
# Expected outputs of the 8-bit LeNets for tests/runtime/quant_ops_test.cc (QuantizedLeNets): each
# form scripts/quantize_onnx.py writes, run by ONNX Runtime (bench/ort_run.js) on lenet_in.npy (8
# MNIST digits). The test regenerates the models with the same script (deterministic) and compares.
# Usage (repository root, after `cd bench && npm ci`): sh tests/runtime/quant_reference/make_lenet_refs.sh
set -eu
dir=tests/runtime/quant_reference
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in lenet-5 lenet-300-100; do
  for v in "qdq sym" "qdq asym" "integer asym" "integer sym --reduce-range"; do
    set -- $v
    name="$m.$1.$2${3:+.rr}"
    /usr/bin/python3 scripts/quantize_onnx.py "models/$m.onnx" "$tmp/$name.onnx" --form "$1" --scheme "$2" ${3:+"$3"} >/dev/null
    NODE_PATH=bench/node_modules node bench/ort_run.js "$tmp/$name.onnx" "$dir/lenet_in.npy" \
      "$dir/$name.ort.npy" 2>/dev/null
    echo "$name"
  done
done
