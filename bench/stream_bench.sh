#!/usr/bin/env bash
# Issue 17 (not run in CI): peak RSS and throughput of the streaming compress and decompress paths
# against model size. Models: N Gemm layers of 8192 x 8192 float32 (268 MB each) sharing one
# external data file (bench/make_big_model.py --data), so 4, 8, 15, 24 layers = 1.07, 2.15, 4.03,
# 6.44 GB of weights. Each size is compressed and decompressed (--external-data) on 1 and 2
# threads with /usr/bin/time -v; the load average is printed with each line (the machine is
# shared). On the smallest model the streaming outputs are compared byte for byte with the
# in-memory path's (--in-memory; COMPARE=0 skips that). Disk: the data file, one .dcz and one
# decompressed copy of the largest model at a time (~15 GB for 24 layers); everything is deleted
# at the end unless KEEP=1. DTYPE=float16 (or bfloat16) writes the weights in that dtype (half the
# bytes: the scaled-down copy of a model larger than memory, docs/FORMAT.md "Memory bound").
#
#   bench/stream_bench.sh [WORKDIR] [LAYER COUNTS...]   (defaults: /tmp/deepcomp-stream 4 8 15 24)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/deepcomp-stream}
shift || true
counts=${*:-4 8 15 24}
bin=${DEEPCOMP:-build/deepcomp}
width=${WIDTH:-8192}
threads_list=${THREADS:-1 2}
dtype=${DTYPE:-float32}
elem_bytes=4
[ "$dtype" = float32 ] || elem_bytes=2
max=$(printf '%s\n' $counts | sort -n | tail -1)
min=$(printf '%s\n' $counts | sort -n | head -1)
mkdir -p "$work"
df -h "$work" | tail -1
[ -f "$work/l$max.onnx" ] || /usr/bin/python3 bench/make_big_model.py "$work/l$max.onnx" --width "$width" --layers "$max" --dtype "$dtype"
for n in $counts; do
  [ -f "$work/l$n.onnx" ] || /usr/bin/python3 bench/make_big_model.py "$work/l$n.onnx" --width "$width" --layers "$n" --data "l$max.onnx.data" --dtype "$dtype"
done

measure() {  # NAME PARAMS CMD...
  local name=$1 params=$2
  shift 2
  local load
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  /usr/bin/time -v "$@" >"$work/run.out" 2>"$work/run.time" || { cat "$work/run.time"; exit 1; }
  local wall rss secs
  wall=$(grep 'Elapsed (wall clock)' "$work/run.time" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$work/run.time" | awk '{print $NF}')
  secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
  printf '%-34s wall %8.1f s  peak RSS %6.3f GB  %6.2fM params/s  (load before: %s)\n' "$name" \
    "$secs" "$(echo "$rss * 1024 / 1000000000" | bc -l)" "$(echo "$params / $secs / 1000000" | bc -l)" "$load"
}

for n in $counts; do
  params=$((n * width * width))
  gb=$(echo "$params * $elem_bytes / 1000000000" | bc -l | cut -c1-4)
  for t in $threads_list; do
    export OMP_NUM_THREADS=$t
    measure "compress   ${gb} GB $dtype, $t thread(s)" "$params" \
      "$bin" compress "$work/l$n.onnx" -o "$work/l$n.dcz" --force -q
    measure "decompress ${gb} GB $dtype, $t thread(s)" "$params" \
      "$bin" decompress "$work/l$n.dcz" -o "$work/back.onnx" --force --external-data
    rm -f "$work/back.onnx" "$work/back.onnx.data"
  done
  echo "l$n.dcz: $(stat -c %s "$work/l$n.dcz") bytes"
  if [ "$n" = "$min" ] && [ "${COMPARE:-1}" = 1 ]; then
    export OMP_NUM_THREADS=2
    "$bin" compress "$work/l$n.onnx" -o "$work/mem.dcz" --force -q --in-memory
    cmp "$work/l$n.dcz" "$work/mem.dcz" && echo "l$n: streaming .dcz == in-memory .dcz"
    mkdir -p "$work/s" "$work/m"
    "$bin" decompress "$work/l$n.dcz" -o "$work/s/back.onnx" --force --external-data
    "$bin" decompress "$work/l$n.dcz" -o "$work/m/back.onnx" --force --external-data --in-memory
    cmp "$work/s/back.onnx" "$work/m/back.onnx" && cmp "$work/s/back.onnx.data" "$work/m/back.onnx.data" &&
      echo "l$n: streaming decompress == in-memory decompress (.onnx and .data)"
    rm -rf "$work/s" "$work/m" "$work/mem.dcz"
  fi
  rm -f "$work/l$n.dcz"
done
[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
