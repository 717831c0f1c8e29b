#!/usr/bin/env bash
# Issue 17 (not run in CI): the .dcz of each model must be byte-identical whatever the thread
# count, now that one large layer is split across threads (compress/parallel_blocks.h). Compresses
# every MODEL with OMP_NUM_THREADS=1, 2, 4 and 8 (extra compress options from OPTS) and compares
# the files with cmp; prints one line per model and exits 1 on the first difference.
#
#   bench/thread_identity.sh WORKDIR MODEL.onnx...        (e.g. OPTS="--prune 0.9 --bits 4")
set -euo pipefail
cd "$(dirname "$0")/.."
work=$1
shift
bin=${DEEPCOMP:-build/deepcomp}
mkdir -p "$work"
for model in "$@"; do
  name=$(basename "$model" .onnx)
  for t in 1 2 4 8; do
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=$t "$bin" compress "$model" -o "$work/$name.t$t.dcz" --force -q ${OPTS:-}
  done
  for t in 2 4 8; do
    cmp "$work/$name.t1.dcz" "$work/$name.t$t.dcz" || { echo "$name: $t threads differ"; exit 1; }
  done
  echo "$name: identical .dcz on 1, 2, 4, 8 threads ($(stat -c %s "$work/$name.t1.dcz") bytes)"
  rm -f "$work/$name".t?.dcz
done
