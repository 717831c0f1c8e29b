#!/usr/bin/env bash
# Whole CNNs on one thread, in one run: ONNX Runtime (bench/ort_reference.js, graph optimizations
# on), deepcomp's runtime on the .onnx (bench/real_models_bench, dense) for this build and,
# optionally, a baseline build (BEFORE_BUILD_DIR, e.g. main's), and the model compressed with
# `deepcomp compress --prune 0.7` run from its .dcz (`deepcomp bench --threads 1`, median, kernel
# auto: DEEPCOMP_KERNEL_PROFILE decides whether a measured profile is used) by both builds. Cases: the real-model cases of scripts/make-real-references.sh that are
# CNNs (their real inputs). Prints a Markdown table on stdout; progress on stderr.
# Usage: bench/cnn_vs_ort.sh [BUILD_DIR] [BEFORE_BUILD_DIR] [REPEAT]   (defaults: build, none, 20)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
before="${2:-}"
repeat="${3:-20}"
dir="$root/third_party/real-models/cases"
py=/usr/bin/python3
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cases="${CASES:-ocr_det dddd_det blazeface_back blazeface_front ocr_cls lenet-5}"
filter="^($(echo $cases | tr ' ' '|'))/onnx_dense/"

[ -d "$dir" ] || { echo "cnn_vs_ort.sh: no $dir (scripts/fetch-real-models.sh, make-real-references.sh)" >&2; exit 1; }
echo "cnn_vs_ort.sh: load $(cut -d' ' -f1-3 /proc/loadavg) at start" >&2
"$build/bench/real_models_bench" "$dir" --benchmark_filter="$filter" --benchmark_format=json \
  --benchmark_min_time=0.5 > "$tmp/after.json" 2> /dev/null
if [ -n "$before" ]; then
  "$before/bench/real_models_bench" "$dir" --benchmark_filter="$filter" --benchmark_format=json \
    --benchmark_min_time=0.5 > "$tmp/before.json" 2> /dev/null
fi
for c in $cases; do
  echo "cnn_vs_ort.sh: $c" >&2
  model="$(cat "$dir/$c/model.txt")"
  node "$root/bench/ort_reference.js" "$model" "$dir/$c" --prefix "$tmp/ort_" --threads 1 \
    --repeat "$repeat" 2> /dev/null | tail -1 > "$tmp/$c.ort"
  "$build/deepcomp" compress "$model" -o "$tmp/$c.dcz" --prune 0.7 > /dev/null 2>&1
  args=()
  names="$("$py" -c 'import onnx,sys; m=onnx.load(sys.argv[1]); init={t.name for t in m.graph.initializer}; print(" ".join(i.name for i in m.graph.input if i.name not in init))' "$model")"
  k=0
  for n in $names; do args+=(--input "$n=$dir/$c/in_$k.npy"); k=$((k + 1)); done
  "$build/deepcomp" bench "$tmp/$c.dcz" --threads 1 --repeat "$repeat" --warmup 2 "${args[@]}" --json \
    > "$tmp/$c.dcz.json"
  if [ -n "$before" ]; then
    "$before/deepcomp" bench "$tmp/$c.dcz" --threads 1 --repeat "$repeat" --warmup 2 "${args[@]}" \
      --json > "$tmp/$c.dcz.before.json"
  fi
done
echo "cnn_vs_ort.sh: load $(cut -d' ' -f1-3 /proc/loadavg) at end" >&2
"$py" - "$tmp" "$cases" "$before" <<'PYEOF'
import json, sys, os
tmp, cases, before = sys.argv[1], sys.argv[2].split(), sys.argv[3]
def bench(path):
    if not os.path.exists(path): return {}
    return {b["name"].split("/")[0]: b["real_time"] for b in json.load(open(path))["benchmarks"]}
after_ms, before_ms = bench(f"{tmp}/after.json"), bench(f"{tmp}/before.json")
print("| model | ORT ms | deepcomp dense ms, before | deepcomp dense ms, now | before / ORT | now / ORT | .dcz --prune 0.7 ms, before | .dcz ms, now | .dcz before / ORT | .dcz now / ORT |")
print("|---|---|---|---|---|---|---|---|---|---|")
for c in cases:
    ort = float(open(f"{tmp}/{c}.ort").read().strip())
    now = after_ms.get(c, float("nan"))
    old = before_ms.get(c, float("nan"))
    dcz = json.load(open(f"{tmp}/{c}.dcz.json"))["runs"][0]["sparse_ms"]
    path = f"{tmp}/{c}.dcz.before.json"
    dcz_old = json.load(open(path))["runs"][0]["sparse_ms"] if os.path.exists(path) else float("nan")
    print(f"| {c} | {ort:.3f} | {old:.3f} | {now:.3f} | {old / ort:.2f} | {now / ort:.2f} | {dcz_old:.3f} | {dcz:.3f} | {dcz_old / ort:.2f} | {dcz / ort:.2f} |")
# The machine and the code deepcomp ran (DEEPCOMP_MAX_CPU_ISA may cap it; ONNX Runtime picks its own).
j = json.load(open(f"{tmp}/{cases[0]}.dcz.json"))
print(f"\ncpu: {j.get('cpu', '?')} ({j.get('cpu_isa', '?')}); deepcomp ran {j.get('isa', '?')}: "
      f"{j.get('simd_path', '?')} (fc), {j.get('conv_simd_path', '?')} (conv)")
PYEOF
