#!/usr/bin/env bash
# Lookup scale check (issue 18, not run in CI): `deepcomp run` (on the .onnx and on the .dcz, sparse
# mode) and `deepcomp energy` on models with N one-element initializers and N Add nodes
# (bench/make_many_initializers.py), N = 10k .. 1M. Per-node name lookups are hash maps, so wall
# time should grow linearly with N (and `run` on 100,000 stay under 5 s).
#
#   bench/lookup_scale.sh [WORKDIR] [N...]     (defaults: /tmp/deepcomp-lookup 10000 30000 100000 300000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/deepcomp-lookup}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 30000 100000 300000 1000000)
bin=${DEEPCOMP:-build/deepcomp}
mkdir -p "$work"
/usr/bin/python3 -c "import numpy as np; np.save('$work/x.npy', np.ones((1, 4), np.float32))"
measure() {  # LABEL CMD...: wall seconds and peak RSS of one command
  local label=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" ||
    { echo "$label failed: $(cat "$work/err.txt")"; return 1; }
  read -r secs user sys rss <"$work/time.txt"
  # CPU (user + sys) as well as wall: on a shared machine wall time mostly measures the queue.
  printf '  %-14s wall %8.2f s  cpu %7.2f s  %7.1f MB\n' "$label" "$secs" \
    "$(echo "$user + $sys" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}
for n in "${sizes[@]}"; do
  m="$work/m$n.onnx"
  [ -f "$m" ] || /usr/bin/python3 bench/make_many_initializers.py "$m" "$n"
  echo "N = $n ($(stat -c %s "$m") bytes)"
  measure "run .onnx" "$bin" run "$m" --input "$work/x.npy" -o "$work/y.npy" --force
  measure "compress" "$bin" compress -q "$m" -o "$work/m$n.dcz" --force
  measure "run .dcz" "$bin" run "$work/m$n.dcz" --input "$work/x.npy" -o "$work/y.npy" --force
  measure "energy" "$bin" energy "$m"
done
