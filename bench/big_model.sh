#!/usr/bin/env bash
# Scale check (not run in CI): compresses and decompresses an MLP with > 2 GB of float32 weights in
# external data, recording wall time and peak RSS with /usr/bin/time -v. Target: peak RSS under
# 3x the input size. Needs ~4x the weights in free memory and ~3x in free disk: check `free -g`.
#
#   bench/big_model.sh [WORKDIR] [WIDTH] [LAYERS]     (defaults: /tmp/deepcomp-big 16384 3)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/deepcomp-big}
width=${2:-16384}
layers=${3:-3}
bin=${DEEPCOMP:-build/deepcomp}
mkdir -p "$work"
free -g
[ -f "$work/big.onnx" ] || /usr/bin/python3 bench/make_big_model.py "$work/big.onnx" --width "$width" --layers "$layers"
input_bytes=$(( $(stat -c %s "$work/big.onnx") + $(stat -c %s "$work/big.onnx.data") ))
measure() {  # NAME CMD...
  local name=$1; shift
  /usr/bin/time -v "$@" >"$work/$name.out" 2>"$work/$name.time"
  local secs rss
  secs=$(grep 'Elapsed (wall clock)' "$work/$name.time" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$work/$name.time" | awk '{print $NF}')
  printf '%-10s wall %s  peak RSS %.2f GiB  (%.2fx the input)\n' "$name" "$secs" \
    "$(echo "$rss / 1048576" | bc -l)" "$(echo "$rss * 1024 / $input_bytes" | bc -l)"
}
echo "input: $(echo "$input_bytes / 1073741824" | bc -l | cut -c1-5) GiB"
measure compress "$bin" compress "$work/big.onnx" -o "$work/big.dcz" --force -q
echo "big.dcz: $(stat -c %s "$work/big.dcz") bytes"
measure decompress "$bin" decompress "$work/big.dcz" -o "$work/back.onnx" --force --external-data
