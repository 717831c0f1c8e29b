#!/usr/bin/env bash
# The real third-party models (models/real/PROVENANCE.tsv) and the project's own models, on the
# real inputs of scripts/make-real-references.sh: size, what compression at the defaults and at
# --prune 0.7 does to their outputs (measured with ONNX Runtime on the decompressed model, so the
# figures do not depend on deepcomp's runtime), whether deepcomp's runtime reproduces ONNX Runtime
# (tests/runtime/real_models_test.cc), and latency on one thread on the case's real inputs.
# Prints a Markdown section for bench/RESULTS.md on stdout; progress goes to stderr.
#
# Usage: bench/real_models.sh [BUILD_DIR] [REPEAT]   (BUILD_DIR defaults to build, REPEAT to 20)
# Needs: scripts/fetch-real-models.sh and scripts/make-real-references.sh run first; BUILD_DIR
# configured with -DDEEPCOMP_BUILD_BENCH=ON for bench/real_models_bench (else the deepcomp
# latency columns are n/a).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
repeat="${2:-20}"
bin="$build/deepcomp"
tests="$build/tests/deepcomp_runtime_tests"
dir="$root/third_party/real-models"
py=/usr/bin/python3
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

[ -d "$dir/cases" ] || { echo "real_models.sh: no $dir/cases (run scripts/fetch-real-models.sh and scripts/make-real-references.sh)" >&2; exit 1; }
[ -x "$bin" ] || { echo "real_models.sh: $bin is not an executable" >&2; exit 1; }

# Does deepcomp's runtime reproduce ONNX Runtime? One line per case from the GoogleTest run:
# "pass", or the first failure message (the node and operator that are missing).
if [ -x "$tests" ]; then
  "$tests" --gtest_filter='Real/RealModelTest.OriginalMatchesOnnxRuntime/*' > "$tmp/gtest.txt" 2>&1 || true
fi
runtime_status() {  # case -> pass | skip | the failure
  local name="${1//-/_}"
  [ -f "$tmp/gtest.txt" ] || { echo "n/a"; return; }
  if grep -q "^\[       OK \] .*/$name " "$tmp/gtest.txt"; then echo "pass"; return; fi
  if grep -q "^\[  SKIPPED \] .*/$name " "$tmp/gtest.txt"; then echo "skipped"; return; fi
  # The test's messages start with the case name: "silero_v6: node 'If_0' (If): operator ...".
  grep -m1 "^$1: " "$tmp/gtest.txt" | sed "s/^$1: //" | cut -c1-110 | sed 's/|/\\|/g'
}

# ORT on a model decompressed from a .dcz made with extra compress flags; prints the case dir used.
prune_variant() {  # case flags...
  local case="$1"; shift
  local d="$tmp/$case" model
  model="$(cat "$dir/cases/$case/model.txt")"
  mkdir -p "$d" && cp "$dir/cases/$case"/in_*.npy "$d/"
  "$bin" compress "$model" -o "$d/m.dcz" "$@" > /dev/null 2>&1 &&
    "$bin" decompress "$d/m.dcz" -o "$d/m.onnx" > /dev/null 2>&1 &&
    node "$root/bench/ort_reference.js" "$d/m.onnx" "$d" --prefix ort_p_ 2> /dev/null
}

# deepcomp's runtime on the cases' real inputs, one thread (bench/real_models_bench.cc; built with
# -DDEEPCOMP_BUILD_BENCH=ON). Cases it cannot build are absent from its JSON (n/a below).
if [ -x "$build/bench/real_models_bench" ]; then
  "$build/bench/real_models_bench" "$dir/cases" --benchmark_format=json --benchmark_min_time=0.5 \
    > "$tmp/deepcomp.json" 2> /dev/null || true
fi

echo "| case | params | nodes | .onnx KB | .dcz KB (ratio) | out0 max diff / max(1, max\|ref\|): defaults | --prune 0.7 | top-1 / mask agree (defaults, 0.7) | deepcomp runtime vs ORT | batch | deepcomp .onnx ms | deepcomp .dcz ms | ORT ms | deepcomp / ORT |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for d in "$dir"/cases/*/; do
  case="$(basename "$d")"
  [ -f "$d/model.txt" ] && [ -f "$d/ort_0.npy" ] || continue
  echo "real_models.sh: $case" >&2
  model="$(cat "$d/model.txt")"
  prune_variant "$case" --prune 0.7 || true
  ort_ms="$(node "$root/bench/ort_reference.js" "$model" "$d" --prefix "$tmp/timing_" --repeat "$repeat" 2> /dev/null || echo n/a)"
  batch="$("$py" -c 'import sys, numpy as np; a = np.load(sys.argv[1]); print(a.shape[0] if a.ndim else 1)' "$d/in_0.npy")"
  status="$(runtime_status "$case")"
  "$py" - "$root" "$case" "$model" "$d" "$tmp/$case" "$status" "$batch" "$tmp/deepcomp.json" "$ort_ms" <<'EOF'
import os, sys
import numpy as np
import json
root, case, model, d, pd, status, batch, deepcomp_json, ort_ms = sys.argv[1:]
times = {}
if os.path.isfile(deepcomp_json) and os.path.getsize(deepcomp_json) > 0:
    for b in json.load(open(deepcomp_json))["benchmarks"]:
        times[b["name"]] = b["real_time"]  # ms (the benchmarks use kMillisecond)
def ms(kind):
    t = times.get(f"{case}/{kind}/real_time")
    return "n/a" if t is None else f"{t:.3f}"
dense_ms, dcz_ms = ms("onnx_dense"), ms("dcz_csr_auto")
ratio = "n/a" if dense_ms == "n/a" or ort_ms in ("n/a", "") else f"{float(dense_ms) / float(ort_ms):.1f}"
sys.path.insert(0, os.path.join(root, "models", "real"))
from describe_onnx import describe
info = describe(model)
ref = np.load(os.path.join(d, "ort_0.npy")).astype(np.float64)

def rel(path):
    if not os.path.isfile(path):
        return "n/a", None
    out = np.load(path).astype(np.float64)
    # Relative to max|ref| for outputs larger than 1, absolute for probabilities and such.
    scale = max(float(np.abs(ref).max()), 1.0)
    agree = None
    if ref.ndim in (2, 3) and ref.shape[-1] > 1:  # class scores on the last axis
        agree = float((out.argmax(-1) == ref.argmax(-1)).mean())
    elif ref.ndim == 4 and ref.shape[1] == 1 and ref.min() >= 0 and ref.max() <= 1:
        agree = float(((out > 0.3) == (ref > 0.3)).mean())  # probability map: DBNet's 0.3 mask
    return f"{float(np.abs(out - ref).max()) / scale:.3g}", agree

dflt, a1 = rel(os.path.join(d, "ort_dcz_0.npy"))
p7, a2 = rel(os.path.join(pd, "ort_p_0.npy"))
agree = "" if a1 is None else f"{a1:.2f}, {'n/a' if a2 is None else f'{a2:.2f}'}"
kb = os.path.getsize(model) / 1024
dcz = os.path.join(d, "model.dcz")
dcz_txt = f"{os.path.getsize(dcz) / 1024:.0f} ({os.path.getsize(model) / os.path.getsize(dcz):.1f}x)" if os.path.isfile(dcz) else "failed"
print(f"| {case} | {info['params']:,} | {info['nodes']} | {kb:.0f} | {dcz_txt} | {dflt} | {p7} | {agree} | {status} | "
      f"{batch} | {dense_ms} | {dcz_ms} | {ort_ms} | {ratio} |")
EOF
done
