#!/usr/bin/env bash
# End-to-end `deepcomp compress` throughput and peak memory on a generated AlexNet-fc-sized MLP
# (9216-4096-4096-1000: 58.6 M parameters, 235 MB), with 1 and 2 threads, best of 3 runs each.
# Usage: bench/compress_throughput.sh [BUILD_DIR]   (prints a Markdown table)
set -euo pipefail
build=${1:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$(dirname "$0")/make_mlp.py" "$work/mlp.onnx" 9216,4096,4096,1000 >/dev/null
params=58631144
bytes=$(stat -c %s "$work/mlp.onnx")
echo "| threads | best wall s | params/s | peak RSS MB | RSS / input |"
echo "|---|---|---|---|---|"
for threads in 1 2; do
  best=999999; rss=0
  for _ in 1 2 3; do
    OMP_NUM_THREADS=$threads /usr/bin/time -f "%e %M" -o "$work/time" \
      "$build/deepcomp" compress "$work/mlp.onnx" -o "$work/mlp.dcz" --force -q
    read -r wall kb < "$work/time"
    best=$(echo "$wall $best" | awk '{print ($1 < $2) ? $1 : $2}')
    rss=$kb
  done
  echo "| $threads | $best | $(awk -v p=$params -v s=$best 'BEGIN{printf "%.1f M", p/s/1e6}') | $((rss / 1024)) | $(awk -v r=$rss -v b=$bytes 'BEGIN{printf "%.2fx", r*1024/b}') |"
done
echo
echo "input $bytes bytes, .dcz $(stat -c %s "$work/mlp.dcz") bytes"
