#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/fuzz_*.cc) for SECONDS each (default 60), with a corpus
# made of the committed seeds (tests/fuzz/corpus/<target>/), the ONNX models in models/ and
# ../shared/models/, and .dcz files compressed from them. Needs clang-14 and libclang-rt-14-dev.
#
#   bench/fuzz.sh [SECONDS] [TARGET...]
#
# Environment: BUILD (default build-fuzz), DEEPCOMP (a deepcomp binary for making .dcz seeds;
# default build/deepcomp, skipped when absent), JOBS (build parallelism, default 2), RSS_MB and
# MALLOC_MB (libFuzzer's -rss_limit_mb and -malloc_limit_mb, default 512 each: an input that
# makes the code under test allocate more, a decompression bomb, is a finding), TIMEOUT
# (libFuzzer's -timeout, wall-clock seconds per input, default 10: raise it when the fuzzers run
# niced on a loaded machine, where a 0.3 s input can take over 10 s of wall time).
# Findings (crash-*, leak-*, timeout-*, oom-*) land in $BUILD/findings/<target>/; the script exits
# 1 if any target found something. Each finding gets fixed and its input added to
# tests/fuzz/regressions/<target>/, which tests/reliability replays in the ordinary build.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build=${BUILD:-build-fuzz}
deepcomp=${DEEPCOMP:-build/deepcomp}
all_targets=(onnx_parse container symbol_stream relative_index array roundtrip dcz_writer_reader)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DDEEPCOMP_FUZZ=ON \
  -DDEEPCOMP_BUILD_TESTS=OFF -DDEEPCOMP_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target "${targets[@]/#/fuzz_}" | grep -v '^\[' || true

corpus="$build/corpus"
for t in "${targets[@]}"; do
  mkdir -p "$corpus/$t" "$build/findings/$t"
  cp -n tests/fuzz/corpus/"$t"/* "$corpus/$t/" 2>/dev/null || true
  [ -d "tests/fuzz/regressions/$t" ] && cp -n tests/fuzz/regressions/"$t"/* "$corpus/$t/" 2>/dev/null || true
done
models=(models/*.onnx)
[ -d ../shared/models ] && models+=(../shared/models/*.onnx)
if [[ " ${targets[*]} " == *" onnx_parse "* ]]; then
  for m in "${models[@]}"; do cp -n "$m" "$corpus/onnx_parse/" 2>/dev/null || true; done
fi
if [[ " ${targets[*]} " == *" dcz_writer_reader "* ]]; then
  # A settings byte, then the model (tests/fuzz/targets.h dcz_writer_reader_target).
  for m in "${models[@]}"; do
    out="$corpus/dcz_writer_reader/$(basename "$m" .onnx)"
    [ -f "$out" ] || { printf '\x15'; cat "$m"; } >"$out"
  done
fi
if [[ " ${targets[*]} " == *" container "* ]] && [ -x "$deepcomp" ]; then
  for m in "${models[@]}"; do
    out="$corpus/container/$(basename "$m" .onnx).dcz"
    [ -f "$out" ] || "$deepcomp" compress "$m" -o "$out" -q >/dev/null 2>&1 || true
  done
fi

status=0
for t in "${targets[@]}"; do
  log="$build/findings/$t.log"
  start=$(date +%s)
  if "$build/fuzz/fuzz_$t" "$corpus/$t" -max_total_time="$seconds" -rss_limit_mb="${RSS_MB:-512}" \
      -malloc_limit_mb="${MALLOC_MB:-512}" -timeout="${TIMEOUT:-10}" \
      -artifact_prefix="$build/findings/$t/" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "fuzz_$t: $(( $(date +%s) - start )) s, $runs runs, $cov, no finding"
  else
    echo "fuzz_$t: FINDING after $(( $(date +%s) - start )) s (see $log):"
    grep -E 'ERROR|fuzz_|SUMMARY|Test unit written' "$log" | head -8
    status=1
  fi
done
exit $status
