#!/usr/bin/env bash
# Cross-checks the ONNX Runtime peer scripts in bench/ against the shared reference material:
#  1. ort_check_reference.js: every model in SHARED/models reproduces reference/NAME.outputs.npy
#     within 1e-4;
#  2. ort_eval.js: every MNIST model's top-1 count on SHARED/data/mnist equals the
#     ort_top1_correct_on_shared_mnist column of SHARED/models/PROVENANCE.tsv (same runtime, so
#     the counts must be identical).
# Usage: tests/scripts/ort_crosscheck.sh [SHARED_DIR (default ../shared beside the repository)]
# Exit 0 = all agree, 1 = a mismatch, 77 = skipped (no node, no bench/node_modules, no shared dir).
# Depends on node and bench/node_modules (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install);
# must not depend on deepcomp.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
shared="${1:-$here/../shared}"
if ! command -v node >/dev/null || [ ! -d "$here/bench/node_modules/onnxruntime-node" ] ||
   [ ! -f "$shared/models/PROVENANCE.tsv" ]; then
  echo "SKIP: needs node, bench/node_modules (npm install) and $shared/models"
  exit 77
fi
status=0
node "$here/bench/ort_check_reference.js" "$shared/models" || status=1

# PROVENANCE.tsv columns: file ... task ... ort_top1_correct_on_shared_mnist (found by name).
col=$(head -1 "$shared/models/PROVENANCE.tsv" | tr '\t' '\n' | grep -n -x 'ort_top1_correct_on_shared_mnist' | cut -d: -f1)
if [ -z "$col" ]; then
  echo "FAIL: no ort_top1_correct_on_shared_mnist column in PROVENANCE.tsv"
  exit 1
fi
checked=0
while IFS=$'\t' read -r -a row; do
  file="${row[0]}"
  want="${row[$((col - 1))]%%/*}"
  [[ "$want" =~ ^[0-9]+$ ]] || continue
  got=$(node "$here/bench/ort_eval.js" "$shared/models/$file" \
          --images "$shared/data/mnist/images-idx3-ubyte.gz" \
          --labels "$shared/data/mnist/labels-idx1-ubyte.gz" \
          --scale 0.00392156862745098 --json |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).top1_correct))')
  checked=$((checked + 1))
  if [ "$got" = "$want" ]; then
    echo "OK   $file: top-1 $got/10000 (PROVENANCE $want)"
  else
    echo "FAIL $file: top-1 $got/10000, PROVENANCE says $want"
    status=1
  fi
done < <(tail -n +2 "$shared/models/PROVENANCE.tsv")
if [ "$checked" -eq 0 ]; then
  echo "FAIL: no MNIST rows with a top-1 count in PROVENANCE.tsv"
  status=1
fi
exit $status
