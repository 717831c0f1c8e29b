#!/usr/bin/env bash
# Whole-model latency at batch 1, single thread: deepcomp dense (.onnx), deepcomp compressed
# (.dcz run sparse from its compressed form), and ONNX Runtime (bench/ort_run.js) on the same
# machine in the same run, for every shared model and models/*.onnx. Also cross-checks outputs:
# ONNX Runtime against `deepcomp run` on the same inputs (max abs diff; must be < 1e-4).
# Prints a Markdown section for bench/RESULTS.md on stdout; progress goes to stderr.
#
# Usage: bench/compare_ort.sh [DEEPCOMP_BINARY] [REPEAT]
#   DEEPCOMP_BINARY defaults to build/deepcomp; REPEAT (default 200) timed runs per measurement.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$root/build/deepcomp}"
repeat="${2:-200}"
shared="$root/../shared/models"
py=/usr/bin/python3
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

[ -x "$bin" ] || { echo "compare_ort.sh: $bin is not an executable (build deepcomp first)" >&2; exit 1; }
[ -d "$root/bench/node_modules/onnxruntime-node" ] || {
  echo "compare_ort.sh: bench/node_modules missing (cd bench && npm install)" >&2; exit 1; }

models=()
[ -d "$shared" ] && for m in "$shared"/*.onnx; do models+=("$m"); done
for m in "$root"/models/*.onnx; do models+=("$m"); done

# Inputs: the shared reference inputs; for the project's models, 8 seeded uniform [0,1) images.
input_for() {
  local name="$1" model="$2"
  if [ -f "$shared/reference/$name.inputs.npy" ]; then
    echo "$shared/reference/$name.inputs.npy"
  else
    "$py" - "$tmp/$name.inputs.npy" <<'EOF'
import sys, numpy as np
np.save(sys.argv[1], np.random.default_rng(0).random((8, 1, 28, 28), dtype=np.float32))
EOF
    echo "$tmp/$name.inputs.npy"
  fi
}

# Median ms per sample of a deepcomp bench JSON at batch 1: field $2 of runs[0].
bench_ms() {
  "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0][sys.argv[2]])' "$1" "$2"
}

echo "| model | deepcomp dense ms | deepcomp .dcz sparse ms | ONNX Runtime ms | dense / ORT | sparse / ORT | .dcz bytes / .onnx bytes | max abs diff ORT vs deepcomp |"
echo "|---|---|---|---|---|---|---|---|"
for model in "${models[@]}"; do
  name="$(basename "$model" .onnx)"
  echo "compare_ort.sh: $name" >&2
  input="$(input_for "$name" "$model")"
  "$bin" compress "$model" -o "$tmp/$name.dcz" > /dev/null
  "$bin" bench "$model" --batch 1 --threads 1 --repeat "$repeat" --warmup 10 --json > "$tmp/$name.dense.json"
  "$bin" bench "$tmp/$name.dcz" --batch 1 --threads 1 --repeat "$repeat" --warmup 10 --json > "$tmp/$name.dcz.json"
  ort_line="$(node "$root/bench/ort_run.js" "$model" "$input" "$tmp/$name.ort.npy" --per-sample --threads 1 \
              --repeat "$((repeat / 8 + 1))" 2>&1 >/dev/null)"
  ort_ms="$(sed -n 's/.*median \([0-9.]*\) ms\/sample.*/\1/p' <<<"$ort_line")"
  [ -n "$ort_ms" ] || { echo "compare_ort.sh: ort_run.js failed on $name: $ort_line" >&2; exit 1; }
  "$bin" run "$model" --input "$input" -o "$tmp/$name.deepcomp.npy" --force
  dense_ms="$(bench_ms "$tmp/$name.dense.json" dense_ms)"
  sparse_ms="$(bench_ms "$tmp/$name.dcz.json" sparse_ms)"
  "$py" - "$name" "$dense_ms" "$sparse_ms" "$ort_ms" "$model" "$tmp/$name.dcz" \
      "$tmp/$name.ort.npy" "$tmp/$name.deepcomp.npy" <<'EOF'
import os, sys, numpy as np
name, d, s, o, onnx, dcz, ort_out, dc_out = sys.argv[1:]
d, s, o = float(d), float(s), float(o)
diff = float(np.abs(np.load(ort_out).astype(np.float64) - np.load(dc_out)).max())
flag = "" if diff < 1e-4 else " (over 1e-4!)"
print(f"| {name} | {d:.4f} | {s:.4f} | {o:.4f} | {d / o:.2f} | {s / o:.2f} | "
      f"{os.path.getsize(dcz) / os.path.getsize(onnx):.3f} | {diff:.2e}{flag} |")
EOF
done
